"""Native layouts: exact file contract of EgoGen and Ego-Exo4D, ground-truth consistency, determinism."""
from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import cv2
import numpy as np
import pytest

from egom2p.aria import RAW_FROM_UPRIGHT, gaze_point_cpf, vergence_to_yaw_depth
from egom2p.geometry import OPENGL_TO_OPENCV, invert_pose, make_pose, quat_to_matrix, transform_points
from egom2p.synth import aria_mps
from egom2p.synth.__main__ import main
from egom2p.synth.common import make_sequence
from egom2p.synth.layouts import LAYOUTS, egogen
from egom2p.synth.layouts.egoexo4d import plan_take
from egom2p.synth.render import fisheye_rays, pinhole_rays, render, render_depth, rotate_upright
from egom2p.video import read_video

SEED = 11


@pytest.fixture(scope="module")
def egogen_out(tmp_path_factory) -> tuple[Path, list[str]]:
    out = tmp_path_factory.mktemp("egogen")
    return out, LAYOUTS["egogen"](out, sequences=2, seconds=0.5, seed=SEED, progress=False)


@pytest.fixture(scope="module")
def exo_out(tmp_path_factory) -> tuple[Path, list[str]]:
    out = tmp_path_factory.mktemp("egoexo4d")
    return out, LAYOUTS["egoexo4d"](out, sequences=1, seconds=1.0, seed=SEED, progress=False)


# ------------------------------------------------------------------------------------------- EgoGen

def test_egogen_files_names_and_shapes(egogen_out):
    out, names = egogen_out
    assert sorted(p.name for p in out.iterdir()) == sorted(names) and len(names) == 2
    for k, name in enumerate(names):
        scene, idx = name.rsplit("_", 1)
        assert scene in egogen.SCENES and idx == f"{k:03d}"
        for sub, ext in (("rgb", "jpg"), ("depth_clean", "npy"), ("smplx_params", "npy")):
            assert sorted(p.name for p in (out / name / sub).iterdir()) == sorted(f"{i}.{ext}" for i in range(1, 16))
        rgb = cv2.imread(str(out / name / "rgb" / "1.jpg"))
        assert rgb.shape == (144, 256, 3)
        depth = np.load(out / name / "depth_clean" / "15.npy")
        assert depth.shape == (144, 160) and depth.dtype == np.float32 and np.all(depth > 0)
        params = np.load(out / name / "smplx_params" / "1.npy")
        assert params.shape == (99,) and params.dtype == np.float64
        np.testing.assert_array_equal(params[85:96], 0.0)
        np.testing.assert_array_equal(params[96:99], [127.5, 71.5, 160.0])


def test_egogen_extrinsic_and_depth_match_the_motion(egogen_out):
    out, names = egogen_out
    seq = make_sequence("egogen", SEED, 1, "room", 0.5)
    traj = seq.motion.sample(np.arange(15) / 30.0)
    for i in (1, 8, 15):
        ext_gl = np.load(out / names[1] / "smplx_params" / f"{i}.npy")[69:85].reshape(4, 4)
        c2w = invert_pose(OPENGL_TO_OPENCV @ ext_gl)
        np.testing.assert_allclose(c2w, traj.c2w[i - 1], atol=1e-12)
        depth = np.load(out / names[1] / "depth_clean" / f"{i}.npy")
        expected = render_depth(seq.world, c2w, pinhole_rays(egogen.DEPTH_CAMERA), float(traj.times[i - 1]))
        np.testing.assert_array_equal(depth, expected)
    # depth and RGB share the optical centre: the depth image centre ray is the RGB centre ray
    rgb_c = egogen.RGB_CAMERA.unproject(np.array([127.5, 71.5]))
    np.testing.assert_allclose(egogen.DEPTH_CAMERA.unproject(np.array([79.5, 71.5])), rgb_c)
    assert egogen.DEPTH_CAMERA.fx == 200 * 160 / 320


# ----------------------------------------------------------------------------------------- Ego-Exo4D

def _read_csv(path: Path) -> tuple[list[str], list[list[str]]]:
    with open(path) as f:
        rows = list(csv.reader(f))
    return rows[0], rows[1:]


def test_egoexo4d_takes_json_timesync_and_video(exo_out):
    out, names = exo_out
    takes = json.loads((out / "takes.json").read_text())
    assert [t["take_name"] for t in takes] == names == ["synth_cooking_00_1"]
    t = takes[0]
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", t["take_uid"])
    assert t["root_dir"] == "takes/synth_cooking_00_1" and t["has_trimmed_eye_gaze"] is True
    assert t["frame_aligned_videos"] == {"aria01": {"rgb": {
        "cam_id": "aria01", "stream_id": "214-1", "readable_stream_id": "camera-rgb",
        "relative_path": "frame_aligned_videos/aria01_214-1.mp4"}}}
    n = t["timesync_end_idx"] - t["timesync_start_idx"]
    assert n == 30 and t["timesync_start_idx"] > 0 and t["duration_sec"] == pytest.approx(1.0)
    header, rows = _read_csv(out / "captures" / "synth_cooking_00" / "timesync.csv")
    assert header == ["aria01_214-1_capture_timestamp_ns", "cam01_pts", "cam01_frame_number"]
    ns = np.array([int(r[0]) for r in rows])
    assert len(rows) > t["timesync_end_idx"] + 1 and ns[0] > 1e12
    assert np.all(np.abs(np.diff(ns) - 1e9 / 30) < 0.61e6)
    video = read_video(out / t["root_dir"] / "frame_aligned_videos" / "aria01_214-1.mp4")
    assert video.shape == (n, 256, 256, 3)
    # frame i is the upright fisheye render at the device time of timesync row start_idx + 1 + i
    take = plan_take(SEED, 0, 1.0)
    assert np.array_equal(take.frame_ns, ns[t["timesync_start_idx"] + 1:t["timesync_end_idx"] + 1])
    i = 7
    tau = aria_mps.motion_time(ns[t["timesync_start_idx"] + 1 + i], take.t0_ns)
    raw, _ = render(take.seq.world, aria_mps.raw_rgb_poses(take.seq.motion.head(tau))[0],
                    fisheye_rays(aria_mps.rgb_calibration(256)), float(tau))
    diff = np.abs(video[i].astype(int) - rotate_upright(raw).astype(int))
    assert diff.mean() < 4
    assert np.abs(video[i].astype(int) - raw.astype(int)).mean() > 2 * diff.mean()  # the rotation matters


def test_egoexo4d_trajectory_and_calibration(exo_out):
    out, _ = exo_out
    root = out / "takes" / "synth_cooking_00_1"
    header, rows = _read_csv(root / "trajectory" / "closed_loop_trajectory.csv")
    assert ",".join(header) == aria_mps.TRAJECTORY_HEADER and len(header) == 20
    a = np.array([[float(v) for v in r[1:]] for r in rows])
    us = a[:, 0].astype(np.int64)
    assert np.all(np.diff(us) == 1000)
    take = plan_take(SEED, 0, 1.0)
    assert us[0] * 1000 <= take.frame_ns[0] - 0.49e9 and us[-1] * 1000 >= take.frame_ns[-1] + 0.49e9
    np.testing.assert_allclose(np.linalg.norm(a[:, 5:9], axis=1), 1.0, atol=1e-8)
    np.testing.assert_array_equal(a[:, 15:19], np.tile([0.0, 0.0, -9.81, 1.0], (len(a), 1)))
    # T_world_device = T_world_rawrgb @ inv(T_device_rgb), from the upright head camera
    tau = aria_mps.motion_time(us[::250] * 1000, take.t0_ns)
    T = make_pose(quat_to_matrix(a[::250, 5:9]), a[::250, 2:5])
    T_upright_raw = make_pose(RAW_FROM_UPRIGHT.T, np.zeros(3))
    expected = take.seq.motion.head(tau) @ T_upright_raw @ invert_pose(aria_mps.T_DEVICE_RGB)
    np.testing.assert_allclose(T, expected, atol=1e-7)
    speed = np.linalg.norm(a[:, 9:12], axis=1)
    assert speed.max() < 3.0 and speed.mean() > 0.05

    lines = (root / "trajectory" / "online_calibration.jsonl").read_text().splitlines()
    assert 19 <= len(lines) <= 21  # 10 Hz over the take plus 0.5 s either side
    rec = json.loads(lines[0])
    assert set(rec) == {"utc_timestamp_ns", "tracking_timestamp_us", "ImuCalibrations", "CameraCalibrations"}
    cams = {c["Label"]: c for c in rec["CameraCalibrations"]}
    assert cams["camera-slam-left"]["T_Device_Camera"]["UnitQuaternion"] == [1.0, [0.0, 0.0, 0.0]]
    rgb = cams["camera-rgb"]
    assert rgb["Calibrated"] is True and rgb["Projection"]["Name"] == "FisheyeRadTanThinPrism"
    np.testing.assert_allclose(rgb["Projection"]["Params"], aria_mps.rgb_calibration(2880).params)
    assert rgb["Projection"]["Params"][0] == pytest.approx(610.9410078676575 * 2880 / 1408)
    np.testing.assert_allclose(rgb["T_Device_Camera"]["Translation"], aria_mps.T_DEVICE_RGB[:3, 3])
    w, xyz = rgb["T_Device_Camera"]["UnitQuaternion"]
    np.testing.assert_allclose(quat_to_matrix([*xyz, w]), aria_mps.T_DEVICE_RGB[:3, :3], atol=1e-12)
    for name in ("trajectory", "eye_gaze"):
        assert json.loads((root / name / "summary.json").read_text())


def test_egoexo4d_gaze_csv_projects_onto_the_rendered_gaze_point(exo_out):
    out, _ = exo_out
    root = out / "takes" / "synth_cooking_00_1"
    header, rows = _read_csv(root / "eye_gaze" / "general_eye_gaze.csv")
    assert ",".join(header) == aria_mps.VERGENCE_HEADER and len(header) == 18
    g = np.array([[float(v) for v in r[:17]] for r in rows])
    us = g[:, 0].astype(np.int64)
    take = plan_take(SEED, 0, 1.0)
    # 10 Hz grid over the take; rows are missing exactly where the gaze is invalid (blinks)
    grid = np.arange(take.frame_ns[0] // 1000 + 2547, take.frame_ns[-1] // 1000 + 1, 100_000)
    _, valid = take.seq.motion.gaze(aria_mps.motion_time(grid * 1000, take.t0_ns))
    np.testing.assert_array_equal(us, grid[valid])
    np.testing.assert_allclose(g[:, 11:17], np.tile([0.0315, 0, 0, -0.0315, 0, 0], (len(g), 1)))
    np.testing.assert_allclose(g[:, 5:8], g[:, 1:4] - 0.05, atol=1e-9)
    assert len({r[17] for r in rows}) == 1

    # CSV path: vergence -> CPF point -> device (trajectory CSV, nearest row) -> raw RGB -> fisheye -> upright
    _, traj_rows = _read_csv(root / "trajectory" / "closed_loop_trajectory.csv")
    tr = np.array([[float(v) for v in r[1:10]] for r in traj_rows])
    yaw, depth = vergence_to_yaw_depth(g[:, 1], g[:, 2], g[:, 3])
    np.testing.assert_allclose(depth, g[:, 4], rtol=1e-8)
    p_cpf = gaze_point_cpf(yaw, g[:, 3], depth)
    cam = aria_mps.rgb_calibration(256)
    tau = aria_mps.motion_time(us * 1000, take.t0_ns)
    gaze_world, ok = take.seq.motion.gaze(tau)
    assert ok.all()
    c2w_up = take.seq.motion.head(tau)
    for j in range(len(us)):
        row = tr[np.argmin(np.abs(tr[:, 0] - us[j]))]
        T_world_device = make_pose(quat_to_matrix(row[5:9]), row[2:5])
        p_world = transform_points(T_world_device @ aria_mps.T_DEVICE_CPF, p_cpf[j])
        assert np.linalg.norm(p_world - gaze_world[j]) < 0.01  # trajectory + gaze CSVs agree in the world
        p_raw = transform_points(invert_pose(T_world_device @ aria_mps.T_DEVICE_RGB), p_world)
        x, y = cam.project(p_raw)
        from_csv = np.array([255 - y, x])
        # direct path: the world gaze point through the upright camera of the motion
        x2, y2 = cam.project(RAW_FROM_UPRIGHT @ transform_points(invert_pose(c2w_up[j]), gaze_world[j]))
        assert np.linalg.norm(from_csv - np.array([255 - y2, x2])) < 0.5
        assert 0 <= from_csv[0] < 256 and 0 <= from_csv[1] < 256


# ------------------------------------------------------------------------------ determinism and CLI

def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_cli_all_layouts_deterministic_by_seed(tmp_path, capsys):
    for name, seed in (("a", 5), ("b", 5), ("c", 6)):
        assert main(["--layout", "all", "--out", str(tmp_path / name), "--sequences", "1", "--seconds", "0.1",
                     "--seed", str(seed), "--quiet"]) == 0
    assert "egoexo4d: wrote 1 sequence(s)" in capsys.readouterr().out
    a, b, c = _tree(tmp_path / "a"), _tree(tmp_path / "b"), _tree(tmp_path / "c")
    assert sorted(p.split("/")[0] for p in a) and {p.split("/")[0] for p in a} == set(LAYOUTS)
    assert a == b
    assert a.keys() != c.keys() or any(a[k] != c[k] for k in a)
    differing = [k for k in a if k.endswith((".npy", ".csv")) and k in c and a[k] != c[k]]
    assert differing


def test_cli_help_and_bad_arguments(tmp_path):
    import subprocess
    import sys
    res = subprocess.run([sys.executable, "-m", "egom2p.synth", "--help"], cwd=tmp_path, capture_output=True,
                         text=True, timeout=60)
    assert res.returncode == 0 and "--layout" in res.stdout and "egoexo4d" in res.stdout
    assert main(["--layout", "egogen", "--out", str(tmp_path / "x"), "--sequences", "0", "--quiet"]) == 2
    with pytest.raises(SystemExit):
        main(["--layout", "nope", "--out", str(tmp_path)])
