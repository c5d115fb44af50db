"""Guards every reader applies to what a dataset's own files tell it to open.

- ``DatasetRoot``: the raw dataset folder, resolved once (``data/raw/<ds>`` may itself be a link to
  elsewhere). Every path a reader derives (a ``root_dir`` from a JSON, a frame list, a calibration file)
  must resolve under it; a ``..`` or a symlink that leaves it raises SequenceError *before* the file is
  opened, and the reason names the path as the dataset spells it, never the file's contents.
- ``load_npy``: an ``.npy`` whose header is checked (dtype kind, number of dimensions, shape, size) before
  any data is allocated; object arrays (pickles) are refused.
- ``check_pinhole``: intrinsics that can build a camera (finite, positive focal, principal point inside).
- ``check_depth``: a decoded depth map's channels, dtype, size and metric range.
- ``video_reason`` / ``parse_reason``: one-line reasons from ffmpeg and parser errors, naming the file.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from egom2p.cameras import Fisheye624, Pinhole

from .sequence import SequenceError

MAX_NPY_BYTES = 1 << 30      # no per-frame array of a supported dataset comes near 1 GiB
DEPTH_MEDIAN_M = (0.05, 20.0)  # plausible median of a metric depth map (metres)


class DatasetRoot:
    """The raw dataset folder a reader may read from (resolved once; see module docstring)."""

    def __init__(self, root: str | os.PathLike):
        self.given = Path(root)
        self.root = self.given.resolve()

    def _name(self, path: Path) -> str:
        """``path`` as the dataset spells it (relative to the root when it is given under it)."""
        try:
            return str(Path(os.path.normpath(path)).relative_to(os.path.normpath(self.given)))
        except ValueError:
            return path.name or str(path)

    def inside(self, path: Path) -> bool:
        """Whether ``path`` (links and ``..`` resolved) lies under the root."""
        r = Path(path).resolve()
        return r == self.root or self.root in r.parents

    def check(self, path: str | os.PathLike, what: str | None = None) -> Path:
        """``path`` unchanged when it resolves under the root; else SequenceError naming it (or ``what``,
        the dataset field it came from) without opening it."""
        path = Path(path)
        if self.inside(path):
            return path
        kind = "symlink" if any(p.is_symlink() for p in (path, *path.parents) if p != self.given
                                and self.given in p.parents) else "path"
        raise SequenceError(f"{what or self._name(path)}: {kind} leaves the dataset folder (not read)")

    def tree(self, folder: str | os.PathLike) -> Path:
        """Check ``folder`` and every symlink below it (files and folders, links followed into the dataset
        only), without opening any file: cheap (directory entries, a stat per link only)."""
        folder = self.check(folder)
        seen: set[Path] = set()
        todo = [folder]
        while todo:
            d = todo.pop()
            key = d.resolve()
            if key in seen or not d.is_dir():
                continue
            seen.add(key)
            with os.scandir(d) as it:
                for e in it:
                    p = Path(e.path)
                    if e.is_symlink():
                        self.check(p)
                        if p.is_dir():
                            todo.append(p)
                    elif e.is_dir(follow_symlinks=False):
                        todo.append(p)
        return folder


def npy_header(path: Path, name: str) -> tuple[tuple[int, ...], np.dtype]:
    """(shape, dtype) from an ``.npy`` header, reading nothing else; SequenceError naming ``name`` when
    the file is missing or not an .npy."""
    if not path.exists():
        raise SequenceError(f"missing file {name}")
    try:
        with open(path, "rb") as f:
            version = np.lib.format.read_magic(f)
            read_header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                           else np.lib.format.read_array_header_2_0)
            shape, _, dtype = read_header(f)
    except (ValueError, OSError, SyntaxError, EOFError) as e:
        raise SequenceError(f"{name}: not a valid .npy file ({type(e).__name__})") from None
    return shape, dtype


def load_npy(path: Path, kinds: str = "fiub", ndim: tuple[int, ...] | None = None,
             shape: tuple[int | None, ...] | None = None, name: str | None = None,
             max_size: int | None = None) -> np.ndarray:
    """An ``.npy`` read after its header passes: dtype kind in ``kinds`` (numpy kind letters; never 'O'),
    ``ndim`` allowed, ``shape`` (None = any size on that axis), at most ``max_size`` elements and
    MAX_NPY_BYTES."""
    name = name or f"{path.parent.name}/{path.name}"
    hshape, dtype = npy_header(path, name)
    if dtype.hasobject or dtype.kind not in kinds:
        raise SequenceError(f"{name}: dtype {dtype} not allowed (expected kind {'/'.join(kinds)})")
    if ndim is not None and len(hshape) not in ndim:
        raise SequenceError(f"{name}: shape {hshape} has {len(hshape)} dimensions, expected {ndim}")
    if shape is not None and (len(hshape) != len(shape)
                              or any(e is not None and e != s for s, e in zip(hshape, shape))):
        want = "x".join("N" if e is None else str(e) for e in shape)
        raise SequenceError(f"{name}: shape {hshape}, expected ({want})")
    size = float(np.prod(hshape, dtype=np.float64))
    nbytes = size * dtype.itemsize
    if nbytes > MAX_NPY_BYTES or (max_size is not None and size > max_size):
        raise SequenceError(f"{name}: header claims shape {hshape} ({nbytes / 2**30:.3g} GiB), refusing to load")
    try:
        return np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as e:
        raise SequenceError(f"{name}: truncated or unreadable .npy ({type(e).__name__})") from None


def check_pinhole(cam: Pinhole, what: str) -> Pinhole:
    """Intrinsics a camera can be built from: finite, positive focal lengths and image size, principal
    point inside the image; else SequenceError naming ``what`` (the file) and the problem."""
    vals = {"fx": cam.fx, "fy": cam.fy, "cx": cam.cx, "cy": cam.cy, "width": cam.width, "height": cam.height}
    bad = [k for k, v in vals.items() if not np.isfinite(float(v))]
    if bad:
        raise SequenceError(f"{what}: non-finite intrinsics ({', '.join(bad)})")
    if cam.fx <= 0 or cam.fy <= 0:
        raise SequenceError(f"{what}: focal length must be positive (fx={cam.fx:g}, fy={cam.fy:g})")
    if cam.width <= 0 or cam.height <= 0:
        raise SequenceError(f"{what}: image size must be positive ({cam.width}x{cam.height})")
    if not (0 <= cam.cx <= cam.width and 0 <= cam.cy <= cam.height):
        raise SequenceError(f"{what}: principal point ({cam.cx:g}, {cam.cy:g}) outside the "
                            f"{cam.width}x{cam.height} image")
    return cam


def check_fisheye(lens: Fisheye624, what: str) -> Fisheye624:
    """``check_pinhole`` for a FISHEYE624 lens (its focal lengths and centre), all parameters finite."""
    if not np.isfinite(np.asarray(lens.params, dtype=np.float64)).all():
        raise SequenceError(f"{what}: non-finite projection parameters")
    fx, fy, cx, cy = lens._unpacked[:4]
    check_pinhole(Pinhole(fx, fy, cx, cy, lens.width, lens.height), what)
    return lens


def check_intrinsic_values(what: str, **values: float) -> None:
    """Finite check of raw intrinsic numbers before they become integers or a camera."""
    bad = [k for k, v in values.items() if not np.isfinite(float(v))]
    if bad:
        raise SequenceError(f"{what}: non-finite intrinsics ({', '.join(bad)})")


def check_depth(depth: np.ndarray, what: str, *, size: tuple[int, int] | None = None,
                kinds: str = "f", expect: str = "float32 metres") -> np.ndarray:
    """A decoded depth map before scaling: one channel, dtype kind in ``kinds`` (``expect`` says the unit),
    (H, W) == ``size`` when given. Returns it unchanged."""
    if depth.ndim != 2:
        ch = depth.shape[2] if depth.ndim == 3 else None
        raise SequenceError(f"{what}: depth has shape {depth.shape}" + (f" ({ch} channels)" if ch else "")
                            + ", expected one channel")
    if depth.dtype.kind not in kinds:
        raise SequenceError(f"{what}: depth dtype {depth.dtype}, expected {expect}")
    if size is not None and depth.shape != tuple(size):
        h, w = depth.shape
        raise SequenceError(f"{what}: depth is {w}x{h}, expected {size[1]}x{size[0]}")
    return depth


def check_depth_range(depth_m: np.ndarray, what: str, lo: float = DEPTH_MEDIAN_M[0],
                      hi: float = DEPTH_MEDIAN_M[1]) -> np.ndarray:
    """Metric plausibility: the median of valid (finite, > 0) depth lies in [lo, hi] metres."""
    v = depth_m[np.isfinite(depth_m) & (depth_m > 0)]
    if v.size:
        med = float(np.median(v))
        if not lo <= med <= hi:
            raise SequenceError(f"{what}: implausible depth (median {med:.3g} m, expected {lo:g}-{hi:g} m): "
                                f"wrong unit or depth scale (dataset.json \"depth_scale\")")
    return depth_m


def video_reason(path: Path, error: Exception) -> str:
    """One line for an unreadable video: the file and ffmpeg's last complete line (its stderr tail is cut
    at the front, so the first, partial line is dropped)."""
    lines = [ln.strip() for ln in str(error).splitlines() if ln.strip()]
    detail = lines[-1] if len(lines) > 1 else (lines[0] if lines else type(error).__name__)
    detail = detail.replace(f"{path}: ", "").replace(str(path), path.name)   # the name is said once
    if len(lines) == 1 and ": " in detail:
        detail = detail.rsplit(": ", 1)[-1]
    return f"{path.name}: video unreadable ({detail[:200]})"


def parse_reason(name: str, error: Exception) -> str:
    """A parse error as one line naming the file and where, never the offending text."""
    line = getattr(error, "lineno", None)
    where = f" at line {line}" if line else ""
    return f"{name}: cannot parse{where} ({type(error).__name__})"
