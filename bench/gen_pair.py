#!/usr/bin/env python3
"""Generate a synthetic pair of checkpoints (A, B) for benchmarking weightdiff.

    gen_pair.py OUTDIR [--size 2GiB] [--dtype bf16] [--mix llm] [--seed 0]
                       [--perturb 0.5] [--noise 0.01] [--shards 1]

Writes OUTDIR/A.safetensors and OUTDIR/B.safetensors (or, with --shards N > 1,
OUTDIR/A/ and OUTDIR/B/ as Hugging Face sharded folders with an index), plus
OUTDIR/pair.json describing what was generated.

B equals A byte for byte except for a chosen fraction of tensors (--perturb),
where B = A + noise * std(A) * N(0, 1), rounded to the same dtype.

Mixes (--mix):
  llm       a Llama/Qwen-shaped model scaled to --size: embed + lm_head, and per
            layer 4 attention and 3 MLP matrices (huge) plus 3 q/k/v biases and
            2 norms (small). The hidden size is the largest power of two that
            still gives >= 8 layers; the vocabulary absorbs the remainder so the
            total lands within a few KiB of --size.
  llm:H     the same with hidden size H fixed.
  uniform:N N tensors of equal size (2-D, 1024 columns when possible).

The default writer streams the safetensors format itself (8-byte LE header
length, JSON header padded with spaces to a multiple of 8, raw data) in blocks
of a few MiB, so memory stays bounded (~100 MiB) whatever --size is. Values
come from a precomputed pool of N(0, 1) floats sliced at random offsets per
block (seeded per tensor and block, so the output does not depend on the
thread count): statistically normal-looking, and fast enough that 2 x 2 GiB
takes seconds, not minutes. --writer safetensors builds every tensor in memory
and saves with the official package instead (small sizes; used to cross-check
the streaming writer).

Sizes accept KiB/MiB/GiB/TiB (and bare K/M/G/T) as powers of 1024, KB/MB/GB/TB
as powers of 1000.
"""
from __future__ import annotations

import argparse
import collections
import concurrent.futures as cf
import json
import os
import re
import struct
import sys
import time

import numpy as np

DTYPES = {  # our name -> (safetensors dtype, item size)
    "f32": ("F32", 4),
    "bf16": ("BF16", 2),
    "f16": ("F16", 2),
}
BLOCK_ELEMS = 1 << 22          # elements generated per job
POOL_ELEMS = (1 << 22) + 4093  # distinct normals in the pool (odd length)
# (mean, std) of A's values per tensor kind
KINDS = {"matrix": (0.0, 0.02), "norm": (1.0, 0.05), "bias": (0.0, 0.01)}


def parse_size(text: str) -> int:
    m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([KMGT]?)(i?B?)\s*", text, re.I)
    if not m:
        raise argparse.ArgumentTypeError(f"bad size {text!r} (e.g. 64MiB, 2GiB, 1.5G)")
    value, prefix, suffix = float(m.group(1)), m.group(2).upper(), m.group(3).lower()
    power = "KMGT".find(prefix) + 1 if prefix else 0
    base = 1000 if suffix == "b" and prefix else 1024
    return int(value * base**power)


# ---------------------------------------------------------------- layouts


def llm_inter(h: int) -> int:
    step = max(16, min(256, h // 4))
    return -(-(h * 8 // 3) // step) * step


def llm_layout(elems: int, hidden: int | None) -> list[tuple[str, list[int], str]]:
    """Tensors (name, shape, kind) of a Llama-like model with ~elems elements."""
    min_vocab = 256

    def per_layer(h: int) -> int:
        return 4 * h * h + 3 * h * llm_inter(h) + 3 * h + 2 * h

    def layers(h: int) -> int:
        return (elems - h - 2 * min_vocab * h) // per_layer(h)

    if hidden is None:
        ladder = [1 << k for k in range(6, 15)]
        fits = [h for h in ladder if layers(h) >= 8]
        hidden = max(fits) if fits else ladder[0]
    h, inter = hidden, llm_inter(hidden)
    n_layers = layers(h)
    if n_layers < 1:
        raise SystemExit(f"gen_pair: --size too small for an llm mix with hidden {h}")
    vocab = (elems - h - n_layers * per_layer(h)) // (2 * h)
    out = [("model.embed_tokens.weight", [vocab, h], "matrix")]
    for i in range(n_layers):
        p = f"model.layers.{i}."
        out.append((p + "input_layernorm.weight", [h], "norm"))
        for m in "qkvo":
            out.append((p + f"self_attn.{m}_proj.weight", [h, h], "matrix"))
        for m in "qkv":
            out.append((p + f"self_attn.{m}_proj.bias", [h], "bias"))
        out.append((p + "post_attention_layernorm.weight", [h], "norm"))
        out.append((p + "mlp.gate_proj.weight", [inter, h], "matrix"))
        out.append((p + "mlp.up_proj.weight", [inter, h], "matrix"))
        out.append((p + "mlp.down_proj.weight", [h, inter], "matrix"))
    out.append(("model.norm.weight", [h], "norm"))
    out.append(("lm_head.weight", [vocab, h], "matrix"))
    return out


def uniform_layout(elems: int, count: int) -> list[tuple[str, list[int], str]]:
    n = elems // count
    if n < 1:
        raise SystemExit("gen_pair: --size too small for that many tensors")
    shape = [n // 1024, 1024] if n >= 1024 else [n]
    width = len(str(count - 1))
    return [(f"tensors.{i:0{width}d}.weight", shape, "matrix") for i in range(count)]


def make_layout(mix: str, elems: int):
    kind, _, arg = mix.partition(":")
    if kind == "llm":
        return llm_layout(elems, int(arg) if arg else None)
    if kind == "uniform":
        return uniform_layout(elems, int(arg) if arg else 64)
    raise SystemExit(f"gen_pair: unknown --mix {mix!r} (llm, llm:H, uniform:N)")


# ---------------------------------------------------------------- values


def encode(x32: np.ndarray, dtype: str) -> np.ndarray:
    """float32 -> stored representation (bf16: round to nearest even, as
    uint16). Clobbers x32 (callers pass temporaries)."""
    if dtype == "f32":
        return x32
    if dtype == "f16":
        return x32.astype(np.float16)
    bits = x32.view(np.uint32)
    rounding = bits >> 16
    rounding &= 1
    rounding += np.uint32(0x7FFF)
    bits += rounding  # NaN never occurs here, so no special case
    bits >>= 16
    return bits.astype(np.uint16)


def decode(stored: np.ndarray, dtype: str) -> np.ndarray:
    if dtype == "f32":
        return stored
    if dtype == "f16":
        return stored.astype(np.float32)
    return (stored.astype(np.uint32) << 16).view(np.float32)


class Pools:
    """Per-kind pools: N(0,1) floats, A's stored values, and A decoded to f32."""

    def __init__(self, seed: int, dtype: str):
        rng = np.random.default_rng([seed, 0x9E37])
        self.normal = rng.standard_normal(POOL_ELEMS + BLOCK_ELEMS, dtype=np.float32)
        self.dtype = dtype
        self.stored, self.decoded = {}, {}
        for kind, (mean, std) in KINDS.items():
            x = self.normal * np.float32(std) + np.float32(mean)
            self.stored[kind] = encode(x, dtype)
            self.decoded[kind] = decode(self.stored[kind], dtype)


def block_job(pools: Pools, seed: int, t_index: int, b_index: int, n: int,
              kind: str, perturbed: bool, noise: float):
    rng = np.random.default_rng([seed, t_index, b_index])
    off_a, off_n = rng.integers(0, POOL_ELEMS, size=2)
    a = pools.stored[kind][off_a:off_a + n]
    if not perturbed:
        return a, a
    std = KINDS[kind][1]
    b32 = pools.normal[off_n:off_n + n] * np.float32(noise * std)
    b32 += pools.decoded[kind][off_a:off_a + n]
    return a, encode(b32, pools.dtype)


# ---------------------------------------------------------------- writers


def header_bytes(entries, st_dtype: str, itemsize: int, metadata: dict) -> bytes:
    header = {"__metadata__": metadata}
    offset = 0
    for name, shape, _ in entries:
        nbytes = int(np.prod(shape, dtype=np.int64)) * itemsize
        header[name] = {"dtype": st_dtype, "shape": shape, "data_offsets": [offset, offset + nbytes]}
        offset += nbytes
    raw = json.dumps(header, separators=(",", ":")).encode()
    raw += b" " * (-len(raw) % 8)
    return struct.pack("<Q", len(raw)) + raw


def shard_entries(layout, shards: int, itemsize: int):
    """Split the layout into `shards` contiguous groups of roughly equal bytes."""
    sizes = [int(np.prod(s, dtype=np.int64)) * itemsize for _, s, _ in layout]
    total, groups, acc, start = sum(sizes), [], 0, 0
    for i, size in enumerate(sizes):
        acc += size
        if len(groups) < shards - 1 and acc >= total * (len(groups) + 1) / shards and i + 1 < len(layout):
            groups.append(list(range(start, i + 1)))
            start = i + 1
    groups.append(list(range(start, len(layout))))
    return groups


def write_job(fds, offsets, job_args):
    a, b = block_job(*job_args)
    for fd, off, arr in zip(fds, offsets, (a, b)):
        view = memoryview(arr).cast("B")
        while view:  # pwrite may write less than asked
            done = os.pwrite(fd, view, off)
            view, off = view[done:], off + done


def stream_write(args, layout, perturbed: set[int], paths_a, paths_b, groups):
    """Workers generate blocks and pwrite them at their offsets (GIL released
    in numpy and in the write), so generation and page-cache copies overlap."""
    st_dtype, itemsize = DTYPES[args.dtype]
    pools = Pools(args.seed, args.dtype)
    meta = {"format": "pt", "generator": "weightdiff/bench/gen_pair.py"}
    window = 2 * args.threads + 2  # bounds memory: blocks in flight
    with cf.ThreadPoolExecutor(args.threads) as pool:
        for g, pa, pb in zip(groups, paths_a, paths_b):
            entries = [layout[i] for i in g]
            head = header_bytes(entries, st_dtype, itemsize, meta)
            fds = [os.open(p, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644) for p in (pa, pb)]
            try:
                pending = collections.deque()
                for fd in fds:
                    os.write(fd, head)
                pos = len(head)
                for t in g:
                    _, shape, kind = layout[t]
                    n = int(np.prod(shape, dtype=np.int64))
                    for b, start in enumerate(range(0, n, BLOCK_ELEMS)):
                        m = min(BLOCK_ELEMS, n - start)
                        job = (pools, args.seed, t, b, m, kind, t in perturbed, args.noise)
                        pending.append(pool.submit(write_job, fds, (pos, pos), job))
                        pos += m * itemsize
                        if len(pending) >= window:
                            pending.popleft().result()
                while pending:
                    pending.popleft().result()
            finally:
                for fd in fds:
                    os.close(fd)


def official_write(args, layout, perturbed: set[int], paths_a, paths_b, groups):
    """Whole tensors in memory, saved with safetensors.numpy (small sizes only)."""
    import ml_dtypes
    from safetensors.numpy import save_file

    pools = Pools(args.seed, args.dtype)
    view = {"f32": np.float32, "f16": np.float16, "bf16": ml_dtypes.bfloat16}[args.dtype]
    meta = {"format": "pt", "generator": "weightdiff/bench/gen_pair.py"}
    for g, pa, pb in zip(groups, paths_a, paths_b):
        ta, tb = {}, {}
        for t in g:
            name, shape, kind = layout[t]
            n = int(np.prod(shape, dtype=np.int64))
            parts = [block_job(pools, args.seed, t, b, min(BLOCK_ELEMS, n - s), kind, t in perturbed, args.noise)
                     for b, s in enumerate(range(0, n, BLOCK_ELEMS))]
            ta[name] = np.concatenate([p[0] for p in parts]).view(view).reshape(shape)
            tb[name] = np.concatenate([p[1] for p in parts]).view(view).reshape(shape)
        save_file(ta, pa, meta)
        save_file(tb, pb, meta)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    ap.add_argument("outdir")
    ap.add_argument("--size", type=parse_size, default=parse_size("2GiB"), help="bytes per model (default 2GiB)")
    ap.add_argument("--dtype", choices=sorted(DTYPES), default="bf16")
    ap.add_argument("--mix", default="llm", help="llm | llm:HIDDEN | uniform:N (default llm)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--perturb", type=float, default=0.5, help="fraction of tensors changed in B (default 0.5)")
    ap.add_argument("--noise", type=float, default=0.01, help="perturbation std relative to A's std (default 0.01)")
    ap.add_argument("--shards", type=int, default=1, help="N > 1 writes A/ and B/ as sharded HF folders")
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--writer", choices=["stream", "safetensors"], default="stream")
    ap.add_argument("-q", "--quiet", action="store_true")
    args = ap.parse_args()
    if not 0.0 <= args.perturb <= 1.0:
        ap.error("--perturb must be in [0, 1]")
    if args.shards < 1:
        ap.error("--shards must be >= 1")

    st_dtype, itemsize = DTYPES[args.dtype]
    t0 = time.perf_counter()
    layout = make_layout(args.mix, args.size // itemsize)
    rng = np.random.default_rng([args.seed, 0xB])
    k = round(args.perturb * len(layout))
    perturbed = set(int(i) for i in rng.permutation(len(layout))[:k])

    os.makedirs(args.outdir, exist_ok=True)
    shards = min(args.shards, len(layout))
    groups = shard_entries(layout, shards, itemsize)
    if shards == 1:
        paths_a = [os.path.join(args.outdir, "A.safetensors")]
        paths_b = [os.path.join(args.outdir, "B.safetensors")]
    else:
        names = [f"model-{i + 1:05d}-of-{shards:05d}.safetensors" for i in range(shards)]
        paths_a, paths_b = [], []
        for side, paths in (("A", paths_a), ("B", paths_b)):
            d = os.path.join(args.outdir, side)
            os.makedirs(d, exist_ok=True)
            paths.extend(os.path.join(d, n) for n in names)
            weight_map = {layout[t][0]: names[gi] for gi, g in enumerate(groups) for t in g}
            total = sum(int(np.prod(s, dtype=np.int64)) * itemsize for _, s, _ in layout)
            with open(os.path.join(d, "model.safetensors.index.json"), "w") as f:
                json.dump({"metadata": {"total_size": total}, "weight_map": weight_map}, f, indent=2)

    (stream_write if args.writer == "stream" else official_write)(args, layout, perturbed, paths_a, paths_b, groups)
    seconds = time.perf_counter() - t0

    elems = [int(np.prod(s, dtype=np.int64)) for _, s, _ in layout]
    info = {
        "size_requested": args.size, "dtype": args.dtype, "mix": args.mix, "seed": args.seed,
        "perturb": args.perturb, "noise": args.noise, "shards": shards, "writer": args.writer,
        "tensors": len(layout), "perturbed_tensors": len(perturbed),
        "elements": sum(elems), "data_bytes": sum(elems) * itemsize,
        "perturbed_bytes": sum(elems[i] for i in perturbed) * itemsize,
        "largest_tensor": max(zip(elems, (n for n, _, _ in layout)))[1],
        "a": paths_a[0] if shards == 1 else os.path.join(args.outdir, "A"),
        "b": paths_b[0] if shards == 1 else os.path.join(args.outdir, "B"),
        "file_bytes_a": sum(os.path.getsize(p) for p in paths_a),
        "file_bytes_b": sum(os.path.getsize(p) for p in paths_b),
        "seconds": round(seconds, 3),
    }
    with open(os.path.join(args.outdir, "pair.json"), "w") as f:
        json.dump(info, f, indent=2)
    if not args.quiet:
        mib = info["file_bytes_a"] / 2**20
        print(f"gen_pair: {info['tensors']} tensors ({info['perturbed_tensors']} perturbed), "
              f"{args.dtype}, {mib:.1f} MiB per model -> {info['a']}, {info['b']} "
              f"in {seconds:.1f} s ({2 * mib / 1024 / seconds:.2f} GiB/s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
