"""Shared pieces of the readers of pinhole datasets (H2O, TACO, HoloAssist, ARCTIC …)."""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterator

import cv2
import numpy as np

from egom2p.cameras import Pinhole

from ..rectify import Rectifier, build_rectifier, center_square_target
from ..guard import check_depth, check_depth_range
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
    """Whitespace/tab separated numbers -> array of ``shape``, with a clear error naming the file (and the
    line of a non-number, never its text)."""
    name = f"{path.parent.name}/{path.name}"
    if not path.exists():
        raise SequenceError(f"missing file {name}")
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as e:
        raise SequenceError(f"{name}: unreadable text file ({type(e).__name__})") from None
    values: list[float] = []
    for k, line in enumerate(text.splitlines(), 1):
        try:
            values += [float(v) for v in line.split()]
        except ValueError:
            raise SequenceError(f"{name}: line {k} is not numeric") from None
    v = np.asarray(values, dtype=np.float64)
    if v.size != int(np.prod(shape)):
        raise SequenceError(f"{name}: {v.size} values, expected {int(np.prod(shape))}")
    return v.reshape(shape)


def depth_png_source(paths: list[Path], size: tuple[int, int], scale: float,
                     transform: Callable[[np.ndarray], np.ndarray]) -> Callable[[np.ndarray], Iterator[np.ndarray]]:
    """Depth PNGs at the given indices: each must be one-channel 16-bit of the RGB ``size`` (H, W);
    value / ``scale`` = metres (0 invalid), plausible median checked, then ``transform``."""
    def read(indices: np.ndarray) -> Iterator[np.ndarray]:
        last, out = None, None
        for j in indices:
            if j != last:
                p = paths[j]
                what = f"{p.parent.name}/{p.name}"
                img = cv2.imread(str(p), cv2.IMREAD_UNCHANGED)
                if img is None:
                    raise SequenceError(f"unreadable frame {what}")
                if img.ndim == 2 and img.dtype == np.uint8:
                    raise SequenceError(f"{what}: 8-bit depth PNG, expected 16-bit millimetres")
                check_depth(img, what, size=size, kinds="u", expect="uint16 millimetres")
                d = img.astype(np.float32) / scale
                d[img == 0] = np.nan
                out, last = transform(check_depth_range(d, what)), j
            yield out
    return read


def check_depth_scale(depth_m: np.ndarray, what: str, lo: float = 0.05, hi: float = 10.0) -> None:
    """Plausibility of a metric depth map (median of valid pixels within [lo, hi] metres)."""
    v = depth_m[np.isfinite(depth_m) & (depth_m > 0)]
    if v.size and not lo <= float(np.median(v)) <= hi:
        raise SequenceError(f"{what}: implausible depth (median {np.median(v):.3g} m): check the depth scale "
                            f"(dataset.json \"depth_scale\")")
