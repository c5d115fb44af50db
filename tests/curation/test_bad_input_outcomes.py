"""Bad input that does not fail a whole sequence: one bad sequence beside a good one, and each kind is
recorded — the modality the sequence lost and why (clip meta ``dropped``, index ``dropped_<modality>``),
or the partition check (severity ERROR in Dagster) that flags the wrong data."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from egom2p import modalities as M
from egom2p.catalog import read_index, read_quarantine
from egom2p.clip import read_meta
from egom2p.curation.checks import _registry_problems, check_partition
from egom2p.curation.clips import curate_clips
from egom2p.curation.config import CurationConfig
from egom2p.curation.depth import label_depth
from egom2p.curation.inventory import build_inventory
from egom2p.curation.normalize import normalize_partition, upstream_quarantine
from egom2p.paths import DataPaths
from egom2p.tables import read_rows
from egom2p.timeline import track_alignment_problem

from .test_bad_input import _edit_csv, _sequences, _take_dir

CFG = CurationConfig(preset="tiny", clip_resolution=64)


def curate(raw: Path, cfg: CurationConfig = CFG) -> tuple[Path, list[dict], list[dict], list[dict]]:
    """Inventory + the three clip stages in this process; (clips folder, index, quarantine, inventory)."""
    paths, ds = DataPaths(raw.parent.parent), raw.name
    build_inventory(raw, paths.inventory(ds), ds, cfg, workers=1, progress=False)
    curate_clips(raw, paths.interim_clips(ds), ds, cfg, progress=False, workers=1)
    label_depth(paths.interim_clips(ds), paths.interim_depth(ds), ds, progress=False, workers=1)
    q = upstream_quarantine(paths.interim_clips(ds), paths.interim_depth(ds))
    normalize_partition(paths.interim_clips(ds), paths.interim_depth(ds), paths.clips(ds), ds, cfg, q,
                        progress=False, workers=1)
    out = paths.clips(ds)
    return out, read_index(out), read_quarantine(out), read_rows(paths.inventory(ds))


def outcome(raw: Path, corrupt) -> tuple[str, dict, dict, dict]:
    """Corrupt the first sequence, curate; (bad sequence id, its index row, the good one's, the checks)."""
    bad, good = _sequences(raw)[:2]
    corrupt(raw, bad)
    out, index, quarantine, inventory = curate(raw)
    assert quarantine == [], quarantine
    rows = {r["sequence_id"]: r for r in index}
    return bad, rows[bad], rows[good], check_partition(out, inventory)


# ----------------------------------------------------------------------------- corruptions of raw files
def _scale_column(path: Path, column: str, factor: float, offset: float = 0.0):
    def f(rows):
        i = rows[0].index(column)
        for r in rows[1:]:
            r[i] = repr(float(r[i]) * factor + offset)
        return rows
    _edit_csv(path, f)


def trajectory_in_ns(raw, seq):
    """closed_loop_trajectory.csv says µs but holds ns: the camera track spans 1000x the video."""
    _scale_column(_take_dir(raw, seq) / "trajectory" / "closed_loop_trajectory.csv", "tracking_timestamp_us", 1e3)


def gaze_in_seconds(raw, seq):
    """general_eye_gaze.csv says µs but holds seconds: the gaze track spans 1e-6 of the video."""
    _scale_column(_take_dir(raw, seq) / "eye_gaze" / "general_eye_gaze.csv", "tracking_timestamp_us", 1e-6)


def gaze_shifted_away(raw, seq):
    """Gaze on another clock origin (1000 s later): same span, no overlap with the video."""
    _scale_column(_take_dir(raw, seq) / "eye_gaze" / "general_eye_gaze.csv", "tracking_timestamp_us", 1.0, 1e9)


def degenerate_vergence(raw, seq):
    """Left and right yaw both 0: parallel eye rays, no vergence point, every gaze sample undefined."""
    for col in ("left_yaw_rads_cpf", "right_yaw_rads_cpf"):
        _scale_column(_take_dir(raw, seq) / "eye_gaze" / "general_eye_gaze.csv", col, 0.0)


def gaze_origin_1e9(raw, seq):
    """HoloAssist gaze origin at 1e9 m: every projected sample lies far outside the frame."""
    p = next((raw / seq).rglob("Eyes_sync.txt"))
    rows = [line.split() for line in p.read_text().splitlines()]
    p.write_text("".join(" ".join(r[:2] + ["1e9"] * 3 + r[5:]) + "\n" for r in rows))


def _edit_depth(fn):
    def corrupt(raw, seq):
        for p in sorted((raw / seq / "depth_clean").iterdir()):
            np.save(p, fn(np.load(p)))
    corrupt.__name__ = fn.__name__
    return corrupt


@_edit_depth
def depth_all_zero(d):
    return np.zeros_like(d)


@_edit_depth
def depth_all_nan(d):
    return np.full_like(d, np.nan)


@_edit_depth
def depth_negative(d):
    return -np.abs(d) - 1.0


DROPS = [
    ("egoexo4d", trajectory_in_ns, "camera", "likely a timestamp unit error ~1000×"),
    ("egoexo4d", gaze_in_seconds, "gaze", "likely a timestamp unit error ~1e-06×"),
    ("egoexo4d", gaze_shifted_away, "gaze", "track does not overlap the video"),
    ("egoexo4d", degenerate_vergence, "gaze", "no finite sample on the video timeline"),
    ("holoassist", gaze_origin_1e9, "gaze", "no sample inside the 64x64 frame"),
    ("egogen", depth_all_zero, "depth", "all NaN"),   # the reader reads 0 as "no hit"
    ("egogen", depth_all_nan, "depth", "all NaN"),
    ("egogen", depth_negative, "depth", "all NaN"),   # so does a negative depth
]


@pytest.mark.parametrize("layout,corrupt,modality,reason", DROPS, ids=[c[1].__name__ for c in DROPS])
def test_lost_modality_is_recorded_and_coverage_fails(raw_copy, layout, corrupt, modality, reason):
    raw = raw_copy(layout)
    bad, row, good_row, checks = outcome(raw, corrupt)
    assert not row[f"has_{modality}"] and good_row[f"has_{modality}"]
    assert reason in row[f"dropped_{modality}"], row[f"dropped_{modality}"]
    assert row[f"dropped_{modality}"].startswith(f"{modality}:") and good_row[f"dropped_{modality}"] == ""
    meta = read_meta(_clips_folder(raw) / row["clip_id"])
    assert reason in meta["dropped"][modality]
    # the inventory still lists the modality for the sequence: coverage (1 of 2 clips lost > 0.2) fails
    passed, details = checks["modality_coverage"]
    assert not passed and details["modalities"][modality] == {"expected": 2, "lost": 1}
    assert reason.split("~")[0].strip() in details["examples"][0] or modality in details["examples"][0]
    assert all(ok for name, (ok, _) in checks.items() if name != "modality_coverage"), checks
    assert check_partition(_clips_folder(raw), read_rows(DataPaths(raw.parent.parent).inventory(layout)),
                           max_dropped_fraction=0.5)["modality_coverage"][0]


def _clips_folder(raw: Path) -> Path:
    return DataPaths(raw.parent.parent).clips(raw.name)


def test_keep_rules_treat_non_positive_depth_as_missing():
    """A reader that passes 0 or negative metric depth through: the clip does not keep it, and says so."""
    from egom2p.curation.clips import _drop_reason, _keeps
    depth, camera = M.get("depth"), M.get("camera")
    zeros = np.zeros((60, 4, 4), np.float32)
    assert not _keeps(depth, zeros) and not _keeps(depth, -np.ones_like(zeros))
    assert _drop_reason(depth, zeros) == "depth: no positive finite value (zero or negative) in the clip (960 values)"
    assert _keeps(depth, np.where(np.arange(60)[:, None, None] == 3, 1.5, zeros))
    poses = np.tile(np.eye(4), (60, 1, 1))
    poses[7] = np.nan
    assert _drop_reason(camera, poses) == ("camera: 1 of 60 frames not finite (the clip keeps it only when every "
                                           "frame is valid)")


def test_unit_error_message_names_modality_spans_and_unit():
    video = np.arange(0, 2.0, 1 / 30)
    msg = track_alignment_problem("camera", video * 1e3, video)
    assert msg.startswith("camera: time span 1e+03× the video's") and "ns where µs" in msg
    assert "track 0..1966.67 s (span 1966.67 s), video 0..1.96667 s (span 1.96667 s)" in msg
    assert "s where µs or ns" in track_alignment_problem("gaze", video * 1e-6, video)
    assert "does not overlap" in track_alignment_problem("gaze", video + 100, video)
    assert track_alignment_problem("gaze", video[5:40], video) == ""     # partial coverage is fine


# ------------------------------------------------------------------ canonical clips that are wrong data
def _black_frames(raw, seq):
    from PIL import Image
    for p in (raw / seq / "rgb").iterdir():
        Image.new("RGB", Image.open(p).size, (0, 0, 0)).save(p)


def _grey_frames(raw, seq):
    from PIL import Image
    for p in (raw / seq / "rgb").iterdir():
        Image.new("RGB", Image.open(p).size, (128, 128, 128)).save(p)


@pytest.mark.parametrize("corrupt,problem", [(_black_frames, "rgb is blank"), (_grey_frames, "one constant colour")],
                         ids=["blank_rgb", "constant_rgb"])
def test_blank_or_constant_rgb_fails_rgb_content(raw_copy, corrupt, problem):
    raw = raw_copy("egogen")
    bad, row, _, checks = outcome(raw, corrupt)
    passed, details = checks["rgb_content"]
    assert not passed and details["failures"] == 1 and problem in details["examples"][0]
    assert details["examples"][0].startswith(row["clip_id"])


@pytest.fixture
def curated_egogen(raw_copy) -> Path:
    out, index, quarantine, _ = curate(raw_copy("egogen"))
    assert len(index) == 2 and not quarantine
    return out


def _first(out: Path) -> Path:
    return sorted(p for p in out.iterdir() if p.is_dir() and not p.name.startswith("."))[0]


def test_wrong_dtype_and_shape_fail_arrays_match_registry(curated_egogen):
    clip = _first(curated_egogen)
    cam = np.load(clip / "camera.npy")
    np.save(clip / "camera.npy", cam.astype(np.float64))
    passed, details = check_partition(curated_egogen)["arrays_match_registry"]
    assert not passed and "camera dtype float64 != registry float32" in details["examples"][0]
    np.save(clip / "camera.npy", cam[:30])
    assert "camera shape (30, 4, 4) != registry (60, 4, 4)" in check_partition(curated_egogen)[
        "arrays_match_registry"][1]["examples"][0]
    # a depth decoded as 3 channels is not the registry's (60, S, S)
    assert _registry_problems(M.get("depth"), np.zeros((60, 64, 64, 3), np.float32), 64) == [
        "depth shape (60, 64, 64, 3) != registry (60, 64, 64)"]


def test_frame_rate_or_duration_mismatch_fails_clip_timing(curated_egogen):
    clip = _first(curated_egogen)
    meta = json.loads((clip / "meta.json").read_text())
    (clip / "meta.json").write_text(json.dumps({**meta, "fps": 25.0}))
    passed, details = check_partition(curated_egogen)["clip_timing"]
    assert not passed and "60 frames at 25.0 fps, not 60 at 30 (2 s)" in details["examples"][0]


def test_good_partition_passes_every_check(curated_egogen):
    inventory = read_rows(DataPaths(curated_egogen.parent.parent).inventory("egogen"))
    checks = check_partition(curated_egogen, inventory)
    assert all(ok for ok, _ in checks.values()), checks
    assert checks["modality_coverage"][1]["modalities"]["depth"] == {"expected": 2, "lost": 0}
    assert all(r["dropped_depth"] == "" for r in read_index(curated_egogen))


def test_next_run_of_every_stage_sweeps_a_killed_runs_staging(raw_copy):
    """A run killed mid-unit leaves ``.units/.staging-*`` (and maybe an entry renamed in but not recorded):
    the next run of each stage removes them and redoes nothing that was committed."""
    from egom2p.units import STAGING_PREFIX, records_dir
    raw = raw_copy("egogen")
    curate(raw)
    paths, ds = DataPaths(raw.parent.parent), "egogen"
    folders = [paths.inventory(ds).parent, paths.interim_clips(ds), paths.interim_depth(ds), paths.clips(ds)]
    for f in folders:
        dead = records_dir(f) / f"{STAGING_PREFIX}seq-dead"
        (dead / "x-0000").mkdir(parents=True)
        (f / "orphan-0000").mkdir()
    before = {f: sorted(p.name for p in f.iterdir()) for f in folders}
    curate(raw)
    for f in folders:
        assert not list(records_dir(f).glob(f"{STAGING_PREFIX}*")), f
        assert not (f / "orphan-0000").exists()
        assert sorted(p.name for p in f.iterdir()) == [n for n in before[f] if n != "orphan-0000"]
