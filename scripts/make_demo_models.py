#!/usr/bin/env python3
"""Write two small Llama-shaped checkpoints for trying weightdiff.

    make_demo_models.py OUTDIR [--layers 4] [--seed 1234] [-q]

OUTDIR/a.safetensors is the "base" model: model.embed_tokens.weight,
per layer self_attn.{q,k,v,o}_proj.weight and mlp.{gate,up,down}_proj.weight
(all bf16), input_layernorm.weight and post_attention_layernorm.weight (f32),
model.norm.weight (f32) and lm_head.weight (bf16); about 7 MiB with 4 layers.

OUTDIR/b.safetensors is A after a simulated finetune:
  - layer 1: q_proj and v_proj nudged by at most 0.5% of each value, so they
    stay within the bf16 tolerance (status close);
  - layer L-2: all seven projections get noise of 10% of the weights' std
    (clearly different, rel_l2 ~ 0.1);
  - last layer: mlp.down_proj gets noise of 1% of the std (different, but
    barely: rel_l2 ~ 0.01);
  - lm_head.weight is renamed output.weight (so A has only_in_a, B only_in_b,
    until `--map '^output\\.weight$=lm_head.weight'`);
  - everything else, norms included, is byte-identical.
The seed is fixed, so both files are byte-identical on every run.

Try:  weightdiff OUTDIR/a.safetensors OUTDIR/b.safetensors
      weightdiff OUTDIR/a.safetensors OUTDIR/b.safetensors --map '^output\\.weight$=lm_head.weight'
"""
from __future__ import annotations

import argparse
import os
import sys

import numpy as np

try:
    import ml_dtypes
except ImportError:  # the raw-bytes writer below needs only numpy
    ml_dtypes = None

VOCAB, HIDDEN, INTER = 1024, 256, 688


def to_bf16_bits(x: np.ndarray) -> np.ndarray:
    """float32 -> bf16 bit patterns (uint16), round to nearest even."""
    bits = np.ascontiguousarray(x, dtype=np.float32).view(np.uint32)
    bits = bits + (((bits >> 16) & 1) + np.uint32(0x7FFF))
    return (bits >> 16).astype(np.uint16)


def from_bf16_bits(u: np.ndarray) -> np.ndarray:
    return (u.astype(np.uint32) << 16).view(np.float32)


def save(tensors: dict[str, tuple[str, np.ndarray]], path: str, metadata: dict[str, str]) -> None:
    """tensors: name -> ("BF16", uint16 bits) or ("F32", float32 array).

    Uses safetensors.numpy.save_file with ml_dtypes' bfloat16 where this
    safetensors accepts it, else safetensors.serialize_file with raw bytes
    (the dict form of safetensors <= 0.7, or TensorSpec in newer releases)."""
    if ml_dtypes is not None:
        from safetensors.numpy import save_file
        arrays = {k: (v.view(ml_dtypes.bfloat16) if code == "BF16" else v) for k, (code, v) in tensors.items()}
        try:
            save_file(arrays, path, metadata)
            return
        except (KeyError, TypeError, ValueError):
            pass  # an older safetensors without bf16 numpy support
    import safetensors
    keep = {k: np.ascontiguousarray(v) for k, (_, v) in tensors.items()}
    if hasattr(safetensors, "TensorSpec"):
        names = {"BF16": "bfloat16", "F32": "float32"}
        spec = {k: safetensors.TensorSpec(dtype=names[code], shape=list(v.shape),
                                          data_ptr=keep[k].ctypes.data, data_len=keep[k].nbytes)
                for k, (code, v) in tensors.items()}
    else:
        spec = {k: {"dtype": code, "shape": list(v.shape), "data": keep[k].tobytes()}
                for k, (code, v) in tensors.items()}
    safetensors.serialize_file(spec, path, metadata)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    ap.add_argument("outdir")
    ap.add_argument("--layers", type=int, default=4, help="decoder layers (default 4, at least 2)")
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("-q", "--quiet", action="store_true")
    args = ap.parse_args()
    if args.layers < 2:
        ap.error("--layers must be at least 2")
    rng = np.random.default_rng(args.seed)

    def matrix(rows: int, cols: int) -> np.ndarray:
        std = 1.0 / np.sqrt(cols)  # fan-in scaled, as trained projections roughly are
        return to_bf16_bits(rng.standard_normal((rows, cols), dtype=np.float32) * np.float32(std))

    def norm() -> np.ndarray:
        return (1.0 + 0.1 * rng.standard_normal(HIDDEN)).astype(np.float32)

    a: dict[str, tuple[str, np.ndarray]] = {}
    a["model.embed_tokens.weight"] = ("BF16", matrix(VOCAB, HIDDEN))
    for i in range(args.layers):
        p = f"model.layers.{i}."
        for m in "qkvo":
            a[p + f"self_attn.{m}_proj.weight"] = ("BF16", matrix(HIDDEN, HIDDEN))
        a[p + "mlp.gate_proj.weight"] = ("BF16", matrix(INTER, HIDDEN))
        a[p + "mlp.up_proj.weight"] = ("BF16", matrix(INTER, HIDDEN))
        a[p + "mlp.down_proj.weight"] = ("BF16", matrix(HIDDEN, INTER))
        a[p + "input_layernorm.weight"] = ("F32", norm())
        a[p + "post_attention_layernorm.weight"] = ("F32", norm())
    a["model.norm.weight"] = ("F32", norm())
    a["lm_head.weight"] = ("BF16", matrix(VOCAB, HIDDEN))

    b = dict(a)
    changes = []

    def nudge(name: str, how: str, amount: float) -> None:
        x = from_bf16_bits(a[name][1])
        if how == "scale":  # b = a * (1 + u), |u| <= amount: stays within rtol
            x = x * (1 + rng.uniform(-amount, amount, x.shape).astype(np.float32))
        else:  # additive noise, amount x the tensor's std
            x = x + np.float32(amount * x.std()) * rng.standard_normal(x.shape, dtype=np.float32)
        b[name] = ("BF16", to_bf16_bits(x))
        changes.append(f"{name}: {'scaled by up to' if how == 'scale' else 'noise'} {amount:g}"
                       + ("" if how == "scale" else " x std"))

    last, strong = args.layers - 1, max(args.layers - 2, 1)
    for m in "qv":
        nudge(f"model.layers.1.self_attn.{m}_proj.weight", "scale", 0.005)
    for suffix in [f"self_attn.{m}_proj.weight" for m in "qkvo"] + [f"mlp.{m}_proj.weight" for m in ("gate", "up", "down")]:
        name = f"model.layers.{strong}.{suffix}"
        if name not in (f"model.layers.1.self_attn.{m}_proj.weight" for m in "qv"):
            nudge(name, "noise", 0.1)
    if last != strong:
        nudge(f"model.layers.{last}.mlp.down_proj.weight", "noise", 0.01)
    b["output.weight"] = b.pop("lm_head.weight")
    changes.append("lm_head.weight: renamed output.weight")

    os.makedirs(args.outdir, exist_ok=True)
    # One metadata key only: safetensors writes the metadata map in hash order,
    # which changes from run to run, and these files should be byte-identical.
    meta = {"format": "pt"}
    pa, pb = os.path.join(args.outdir, "a.safetensors"), os.path.join(args.outdir, "b.safetensors")
    save(a, pa, meta)
    save(b, pb, meta)
    if not args.quiet:
        size = os.path.getsize(pa) / 2**20
        print(f"wrote {pa} ({len(a)} tensors, {size:.1f} MiB) and {pb}; B differs from A in:")
        for c in changes:
            print("  " + c)
    return 0


if __name__ == "__main__":
    sys.exit(main())
