"""HoloAssist (Microsoft, ICCV 2023) reader. Modalities: rgb, gaze, camera.

Layout per session ``<session>/Export_py/``: ``Video_pitchshift.mp4`` (PV camera, 896x504),
``Video/VideoMp4Timing.txt`` (start/end ticks of the mp4; frame k at start + k/fps·1e7),
``Video/Intrinsics.txt`` (25 fields; K = first 9, W, H = last 2; rescaled when the mp4 has another size),
``Video/Pose_sync.txt`` (``sync_time ticks`` + 4x4 camera-to-world, \\psi/MathNet basis X forward,
Y left, Z up for world and camera), ``Eyes/Eyes_sync.txt`` (``sync_time ticks`` + world gaze origin P and
direction V). Ticks are 100 ns; times here are seconds since the mp4 start.

Conventions: OpenCV camera = MathNet camera re-axed (x_cv = -y, y_cv = -z, z_cv = x, PyHoloAssist's
``axis_transform``), so ``T_world_cam_cv = Pose · [[0,-1,0],[0,0,-1],[1,0,0]]ᵀ`` (world stays MathNet,
Z up). Gaze: the point ``P + d·V/|V|`` (``gaze_depth_m`` in dataset.json, default 1 m — HoloLens 2 has
no vergence depth; PyHoloAssist uses 0.5 m) projected into the rectified camera; a zero or non-finite
direction is invalid. AHAT depth (``AhatDepth/``, 512² mm, short-throw 0.2–1 m, its own camera and
~45 Hz clock) is not used: its range covers the hands only, and reprojection into the PV frame needs the
per-pixel CalibrationMap; missing depth is left to the depth annotator.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from egom2p.cameras import Pinhole
from egom2p.geometry import invert_pose, make_pose, transform_points
from egom2p.timeline import resample_poses
from egom2p.video import VideoError, probe

from ..frames import video_source
from ..guard import DatasetRoot, check_intrinsic_values, check_pinhole, video_reason
from ..sequence import (
    GazeTrack,
    PoseTrack,
    Sequence,
    SequenceError,
    check_poses,
    check_times,
)
from .pinhole import fit_to_image, load_text_matrix, rectifier_for

TICKS_PER_S = 1e7
MATHNET_TO_CV = make_pose(np.array([[0.0, -1.0, 0.0], [0.0, 0.0, -1.0], [1.0, 0.0, 0.0]]).T, np.zeros(3))


def read_sync(path: Path, columns: int) -> tuple[np.ndarray, np.ndarray]:
    """A ``_sync`` file -> (ticks (N,) int64, values (N, columns - 2) float64)."""
    if not path.exists():
        raise SequenceError(f"missing file {path.parent.name}/{path.name}")
    try:
        rows = [line.split() for line in path.read_text().splitlines() if line.strip()]
    except UnicodeDecodeError:
        raise SequenceError(f"{path.parent.name}/{path.name}: not a text file") from None
    if not rows:
        raise SequenceError(f"{path.parent.name}/{path.name}: empty")
    bad = next((i for i, r in enumerate(rows) if len(r) != columns), None)
    if bad is not None:
        raise SequenceError(f"{path.parent.name}/{path.name}: row {bad} has {len(rows[bad])} fields, expected {columns}")
    ticks = np.empty(len(rows), dtype=np.int64)
    values = np.empty((len(rows), columns - 2))
    for i, r in enumerate(rows):
        try:   # the reason names the row, never its text
            ticks[i], values[i] = int(r[1]), [float(v) for v in r[2:]]
        except (ValueError, OverflowError):
            raise SequenceError(f"{path.parent.name}/{path.name}: row {i} is not numeric") from None
    return ticks, values


def read_ticks(path: Path) -> tuple[int, int]:
    """VideoMp4Timing.txt: start and end ticks, parsed as integers (≈6.4e17 overflows float64 precision)."""
    if not path.exists():
        raise SequenceError(f"missing file {path.parent.name}/{path.name}")
    try:
        start, end = (int(v) for v in path.read_text().split()[:2])
    except (ValueError, UnicodeDecodeError):
        raise SequenceError(f"{path.name}: expected two integer tick values") from None
    return start, end


class HoloAssistReader:
    name = "holoassist"
    modalities = ("rgb", "gaze", "camera")

    def list_sequences(self, root) -> list[str]:
        root = Path(root)
        return sorted(p.parent.name for p in root.glob("*/Export_py") if (p / "Video_pitchshift.mp4").exists())

    def open(self, root, sequence_id: str, side: int, settings: dict | None = None) -> Sequence:
        settings = settings or {}
        # every file read below lies in Export_py/: links leaving the dataset quarantine before any is opened
        ex = DatasetRoot(root).tree(Path(root) / sequence_id / "Export_py")
        video = ex / "Video_pitchshift.mp4"
        try:
            info = probe(video)
        except VideoError as e:
            raise SequenceError(video_reason(video, e)) from None
        start, end = read_ticks(ex / "Video" / "VideoMp4Timing.txt")
        fps = info.fps or 30.0
        n = info.frames if info.frames is not None else int(round((end - start) / TICKS_PER_S * fps)) + 1
        if n <= 0:
            raise SequenceError("empty sequence: no video frames")
        times = check_times(np.arange(n) / fps, "video frames")
        vals = load_text_matrix(ex / "Video" / "Intrinsics.txt", (25,))
        K, (w, h) = vals[:9].reshape(3, 3), vals[23:25]
        check_intrinsic_values("Video/Intrinsics.txt", fx=K[0, 0], fy=K[1, 1], cx=K[0, 2], cy=K[1, 2], width=w, height=h)
        check_pinhole(Pinhole(K[0, 0], K[1, 1], K[0, 2], K[1, 2], int(w), int(h)), "Video/Intrinsics.txt")
        src = fit_to_image(Pinhole(K[0, 0], K[1, 1], K[0, 2], K[1, 2], int(w), int(h)), info.width, info.height)
        rect = rectifier_for(src, side)
        pose_ticks, pose = read_sync(ex / "Video" / "Pose_sync.txt", 18)
        pose_t = check_times((pose_ticks - start) / TICKS_PER_S, "Pose_sync.txt")
        c2w = check_poses(pose.reshape(-1, 4, 4), "Pose_sync.txt") @ MATHNET_TO_CV
        seq = Sequence(self.name, sequence_id, times, video_source(video, n, rect), rect.target,
                       camera=PoseTrack(pose_t, c2w), source_files=[f"{sequence_id}/Export_py/Video_pitchshift.mp4",
                                                                   f"{sequence_id}/Export_py/Video/Pose_sync.txt"],
                       meta={"source_camera": src.to_dict(), "mp4_start_ticks": int(start)})
        eyes = ex / "Eyes" / "Eyes_sync.txt"
        if eyes.exists():
            eye_ticks, eye = read_sync(eyes, 8)
            eye_t = check_times((eye_ticks - start) / TICKS_PER_S, "Eyes_sync.txt")
            norm = np.linalg.norm(eye[:, 3:6], axis=1)
            valid = np.isfinite(norm) & (norm > 1e-9)
            d = float(settings.get("gaze_depth_m", 1.0))
            point = eye[:, :3] + d * eye[:, 3:6] / np.where(valid, norm, 1.0)[:, None]
            # each gaze sample projects with the camera pose at its own time
            p_cam = _to_camera(resample_poses(pose_t, c2w, eye_t, max_gap=1.0), point)
            uv = rect.target.project(p_cam)
            uv[~valid | ~np.isfinite(p_cam).all(1) | (p_cam[:, 2] <= 0)] = np.nan
            seq.gaze = GazeTrack(eye_t, uv)
            seq.source_files.append(f"{sequence_id}/Export_py/Eyes/Eyes_sync.txt")
        return seq


def _to_camera(T_world_cam: np.ndarray, p_world: np.ndarray) -> np.ndarray:
    """World points (N,3) into per-sample cameras (N,4,4 camera-to-world; NaN poses give NaN)."""
    out = np.full(p_world.shape, np.nan)
    ok = np.isfinite(T_world_cam).all((1, 2))
    if ok.any():
        out[ok] = transform_points(invert_pose(T_world_cam[ok]), p_world[ok])
    return out


READER = HoloAssistReader()
