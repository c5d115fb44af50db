"""The unit engine on its own: commit protocol, crash leftovers, retry rules, removal, the worker pool.
(Units on 2 worker processes, byte for byte against 1, are tested with real stages in
tests/curation/test_units.py and tests/tokenizers/test_token_units.py: a spawned worker cannot import a
test module's work function.)"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from egom2p import units as U
from egom2p.pool import imap_unordered, resolve_workers


class BadInput(ValueError):
    pass


def write_unit(staging: Path, unit: U.Unit, ctx: U.UnitContext) -> list[dict]:
    """Writes ``<key>.txt`` holding its args; args ("bad",) / ("boom",) fail as bad input / a bug."""
    if unit.args[:1] == ("bad",):
        raise BadInput(f"{unit.label}: bad file")
    if unit.args[:1] == ("boom",):
        raise RuntimeError("unexpected")
    (staging / f"{unit.key}.txt").write_text(repr(unit.args))
    return [{"key": unit.key, "value": len(unit.args)}]


def units(**args) -> list[U.Unit]:
    return [U.Unit(k, k, U.fingerprint(k, a), a) for k, a in sorted(args.items())]


def run(out: Path, us, workers: int = 1) -> U.StageReport:
    return U.run_units(out, "stage", "ds", us, write_unit, workers=workers, bad_input=(BadInput,),
                       protected=("index.parquet",), progress=False)


def test_fingerprint_is_stable_and_order_free():
    assert U.fingerprint({"a": 1, "b": [1, 2]}) == U.fingerprint({"b": [1, 2], "a": 1})
    assert U.fingerprint({"a": 1}) != U.fingerprint({"a": 2}) and len(U.fingerprint("x")) == 20


def test_commit_skip_rerun_on_change_and_remove(tmp_path):
    out = tmp_path / "stage"
    r = run(out, units(a=(1,), b=(1, 2)))
    assert (r.run, r.skipped, [row["value"] for row in r.rows]) == (2, 0, [1, 2])
    assert (out / "a.txt").read_text() == "(1,)" and json.loads((out / ".units" / "a.json").read_text())["outputs"] == ["a.txt"]
    r = run(out, units(a=(1,), b=(1, 2, 3)))           # b's inputs changed
    assert (r.run, r.skipped) == (1, 1) and (out / "b.txt").read_text() == "(1, 2, 3)"
    r = run(out, units(a=(1,)))                          # b disappeared
    assert (r.removed, r.total) == (1, 1) and not (out / "b.txt").exists() and not (out / ".units" / "b.json").exists()


def test_crash_leftovers_are_swept_and_uncommitted_units_rerun(tmp_path):
    out = tmp_path / "stage"
    run(out, units(a=(1,), b=(2,)))
    # a run killed mid-commit of b: its record is gone, its entry half-moved; a stale staging folder remains
    (out / ".units" / "b.json").unlink()
    (out / ".units" / ".staging-b-xyz").mkdir()
    (out / "orphan.txt").write_text("left by a killed run")
    (out / "index.parquet").write_text("the stage's own table")
    r = run(out, units(a=(1,), b=(2,)))
    assert (r.run, r.skipped) == (1, 1)
    assert not (out / "orphan.txt").exists() and not list((out / ".units").glob(".staging-*"))
    assert (out / "index.parquet").exists() and (out / "b.txt").read_text() == "(2,)"


def test_bad_input_is_not_retried_but_a_bug_is(tmp_path):
    out = tmp_path / "stage"
    r = run(out, units(a=("bad",), b=("boom",), c=(3,)))
    assert [(q["sequence_id"], q["error"]) for q in r.quarantine] == [("a", "a: bad file"), ("b", "RuntimeError: unexpected")]
    assert [row["key"] for row in r.rows] == ["c"]
    again = run(out, units(a=("bad",), b=("boom",), c=(3,)))
    assert (again.run, again.skipped, again.quarantined) == (1, 2, 2)    # only the bug is retried


def test_failed_unit_loses_its_old_output(tmp_path):
    out = tmp_path / "stage"
    run(out, [U.Unit("a", "a", "v1", (1,))])
    r = run(out, [U.Unit("a", "a", "v2", ("bad",))])
    assert r.quarantined == 1 and not (out / "a.txt").exists() and r.rows == []


def test_duplicate_keys_are_refused(tmp_path):
    with pytest.raises(ValueError, match="duplicate unit keys"):
        run(tmp_path, [U.Unit("a", "a", "1"), U.Unit("a", "a", "2")])


def test_pool_streams_every_result_and_workers_setting(monkeypatch):
    assert sorted(imap_unordered(abs, range(-5, 5), 2)) == sorted(abs(i) for i in range(-5, 5))
    monkeypatch.setenv("EGOM2P_WORKERS", "3")
    assert resolve_workers(0) == 3 and resolve_workers(1) == 1
