"""weightdiff.diff(shard=...) and weightdiff.merge(): the command line's
--shard K/N and `weightdiff merge` from Python (fixture: test_shard_merge's
pair, written by the safetensors package). Parts written by Python merge
into the CLI single run's report, parts of the CLI merge from Python, and
each bad part set raises its error class."""

import json

import pytest

import weightdiff
from conftest import load_report, run_wd
from test_shard_merge import no_timing, pair  # noqa: F401  (pytest fixture)


def test_python_parts_merge_into_the_single_run(wd_bin, pair):  # noqa: F811
    proc = run_wd(wd_bin, "a.safetensors", "b.safetensors", "--backend", "cpu", "--json", "one.json", "-q",
                  cwd=pair)
    assert proc.returncode == 1, proc.stderr
    a, b = str(pair / "a.safetensors"), str(pair / "b.safetensors")
    names = []
    for k, shard in enumerate(["1/3", (2, 3), "3/3"], 1):
        part = weightdiff.diff(a, b, backend="cpu", shard=shard)
        names.append(pair / f"py{k}.json")
        part.write_json(names[-1])
        assert part.report["part"]["k"] == k
    merged = weightdiff.merge(reversed(names))
    assert merged.exit_code == 1
    # The CLI's single run names the models as given on its command line.
    want = no_timing(load_report(pair / "one.json"))
    got = no_timing(json.loads(merged.to_json()))
    for side in ("a", "b"):
        got[side]["path"] = want[side]["path"]
    assert got == want
    # A report over a part is refused, as over an input.
    with pytest.raises(weightdiff.UsageError):
        merged.write_json(names[0])
    assert weightdiff.merge(names, fail_if="rel_l2>10").exit_code == 1  # the structural differences stay


def test_python_merges_cli_parts_and_refuses_bad_sets(wd_bin, pair):  # noqa: F811
    names = []
    for k in (1, 2):
        name = pair / f"cli{k}.json"
        assert run_wd(wd_bin, "a.safetensors", "b.safetensors", "--backend", "cpu", "--shard", f"{k}/2",
                      "--json", str(name), "-q", cwd=pair).returncode in (0, 1)
        names.append(name)
    assert weightdiff.merge(names).summary["compared"] == load_report(pair / "cli1.json")["part"]["entries"] - 3
    with pytest.raises(weightdiff.UsageError):
        weightdiff.merge([names[0]])
    with pytest.raises(weightdiff.NameConflictError):
        weightdiff.merge([names[0], names[1], names[1]])
    with pytest.raises(weightdiff.MalformedFileError):
        weightdiff.merge([pair / "a.safetensors"])
    with pytest.raises(weightdiff.FileAccessError):
        weightdiff.merge([pair / "absent.json"])
    with pytest.raises(weightdiff.UsageError):
        weightdiff.diff(str(pair / "a.safetensors"), str(pair / "b.safetensors"), shard="3/2")
    with pytest.raises(weightdiff.UsageError):
        weightdiff.diff(str(pair / "a.safetensors"), str(pair / "b.safetensors"), shard=[1, 2])
