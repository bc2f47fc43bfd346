#!/usr/bin/env python3
"""Fails when an #include goes up the layer graph (docs/architecture.md).

Layers, lowest first; a file may include project headers of its own layer or
a lower one, never a higher one:

  core     include/weightdiff/{bins,cancel,dequant,dtype,error,graph,model,options,stats,storage,tensor,version}
           + src/core/ (their implementations, checked arithmetic, text excerpts)
  io       src/io/            mapped files, checked opens, paths, the SIGBUS guard
  formats  src/formats/       loaders: a path in, a catalog out
  match    src/match/         pairing by name: catalogs + MatchOptions in
  backend  src/backend/        the Backend interface, selection/registry, the CPU backend
           kernels/            the CUDA backend, all of it (device code, host pipeline)
  engine   src/engine/ + include/weightdiff/{diff,gates,inspect,fields,quant_groups,shard,graph_diff}.hpp
  report   src/report/ + include/weightdiff/{report,inspect_report,merge}.hpp
  cli      src/cli/           the command line: public headers only
  python   python/src/        the Python binding: public headers only

Two more rules: a public header (include/weightdiff/) includes only public
headers; src/cli/ and python/src/ include only public headers and their own
files (a user's program has nothing else either).

And for CUDA: kernels/ is the only place of CUDA code (no .cu/.cuh and no
CUDA or CUB header in include/ or src/), and a kernels/ header outside RUNTIME_HEADERS
never reaches <cuda_runtime.h> or CUB, even through other headers: those are
the host/device and host-only headers that builds without nvcc compile (the
CUDA emulation and plan tests).

Usage: scripts/check_layers.py [ROOT]   (exit 1 and one line per violation)
"""

import re
import sys
from pathlib import Path

ORDER = ["core", "io", "formats", "match", "backend", "engine", "report", "cli", "python"]
RANK = {name: i for i, name in enumerate(ORDER)}

PUBLIC = {
    "bins": "core", "cancel": "core", "dtype": "core", "error": "core", "model": "core", "stats": "core",
    "tensor": "core", "version": "core", "graph": "core", "dequant": "core", "options": "core", "storage": "core",
    "diff": "engine", "gates": "engine", "inspect": "engine", "fields": "engine",
    "quant_groups": "engine", "shard": "engine", "graph_diff": "engine", "merge": "report",
    "report": "report", "inspect_report": "report",
}
SRC_DIRS = {"core": "core", "io": "io", "formats": "formats", "match": "match", "backend": "backend",
            "engine": "engine", "report": "report", "cli": "cli"}
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)
CUDA_SYSTEM = re.compile(r'^\s*#\s*include\s+<((?:cuda|cub/|thrust/)[^>]*)>', re.M)
# The host pipeline's headers: they call the CUDA runtime.
RUNTIME_HEADERS = {"cuda_try.hpp", "cuda_handles.hpp", "cuda_buffer.hpp", "staging_ring.hpp",
                   "pipeline.hpp"}


def layer_of(rel: Path):
    """The layer of a project file (path relative to the root), or None."""
    parts = rel.parts
    if parts[0] == "include" and len(parts) == 3 and parts[1] == "weightdiff":
        stem = parts[2].split(".")[0]
        if stem not in PUBLIC:
            return "unlisted"
        return PUBLIC[stem]
    if parts[0] == "src" and len(parts) >= 3:
        return SRC_DIRS.get(parts[1], "unlisted")
    if parts[0] == "kernels":
        return "backend"
    if parts[:2] == ("python", "src"):
        return "python"
    return None


def resolve(root: Path, including: Path, target: str):
    """The project file an include names, or None for a system/third-party one."""
    # root: the tests and the bench include the CUDA backend as "kernels/...".
    for base in (including.parent, root / "src", root / "include", root / "kernels", root):
        p = base / target
        if p.is_file() or Path(str(p) + ".in").is_file():
            return p if p.is_file() else Path(str(p) + ".in")
    return None


def cuda_reached(root: Path, f: Path, seen=None):
    """The first CUDA/CUB system header f includes, directly or through project headers."""
    seen = set() if seen is None else seen
    if f in seen:
        return None
    seen.add(f)
    text = f.read_text(errors="replace")
    direct = CUDA_SYSTEM.search(text)
    if direct:
        return direct.group(1)
    for target in INCLUDE.findall(text):
        dep = resolve(root, f, target)
        if dep is not None:
            hit = cuda_reached(root, dep, seen)
            if hit:
                return hit
    return None


def cuda_violations(root: Path, files):
    bad = []
    for f in files:
        rel = f.relative_to(root)
        if rel.parts[0] != "kernels":
            if f.suffix in (".cu", ".cuh") or CUDA_SYSTEM.search(f.read_text(errors="replace")):
                bad.append(f"{rel}: CUDA code outside kernels/")
        elif f.suffix == ".hpp" and f.name not in RUNTIME_HEADERS:
            hit = cuda_reached(root, f)
            if hit:
                bad.append(f"{rel}: reaches <{hit}>; host/device headers must compile without "
                           "CUDA (or add it to RUNTIME_HEADERS)")
    return bad


def main() -> int:
    root = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).resolve().parent.parent)
    files = [p for d in ("include", "src", "kernels", "python/src") for p in (root / d).rglob("*")
             if p.suffix in (".hpp", ".cpp", ".cu", ".cuh", ".in") and p.is_file()]
    bad = []
    for f in sorted(files):
        rel = f.relative_to(root)
        own = layer_of(rel)
        if own == "unlisted":
            bad.append(f"{rel}: not in any layer (add it to scripts/check_layers.py)")
            continue
        for target in INCLUDE.findall(f.read_text(errors="replace")):
            dep = resolve(root, f, target)
            if dep is None:
                continue
            drel = dep.relative_to(root)
            theirs = layer_of(drel)
            if theirs is None or theirs == "unlisted":
                continue
            public_target = drel.parts[0] == "include"
            if rel.parts[0] == "include" and not public_target:
                bad.append(f"{rel}: public header includes private {target}")
            elif own in ("cli", "python") and not public_target and theirs != own:
                bad.append(f"{rel}: the {own} layer includes private {target} ({theirs}); "
                           "use the public API")
            elif RANK[theirs] > RANK[own]:
                bad.append(f"{rel} ({own}) includes {target} ({theirs}): upward edge")
    bad += cuda_violations(root, sorted(files))
    for line in bad:
        print(f"check_layers: {line}")
    if bad:
        print(f"check_layers: {len(bad)} violation(s)")
        return 1
    print(f"check_layers: {len(files)} files, no upward include, CUDA only in kernels/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
