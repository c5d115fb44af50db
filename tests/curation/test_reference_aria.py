"""Aria-family readers on the real samples in ../shared/reference (skipped when absent): ADT VRS RGB,
depth, trajectory and gaze against projectaria-tools' own answers and the documented golden values;
HOT3D trajectories/gaze conventions; every Aria MPS CSV variant."""
from __future__ import annotations

import shutil

import numpy as np
import pytest

from egom2p.aria import RAW_FROM_UPRIGHT, cad_T_device_cpf, cad_T_device_sensor, gaze_point_cpf
from egom2p.curation.aria_mps import read_closed_loop_trajectory, read_eye_gaze, read_online_calibration
from egom2p.curation.clips import curate_clips
from egom2p.curation.config import CurationConfig
from egom2p.curation.datasets import READERS
from egom2p.curation.datasets.aria_common import VrsRecording, read_camera_json
from egom2p.curation.datasets.hot3d_common import read_hot3d_poses
from egom2p.catalog import read_index, read_quarantine
from egom2p.geometry import invert_pose, make_pose, transform_points
from egom2p.synth.layouts.adt import sequence_name

pytestmark = pytest.mark.reference
ADT_SEQ = "aria_digital_twin_test_data"
ADT_FILES = ("video.vrs", "depth_images.vrs", "aria_trajectory.csv", "eyegaze.csv", "metadata.json")
SIDE = 256


@pytest.fixture
def adt(reference):
    pytest.importorskip("projectaria_tools")
    return reference / "adt"


@pytest.fixture
def adt_seq(adt):
    return READERS["adt"].open(adt, ADT_SEQ, SIDE)


def _raw_gaze(adt, T_device_rgb):
    g = read_eye_gaze(adt / ADT_SEQ / "eyegaze.csv")
    return g, transform_points(invert_pose(T_device_rgb),
                               transform_points(cad_T_device_cpf(), gaze_point_cpf(g.yaw, g.pitch, g.depth)))


def test_adt_gaze_golden_value_factory_extrinsics(adt):
    calib = VrsRecording(adt / ADT_SEQ / "video.vrs").calibration("camera-rgb")
    g, p_rgb = _raw_gaze(adt, calib.T_device_camera)
    assert g.schema == "v1_or_v2" and np.isnan(g.depth[0])        # depth 0 = unknown -> 1 m
    np.testing.assert_allclose(calib.lens.project(p_rgb[0]), (1026.146, 713.529), atol=1e-3)   # chosen: factory
    _, p_cad = _raw_gaze(adt, cad_T_device_sensor("camera-rgb"))
    np.testing.assert_allclose(calib.lens.project(p_cad[0]), (1036.006, 715.541), atol=1e-3)   # CAD, not used
    np.testing.assert_allclose(p_cad[0], (0.46595, -0.00155, 0.87648), atol=1e-5)


def test_adt_gaze_matches_projectaria_tools(adt):
    from projectaria_tools.core import mps
    vrs = VrsRecording(adt / ADT_SEQ / "video.vrs")
    dc = vrs.provider.get_device_calibration()
    ours = vrs.calibration("camera-rgb")
    g, p_rgb = _raw_gaze(adt, ours.T_device_camera)
    for row in mps.read_eyegaze(str(adt / ADT_SEQ / "eyegaze.csv"))[:3]:
        i = int(np.argmin(np.abs(g.times - row.tracking_timestamp.total_seconds())))
        depth = row.depth if row.depth > 0 else 1.0
        theirs = mps.utils.get_gaze_vector_reprojection(row, "camera-rgb", dc, dc.get_camera_calib("camera-rgb"), depth)
        np.testing.assert_allclose(ours.lens.project(p_rgb[i]), theirs, atol=1e-3)


def test_adt_sample_frames_agree_with_projectaria_tools(adt, adt_seq):
    from projectaria_tools.core import calibration
    from projectaria_tools.core.stream_id import StreamId
    vrs = VrsRecording(adt / ADT_SEQ / "video.vrs")
    cam = vrs.provider.get_device_calibration().get_camera_calib("camera-rgb")
    assert len(adt_seq.frame_times) == 3 and np.allclose(np.diff(adt_seq.frame_times), 1 / 30, atol=2e-4)
    assert adt_seq.modalities == {"rgb": True, "depth": True, "gaze": True, "camera": True}
    linear = calibration.get_linear_camera_calibration(SIDE, SIDE, adt_seq.intrinsics.fx, "camera-rgb",
                                                       cam.get_transform_device_camera())
    for i in range(3):
        raw = vrs.provider.get_image_data_by_index(StreamId("214-1"), i)[0].to_numpy_array()
        theirs = np.rot90(calibration.distort_by_calibration(raw, linear, cam), -1).astype(float)  # upright
        ours = next(adt_seq.read_frames(np.array([i]))).astype(float)
        assert np.abs(ours - theirs)[8:-8, 8:-8].mean() < 3.0


def test_adt_sample_depth_gaze_pose_consistent(adt, adt_seq):
    vrs = VrsRecording(adt / ADT_SEQ / "video.vrs")
    calib = vrs.calibration("camera-rgb")
    depths = list(adt_seq.read_depth(np.arange(3)))
    assert np.isfinite(depths[0]).mean() > 0.9 and np.isnan(depths[2]).all()   # 2 depth maps for 3 frames
    assert 0.2 < np.nanmedian(depths[0]) < 5.0                                   # millimetres -> metres
    # rectified depth re-projected through projectaria-tools' lens lands on the same raw depth
    raw_mm = next(VrsRecording(adt / ADT_SEQ / "depth_images.vrs").stream("345-1").read(np.array([0])))
    cam = vrs.provider.get_device_calibration().get_camera_calib("camera-rgb")
    # on a grid (nearest-neighbour picks may differ at depth edges: 2 % of pixels with pixel-centre
    # pre-shrinking on this sample, 4 % with cv2.INTER_NEAREST's half-pixel shift)
    misses = []
    for v, u in zip(*(a.ravel() for a in np.mgrid[8:248:6, 8:248:6])):
        z = depths[0][v, u]
        if np.isfinite(z):
            p_raw = RAW_FROM_UPRIGHT @ (adt_seq.intrinsics.unproject(np.array([u, v], float)) * z)
            x, y = np.round(cam.project(p_raw)).astype(int)
            misses.append(abs(raw_mm[y, x] / 1000 - z) >= 0.01 * z + 0.002)
    assert len(misses) > 1000 and np.mean(misses) < 0.03, np.mean(misses)
    # the GT gaze point (depth-filled rows) lies on the surface the depth map sees at the gaze pixel
    g, p_rgb = _raw_gaze(adt, calib.T_device_camera)
    uv = adt_seq.gaze.uv[np.argmin(np.abs(adt_seq.gaze.times - g.times[1]))]
    u, v = np.round(uv).astype(int)
    assert abs(np.nanmedian(depths[1][v - 1:v + 2, u - 1:u + 2]) - p_rgb[1, 2]) < 0.03
    # relative camera poses == projectaria-tools' T_scene_device · T_device_rgb (frame-independent)
    from projectaria_tools.core import mps
    traj = mps.read_closed_loop_trajectory(str(adt / ADT_SEQ / "aria_trajectory.csv"))
    T_dc = cam.get_transform_device_camera().to_matrix()
    theirs = [p.transform_world_device.to_matrix() @ T_dc for p in traj]
    ours = adt_seq.camera.T_world_cam[1:]                    # [0] is the held edge sample
    up = make_pose(RAW_FROM_UPRIGHT, np.zeros(3))            # raw RGB camera -> upright rectified camera
    for k in (1, 3, 5):
        rel_theirs = invert_pose(theirs[0]) @ theirs[k]
        rel_ours = invert_pose(ours[0]) @ ours[k]
        np.testing.assert_allclose(rel_ours, invert_pose(up) @ rel_theirs @ up, atol=1e-9)
    assert adt_seq.camera.T_world_cam[1][2, 3] > 0.5       # Y-up scene height became world z


def test_adt_sample_quarantined_short_then_padded(adt, aria_layouts, tmp_path):
    raw = tmp_path / "data" / "raw" / "adt"
    (raw / ADT_SEQ).mkdir(parents=True)
    for name in ADT_FILES:
        shutil.copy(adt / ADT_SEQ / name, raw / ADT_SEQ / name)
    shutil.copytree(aria_layouts["adt"] / sequence_name(0), raw / sequence_name(0))
    cfg = CurationConfig(preset="tiny", clip_resolution=64)
    curate_clips(raw, tmp_path / "clips", "adt", cfg, progress=False)
    q = read_quarantine(tmp_path / "clips")
    assert [r["sequence_id"] for r in q] == [ADT_SEQ]
    assert q[0]["error"].startswith("shorter than one clip: 3 frames")
    assert [r["sequence_id"] for r in read_index(tmp_path / "clips")] == [sequence_name(0)]
    # evaluation mode: one clip padded from its 3 valid frames, every modality present
    curate_clips(raw, tmp_path / "clips", "adt", CurationConfig(preset="tiny", clip_resolution=64, allow_short=True),
                 progress=False)
    assert read_quarantine(tmp_path / "clips") == []
    row = next(r for r in read_index(tmp_path / "clips") if r["sequence_id"] == ADT_SEQ)
    assert row["valid_frames"] == 3 and row["has_depth"] and row["has_gaze"] and row["has_camera"]
    clip = tmp_path / "clips" / row["clip_id"]
    gaze = np.load(clip / "gaze_px.npy")
    assert np.isfinite(gaze[:3]).all() and np.isnan(gaze[3:]).all()
    assert np.isfinite(np.load(clip / "camera_world.npy")).all()


# ------------------------------------------------------------------------------------------ HOT3D

def test_hot3d_aria_trajectory_wxyz_timecode_and_gaze(reference):
    rec = reference / "hot3d" / "Aria" / "P0003_c701bd11"
    tc_ns, T = read_hot3d_poses(rec / "headset_trajectory.csv")
    t_mps, T_mps = read_closed_loop_trajectory(rec / "mps" / "slam" / "closed_loop_trajectory.csv")
    # every GT headset pose (w-first) is an MPS closed-loop pose (x,y,z,w) at a constant TIME_CODE offset
    offsets = []
    for ts, Ti in zip(tc_ns, T):
        j = int(np.argmin(np.abs(T_mps[:, :3, :] - Ti[:3, :]).reshape(len(T_mps), -1).max(1)))
        np.testing.assert_allclose(T_mps[j], Ti, atol=1e-7)
        offsets.append(t_mps[j] * 1e9 - ts)
    assert np.ptp(offsets) < 1.5e6 and 5.6e13 < np.mean(offsets) < 5.7e13     # device ns - TIME_CODE ns
    for name in ("general_eye_gaze.csv", "personalized_eye_gaze.csv"):
        g = read_eye_gaze(rec / "mps" / "eye_gaze" / name)
        assert g.schema == "vergence" and len(g.times) == 11
        np.testing.assert_allclose(np.diff(g.times), 0.1, atol=1e-3)
        assert (0.1 < g.depth).all() and (g.depth < 1.0).all() and np.abs(g.yaw).max() < 0.6


def test_hot3d_quest3_trajectory_and_16_param_cameras(reference):
    rec = reference / "hot3d" / "Quest3" / "P0002_273c2819"
    tc_ns, T = read_hot3d_poses(rec / "headset_trajectory.csv")
    np.testing.assert_allclose(np.diff(tc_ns), 1e9 / 30, atol=1.0)
    assert READERS["hot3d_quest3"].list_sequences(rec.parent) == ["P0002_273c2819"]
    assert READERS["hot3d_aria"].list_sequences(rec.parent) == []
    for label in ("camera-slam-left", "camera-slam-right"):
        c = read_camera_json(rec / "camera_models.json", label)
        assert len(c.lens.params) == 16 and (c.lens.width, c.lens.height) == (1280, 1024)
        uv = np.array([[300.0, 250.0], [640.0, 512.0], [1000.0, 800.0]])
        np.testing.assert_allclose(c.lens.project(c.lens.unproject(uv)), uv, atol=1e-6)
        np.testing.assert_allclose(c.T_device_camera[:3, :3] @ c.T_device_camera[:3, :3].T, np.eye(3), atol=1e-9)


# ------------------------------------------------------------------------------------------ Aria MPS

@pytest.mark.parametrize("path,schema,depth", [
    ("aria_mps/gen1_mps_sample/eye_gaze/eyegaze.csv", "v1_or_v2", None),
    ("aria_mps/gen1_mps_sample/eye_gaze/generalized_eye_gaze.csv", "v1_or_v2", False),
    ("aria_mps/gen1_mps_sample/eye_gaze_vergence/generalized_gaze.csv", "vergence", True),
    ("aria_mps/gen2_mps_sample/eye_gaze/general_eye_gaze.csv", "gen2", False),
    ("aria_mps/gen2_mps_sample/eye_gaze/personalized_eye_gaze.csv", "gen2", False),
    ("aria_mps/aria_everyday_activities_test_data/mps/eye_gaze/general_eye_gaze.csv", None, None),
    ("adt/aria_digital_twin_test_data/mps/eye_gaze/general_eye_gaze.csv", "v1_or_v2", False),
])
def test_all_mps_gaze_variants_parse(reference, path, schema, depth):
    g = read_eye_gaze(reference / path)
    assert schema is None or g.schema == schema
    assert len(g.times) > 3 and np.isfinite(g.yaw).all() and np.isfinite(g.pitch).all()
    assert np.abs(g.yaw).max() < 1.2 and np.abs(g.pitch).max() < 1.2
    if depth is not None:
        assert np.isfinite(g.depth).any() == depth


@pytest.mark.parametrize("path", [
    "aria_mps/gen1_mps_sample/trajectory/closed_loop_trajectory_geo_available.csv",
    "aria_mps/gen1_mps_sample/trajectory/closed_loop_trajectory_geo_missing.csv",
    "hot3d/Aria/P0003_c701bd11/mps/slam/closed_loop_trajectory.csv",
    "adt/aria_digital_twin_test_data/aria_trajectory.csv",
])
def test_all_mps_trajectory_variants_parse(reference, path):
    t, T = read_closed_loop_trajectory(reference / path)
    assert len(t) >= 6 and (np.diff(t) > 0).all()
    assert np.abs(np.linalg.det(T[:, :3, :3]) - 1).max() < 1e-6


def test_online_calibration_rgb_is_full_resolution(reference):
    c = read_online_calibration(reference / "aria_mps/gen1_mps_sample/trajectory/online_calibration.jsonl")
    assert c.model.width == 2880 and 1100 < c.model.params[0] < 1300 and 1300 < c.model.params[1] < 1600


def test_hot3d_aria_vrs_path_on_a_real_aria_vrs(adt, adt_seq, tmp_path):
    """No HOT3D recording.vrs is public: build a HOT3D-Aria recording around ADT's real Aria VRS (it has
    the 214-1 stream and the 285-2 timecode stream), with the ADT trajectory re-stamped in TIME_CODE and
    written w-first, and check the reader's VRS path (frames, calibration, TIME_CODE -> device time)."""
    from egom2p.curation.datasets.adt import T_WORLD_SCENE
    from egom2p.geometry import matrix_to_quat
    rec = tmp_path / "hot3d_aria" / "P9999_adtvrs00"
    (rec / "mps" / "eye_gaze").mkdir(parents=True)
    shutil.copy(adt / ADT_SEQ / "video.vrs", rec / "recording.vrs")
    shutil.copy(adt / ADT_SEQ / "mps" / "eye_gaze" / "general_eye_gaze.csv", rec / "mps" / "eye_gaze")
    (rec / "metadata.json").write_text('{"headset": "Aria", "participant_id": "P9999"}')
    vrs = VrsRecording(rec / "recording.vrs")
    t, T = read_closed_loop_trajectory(adt / ADT_SEQ / "aria_trajectory.csv")
    tc = [vrs.provider.convert_from_device_time_to_timecode_ns(int(round(s * 1e9))) for s in t]
    q = matrix_to_quat(T[:, :3, :3])
    lines = ["object_uid,timestamp[ns],t_wo_x[m],t_wo_y[m],t_wo_z[m],q_wo_w,q_wo_x,q_wo_y,q_wo_z"]
    lines += [f"1,{c}," + ",".join(f"{v:.17g}" for v in (*Ti[:3, 3], qi[3], qi[0], qi[1], qi[2]))
              for c, Ti, qi in zip(tc, T, q)]
    (rec / "headset_trajectory.csv").write_text("\n".join(lines) + "\n")
    seq = READERS["hot3d_aria"].open(rec.parent, rec.name, SIDE)
    np.testing.assert_allclose(seq.frame_times, adt_seq.frame_times, atol=0)
    np.testing.assert_allclose(seq.camera.times, t, atol=2e-9)                         # TIME_CODE -> device
    np.testing.assert_allclose(T_WORLD_SCENE @ seq.camera.T_world_cam, adt_seq.camera.T_world_cam[1:], atol=1e-9)
    np.testing.assert_allclose(seq.gaze.uv[0], adt_seq.gaze.uv[1], atol=1e-6)         # both at 1 m
    np.testing.assert_array_equal(next(seq.read_frames(np.array([1]))), next(adt_seq.read_frames(np.array([1]))))


def test_aea_profile9_vrs_opens(reference):
    pytest.importorskip("projectaria_tools")
    vrs = VrsRecording(reference / "aria_mps/aria_everyday_activities_test_data/recording.vrs")
    stream = vrs.stream("214-1")
    assert len(stream.times_ns) > 3
    np.testing.assert_allclose(np.median(np.diff(stream.times_ns)), 5e7, rtol=0.01)     # 20 Hz (profile9)
    calib = vrs.calibration("camera-rgb")
    assert (calib.lens.width, calib.lens.height) == (1408, 1408) and len(calib.lens.params) == 15
    assert next(stream.read(np.array([0]))).shape == (1408, 1408, 3)


def test_truncated_adt_vrs_is_quarantined(adt, aria_layouts, tmp_path):
    """projectaria-tools serves a truncated VRS's remaining frames with only a log warning; the reader
    quarantines it instead."""
    raw = tmp_path / "raw" / "adt"
    (raw / ADT_SEQ).mkdir(parents=True)
    for name in ADT_FILES:
        shutil.copy(adt / ADT_SEQ / name, raw / ADT_SEQ / name)
    data = (raw / ADT_SEQ / "video.vrs").read_bytes()
    (raw / ADT_SEQ / "video.vrs").write_bytes(data[: len(data) // 2])
    shutil.copytree(aria_layouts["adt"] / sequence_name(0), raw / sequence_name(0))
    res = curate_clips(raw, tmp_path / "clips", "adt", CurationConfig(preset="tiny", clip_resolution=64,
                                                                       allow_short=True), progress=False)
    assert [(q["sequence_id"], q["error"].split(":")[0]) for q in res.quarantine] == [(ADT_SEQ, "truncated VRS video.vrs")]
    assert {r["sequence_id"] for r in res.rows} == {sequence_name(0)}
