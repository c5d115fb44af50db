"""Frame sources: stream source frames at requested indices, rectified on the fly.

A frame source is a function ``read(indices) -> iterator of frames`` (indices sorted, repeats allowed);
decoding is sequential so long videos never sit in memory.

A video whose transform is a ``Rectifier`` with a prescale is resized inside ffmpeg (area averaging, in the
decoder's threads), so only the remap runs here. ``EGOM2P_PRESCALE=cv2`` in the environment keeps the
full-size decode and the cv2 INTER_AREA resize instead (the earlier path, for comparison).
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Callable, Iterator

import cv2
import numpy as np

from egom2p.video import VideoError, iter_frames, packet_times, probe, timing_problem

from .rectify import Rectifier
from .sequence import SequenceError

PRESCALE_ENV = "EGOM2P_PRESCALE"  # "cv2": resize full-size decoded frames with cv2 (default: inside ffmpeg)


def decoder_prescale(transform: Callable[[np.ndarray], np.ndarray], pix_fmt: str, width: int, height: int
                     ) -> tuple[tuple[int, int] | None, Callable[[np.ndarray], np.ndarray]]:
    """(size for the decoder or None, per-frame function) for frames of a (width, height) video: a prescaling
    ``Rectifier`` on RGB lets ffmpeg resize to ``prescaled_size`` and keeps only its remap."""
    if (not isinstance(transform, Rectifier) or pix_fmt != "rgb24"
            or os.environ.get(PRESCALE_ENV, "ffmpeg") == "cv2"):
        return None, transform
    size = transform.prescaled_size(width, height)
    if size == (width, height):
        return None, transform
    return size, lambda frame: transform.remap(frame, (width, height))


def video_source(path: str | os.PathLike, n_expected: int, transform: Callable[[np.ndarray], np.ndarray],
                 pix_fmt: str = "rgb24") -> Callable[[np.ndarray], Iterator[np.ndarray]]:
    """Frames of a video at the given indices (``pix_fmt`` rgb24 or gray16le); a video with fewer than the
    needed frames is 'truncated'. A repeated index yields the same transformed array again.

    Every reader pairs decoded frame k with its k-th timestamp / pose / depth frame, so the stream must be
    frames at one constant rate: the container's packet timestamps are checked here, at open (no decode),
    and a stream with fewer than ``n_expected`` frames, duplicated timestamps or a variable rate (a jump,
    a dropped frame) raises SequenceError naming the file and the gap. Decoding never duplicates frames,
    and a frame size change mid-stream raises SequenceError naming both sizes.
    """
    path = Path(path)
    try:
        problem = timing_problem(packet_times(path), path.name, n_expected)
    except VideoError as e:
        raise SequenceError(f"video unreadable: {e}") from None
    if problem:
        raise SequenceError(problem)

    def read(indices: np.ndarray) -> Iterator[np.ndarray]:
        try:
            info = probe(path)
            size, per_frame = decoder_prescale(transform, pix_fmt, info.width, info.height)
            frames = iter_frames(path, info, pix_fmt, size)
            current, out = -1, None
            last = indices[-1] if len(indices) else -1
            for j in indices:
                if j == current and out is not None:
                    yield out
                    continue
                while current < j:
                    frame = next(frames, None)
                    if frame is None:
                        raise SequenceError(f"video truncated: {path.name} decoded {current + 1} of "
                                            f"{n_expected} frames")
                    current += 1
                out = per_frame(frame)
                if j == last:  # all needed frames decoded: stop ffmpeg now and check its log (size change)
                    frames.close()
                yield out
            frames.close()
        except VideoError as e:
            raise SequenceError(f"video unreadable: {e}") from None
    return read


def image_source(paths: list[Path], transform: Callable[[np.ndarray], np.ndarray], depth_scale: float | None = None
                 ) -> Callable[[np.ndarray], Iterator[np.ndarray]]:
    """Frames from image files at the given indices: RGB (JPEG/PNG), or with ``depth_scale`` 16-bit depth
    PNGs converted to metres (value / depth_scale, 0 = invalid)."""
    flag = cv2.IMREAD_COLOR if depth_scale is None else cv2.IMREAD_UNCHANGED

    def read(indices: np.ndarray) -> Iterator[np.ndarray]:
        last, out = None, None
        for j in indices:
            if j != last:
                img = cv2.imread(str(paths[j]), flag)
                if img is None:
                    raise SequenceError(f"unreadable frame {paths[j].parent.name}/{paths[j].name}")
                img = cv2.cvtColor(img, cv2.COLOR_BGR2RGB) if depth_scale is None else img.astype(np.float32) / depth_scale
                out, last = transform(img), j
            yield out
    return read


def array_source(paths: list[Path | None], transform: Callable[[np.ndarray], np.ndarray], shape: tuple[int, int]
                 ) -> Callable[[np.ndarray], Iterator[np.ndarray]]:
    """Per-frame .npy arrays (e.g. depth maps) at the given indices; a None path yields an all-NaN map."""
    def read(indices: np.ndarray) -> Iterator[np.ndarray]:
        last, out = None, None
        for j in indices:
            if j != last:
                p = paths[j]
                if p is None:
                    out = np.full(shape, np.nan, np.float32)
                else:
                    try:
                        arr = np.load(p, allow_pickle=False)
                    except (ValueError, OSError) as e:
                        raise SequenceError(f"unreadable array {p.parent.name}/{p.name}: {e}") from None
                    out = transform(arr)
                last = j
            yield out
    return read
