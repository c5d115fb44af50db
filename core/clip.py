"""The canonical clip: reader, writer and validation (DESIGN.md §4).

A clip folder ``<clip_id>/`` holds::

    rgb.mp4     H.264 yuv420p, 30 fps, square, rectified pinhole, exactly 60 frames
    depth.npy   float16 (60, H, W) inverse depth normalized per sequence to [0, 1]; NaN unknown
    gaze.npy    float32 (60, 2) normalized image coords (x right, y down) in [0, 1]; NaN invalid
    camera.npy  float32 (60, 4, 4) OpenCV camera-to-world, first frame = identity
    meta.json   dataset, sequence, clip index, start time, intrinsics, depth source, normalization …

An absent file means the modality is missing for that clip.
"""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import io
from .geometry import rotation_errors
from .modalities import MODALITIES, REGISTRY
from .presets import CLIP_FRAMES

META_FILE = "meta.json"
ROT_TOL = 1e-3      # float32 storage: |R R^T - I| and |det R - 1| tolerance
IDENTITY_TOL = 1e-5


@dataclass
class Clip:
    """An in-memory canonical clip; arrays are None where the modality is missing.

    rgb: (60, S, S, 3) uint8 · depth: (60, S, S) float · gaze: (60, 2) float · camera: (60, 4, 4) float
    """
    clip_id: str
    meta: dict = field(default_factory=dict)
    rgb: np.ndarray | None = None
    depth: np.ndarray | None = None
    gaze: np.ndarray | None = None
    camera: np.ndarray | None = None

    def present(self) -> dict[str, bool]:
        return {m: getattr(self, m) is not None for m in MODALITIES}


def clip_files(folder: str | os.PathLike) -> dict[str, Path]:
    """Modality -> file for the modalities present in a clip folder."""
    folder = Path(folder)
    return {m: folder / REGISTRY[m].clip_file for m in MODALITIES if (folder / REGISTRY[m].clip_file).exists()}


def write_clip(folder: str | os.PathLike, meta: dict, *, rgb: np.ndarray | None = None,
               rgb_file: str | os.PathLike | None = None, depth: np.ndarray | None = None,
               gaze: np.ndarray | None = None, camera: np.ndarray | None = None) -> Path:
    """Write a canonical clip; each file is written atomically. ``rgb_file`` links an encoded mp4.

    Arrays are cast to the canonical dtypes (depth float16, gaze/camera float32).
    """
    from .video import write_video
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    if rgb is not None:
        write_video(folder / "rgb.mp4", rgb)
    elif rgb_file is not None:
        link_or_copy(rgb_file, folder / "rgb.mp4")
    if depth is not None:
        io.write_npy(folder / "depth.npy", np.asarray(depth, dtype=np.float16))
    if gaze is not None:
        io.write_npy(folder / "gaze.npy", np.asarray(gaze, dtype=np.float32))
    if camera is not None:
        io.write_npy(folder / "camera.npy", np.asarray(camera, dtype=np.float32))
    io.write_json(folder / META_FILE, meta)
    return folder


def link_or_copy(src: str | os.PathLike, dst: str | os.PathLike) -> Path:
    """Hard-link ``src`` to ``dst`` (same file system), else copy; atomic either way."""
    import shutil
    with io.atomic_path(dst) as tmp:
        try:
            os.link(src, tmp)
        except OSError:
            shutil.copyfile(src, tmp)
    return Path(dst)


def read_clip(folder: str | os.PathLike, modalities=MODALITIES, decode_rgb: bool = True) -> Clip:
    """Load a canonical clip; missing modalities stay None. Never unpickles."""
    import json
    folder = Path(folder)
    meta = json.loads((folder / META_FILE).read_text())
    clip = Clip(clip_id=folder.name, meta=meta)
    files = clip_files(folder)
    for m in modalities:
        if m not in files:
            continue
        if m == "rgb":
            if decode_rgb:
                from .video import read_video
                clip.rgb = read_video(files[m])
        else:
            setattr(clip, m, io.read_npy(files[m]))
    return clip


def file_checksum(path: str | os.PathLike) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()[:16]


# ---------------------------------------------------------------------------------------------- checks
def check_gaze(gaze: np.ndarray) -> list[str]:
    problems = []
    if gaze.shape != (CLIP_FRAMES, 2):
        return [f"gaze shape {gaze.shape} != {(CLIP_FRAMES, 2)}"]
    valid = ~np.isnan(gaze).any(axis=1)
    if np.isnan(gaze).any(axis=1).sum() != np.isnan(gaze).all(axis=1).sum():
        problems.append("gaze has half-NaN samples")
    g = gaze[valid]
    if g.size and (g.min() < 0 or g.max() > 1):
        problems.append(f"gaze outside [0,1]: min {g.min():.4f} max {g.max():.4f}")
    if np.isinf(gaze).any():
        problems.append("gaze has inf")
    return problems


def check_camera(camera: np.ndarray) -> list[str]:
    if camera.shape != (CLIP_FRAMES, 4, 4):
        return [f"camera shape {camera.shape} != {(CLIP_FRAMES, 4, 4)}"]
    if not np.isfinite(camera).all():
        return ["camera has non-finite values"]
    problems = []
    ortho, det = rotation_errors(camera[:, :3, :3])
    if ortho > ROT_TOL or det > ROT_TOL:
        problems.append(f"camera rotations not orthonormal/det 1 (|RRᵀ-I|={ortho:.2e}, |det-1|={det:.2e})")
    if np.abs(camera[0] - np.eye(4)).max() > IDENTITY_TOL:
        problems.append("first camera pose is not identity")
    if np.abs(camera[:, 3] - np.array([0, 0, 0, 1])).max() > 0:
        problems.append("camera bottom rows are not [0,0,0,1]")
    return problems


def check_depth(depth: np.ndarray, side: int | None = None) -> list[str]:
    if depth.ndim != 3 or depth.shape[0] != CLIP_FRAMES or depth.shape[1] != depth.shape[2]:
        return [f"depth shape {depth.shape} is not (60, S, S)"]
    if side is not None and depth.shape[1] != side:
        return [f"depth side {depth.shape[1]} != rgb side {side}"]
    d = depth[~np.isnan(depth)].astype(np.float32)
    if np.isinf(d).any():
        return ["depth has inf"]
    if d.size and (d.min() < 0 or d.max() > 1):
        return [f"depth outside [0,1]: min {d.min():.4f} max {d.max():.4f}"]
    return []


def validate_clip(folder: str | os.PathLike, decode_video: bool = True) -> list[str]:
    """All problems of one canonical clip folder (empty list = valid)."""
    from .video import VideoError, iter_frames, probe
    folder = Path(folder)
    problems: list[str] = []
    if not (folder / META_FILE).exists():
        problems.append("meta.json missing")
    files = clip_files(folder)
    if not files:
        return problems + ["clip has no modality files"]
    side = None
    if "rgb" in files:
        try:
            info = probe(files["rgb"])
            side = info.width
            if info.width != info.height:
                problems.append(f"rgb not square: {info.width}x{info.height}")
            if abs(info.fps - 30.0) > 1e-3:
                problems.append(f"rgb fps {info.fps} != 30")
            n = sum(1 for _ in iter_frames(files["rgb"], info)) if decode_video else info.frames
            if n != CLIP_FRAMES:
                problems.append(f"rgb has {n} frames, expected {CLIP_FRAMES}")
        except VideoError as e:
            problems.append(f"rgb unreadable: {e}")
    if "depth" in files:
        problems += check_depth(io.read_npy(files["depth"]), side)
    if "gaze" in files:
        problems += check_gaze(io.read_npy(files["gaze"]))
    if "camera" in files:
        problems += check_camera(io.read_npy(files["camera"]))
    return problems
