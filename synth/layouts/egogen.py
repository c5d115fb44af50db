"""EgoGen-like layout: room-scale walking, RGB + exact depth + camera, no gaze.

File contract (one folder per sequence, frames 1-based without zero padding, 30 fps implied)::

    <out>/<scene>_<k:03d>/             scene drawn from the real EgoGen scene names, k = sequence index
      rgb/{i}.jpg                      256x144 RGB, JPEG quality 95, pinhole fx = fy = 160,
                                       cx = 127.5, cy = 71.5 (77.3° horizontal FOV)
      depth_clean/{i}.npy              float32 (144, 160) z-depth in metres, 0 = no hit; pinhole
                                       fx = fy = 100, cx = 79.5, cy = 71.5; same centre and orientation
      smplx_params/{i}.npy             float64 (99,): [0:69] interactee SMPL-X (transl, global_orient,
                                       body_pose; small random values, constant per sequence),
                                       [69:85] world->camera 4x4 in OpenGL camera axes, row-major:
                                       diag(1,-1,-1,1) @ inv(c2w_opencv), [85:95] betas 0, [95] gender 0,
                                       [96] cx, [97] cy, [98] fx of the RGB image (pixels)

Frame i (1-based) is at t = (i - 1) / 30 s. World Z-up, floor z = 0, metres.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from egom2p.cameras import Pinhole
from egom2p.geometry import OPENGL_TO_OPENCV, invert_pose
from egom2p.io import write_npy

from ..common import FPS, frame_count, make_sequence, progress_bar, write_jpeg
from ..render import pinhole_rays, render, render_depth

NAME = "egogen"
SCENES = ("cab_e", "cab_g_benches", "cab_h_tables", "cnb_dlab_0215", "cnb_dlab_0225", "foodlab_0312",
          "kitchen_gfloor", "seminar_d78", "seminar_d78_0318", "seminar_g110", "seminar_g110_0315",
          "seminar_g110_0415", "seminar_h52", "seminar_h53_0218", "seminar_j716")
RGB_CAMERA = Pinhole(160.0, 160.0, 127.5, 71.5, 256, 144)
DEPTH_CAMERA = Pinhole(100.0, 100.0, 79.5, 71.5, 160, 144)  # real: 320x288, focal 200, scaled by 0.5


def extrinsic_gl(c2w_opencv: np.ndarray) -> np.ndarray:
    """World->camera 4x4 in OpenGL camera axes from an OpenCV camera-to-world pose."""
    return OPENGL_TO_OPENCV @ invert_pose(c2w_opencv)


def params_vector(interactee: np.ndarray, c2w_opencv: np.ndarray) -> np.ndarray:
    """The 99-float ``smplx_params`` vector of one frame."""
    v = np.zeros(99, dtype=np.float64)
    v[0:69] = interactee
    v[69:85] = extrinsic_gl(c2w_opencv).reshape(-1)
    v[96:99] = (RGB_CAMERA.cx, RGB_CAMERA.cy, RGB_CAMERA.fx)
    return v


def write_egogen(out_dir: Path, sequences: int, seconds: float, seed: int, progress: bool = True) -> list[str]:
    """Write ``sequences`` EgoGen-like sequences of ``seconds`` each under ``out_dir``; returns folder names."""
    out_dir = Path(out_dir)
    n = frame_count(seconds)
    rgb_rays, depth_rays = pinhole_rays(RGB_CAMERA), pinhole_rays(DEPTH_CAMERA)
    names = []
    with progress_bar(sequences * n, NAME, progress) as bar:
        for k in range(sequences):
            seq = make_sequence(NAME, seed, k, "room", seconds)
            name = f"{SCENES[int(seq.rng.integers(len(SCENES)))]}_{k:03d}"
            lo, hi = np.asarray(seq.world.room_min), np.asarray(seq.world.room_max)
            interactee = np.concatenate([[*seq.rng.uniform(lo[:2] + 0.5, hi[:2] - 0.5), 0.9],
                                         [np.pi / 2, 0.0, seq.rng.uniform(-np.pi, np.pi)],
                                         seq.rng.normal(0.0, 0.05, 63)])
            traj = seq.motion.sample(np.arange(n) / FPS)
            root = out_dir / name
            for i in range(n):
                t, c2w = float(traj.times[i]), traj.c2w[i]
                rgb, _ = render(seq.world, c2w, rgb_rays, t)
                write_jpeg(root / "rgb" / f"{i + 1}.jpg", rgb, 95)
                write_npy(root / "depth_clean" / f"{i + 1}.npy", render_depth(seq.world, c2w, depth_rays, t))
                write_npy(root / "smplx_params" / f"{i + 1}.npy", params_vector(interactee, c2w))
                bar.update(1)
            names.append(name)
    return names
