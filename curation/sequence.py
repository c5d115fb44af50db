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

from egom2p import modalities as M
from egom2p.cameras import Pinhole


class SequenceError(ValueError):
    """Bad input in one sequence: it is quarantined with this message; the partition goes on.

    The message is kept to one line (a multi-line tool output is joined with "; "): it lands in one
    quarantine row and one line of run metadata."""

    def __init__(self, message: object = ""):
        lines = [ln.strip() for ln in str(message).splitlines() if ln.strip()]
        super().__init__("; ".join(lines))


@dataclass
class Track:
    """A time-stamped signal: times (M,) seconds, strictly increasing; values (M, *sample_shape) in the
    rectified camera's frame and metric units, NaN where the source says invalid."""
    times: np.ndarray
    values: np.ndarray


@dataclass
class PoseTrack(Track):
    """values = T_world_cam (M,4,4): OpenCV camera-to-world of the *rectified* camera, metres."""

    @property
    def T_world_cam(self) -> np.ndarray:
        return self.values


@dataclass
class GazeTrack(Track):
    """values = uv (K,2): gaze in rectified-frame pixels (x right, y down). Points may lie outside the
    frame (normalization drops them)."""

    @property
    def uv(self) -> np.ndarray:
        return self.values


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
    tracks, frame_sources: further modalities by registry name (a ``source="track"`` row's Track, a
                 ``source="frames"`` row's reader like ``read_depth``); the fields above are the same
                 thing for the modalities every reader knows (``track(name)`` / ``frame_source(name)``)
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
    tracks: dict[str, Track] = field(default_factory=dict)
    frame_sources: dict[str, Callable[[np.ndarray], Iterator[np.ndarray]]] = field(default_factory=dict)

    def track(self, name: str) -> Track | None:
        """The track of modality ``name``: ``tracks[name]``, else the field of that name; None = missing."""
        t = self.tracks.get(name, getattr(self, name, None))
        return t if isinstance(t, Track) else None

    def frame_source(self, name: str) -> Callable[[np.ndarray], Iterator[np.ndarray]] | None:
        """The frame-aligned reader of modality ``name``: ``frame_sources[name]``, else ``read_<name>``."""
        return self.frame_sources.get(name, getattr(self, f"read_{name}", None))

    @property
    def modalities(self) -> dict[str, bool]:
        """Registry name -> whether this sequence provides it (the frames always)."""
        have = {"video": lambda m: True, "frames": lambda m: self.frame_source(m) is not None,
                "track": lambda m: self.track(m) is not None}
        return {m.name: have[m.source](m.name) for m in M.REGISTRY.values()}


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
