"""Bad input: each kind quarantines only its sequence, with a readable reason; the rest completes,
outputs are atomic and re-materializing is idempotent."""
from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from egom2p import modalities as M
from egom2p.curation.checks import check_partition
from egom2p.curation.clips import curate_clips
from egom2p.curation.config import CurationConfig
from egom2p.curation.depth import label_depth
from egom2p.curation.normalize import normalize_partition, upstream_quarantine
from egom2p.catalog import read_index, read_quarantine
from egom2p.paths import DataPaths

CFG = CurationConfig(preset="tiny", clip_resolution=64)


def run_all(raw: Path, cfg: CurationConfig = CFG):
    paths = DataPaths(raw.parent.parent)
    ds = raw.name
    curate_clips(raw, paths.interim_clips(ds), ds, cfg, progress=False)
    label_depth(paths.interim_clips(ds), paths.interim_depth(ds), ds, progress=False)
    q = upstream_quarantine(paths.interim_clips(ds), paths.interim_depth(ds))
    normalize_partition(paths.interim_clips(ds), paths.interim_depth(ds), paths.clips(ds), ds, cfg, q, progress=False)
    return paths.clips(ds), read_index(paths.clips(ds)), read_quarantine(paths.clips(ds))


def _sequences(raw: Path) -> list[str]:
    from egom2p.curation.datasets import resolve_reader
    return resolve_reader(raw).list_sequences(raw)


def _edit_csv(path: Path, fn):
    rows = list(csv.reader(open(path)))
    rows = fn(rows)
    with open(path, "w", newline="") as f:
        csv.writer(f).writerows(rows)


def _take_dir(raw: Path, seq: str) -> Path:
    return raw / "takes" / seq


def corrupt_truncated_video(raw, seq):
    mp4 = _take_dir(raw, seq) / "frame_aligned_videos" / "aria01_214-1.mp4"
    data = mp4.read_bytes()
    mp4.write_bytes(data[: len(data) // 2])


def corrupt_missing_column(raw, seq):
    _edit_csv(_take_dir(raw, seq) / "trajectory" / "closed_loop_trajectory.csv",
              lambda rows: [[v for i, v in enumerate(r) if rows[0][i] != "qw_world_device"] for r in rows])


def corrupt_nan_pose(raw, seq):
    def f(rows):
        col = rows[0].index("tx_world_device")
        rows[200][col] = "nan"
        return rows
    _edit_csv(_take_dir(raw, seq) / "trajectory" / "closed_loop_trajectory.csv", f)


def corrupt_non_monotonic(raw, seq):
    from egom2p.curation.datasets.egoexo4d import capture_name
    def f(rows):
        rows[20], rows[21] = rows[21], rows[20]
        return rows
    _edit_csv(raw / "captures" / capture_name(seq) / "timesync.csv", f)


def corrupt_empty_sequence(raw, seq):
    for p in (raw / seq / "rgb").iterdir():
        p.unlink()


def corrupt_unreadable_frame(raw, seq):
    (raw / seq / "rgb" / "5.jpg").write_bytes(b"\xff\xd8 this is not a jpeg")


def corrupt_nan_extrinsic(raw, seq):
    p = raw / seq / "smplx_params" / "3.npy"
    v = np.load(p)
    v[70] = np.nan
    np.save(p, v)


CASES = [
    ("egoexo4d", corrupt_truncated_video, "video"),
    ("egoexo4d", corrupt_missing_column, "missing column(s) qw_world_device"),
    ("egoexo4d", corrupt_nan_pose, "non-finite"),
    ("egoexo4d", corrupt_non_monotonic, "not strictly increasing"),
    ("egogen", corrupt_empty_sequence, "empty sequence"),
    ("egogen", corrupt_unreadable_frame, "unreadable frame rgb/5.jpg"),
    ("egogen", corrupt_nan_extrinsic, "non-finite"),
]


@pytest.mark.parametrize("layout,corrupt,reason", CASES, ids=[c[1].__name__ for c in CASES])
def test_bad_sequence_is_quarantined_and_rest_completes(raw_copy, layout, corrupt, reason):
    raw = raw_copy(layout)
    bad, good = _sequences(raw)[:2]
    corrupt(raw, bad)
    out, index, quarantine = run_all(raw)
    assert [q["sequence_id"] for q in quarantine] == [bad]
    assert reason in quarantine[0]["error"], quarantine[0]["error"]
    assert quarantine[0]["stage"] == "clips"
    assert {r["sequence_id"] for r in index} == {good}
    assert all(passed for passed, _ in check_partition(out).values())
    assert not [p for p in out.parent.iterdir() if p.name.startswith(".")], "staging folders left behind"


def test_rematerializing_is_idempotent(raw_copy):
    raw = raw_copy("egogen")
    out, index1, q1 = run_all(raw)
    files1 = {p.relative_to(out): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}
    out, index2, q2 = run_all(raw)
    files2 = {p.relative_to(out): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}
    assert index1 == index2 and q1 == q2
    assert files1.keys() == files2.keys()
    assert all(files1[k] == files2[k] for k in files1)


def test_short_sequence_quarantined_or_padded(raw_copy, tmp_path):
    raw = raw_copy("egogen")
    seq = _sequences(raw)[0]
    for name in ("rgb", "depth_clean", "smplx_params"):
        for p in (raw / seq / name).iterdir():
            if int(p.stem) > 30:
                p.unlink()
    _, index, quarantine = run_all(raw)
    assert [q["sequence_id"] for q in quarantine] == [seq]
    assert quarantine[0]["error"].startswith("shorter than one clip: 30 frames")
    out, index, quarantine = run_all(raw, CurationConfig(preset="tiny", clip_resolution=64, allow_short=True))
    assert quarantine == []
    short = [r for r in index if r["sequence_id"] == seq]
    assert len(short) == 1 and short[0]["valid_frames"] == 30
    depth = M.get("depth").read(out / short[0]["clip_id"])
    assert np.isnan(depth[30:]).all() and np.isfinite(depth[:30]).any()
    assert all(passed for passed, _ in check_partition(out).values())
