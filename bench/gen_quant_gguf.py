#!/usr/bin/env python3
"""Write a GGUF holding, for every tensor of a safetensors file, a tensor of
the same name and shape in a ggml block type (default Q4_K), with the
official `gguf` package: the B side of bench/quant_bench.sh.

    gen_quant_gguf.py A.safetensors OUT.gguf [--type Q4_K] [--seed 0]

The blocks are random bytes with finite f16 scales of realistic magnitude
(d and dmin from 2^-12 to 2^-8): the decode does the same work whatever
the quants are, and quantizing 1 Gi elements in numpy would take minutes.
Every tensor's last dimension must be a multiple of the block size.
"""
import argparse
import json
import struct
import sys

import numpy as np
import gguf
from gguf import GGMLQuantizationType as QT

# Offsets of the f16 scales in each block (d, then dmin / m).
F16_AT = {QT.Q4_0: [0], QT.Q4_1: [0, 2], QT.Q5_0: [0], QT.Q5_1: [0, 2], QT.Q8_0: [0],
          QT.Q2_K: [80, 82], QT.Q3_K: [108], QT.Q4_K: [0, 2], QT.Q5_K: [0, 2], QT.Q6_K: [208]}


def header(path):
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        return {k: v for k, v in json.loads(f.read(n)).items() if k != "__metadata__"}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("a")
    ap.add_argument("out")
    ap.add_argument("--type", default="Q4_K", choices=[t.name for t in F16_AT])
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    qt = QT[args.type]
    bs, ts = gguf.GGML_QUANT_SIZES[qt]
    rng = np.random.default_rng(args.seed)
    w = gguf.GGUFWriter(args.out, "llama")
    for name, info in header(args.a).items():
        shape = info["shape"]
        rows, cols = int(np.prod(shape[:-1])), shape[-1]
        if cols % bs:
            sys.exit(f"gen_quant_gguf: {name}: last dimension {cols} is no multiple of {bs}")
        b = rng.integers(0, 256, size=(rows * cols // bs, ts), dtype=np.uint8)
        for at in F16_AT[qt]:
            s = np.ldexp(rng.uniform(1, 2, b.shape[0]), rng.integers(-12, -8, b.shape[0])).astype(np.float16)
            b[:, at:at + 2] = s.view(np.uint8).reshape(-1, 2)
        w.add_tensor(name, b.reshape(*shape[:-1], cols // bs * ts), raw_dtype=qt)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


if __name__ == "__main__":
    main()
