"""Readers against the synthetic world's ground truth: the rectified camera, its poses, gaze and depth
must agree with the world that rendered the native files (independently of the writers' conventions)."""
from __future__ import annotations

import numpy as np
import pytest
from egom2p.curation.datasets import READERS, UnknownDatasetError, resolve_reader
from egom2p.geometry import invert_pose, transform_points
from egom2p.synth.aria_mps import motion_time
from egom2p.synth.common import make_sequence
from egom2p.synth.layouts.egoexo4d import plan_take
from egom2p.synth.render import pinhole_rays, render, render_depth

SIDE = 64
SEED, SECONDS = 7, 2.3   # the micro_layouts fixture


def _frames(seq, idx):
    return np.stack(list(seq.read_frames(np.asarray(idx))))


def test_egoexo4d_reader_recovers_world_poses_gaze_and_pixels(micro_layouts):
    raw = micro_layouts["egoexo4d"]
    take = plan_take(SEED, 0, SECONDS)
    seq = READERS["egoexo4d"].open(raw, take.take_name, SIDE)
    np.testing.assert_allclose(seq.frame_times, take.frame_ns * 1e-9)
    motion = take.seq.motion
    # camera: the rectified camera is the upright head camera of the world
    t = seq.camera.times[::97]
    head = motion.head(motion_time(np.round(t * 1e9).astype(np.int64), take.t0_ns))
    np.testing.assert_allclose(seq.camera.T_world_cam[::97], head, atol=2e-6)
    # gaze: the CSV path (CPF yaw/pitch -> device -> rgb -> rectified) lands where the world point projects
    tau = motion_time(np.round(seq.gaze.times * 1e9).astype(np.int64), take.t0_ns)
    p_world, valid = motion.gaze(tau)
    p_cam = transform_points(invert_pose(motion.head(tau)), p_world)
    expected = seq.intrinsics.project(p_cam)
    ok = valid & (p_cam[:, 2] > 0)
    assert ok.mean() > 0.8
    np.testing.assert_allclose(seq.gaze.uv[ok], expected[ok], atol=1e-3)
    # pixels: the undistorted fisheye frame matches a pinhole rendering of the same view
    i = 10
    tau_i = motion_time(take.frame_ns[i:i + 1], take.t0_ns)
    truth, _ = render(take.seq.world, motion.head(tau_i)[0], pinhole_rays(seq.intrinsics), float(tau_i[0]))
    got = _frames(seq, [i])[0]
    inner = slice(4, SIDE - 4)
    err = np.abs(got[inner, inner].astype(float) - truth[inner, inner]).mean()
    assert err < 10, err      # H.264 + two resamplings; a 1-pixel misregistration gives ~25


def test_egogen_reader_recovers_poses_and_depth(micro_layouts):
    raw = micro_layouts["egogen"]
    reader = READERS["egogen"]
    sid = reader.list_sequences(raw)[0]
    k = int(sid.rsplit("_", 1)[1])
    world_seq = make_sequence("egogen", SEED, k, "room", SECONDS)
    seq = reader.open(raw, sid, SIDE)
    np.testing.assert_allclose(seq.frame_times[:3], [0, 1 / 30, 2 / 30])
    head = world_seq.motion.head(seq.frame_times)
    np.testing.assert_allclose(seq.camera.T_world_cam, head, atol=1e-9)
    i = 20
    truth = render_depth(world_seq.world, head[i], pinhole_rays(seq.intrinsics), float(seq.frame_times[i]))
    depth = next(seq.read_depth(np.array([i])))
    rel = np.abs(depth - truth) / truth
    assert np.nanmedian(rel) < 0.01 and np.isfinite(depth).mean() > 0.95
    rgb_truth, _ = render(world_seq.world, head[i], pinhole_rays(seq.intrinsics), float(seq.frame_times[i]))
    assert np.abs(_frames(seq, [i])[0].astype(float) - rgb_truth).mean() < 10


def test_reader_resolution_rules(tmp_path):
    for name in ("egoexo4d", "egoexo4d-site2", "EgoGen_v2"):
        (tmp_path / name).mkdir()
    assert resolve_reader(tmp_path / "egoexo4d-site2").name == "egoexo4d"
    assert resolve_reader(tmp_path / "EgoGen_v2").name == "egogen"
    (tmp_path / "custom").mkdir()
    (tmp_path / "custom" / "dataset.json").write_text('{"reader": "egogen"}')
    assert resolve_reader(tmp_path / "custom").name == "egogen"
    (tmp_path / "mystery").mkdir()
    with pytest.raises(UnknownDatasetError, match="no reader for raw folder 'mystery'"):
        resolve_reader(tmp_path / "mystery")


@pytest.mark.parametrize("layout", ["h2o", "taco"])
def test_pinhole_readers_recover_poses_depth_and_pixels(micro_layouts, layout):
    """H2O (PNG + mm depth PNGs + cam-to-world txt) and TACO (mp4 + FFV1 depth x4000 + world-to-camera npy)."""
    raw = micro_layouts[layout]
    reader = READERS[layout]
    sids = reader.list_sequences(raw)
    assert len(sids) == 2
    world_seq = make_sequence(layout, SEED, 0, "tabletop", SECONDS)
    first = next(s for s in sids if s.endswith(("_000", "/0")))     # sequence k = 0
    seq = reader.open(raw, first, SIDE)
    head = world_seq.motion.head(seq.frame_times)
    np.testing.assert_allclose(seq.camera.T_world_cam, head, atol=1e-6)
    i = 15
    rays = pinhole_rays(seq.intrinsics)
    truth = render_depth(world_seq.world, head[i], rays, float(seq.frame_times[i]))
    depth = list(seq.read_depth(np.array([i])))[0]
    rel = np.abs(depth - truth) / truth
    assert np.nanmedian(rel) < 0.01 and np.isfinite(depth).mean() > 0.95
    rgb_truth, _ = render(world_seq.world, head[i], rays, float(seq.frame_times[i]))
    assert np.abs(_frames(seq, [i])[0].astype(float) - rgb_truth).mean() < 10


def test_clip_ids_are_safe_and_distinct():
    from egom2p.curation.partition import clip_id
    a, b = clip_id("subject1/h1/0", 3), clip_id("subject1_h1_0", 3)
    assert a != b and b == "subject1_h1_0-0003"
    assert "." not in clip_id("(stir, spoon, bowl)/20231105_019", 0)
    assert clip_id("(stir, spoon, bowl)/20231105_019", 0).startswith("stir_spoon_bowl_20231105_019_")


def test_holoassist_reader_mathnet_axes_ticks_and_gaze(micro_layouts):
    raw = micro_layouts["holoassist"]
    reader = READERS["holoassist"]
    sid = next(s for s in reader.list_sequences(raw) if s.endswith("-0"))
    world_seq = make_sequence("holoassist", SEED, 0, "room", SECONDS)
    seq = reader.open(raw, sid, SIDE)
    head = world_seq.motion.head(seq.frame_times)
    np.testing.assert_allclose(seq.camera.T_world_cam, head, atol=1e-6)      # MathNet -> OpenCV
    np.testing.assert_allclose(seq.camera.times, seq.frame_times, atol=1e-7)  # ticks -> s since mp4 start
    traj = world_seq.motion.sample(seq.gaze.times)
    p_cam = transform_points(invert_pose(traj.c2w), traj.gaze_world)
    expected = seq.intrinsics.project(p_cam)
    valid = traj.gaze_valid & (p_cam[:, 2] > 0)
    np.testing.assert_allclose(seq.gaze.uv[valid], expected[valid], atol=1e-3)
    assert np.isnan(seq.gaze.uv[~traj.gaze_valid]).all()                      # blinks stay invalid
    rgb_truth, _ = render(world_seq.world, head[5], pinhole_rays(seq.intrinsics), float(seq.frame_times[5]))
    assert np.abs(_frames(seq, [5])[0].astype(float) - rgb_truth).mean() < 10


def test_arctic_reader_offset_distortion_and_safe_pickle(micro_layouts, tmp_path):
    raw = micro_layouts["arctic"]
    reader = READERS["arctic"]
    sid = reader.list_sequences(raw)[0]
    world_seq = make_sequence("arctic", SEED, 0, "tabletop", SECONDS)
    seq = reader.open(raw, sid, SIDE)
    assert seq.meta["ioi_offset"] == 2 and len(seq.frame_times) == 69   # stem 1 (vidx -1) skipped
    # image stem s (s >= 2) was rendered at motion time (s - 1) / 30; its GT index s - 2 -> time (s - 2) / 30
    head = world_seq.motion.head(seq.frame_times + 1 / 30)
    np.testing.assert_allclose(seq.camera.T_world_cam, head, atol=1e-6)
    i = 12
    truth, _ = render(world_seq.world, head[i], pinhole_rays(seq.intrinsics), float(seq.frame_times[i] + 1 / 30))
    assert np.abs(_frames(seq, [i])[0].astype(float) - truth).mean() < 10   # undistorted correctly


def test_safe_pickle_refuses_code(tmp_path):
    import os

    from egom2p.curation.safe_pickle import load_pickled_npy
    from egom2p.curation.sequence import SequenceError

    class Evil:
        def __reduce__(self):
            return (os.system, ("echo pwned > " + str(tmp_path / "pwned"),))
    np.save(tmp_path / "evil.npy", np.array({"R_k_cam_np": Evil()}, dtype=object), allow_pickle=True)
    with pytest.raises(SequenceError, match="refusing to unpickle"):
        load_pickled_npy(tmp_path / "evil.npy")
    assert not (tmp_path / "pwned").exists()
    good = {"a": np.arange(3.0), "b": ["x"]}
    np.save(tmp_path / "good.npy", np.array(good, dtype=object), allow_pickle=True)
    back = load_pickled_npy(tmp_path / "good.npy")
    np.testing.assert_array_equal(back["a"], good["a"])
    assert back["b"] == ["x"]
