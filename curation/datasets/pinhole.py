"""Shared pieces of the readers of pinhole datasets (H2O, TACO, HoloAssist, ARCTIC …)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from egom2p.cameras import Pinhole

from ..rectify import Rectifier, build_rectifier, center_square_target
from ..sequence import SequenceError


def rectifier_for(src: Pinhole, side: int, project=None) -> Rectifier:
    """The largest centred square of ``src`` resized to ``side`` (``project`` overrides the source
    projection, e.g. with lens distortion)."""
    return build_rectifier(center_square_target(src, side), project or src.project, src_focal=src.fx)


def fit_to_image(cam: Pinhole, width: int, height: int) -> Pinhole:
    """Intrinsics given for one resolution, rescaled to the stored image's (fx, cx by W'/W; fy, cy by H'/H)."""
    if (cam.width, cam.height) == (width, height):
        return cam
    sx, sy = width / cam.width, height / cam.height
    return Pinhole(cam.fx * sx, cam.fy * sy, cam.cx * sx, cam.cy * sy, width, height)


def numbered_files(folder: Path, suffix: str) -> dict[int, Path]:
    """{frame number: path} of files named by an integer stem (``000123.png``, ``17.jpg`` …)."""
    if not folder.is_dir():
        return {}
    return {int(p.stem): p for p in folder.iterdir() if p.suffix == suffix and p.stem.isdigit()}


def load_text_matrix(path: Path, shape: tuple[int, ...]) -> np.ndarray:
    """Whitespace/tab separated numbers -> array of ``shape``, with a clear error naming the file."""
    if not path.exists():
        raise SequenceError(f"missing file {path.parent.name}/{path.name}")
    try:
        v = np.loadtxt(path, dtype=np.float64).reshape(-1)
    except ValueError as e:
        raise SequenceError(f"{path.parent.name}/{path.name}: not numeric ({e})") from None
    if v.size != int(np.prod(shape)):
        raise SequenceError(f"{path.parent.name}/{path.name}: {v.size} values, expected {int(np.prod(shape))}")
    return v.reshape(shape)


def check_depth_scale(depth_m: np.ndarray, what: str, lo: float = 0.05, hi: float = 10.0) -> None:
    """Plausibility of a metric depth map (median of valid pixels within [lo, hi] metres)."""
    v = depth_m[np.isfinite(depth_m) & (depth_m > 0)]
    if v.size and not lo <= float(np.median(v)) <= hi:
        raise SequenceError(f"{what}: implausible depth (median {np.median(v):.3g} m): check the depth scale "
                            f"(dataset.json \"depth_scale\")")
