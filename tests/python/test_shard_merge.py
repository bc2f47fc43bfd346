"""--shard K/N and `weightdiff merge` from the command line (issue 13 item 1).

A pair written by the official safetensors package — f32, bf16, f16 and
int64 tensors, one changed, one converted, one with a NaN introduced, one
stored transposed, one only in A, one only in B, a shape mismatch — is
diffed once, and in N = 1, 2, 3, 7 and 25 parts (more parts than tensors)
that `weightdiff merge` joins: its JSON (all but summary.seconds), CSV,
table and HTML data are the single run's and so is its exit code, with and
without --fail-if. Every part-1..N set that does not belong together is
exit 2 with one line on stderr and no report written.
"""

import json
import re
import zlib

import ml_dtypes
import numpy as np
import pytest
from safetensors.numpy import save_file

from conftest import assert_clean_failure, load_report, run_wd


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    d = tmp_path_factory.mktemp("shard")
    rng = np.random.default_rng(zlib.crc32(b"shard-merge"))
    a, b = {}, {}
    for i in range(8):
        x = rng.standard_normal((32, 16 * (i + 1))).astype(np.float32)
        a[f"model.layers.{i}.mlp.weight"] = x
        b[f"model.layers.{i}.mlp.weight"] = x.copy()
    b["model.layers.1.mlp.weight"] += (rng.standard_normal((32, 32)) * 1e-3).astype(np.float32)
    b["model.layers.2.mlp.weight"] = b["model.layers.2.mlp.weight"].astype(ml_dtypes.bfloat16)
    b["model.layers.3.mlp.weight"] = b["model.layers.3.mlp.weight"].astype(np.float16)
    b["model.layers.4.mlp.weight"][3, 5] = np.nan
    b["model.layers.5.mlp.weight"] = np.ascontiguousarray(b["model.layers.5.mlp.weight"].T)
    a["position_ids"] = b["position_ids"] = np.arange(64, dtype=np.int64)
    a["only_a.bias"] = rng.standard_normal(7).astype(np.float32)
    b["only_b.bias"] = rng.standard_normal(5).astype(np.float32)
    a["proj"] = rng.standard_normal((4, 6)).astype(np.float32)
    b["proj"] = rng.standard_normal((3, 8)).astype(np.float32)
    save_file(a, str(d / "a.safetensors"))
    save_file(b, str(d / "b.safetensors"))
    return d


def single(wd_bin, d, *extra):
    proc = run_wd(wd_bin, "a.safetensors", "b.safetensors", "--backend", "cpu", "--top", "0",
                  "--json", "single.json", "--csv", "single.csv", "--html", "single.html", *extra, cwd=d)
    assert proc.returncode in (0, 1), proc.stdout + proc.stderr
    return proc


def parts(wd_bin, d, n, *extra, tag="p"):
    paths = []
    for k in range(1, n + 1):
        name = f"{tag}{k}of{n}.json"
        proc = run_wd(wd_bin, "a.safetensors", "b.safetensors", "--backend", "cpu", "--shard", f"{k}/{n}",
                      "--json", name, "-q", *extra, cwd=d)
        assert proc.returncode in (0, 1), proc.stdout + proc.stderr
        paths.append(name)
    return paths


def no_timing(report):
    report["summary"].pop("seconds")
    return report


def table_without_timing(text):
    return re.sub(r"\| [0-9.]+ GB in [0-9.]+ s on ", "| GB in s on ", text)


def html_data(path):
    page = path.read_text(encoding="utf-8")
    data = json.loads(re.search(r'id="wd-data">(.*?)</script>', page, re.S).group(1))
    data["header"]["summary"].pop("seconds")
    return data


@pytest.mark.parametrize("n", [1, 2, 3, 7, 25])
def test_merge_equals_the_single_run(wd_bin, pair, n):
    one = single(wd_bin, pair)
    names = parts(wd_bin, pair, n)
    # Every compared pair in exactly one part, the structural entries in part 1.
    seen = []
    for k, name in enumerate(names, 1):
        rep = load_report(pair / name)
        assert rep["part"]["k"] == k and rep["part"]["n"] == n and rep["options"]["shard"] == f"{k}/{n}"
        for t in rep["tensors"]:
            seen.append(t["index"])
            assert ("raw" in t) == (t["status"] in ("identical", "close", "different"))
            if k > 1:
                assert "raw" in t, t["name"]
    assert sorted(seen) == list(range(len(load_report(pair / "single.json")["tensors"])))

    merged = run_wd(wd_bin, "merge", *reversed(names), "--top", "0", "--json", "m.json", "--csv", "m.csv",
                    "--html", "m.html", cwd=pair)
    assert merged.returncode == one.returncode == 1, merged.stdout + merged.stderr
    assert no_timing(load_report(pair / "m.json")) == no_timing(load_report(pair / "single.json"))
    assert (pair / "m.csv").read_bytes() == (pair / "single.csv").read_bytes()
    assert table_without_timing(merged.stdout) == table_without_timing(one.stdout)
    assert html_data(pair / "m.html") == html_data(pair / "single.html")


def test_gates_from_the_parts_or_the_merge(wd_bin, pair):
    gate = "rel_l2>1e-4"
    one = single(wd_bin, pair, "--fail-if", gate)
    names = parts(wd_bin, pair, 3, "--fail-if", gate, tag="g")
    merged = run_wd(wd_bin, "merge", *names, "--json", "mg.json", "-q", cwd=pair)
    assert merged.returncode == one.returncode == 1, merged.stderr
    want = no_timing(load_report(pair / "single.json"))
    got = no_timing(load_report(pair / "mg.json"))
    assert got == want and got["summary"]["failed"] and got["options"]["fail_if"] == [gate]
    # The merge's own --fail-if replaces the parts': as a single run with it.
    loose = "rel_l2>10"
    one = single(wd_bin, pair, "--fail-if", loose)
    merged = run_wd(wd_bin, "merge", *names, "--fail-if", loose, "--json", "ml.json", "-q", cwd=pair)
    assert merged.returncode == one.returncode, merged.stderr
    assert no_timing(load_report(pair / "ml.json")) == no_timing(load_report(pair / "single.json"))


def test_bad_part_sets_are_exit_2(wd_bin, pair, tmp_path):
    names = parts(wd_bin, pair, 3, tag="r")
    halves = parts(wd_bin, pair, 2, tag="h")
    others = parts(wd_bin, pair, 3, "--atol", "0.5", tag="o")
    single(wd_bin, pair)
    (pair / "junk.json").write_text('{"part": ', encoding="utf-8")
    cases = {
        "missing": ([names[0], names[2]], "part 2/3 is missing"),
        "twice": ([names[0], names[1], names[1], names[2]], "given twice"),
        "other N": ([names[0], names[1], names[2], halves[0]], "another number of parts"),
        "other options": ([names[0], others[1], names[2]], "other options"),
        "not a part": (["single.json"], "--shard"),
        "not JSON": ([names[0], "junk.json"], "not JSON"),
        "absent": (["absent.json"], "absent.json"),
    }
    for case, (args, needle) in cases.items():
        proc = run_wd(wd_bin, "merge", *args, "--json", "out.json", cwd=pair)
        assert_clean_failure(proc, needle, pair / "out.json")
        assert len(proc.stderr.strip().splitlines()) == 1, (case, proc.stderr)
    # A report over a part would destroy it: refused before anything is read.
    proc = run_wd(wd_bin, "merge", *names, "--json", names[0], cwd=pair)
    assert_clean_failure(proc, names[0])
    assert load_report(pair / names[0])["part"]["k"] == 1


@pytest.mark.parametrize("spec", ["0/3", "4/3", "1/0", "x/2", "1/2/3", "1"])
def test_bad_shard_is_exit_2(wd_bin, pair, spec):
    proc = run_wd(wd_bin, "a.safetensors", "b.safetensors", "--shard", spec, cwd=pair)
    assert_clean_failure(proc, "--shard")


def test_shard_with_structure_only_is_exit_2(wd_bin, pair):
    proc = run_wd(wd_bin, "a.safetensors", "b.safetensors", "--shard", "1/2", "--structure-only", cwd=pair)
    assert_clean_failure(proc, "--structure-only")
