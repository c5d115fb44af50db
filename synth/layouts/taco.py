"""TACO-like layout: tabletop, egocentric RGB video + aligned 16-bit depth video + poses.

File contract (``<triplet>`` like ``(stir, spoon, bowl)``, ``<seq>`` like ``20231105_000``)::

    <out>/Egocentric_RGB_Videos/<triplet>/<seq>/color.mp4               256x144 H.264 30 fps (real 1920x1080)
    <out>/Egocentric_Depth_Videos/<triplet>/<seq>/egocentric_depth.avi  FFV1 gray16le, aligned to RGB,
                                                                        depth x 4000 (0.25 mm units), 0 invalid
    <out>/Egocentric_Camera_Parameters/<triplet>/<seq>/egocentric_intrinsic.txt      3x3 pinhole (np.savetxt)
    <out>/Egocentric_Camera_Parameters/<triplet>/<seq>/egocentric_frame_extrinsic.npy (N,4,4) world_to_camera
No gaze. OpenCV camera axes, world Z-up, metres.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from egom2p.cameras import Pinhole
from egom2p.geometry import invert_pose
from egom2p.io import write_npy
from egom2p.video import write_video, write_video_gray16

from ..common import frame_count, write_text
from ..frames import depth_to_uint16, iter_sequences, render_frames
from ..render import pinhole_rays

NAME = "taco"
DEPTH_SCALE = 4000.0
TRIPLETS = ("(stir, spoon, bowl)", "(dust, roller, pan)", "(cut, knife, board)", "(pour, kettle, cup)")
CAMERA = Pinhole(200.0, 200.0, 127.5, 71.5, 256, 144)


def write_taco(out_dir: Path, sequences: int, seconds: float, seed: int, progress: bool = True) -> list[str]:
    out_dir = Path(out_dir)
    n = frame_count(seconds)
    rays = pinhole_rays(CAMERA)
    ids = []
    for k, seq, bar in iter_sequences(NAME, "tabletop", sequences, seconds, seed, progress, n):
        sid = f"{TRIPLETS[k % len(TRIPLETS)]}/20231105_{k:03d}"
        frames = list(render_frames(seq, rays, n, depth_rays=rays, bar=bar))
        write_video(out_dir / "Egocentric_RGB_Videos" / sid / "color.mp4", (f.rgb for f in frames), crf=18)
        write_video_gray16(out_dir / "Egocentric_Depth_Videos" / sid / "egocentric_depth.avi",
                           (depth_to_uint16(f.depth, DEPTH_SCALE) for f in frames))
        params = out_dir / "Egocentric_Camera_Parameters" / sid
        write_text(params / "egocentric_intrinsic.txt", [" ".join(f"{v:.6f}" for v in row) for row in CAMERA.K])
        write_npy(params / "egocentric_frame_extrinsic.npy", invert_pose(np.stack([f.c2w for f in frames])))
        ids.append(sid)
    return ids
