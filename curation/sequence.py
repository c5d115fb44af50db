"""The in-memory sequence type every dataset reader returns.

A reader turns one native sequence into a ``Sequence``: frame timestamps, a frame source that yields
*rectified* square frames, and the modalities it has as time-stamped tracks already expressed in the
rectified camera (pose of the rectified camera in the world, gaze in rectified pixels, depth as metric
z-depth in the rectified frame). Curation then only resamples, segments, encodes and normalizes, the same
way for every dataset.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Iterator, Protocol

import numpy as np

from egom2p.cameras import Pinhole


class SequenceError(ValueError):
    """Bad input in one sequence: it is quarantined with this message; the partition goes on."""


@dataclass
class PoseTrack:
    """times (M,) seconds, strictly increasing; T_world_cam (M,4,4) OpenCV camera-to-world of the
    *rectified* camera, metres."""
    times: np.ndarray
    T_world_cam: np.ndarray


@dataclass
class GazeTrack:
    """times (K,) seconds, strictly increasing; uv (K,2) gaze in rectified-frame pixels (x right, y down),
    NaN where the source says invalid. Points may lie outside the frame (normalization drops them)."""
    times: np.ndarray
    uv: np.ndarray


@dataclass
class Sequence:
    """One native sequence, ready for the shared curation steps.

    frame_times: (N,) seconds of the N source frames, strictly increasing (any clock; only differences
                 matter and every track uses the same clock)
    read_frames: given sorted source frame indices (repeats allowed), yields rectified RGB frames
                 (S, S, 3) uint8 in that order; raises SequenceError on unreadable frames
    read_depth:  same for metric z-depth (S, S) float32 metres, NaN unknown; None = no depth
    camera, gaze: tracks, None = modality missing
    intrinsics:  the rectified pinhole camera (S x S)
    """
    dataset: str
    sequence_id: str
    frame_times: np.ndarray
    read_frames: Callable[[np.ndarray], Iterator[np.ndarray]]
    intrinsics: Pinhole
    read_depth: Callable[[np.ndarray], Iterator[np.ndarray]] | None = None
    camera: PoseTrack | None = None
    gaze: GazeTrack | None = None
    source_files: list[str] = field(default_factory=list)
    meta: dict = field(default_factory=dict)

    @property
    def modalities(self) -> dict[str, bool]:
        return {"rgb": True, "depth": self.read_depth is not None, "gaze": self.gaze is not None,
                "camera": self.camera is not None}


class Reader(Protocol):
    """A dataset adapter: one module in ``curation/datasets``.

    ``name``: reader key; ``modalities``: what the dataset can provide (coverage);
    ``list_sequences(root)``: sequence ids under a raw folder (cheap, no decoding);
    ``open(root, sequence_id, side, settings)``: the ``Sequence`` (raises SequenceError on bad input);
    ``settings`` is the raw folder's dataset.json.
    """
    name: str
    modalities: tuple[str, ...]

    def list_sequences(self, root) -> list[str]: ...

    def open(self, root, sequence_id: str, side: int, settings: dict | None = None) -> Sequence: ...


def check_times(times: np.ndarray, what: str) -> np.ndarray:
    """Validate a timestamp column: non-empty, finite, strictly increasing. Returns float64 seconds."""
    t = np.asarray(times, dtype=np.float64)
    if t.size == 0:
        raise SequenceError(f"{what}: no samples")
    if not np.isfinite(t).all():
        raise SequenceError(f"{what}: non-finite timestamp at row {int(np.argmin(np.isfinite(t)))}")
    bad = np.nonzero(np.diff(t) <= 0)[0]
    if bad.size:
        i = int(bad[0])
        raise SequenceError(f"{what}: timestamps not strictly increasing at row {i + 1} "
                            f"({t[i]:.6f} -> {t[i + 1]:.6f})")
    return t


def check_poses(T: np.ndarray, what: str) -> np.ndarray:
    """Validate (M,4,4) poses: finite, rotations proper. Returns float64."""
    T = np.asarray(T, dtype=np.float64)
    finite = np.isfinite(T).all(axis=(1, 2))
    if not finite.all():
        raise SequenceError(f"{what}: non-finite (NaN/inf) pose at row {int(np.argmin(finite))}")
    R = T[:, :3, :3]
    err = np.abs(np.einsum("nij,nkj->nik", R, R) - np.eye(3)).max(axis=(1, 2))
    det = np.linalg.det(R)
    bad = np.nonzero((err > 1e-3) | (det < 0))[0]
    if bad.size:
        raise SequenceError(f"{what}: rotation not orthonormal at row {int(bad[0])}")
    return T
