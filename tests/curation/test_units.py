"""Resumable per-sequence units: kill -9 and resume, incremental sequences, config/version changes,
removed sequences, atomic publishing and worker-count independence, on a real synthetic EgoGen folder."""
from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from egom2p.catalog import read_index, read_quarantine
from egom2p.curation import clips as clips_stage
from egom2p.curation.clips import curate_clips
from egom2p.curation.config import CurationConfig
from egom2p.curation.depth import label_depth
from egom2p.curation.normalize import normalize_partition, upstream_quarantine
from egom2p.units import UNITS_DIR

CFG = CurationConfig(clip_resolution=32)
N_SEQ = 7


@pytest.fixture(scope="module")
def seven(tmp_path_factory) -> Path:
    """An EgoGen-layout folder with 7 sequences of 2.2 s (one clip each)."""
    from egom2p.synth.layouts import LAYOUTS
    root = tmp_path_factory.mktemp("seven") / "egogen"
    LAYOUTS["egogen"](root, sequences=N_SEQ, seconds=2.2, seed=5, progress=False)
    return root


def copy_raw(src: Path, dst: Path, only: list[str] | None = None) -> Path:
    """Copy sequences keeping modification times (copy2), as a sync tool would."""
    dst.mkdir(parents=True, exist_ok=True)
    for p in sorted(src.iterdir()):
        if only is None or p.name in only:
            shutil.copytree(p, dst / p.name, copy_function=shutil.copy2)
    return dst


def tree_digest(folder: Path) -> dict[str, str]:
    """relative path -> sha256 of every file, commit records excluded (they hold timings)."""
    out = {}
    for p in sorted(folder.rglob("*")):
        if p.is_file() and UNITS_DIR not in p.parts:
            out[str(p.relative_to(folder))] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def curate_all(raw: Path, data: Path, workers: int = 1, cfg: CurationConfig = CFG) -> dict:
    ds = raw.name
    c = curate_clips(raw, data / "interim" / ds, ds, cfg, progress=False, workers=workers)
    d = label_depth(data / "interim" / ds, data / "depth" / ds, ds, progress=False, workers=workers)
    n = normalize_partition(data / "interim" / ds, data / "depth" / ds, data / "clips" / ds, ds, cfg,
                            upstream_quarantine(data / "interim" / ds, data / "depth" / ds), progress=False,
                            workers=workers)
    return {"clips": c, "depth": d, "normalized": n}


def test_second_run_skips_everything_and_output_does_not_depend_on_workers(seven, tmp_path):
    raw1 = copy_raw(seven, tmp_path / "a" / "raw" / "egogen")
    raw2 = copy_raw(seven, tmp_path / "b" / "raw" / "egogen")
    first = curate_all(raw1, tmp_path / "a" / "out", workers=1)
    assert [r.run for r in first.values()] == [N_SEQ] * 3
    two = curate_all(raw2, tmp_path / "b" / "out", workers=2)
    assert [r.run for r in two.values()] == [N_SEQ] * 3
    a, b = tree_digest(tmp_path / "a" / "out"), tree_digest(tmp_path / "b" / "out")
    assert len(a) > 7 * 5 and a == b                      # every byte, index included
    again = curate_all(raw1, tmp_path / "a" / "out", workers=2)
    assert [(r.run, r.skipped) for r in again.values()] == [(0, N_SEQ)] * 3
    assert tree_digest(tmp_path / "a" / "out") == a         # a resumed run publishes the same index


def test_new_removed_touched_sequence_and_config_change(seven, tmp_path):
    names = sorted(p.name for p in seven.iterdir())
    raw = copy_raw(seven, tmp_path / "raw" / "egogen", only=names[:-1])
    out = tmp_path / "out"
    assert curate_all(raw, out)["clips"].run == N_SEQ - 1
    inode = {p.name: (p / "rgb.mp4").stat().st_ino for p in (out / "clips" / "egogen").iterdir() if p.is_dir() and p.name != UNITS_DIR}
    # a new sequence: only it runs, in every stage; every other clip keeps its files (same inode)
    copy_raw(seven, raw, only=names[-1:])
    res = curate_all(raw, out)
    assert [(r.run, r.skipped) for r in res.values()] == [(1, N_SEQ - 1)] * 3
    assert len(read_index(out / "clips" / "egogen")) == N_SEQ
    for name, ino in inode.items():
        assert (out / "clips" / "egogen" / name / "rgb.mp4").stat().st_ino == ino
    # a touched source file (new mtime): only that sequence runs again
    frame = sorted((raw / names[0] / "rgb").iterdir())[0]
    os.utime(frame, ns=(frame.stat().st_atime_ns, frame.stat().st_mtime_ns + 10**9))
    assert [r.run for r in curate_all(raw, out).values()] == [1, 1, 1]
    # a removed sequence leaves the index and its committed outputs go
    shutil.rmtree(raw / names[1])
    res = curate_all(raw, out)
    assert res["clips"].removed == 1 and res["clips"].run == 0
    ids = {r["sequence_id"] for r in read_index(out / "clips" / "egogen")}
    assert names[1] not in ids and len(ids) == N_SEQ - 1
    for stage in ("interim", "depth", "clips"):
        assert not [p for p in (out / stage / "egogen").iterdir() if p.name.startswith(names[1])]
        assert not (out / stage / "egogen" / UNITS_DIR / f"{names[1]}.json").exists()
    # a changed config re-runs every unit
    res = curate_all(raw, out, cfg=CurationConfig(clip_resolution=48))
    assert [r.run for r in res.values()] == [N_SEQ - 1] * 3
    assert all(r["clip_id"] for r in read_index(out / "clips" / "egogen"))


def test_stage_version_change_reruns_every_unit(seven, tmp_path, monkeypatch):
    raw = copy_raw(seven, tmp_path / "raw" / "egogen", only=sorted(p.name for p in seven.iterdir())[:2])
    out = tmp_path / "interim"
    assert curate_clips(raw, out, "egogen", CFG, progress=False, workers=1).run == 2
    assert curate_clips(raw, out, "egogen", CFG, progress=False, workers=1).run == 0
    monkeypatch.setattr(clips_stage, "VERSION", clips_stage.VERSION + "-next")
    assert curate_clips(raw, out, "egogen", CFG, progress=False, workers=1).run == 2


def test_bad_sequence_is_quarantined_once_and_retried_when_fixed(seven, tmp_path):
    names = sorted(p.name for p in seven.iterdir())[:3]
    raw = copy_raw(seven, tmp_path / "raw" / "egogen", only=names)
    bad = sorted((raw / names[1] / "rgb").iterdir())[5]
    good_bytes = bad.read_bytes()
    bad.write_bytes(b"not a jpeg")
    out = tmp_path / "interim"
    res = curate_clips(raw, out, "egogen", CFG, progress=False, workers=2)
    assert (res.run, res.quarantined) == (3, 1)
    q = read_quarantine(out)
    assert [r["sequence_id"] for r in q] == [names[1]] and "unreadable frame" in q[0]["error"]
    assert {r["sequence_id"] for r in read_index(out)} == {names[0], names[2]}
    again = curate_clips(raw, out, "egogen", CFG, progress=False, workers=1)
    assert (again.run, again.skipped, again.quarantined) == (0, 3, 1)      # same bad input: not redone
    bad.write_bytes(good_bytes)                                               # fixed: new mtime
    fixed = curate_clips(raw, out, "egogen", CFG, progress=False, workers=1)
    assert (fixed.run, fixed.quarantined) == (1, 0) and len(read_index(out)) == 3


KILL_SCRIPT = """
import sys
from pathlib import Path
from egom2p.curation.clips import curate_clips
from egom2p.curation.config import CurationConfig
curate_clips(Path(sys.argv[1]), Path(sys.argv[2]), "egogen", CurationConfig(clip_resolution=96), progress=False, workers=1)
"""


def test_kill_9_mid_stage_then_resume_redoes_only_uncommitted_units(seven, tmp_path):
    raw = copy_raw(seven, tmp_path / "raw" / "egogen")
    out = tmp_path / "interim"
    proc = subprocess.Popen([sys.executable, "-c", KILL_SCRIPT, str(raw), str(out)], start_new_session=True)
    records = out / UNITS_DIR
    deadline = time.time() + 120
    while time.time() < deadline and len(list(records.glob("*.json"))) < 3:
        assert proc.poll() is None, "the stage finished before it could be killed"
        time.sleep(0.01)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    committed = len(list(records.glob("*.json")))
    assert 3 <= committed < N_SEQ and not (out / "index.parquet").exists()
    resumed = curate_clips(raw, out, "egogen", CurationConfig(clip_resolution=96), progress=False, workers=1)
    assert (resumed.run, resumed.skipped) == (N_SEQ - committed, committed)
    assert not list(records.glob(".staging-*")) and len(read_index(out)) == N_SEQ
    fresh = tmp_path / "fresh"
    curate_clips(raw, fresh, "egogen", CurationConfig(clip_resolution=96), progress=False, workers=1)
    assert tree_digest(out) == tree_digest(fresh)


def test_readers_never_see_a_half_published_index(seven, tmp_path):
    names = sorted(p.name for p in seven.iterdir())
    raw = copy_raw(seven, tmp_path / "raw" / "egogen", only=names[:3])
    out = tmp_path / "interim"
    curate_clips(raw, out, "egogen", CFG, progress=False, workers=1)
    copy_raw(seven, raw, only=names[3:])
    seen, errors, stop = set(), [], threading.Event()

    def reader():
        while not stop.is_set():
            try:
                seen.add(len(read_index(out)))
            except Exception as e:  # noqa: BLE001 - any torn read is the failure we look for
                errors.append(repr(e))

    t = threading.Thread(target=reader)
    t.start()
    try:
        curate_clips(raw, out, "egogen", CFG, progress=False, workers=1)
    finally:
        stop.set()
        t.join()
    assert len(seen) >= 1 and not errors and seen <= {3, N_SEQ}     # the old index or the new one, never torn
    assert len(read_index(out)) == N_SEQ
