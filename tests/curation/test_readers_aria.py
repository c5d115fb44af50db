"""HOT3D-Aria, HOT3D-Quest3 and ADT readers against the synthetic world's ground truth (their extracted
form), curation end to end, and bad input quarantined with clear reasons."""
from __future__ import annotations

import csv
import importlib.util
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest

from egom2p.curation.clips import curate_clips
from egom2p.curation.config import CurationConfig
from egom2p.curation.datasets import READERS, resolve_reader
from egom2p.catalog import read_index, read_quarantine
from egom2p.curation.sequence import SequenceError
from egom2p.geometry import invert_pose, transform_points
from egom2p.synth.aria_mps import motion_time
from egom2p.synth.layouts.adt import plan_frames, sequence_name
from egom2p.synth.layouts.hot3d import plan_recording
from egom2p.synth.render import pinhole_rays, render, render_depth

SIDE = 64
SEED, SECONDS = 7, 2.1   # the aria_layouts fixture
INNER = slice(4, SIDE - 4)


def _tau(times_s: np.ndarray, t0_ns: int) -> np.ndarray:
    return motion_time(np.round(np.asarray(times_s) * 1e9).astype(np.int64), t0_ns)


def _check_gaze(seq, motion, t0_ns, held: int = 0):
    """Gaze pixels == projections of the world gaze point (``held`` leading samples are edge holds)."""
    tau = _tau(seq.gaze.times[held:], t0_ns)
    p_world, valid = motion.gaze(tau)
    p_cam = transform_points(invert_pose(motion.head(tau)), p_world)
    ok = valid & (p_cam[:, 2] > 0)
    assert ok.mean() > 0.8
    np.testing.assert_allclose(seq.gaze.uv[held:][ok], seq.intrinsics.project(p_cam)[ok], atol=1e-3)


def _frame_error(seq, world, c2w, t, i, grey=False) -> float:
    truth, _ = render(world, c2w, pinhole_rays(seq.intrinsics), t)
    got = next(seq.read_frames(np.array([i]))).astype(float)
    if grey:
        truth = cv2.cvtColor(truth, cv2.COLOR_RGB2GRAY)[..., None]
        assert np.array_equal(got[..., 0], got[..., 2])   # grey repeated to 3 channels
    return float(np.abs(got[INNER, INNER] - truth[INNER, INNER]).mean())


def test_hot3d_aria_reader_recovers_world(aria_layouts):
    rec = plan_recording("hot3d_aria", SEED, 0, SECONDS)
    seq = READERS["hot3d_aria"].open(aria_layouts["hot3d_aria"], rec.name, SIDE)
    assert seq.modalities == {"rgb": True, "depth": False, "gaze": True, "camera": True}
    np.testing.assert_array_equal(np.round(seq.frame_times * 1e9).astype(np.int64), rec.frame_ns)
    motion = rec.seq.motion
    # TIME_CODE -> device time and w-first quaternions: the rectified camera is the upright head camera
    np.testing.assert_allclose(seq.camera.T_world_cam, motion.head(_tau(seq.camera.times, rec.t0_ns)), atol=2e-6)
    _check_gaze(seq, motion, rec.t0_ns)
    assert seq.meta["gaze_schema"] == "vergence"
    i = 30
    tau = rec.tau(rec.frame_ns[i:i + 1])
    assert _frame_error(seq, rec.seq.world, motion.head(tau)[0], float(tau[0]), i) < 12


def test_hot3d_quest3_reader_recovers_world(aria_layouts):
    rec = plan_recording("hot3d_quest3", SEED, 0, SECONDS)
    seq = READERS["hot3d_quest3"].open(aria_layouts["hot3d_quest3"], rec.name, SIDE)
    assert seq.modalities == {"rgb": True, "depth": False, "gaze": False, "camera": True}
    assert len(seq.meta["source_camera"]["params"]) == 16 and seq.meta["source_camera"]["width"] == 160
    motion = rec.seq.motion
    np.testing.assert_allclose(seq.camera.T_world_cam, motion.head(_tau(seq.camera.times, rec.t0_ns)), atol=2e-6)
    i = 20
    tau = rec.tau(rec.frame_ns[i:i + 1])
    assert _frame_error(seq, rec.seq.world, motion.head(tau)[0], float(tau[0]), i, grey=True) < 12


def test_adt_reader_recovers_world_depth_and_zup(aria_layouts):
    world_seq, t0_ns, frame_ns, gt_ns = plan_frames(SEED, 0, SECONDS)
    seq = READERS["adt"].open(aria_layouts["adt"], sequence_name(0), SIDE)
    assert seq.modalities == {"rgb": True, "depth": True, "gaze": True, "camera": True}
    motion = world_seq.motion
    # the first frame precedes the first GT sample by ~97 µs: the track is held there (nearest sample)
    assert seq.camera.times[0] == seq.frame_times[0]
    np.testing.assert_allclose(seq.camera.T_world_cam[0], motion.head(_tau([gt_ns[0] * 1e-9], t0_ns))[0], atol=2e-6)
    # Y-up scene rotated back to the synthetic Z-up world
    np.testing.assert_allclose(seq.camera.T_world_cam[1:], motion.head(_tau(seq.camera.times[1:], t0_ns)), atol=2e-6)
    np.testing.assert_array_equal(seq.gaze.uv[0], seq.gaze.uv[1])
    _check_gaze(seq, motion, t0_ns, held=1)
    assert seq.meta["gaze_schema"] == "v1_or_v2"
    i = 25
    tau_f, tau_g = _tau(np.array([frame_ns[i], gt_ns[i]]) * 1e-9, t0_ns)
    truth = render_depth(world_seq.world, motion.head([tau_g])[0], pinhole_rays(seq.intrinsics), float(tau_g))
    depth = next(seq.read_depth(np.array([i])))
    rel = np.abs(depth - truth) / truth
    assert np.isfinite(depth[INNER, INNER]).mean() > 0.95 and np.nanmedian(rel[INNER, INNER]) < 0.01
    assert _frame_error(seq, world_seq.world, motion.head([tau_f])[0], float(tau_f), i) < 12


@pytest.mark.parametrize("name", ["hot3d_aria", "hot3d_quest3", "adt"])
def test_aria_family_curates_end_to_end(aria_layouts, tmp_path, name):
    raw = tmp_path / "raw" / name
    shutil.copytree(aria_layouts[name], raw)
    assert resolve_reader(raw).name == name
    res = curate_clips(raw, tmp_path / "clips" / name, name, CurationConfig(preset="tiny", clip_resolution=SIDE),
                       progress=False)
    assert res.quarantine == []
    index = read_index(tmp_path / "clips" / name)
    assert len(index) == len(READERS[name].list_sequences(raw))
    for m in ("depth", "gaze", "camera"):
        assert all(r[f"has_{m}"] == (m in READERS[name].modalities) for r in index), m


# ----------------------------------------------------------------------------------------- bad input

def _edit_csv(path: Path, fn):
    rows = list(csv.reader(open(path)))
    with open(path, "w", newline="") as f:
        csv.writer(f).writerows(fn(rows))


def _set(col: str, row: int, value: str):
    def f(rows):
        rows[row][rows[0].index(col)] = value
        return rows
    return f


def _swap(a: int, b: int):
    def f(rows):
        rows[a], rows[b] = rows[b], rows[a]
        return rows
    return f


CASES = [
    (lambda d: _edit_csv(d / "headset_trajectory.csv", _set("q_wo_w", 7, "0.2")), "quaternion not unit length at row 6"),
    (lambda d: _edit_csv(d / "headset_trajectory.csv", _swap(10, 11)), "headset_trajectory.csv: timestamps not strictly"),
    (lambda d: (d / "frames" / "calibration.json").unlink(), "missing calibration calibration.json"),
    (lambda d: (d / "frames" / "timecode.csv").unlink(), "no TIME_CODE -> device time mapping"),
    (lambda d: sorted((d / "frames" / "214-1").iterdir())[5].write_bytes(b"\xff\xd8 not a jpeg"),
     "unreadable frame 214-1/"),
    (lambda d: _edit_csv(d / "mps" / "eye_gaze" / "general_eye_gaze.csv",
                         lambda r: [["t_us", "a", "b"]] + r[1:]), "eye gaze CSV: unknown schema"),
    pytest.param(lambda d: (d / "recording.vrs").write_bytes(b"VisionRecordingSystem but truncated"),
                 "unreadable VRS recording.vrs", id="junk recording.vrs",
                 marks=pytest.mark.skipif(importlib.util.find_spec("projectaria_tools") is None,
                                          reason="projectaria-tools not installed (make setup installs it)")),
]


@pytest.mark.parametrize("corrupt,reason", CASES,
                         ids=[c[1].split(":")[0][:30] if type(c) is tuple else None for c in CASES])
def test_hot3d_bad_input_quarantined(aria_layouts, tmp_path, corrupt, reason):
    raw = tmp_path / "raw" / "hot3d_aria"
    shutil.copytree(aria_layouts["hot3d_aria"], raw)
    bad, good = READERS["hot3d_aria"].list_sequences(raw)
    corrupt(raw / bad)
    res = curate_clips(raw, tmp_path / "clips", "hot3d_aria", CurationConfig(preset="tiny", clip_resolution=SIDE),
                       progress=False)
    q = read_quarantine(tmp_path / "clips")
    assert [r["sequence_id"] for r in q] == [bad] and reason in q[0]["error"], q
    assert {r["sequence_id"] for r in res.rows} == {good}


def test_adt_bad_depth_maps_raise(aria_layouts, tmp_path):
    seq_dir = tmp_path / "adt" / sequence_name(0)
    shutil.copytree(aria_layouts["adt"] / sequence_name(0), seq_dir)
    first = sorted((seq_dir / "depth" / "345-1").iterdir())[0]
    cv2.imwrite(str(first), np.zeros((128, 128), np.uint8))            # 8-bit: not millimetres
    seq = READERS["adt"].open(tmp_path / "adt", sequence_name(0), SIDE)
    with pytest.raises(SequenceError, match="dtype uint8, expected uint16 millimetres"):
        next(seq.read_depth(np.array([0])))
    cv2.imwrite(str(first), np.zeros((96, 128), np.uint16))             # not the RGB geometry
    seq = READERS["adt"].open(tmp_path / "adt", sequence_name(0), SIDE)
    with pytest.raises(SequenceError, match=r"shape \(96, 128\) != RGB image \(128, 128\)"):
        next(seq.read_depth(np.array([0])))
    shutil.rmtree(seq_dir / "depth")
    for p in (seq_dir / "frames" / "214-1").iterdir():
        p.unlink()
    with pytest.raises(SequenceError, match="empty sequence: no 214-1 frames"):
        READERS["adt"].open(tmp_path / "adt", sequence_name(0), SIDE)
