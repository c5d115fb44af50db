"""The modality registry: one frozen row per modality, carrying everything a stage needs to know about it.

A row says how the modality is stored in a canonical clip (file, dtype, reader/writer), how a dataset
reader provides it and how curation brings it onto the 30 FPS clip timeline (source, resampling, padding,
when a clip keeps it), how it is normalized (interim metric array -> canonical array), how a canonical array
is validated (its partition asset check), what its values mean (``value``: the key behaviour tables in
tokenizers and tasks use, so a new modality of a known kind needs no code there), how many tokens it
becomes under each preset and which tokenizer makes them. Stages loop over ``REGISTRY`` in order; the
order is also the flat token layout of the model.

Adding a modality is one :func:`register` call (plus, for a new ``value`` kind, its tokenizer features).
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from . import checks, depthio, io, normalize
from .presets import CLIP_FRAMES, Preset, get_preset

KINDS = ("video", "trajectory")
SOURCES = ("video", "frames", "track")
KEEP = ("always", "any_finite", "all_finite")
RESAMPLE = ("", "linear", "pose")
PAD = ("nan", "hold")


def _identity(array: np.ndarray, meta: dict) -> np.ndarray:
    return np.asarray(array)


@dataclass(frozen=True)
class Modality:
    """One modality.

    name:          registry key; the tokens folder and the index column ``has_<name>`` use it
    kind:          ``video`` (token grid (t, h, w)) or ``trajectory`` (token sequence (n,))
    value:         what the values mean; behaviour tables elsewhere key on it:
                   ``color`` (uint8 RGB frames), ``inverse_depth`` (per-sequence normalized, [0, 1], NaN
                   unknown), ``image_point`` (normalized image coordinates in [0, 1], NaN invalid),
                   ``pose`` (4x4 OpenCV camera-to-world, first = identity), ``vector`` (any per-frame
                   signal, NaN invalid)
    clip_file:     file in a canonical clip folder; absent file = modality missing
    dtype:         canonical storage dtype of the array (video: the decoded frames' dtype)
    sample_shape:  one 30 FPS sample: (channels,) for video (the side comes from the preset), else the
                   per-frame vector shape, e.g. (2,) gaze, (4, 4) camera
    pos_enc:       ``sincos3d`` (t, h, w grid) or ``sincos1d`` (time)
    token_shape:   preset -> token grid of one clip; vocab_size: preset -> number of codes
    tokenizer:     the tokenizer role that tokenizes it (rgb and depth share ``video``); one
                   ``tokenizers/current/<role>.json`` pointer per role
    source:        how a dataset reader provides it: ``video`` (the frames themselves), ``frames`` (arrays
                   aligned to the source frames, read by frame index: depth) or ``track`` (time-stamped
                   samples on the reader's clock, resampled onto the clip timeline)
    interim_file / interim_dtype: the ``clips`` stage's file (metric units) and its dtype (None = float64)
    codec / interim_codec: an array file format with ``read(path)`` / ``write(path, array)`` for the
                   canonical / interim file (e.g. depth: 16-bit FFV1, ``egom2p.depthio``); None = ``.npy``
                   (cast to ``dtype`` / ``interim_dtype``); ``dtype`` is then the decoded array's dtype
    resample:      tracks: ``linear`` (NaN across gaps) or ``pose`` (slerp + lerp)
    pad:           padded frames of a short clip: ``nan`` or ``hold`` (the last value)
    keep:          when a clip keeps the modality: ``always``, ``any_finite`` (some frame valid) or
                   ``all_finite`` (every frame valid)
    valid_fraction: the index carries ``<name>_valid_frac`` (fraction of frames with a finite sample)
    check_name / check: the partition asset check and the problems of one canonical array
                   (``check(array, side)``; side = the clip's rgb side or None)
    normalize:     interim array -> canonical array, given the clip's meta (None: a stage of its own
                   normalizes it, e.g. depth per sequence)
    """
    name: str
    kind: str
    value: str
    clip_file: str
    dtype: str
    sample_shape: tuple[int, ...]
    pos_enc: str
    token_shape: Callable[[Preset], tuple[int, ...]]
    vocab_size: Callable[[Preset], int]
    tokenizer: str
    source: str
    interim_file: str
    interim_dtype: str | None = None
    resample: str = ""
    pad: str = "nan"
    keep: str = "always"
    valid_fraction: bool = False
    check_name: str = ""
    check: Callable[..., list[str]] | None = None
    normalize: Callable[[np.ndarray, dict], np.ndarray] | None = _identity
    codec: depthio.DepthCodec | None = None
    interim_codec: depthio.DepthCodec | None = None

    # ----------------------------------------------------------------------------------- token side
    def tokens_per_clip(self, preset: Preset | str | None = None) -> int:
        p = preset if isinstance(preset, Preset) else get_preset(preset)
        return int(np.prod(self.token_shape(p)))

    def clip_shape(self, preset: Preset | str | None = None) -> tuple[int, ...]:
        """Array shape of this modality in a canonical clip (video: (T, H, W[, C]))."""
        p = preset if isinstance(preset, Preset) else get_preset(preset)
        if self.kind == "video":
            side, c = p.clip_resolution, self.sample_shape[0]
            return (CLIP_FRAMES, side, side) if c == 1 else (CLIP_FRAMES, side, side, c)
        return (CLIP_FRAMES, *self.sample_shape)

    # ------------------------------------------------------------------------------- canonical file
    @property
    def is_video_file(self) -> bool:
        return self.clip_file.endswith(".mp4")

    def path(self, folder: str | os.PathLike) -> Path:
        return Path(folder) / self.clip_file

    def read(self, folder: str | os.PathLike) -> np.ndarray:
        """The canonical array of a clip folder (FileNotFoundError when the modality is missing)."""
        if self.is_video_file:
            from .video import read_video
            return read_video(self.path(folder))
        if self.codec is not None:
            return self.codec.read(self.path(folder))
        return io.read_npy(self.path(folder))

    def write(self, folder: str | os.PathLike, array: np.ndarray) -> Path:
        """Write the canonical array atomically, cast to ``dtype``."""
        if self.is_video_file:
            from .video import write_video
            return write_video(self.path(folder), array)
        if self.codec is not None:
            return self.codec.write(self.path(folder), array)
        return io.write_npy(self.path(folder), np.asarray(array, dtype=self.dtype))

    def problems(self, path: str | os.PathLike, side: int | None = None) -> list[str]:
        """Problems of one clip's file (empty = valid): the row's ``check`` on its array; a video file
        is checked for its frame count (probe, no decoding)."""
        if self.is_video_file:
            from .video import VideoError, probe
            try:
                n = probe(path).frames
            except VideoError as e:
                return [str(e)]
            return [] if n == CLIP_FRAMES else [f"{n} frames"]
        if self.codec is not None:
            try:
                array = self.codec.read(path)
            except depthio.DepthFileError as e:
                return [str(e)]
        else:
            array = io.read_npy(path)
        return self.array_problems(array, side)

    def array_problems(self, array: np.ndarray, side: int | None = None) -> list[str]:
        """``problems`` of an array already read with ``read`` (a video: its decoded frame count)."""
        if self.is_video_file:
            return [] if len(array) == CLIP_FRAMES else [f"{len(array)} frames"]
        return self.check(array, side) if self.check else []

    # --------------------------------------------------------------------------------- interim file
    def interim_path(self, folder: str | os.PathLike) -> Path:
        return Path(folder) / self.interim_file

    def read_interim(self, folder: str | os.PathLike) -> np.ndarray:
        """The ``clips`` stage's array of a clip folder (metric units; FileNotFoundError when missing)."""
        if self.interim_codec is not None:
            return self.interim_codec.read(self.interim_path(folder))
        return io.read_npy(self.interim_path(folder))

    def write_interim(self, folder: str | os.PathLike, array: np.ndarray) -> Path:
        """Write the ``clips`` stage's array atomically (``interim_codec``, else ``.npy`` cast to
        ``interim_dtype`` when set)."""
        if self.interim_codec is not None:
            return self.interim_codec.write(self.interim_path(folder), array)
        a = np.asarray(array)
        return io.write_npy(self.interim_path(folder), a.astype(self.interim_dtype) if self.interim_dtype else a)


REGISTRY: dict[str, Modality] = {}


def register(modality: Modality) -> Modality:
    """Add a modality row; names are unique, enumerated fields are checked."""
    if modality.name in REGISTRY:
        raise ValueError(f"modality {modality.name!r} is already registered")
    for what, value, allowed in (("kind", modality.kind, KINDS), ("source", modality.source, SOURCES),
                                 ("keep", modality.keep, KEEP), ("resample", modality.resample, RESAMPLE),
                                 ("pad", modality.pad, PAD)):
        if value not in allowed:
            raise ValueError(f"modality {modality.name!r}: {what} must be one of {allowed}, got {value!r}")
    if modality.source == "track" and not modality.resample:
        raise ValueError(f"modality {modality.name!r}: a track needs resample='linear' or 'pose'")
    REGISTRY[modality.name] = modality
    return modality


def unregister(name: str) -> None:
    """Remove a row (tests that add a modality clean up with this)."""
    REGISTRY.pop(name, None)


def get(name: str) -> Modality:
    try:
        return REGISTRY[name]
    except KeyError:
        raise KeyError(f"unknown modality {name!r}; registered: {sorted(REGISTRY)}") from None


def names() -> tuple[str, ...]:
    """Registered modality names in registry order."""
    return tuple(REGISTRY)


def rows(**where) -> tuple[Modality, ...]:
    """Rows whose attributes equal ``where`` (e.g. ``rows(source="track")``), registry order."""
    return tuple(m for m in REGISTRY.values() if all(getattr(m, k) == v for k, v in where.items()))


def one(**where) -> Modality:
    """The single row matching ``where`` (e.g. ``one(source="video")``: the clip's frames)."""
    found = rows(**where)
    if len(found) != 1:
        raise LookupError(f"expected one modality with {where}, found {[m.name for m in found]}")
    return found[0]


def roles() -> dict[str, tuple[str, ...]]:
    """Tokenizer role -> the modalities it tokenizes, in registry order."""
    out: dict[str, tuple[str, ...]] = {}
    for m in REGISTRY.values():
        out[m.tokenizer] = out.get(m.tokenizer, ()) + (m.name,)
    return out


def flags(present) -> dict[str, bool]:
    """``{has_<name>: bool}`` for every row, from a collection (or mapping to bool) of present names."""
    get_ = present.get if isinstance(present, dict) else (lambda n: n in present)
    return {f"has_{m}": bool(get_(m)) for m in REGISTRY}


def _video_grid(p: Preset) -> tuple[int, ...]:
    return p.video.token_grid


def _video_vocab(p: Preset) -> int:
    return p.video.vocab_size


def _traj_grid(p: Preset) -> tuple[int, ...]:
    return (CLIP_FRAMES // p.trajectory.temporal_compression,)


def _traj_vocab(p: Preset) -> int:
    return p.trajectory.codebook_size


def video_row(name: str, value: str, clip_file: str, **kw) -> Modality:
    """A video modality tokenized on the preset's video grid."""
    return Modality(name, "video", value, pos_enc="sincos3d", token_shape=_video_grid, vocab_size=_video_vocab,
                    clip_file=clip_file, **kw)


def trajectory_row(name: str, value: str, sample_shape: tuple[int, ...], **kw) -> Modality:
    """A per-frame signal tokenized by a trajectory VQ-VAE (60 samples -> 30 tokens)."""
    kw.setdefault("clip_file", f"{name}.npy")
    kw.setdefault("interim_file", f"{name}.npy")
    kw.setdefault("dtype", "float32")
    kw.setdefault("tokenizer", name)
    kw.setdefault("source", "track")
    kw.setdefault("check", checks.check_shape(sample_shape))
    return Modality(name, "trajectory", value, sample_shape=sample_shape, pos_enc="sincos1d",
                    token_shape=_traj_grid, vocab_size=_traj_vocab, **kw)


register(video_row("rgb", "color", "rgb.mp4", dtype="uint8", sample_shape=(3,), tokenizer="video",
                   source="video", interim_file="rgb.mp4", check_name="clip_frames", normalize=None))
# depth: 16-bit codes in FFV1 (``depthio``): canonical normalized inverse depth within
# depthio.NORMALIZED_MAX_ERROR, interim metric z-depth within depthio.METRIC_MAX_RELATIVE_ERROR; read as float32
register(video_row("depth", "inverse_depth", "depth.mkv", dtype="float32", sample_shape=(1,), tokenizer="video",
                   source="frames", interim_file="depth_m.mkv", interim_dtype="float32", keep="any_finite",
                   check_name="depth_range", check=checks.check_depth, normalize=None, codec=depthio.NORMALIZED,
                   interim_codec=depthio.METRIC))
register(trajectory_row("gaze", "image_point", (2,), interim_file="gaze_px.npy", interim_dtype="float32",
                        resample="linear", valid_fraction=True, check_name="gaze_range", check=checks.check_gaze,
                        normalize=normalize.gaze_from_meta))
register(trajectory_row("camera", "pose", (4, 4), interim_file="camera_world.npy", resample="pose", pad="hold",
                        keep="all_finite", check_name="camera_valid", check=checks.check_camera,
                        normalize=normalize.poses_from_meta))
