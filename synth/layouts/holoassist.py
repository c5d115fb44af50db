"""HoloAssist-like layout: room-scale HoloLens 2 PV video, head pose, eye gaze.

File contract, one session folder ``<out>/<session>/Export_py/`` (session names like ``R007-7July-DSLR``)::

    Video_pitchshift.mp4            256x144 H.264 30 fps (real 896x504)
    Video/VideoMp4Timing.txt        two lines: start and end ticks of the mp4 (100 ns since 0001-01-01)
    Video/Intrinsics.txt            25 tab-separated values: K (3x3 row-major), R0..R5, T0 T1, FL, FLx, FLy,
                                    PPx, PPy, D, W, H (pinhole, no distortion)
    Video/Pose_sync.txt             tab-separated rows ``sync_time ticks M00 … M33``: camera-to-world 4x4,
                                    world AND camera in the \\psi/MathNet basis (X forward, Y left, Z up)
    Eyes/Eyes_sync.txt              ``sync_time ticks Px Py Pz Vx Vy Vz``: gaze ray origin and direction in
                                    the world (MathNet basis); during a blink the direction is zero
                                    (invalid)
``_sync`` rows share one ~30 fps clock (sync_time 0 at session start); AHAT depth is not written (the
reader does not use it, see curation/datasets/holoassist.py).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from egom2p.cameras import Pinhole
from egom2p.video import write_video

from ..common import frame_count, write_text
from ..frames import iter_sequences, render_frames
from ..render import pinhole_rays

NAME = "holoassist"
CAMERA = Pinhole(180.0, 180.0, 127.5, 71.5, 256, 144)
# OpenCV camera axes expressed in the MathNet camera basis: p_cv = CV_FROM_MATHNET @ p_mathnet
CV_FROM_MATHNET = np.array([[0.0, -1.0, 0.0], [0.0, 0.0, -1.0], [1.0, 0.0, 0.0]])
TICKS_PER_S = 10_000_000
SESSIONS = ("R007-7July-DSLR", "z013-june-16-22-gopro", "R019-8July-Switch", "z045-june-24-22-nespresso")


def mathnet_pose(c2w_cv: np.ndarray) -> np.ndarray:
    """OpenCV camera-to-world -> camera-to-world with the camera in the MathNet basis."""
    M = np.eye(4)
    M[:3, :3] = CV_FROM_MATHNET
    return c2w_cv @ M


def _row(values) -> str:
    return "\t".join(f"{v:.9g}" if isinstance(v, float) else str(v) for v in values)


def write_holoassist(out_dir: Path, sequences: int, seconds: float, seed: int, progress: bool = True) -> list[str]:
    out_dir = Path(out_dir)
    n = frame_count(seconds)
    rays = pinhole_rays(CAMERA)
    ids = []
    for k, seq, bar in iter_sequences(NAME, "room", sequences, seconds, seed, progress, n):
        session = f"{SESSIONS[k % len(SESSIONS)]}-{k}"
        root = out_dir / session / "Export_py"
        start = 638_000_000_000_000_000 + int(seq.rng.integers(0, 10**12))
        frames = list(render_frames(seq, rays, n, bar=bar))
        write_video(root / "Video_pitchshift.mp4", (f.rgb for f in frames), crf=18)
        ticks = [start + round(f.i * TICKS_PER_S / 30.0) for f in frames]
        write_text(root / "Video" / "VideoMp4Timing.txt", [str(ticks[0]), str(ticks[-1])])
        c = CAMERA
        K = [c.fx, 0.0, c.cx, 0.0, c.fy, c.cy, 0.0, 0.0, 1.0]
        write_text(root / "Video" / "Intrinsics.txt",
                   [_row(K + [0.0] * 8 + [c.fx, c.fx, c.fy, c.cx, c.cy, 0, c.width, c.height])])
        poses, eyes = [], []
        for f, tk in zip(frames, ticks):
            sync = f.i / 30.0
            poses.append(_row([sync, tk, *mathnet_pose(f.c2w).reshape(-1).tolist()]))
            origin = f.c2w[:3, 3]
            if np.isfinite(f.gaze_world).all():
                d = f.gaze_world - origin
                eyes.append(_row([sync, tk, *origin.tolist(), *(d / np.linalg.norm(d)).tolist()]))
            else:  # blink: the tracker reports no direction
                eyes.append(_row([sync, tk, *origin.tolist(), 0.0, 0.0, 0.0]))
        write_text(root / "Video" / "Pose_sync.txt", poses)
        write_text(root / "Eyes" / "Eyes_sync.txt", eyes)
        ids.append(session)
    return ids
