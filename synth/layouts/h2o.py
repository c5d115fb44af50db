"""H2O-like layout: tabletop, head-mounted cam4 with RGB, aligned depth, poses; no gaze.

File contract (one sequence per ``subject1/<scene>/<k>``; ``<scene>`` cycles h1, h2, k1, k2, o1, o2)::

    <out>/subject1/<scene>/<k>/cam4/rgb/%06d.png       256x144 RGB (real 1280x720), 0-based frame ids
    <out>/subject1/<scene>/<k>/cam4/depth/%06d.png     uint16 millimetres aligned to rgb, 0 = invalid
    <out>/subject1/<scene>/<k>/cam4/cam_pose/%06d.txt  16 numbers, row-major 4x4 camera-to-world (m)
    <out>/subject1/<scene>/<k>/cam4/cam_intrinsics.txt "fx fy cx cy width height"
30 fps, OpenCV camera axes, world Z-up.
"""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from egom2p.cameras import Pinhole
from egom2p.io import write_bytes

from ..common import frame_count, write_text
from ..frames import depth_to_uint16, iter_sequences, render_frames
from ..render import pinhole_rays

NAME = "h2o"
SCENES = ("h1", "h2", "k1", "k2", "o1", "o2")
CAMERA = Pinhole(192.0, 192.0, 127.5, 71.5, 256, 144)   # real: 1280x720, ~64° horizontal FOV


def _png(path: Path, img: np.ndarray) -> None:
    ok, buf = cv2.imencode(".png", img[..., ::-1] if img.ndim == 3 else img)
    if not ok:
        raise RuntimeError(f"PNG encoding failed for {path}")
    write_bytes(path, buf.tobytes())


def write_h2o(out_dir: Path, sequences: int, seconds: float, seed: int, progress: bool = True) -> list[str]:
    out_dir = Path(out_dir)
    n = frame_count(seconds)
    rays = pinhole_rays(CAMERA)
    ids = []
    for k, seq, bar in iter_sequences(NAME, "tabletop", sequences, seconds, seed, progress, n):
        sid = f"subject1/{SCENES[k % len(SCENES)]}/{k}"
        cam = out_dir / sid / "cam4"
        c = CAMERA
        write_text(cam / "cam_intrinsics.txt", [f"{c.fx} {c.fy} {c.cx} {c.cy} {c.width} {c.height}"])
        for f in render_frames(seq, rays, n, depth_rays=rays, bar=bar):
            _png(cam / "rgb" / f"{f.i:06d}.png", f.rgb)
            _png(cam / "depth" / f"{f.i:06d}.png", depth_to_uint16(f.depth, 1000.0))
            write_text(cam / "cam_pose" / f"{f.i:06d}.txt", [" ".join(f"{v:.9f}" for v in f.c2w.reshape(-1))])
        ids.append(sid)
    return ids
