"""The canonical clip: a mapping over the modality registry, its reader, writer and validation.

A clip folder ``<clip_id>/`` holds one file per present modality (the registry row's ``clip_file``, e.g.
``rgb.mp4`` H.264 60 frames, ``depth.mkv`` 16-bit FFV1 read as float32 (60, S, S) (``depthio``),
``gaze.npy`` float32 (60, 2), ``camera.npy`` float32 (60, 4, 4)) and ``meta.json`` (dataset, sequence, clip index, start time,
intrinsics, depth source, normalization, …). An absent file means the modality is missing for that clip.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Iterator

import numpy as np

from . import io
from . import modalities as M
from .presets import CLIP_FRAMES

META_FILE = "meta.json"


class Clip(Mapping):
    """An in-memory canonical clip: modality name -> array, for the modalities it has.

    ``clip[m]`` raises KeyError for a missing modality; ``clip.get(m)`` gives None. Attribute access
    (``clip.rgb``) is the same as ``clip.get("rgb")`` for registered modality names. Shapes and dtypes are
    the registry's (``Modality.clip_shape``): rgb (60, S, S, 3) uint8, depth (60, S, S), …
    """

    def __init__(self, clip_id: str, meta: dict | None = None, arrays: dict[str, np.ndarray] | None = None):
        self.clip_id, self.meta = clip_id, dict(meta or {})
        self.arrays = {m: a for m, a in (arrays or {}).items() if a is not None}
        unknown = set(self.arrays) - set(M.REGISTRY)
        if unknown:
            raise KeyError(f"unknown modalities {sorted(unknown)}; registered: {M.names()}")

    def __getitem__(self, name: str) -> np.ndarray:
        return self.arrays[name]

    def __iter__(self) -> Iterator[str]:
        return iter(m for m in M.REGISTRY if m in self.arrays)

    def __len__(self) -> int:
        return len(self.arrays)

    def __getattr__(self, name: str):
        if name in M.REGISTRY:
            return self.arrays.get(name)
        raise AttributeError(name)

    def __repr__(self) -> str:
        return f"Clip({self.clip_id!r}, {{{', '.join(f'{m}: {self[m].shape}' for m in self)}}})"


def clip_files(folder: str | os.PathLike) -> dict[str, Path]:
    """Modality -> file for the modalities present in a clip folder (registry order)."""
    return {m.name: m.path(folder) for m in M.REGISTRY.values() if m.path(folder).exists()}


def write_clip(folder: str | os.PathLike, meta: dict, *, links: dict[str, str | os.PathLike] | None = None,
               **arrays: np.ndarray | None) -> Path:
    """Write a canonical clip: each array (keyword = modality name) through its registry row (cast to the
    row's dtype), each file in ``links`` (modality -> an existing file, e.g. an encoded mp4) hard-linked,
    then ``meta.json``; every file atomically."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    links = links or {}
    unknown = (set(arrays) | set(links)) - set(M.REGISTRY)
    if unknown:
        raise KeyError(f"unknown modalities {sorted(unknown)}; registered: {M.names()}")
    for m in M.REGISTRY.values():
        if m.name in arrays and arrays[m.name] is not None:
            m.write(folder, arrays[m.name])
        elif m.name in links:
            link_or_copy(links[m.name], m.path(folder))
    io.write_json(folder / META_FILE, meta)
    return folder


def link_or_copy(src: str | os.PathLike, dst: str | os.PathLike) -> Path:
    """Hard-link ``src`` to ``dst`` (same file system), else copy; atomic either way."""
    with io.atomic_path(dst) as tmp:
        try:
            os.link(src, tmp)
        except OSError:
            shutil.copyfile(src, tmp)
    return Path(dst)


def read_meta(folder: str | os.PathLike) -> dict:
    return json.loads((Path(folder) / META_FILE).read_text())


def read_clip(folder: str | os.PathLike, modalities=None, decode_video: bool = True) -> Clip:
    """Load a canonical clip (all registered modalities by default); missing ones are absent. Never
    unpickles. ``decode_video=False`` skips modalities stored as video files."""
    folder = Path(folder)
    clip = Clip(folder.name, read_meta(folder))
    for name in (M.names() if modalities is None else modalities):
        row = M.get(name)
        if row.path(folder).exists() and (decode_video or not row.is_video_file):
            clip.arrays[name] = row.read(folder)
    return clip


def file_checksum(path: str | os.PathLike) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()[:16]


def validate_clip(folder: str | os.PathLike, decode_video: bool = True) -> list[str]:
    """All problems of one canonical clip folder (empty list = valid): meta present, at least one
    modality, the video file square / 30 fps / 60 frames (decoded unless ``decode_video`` is False),
    and every array through its registry row's check."""
    from .video import VideoError, iter_frames, probe
    folder = Path(folder)
    problems: list[str] = []
    if not (folder / META_FILE).exists():
        problems.append("meta.json missing")
    files = clip_files(folder)
    if not files:
        return problems + ["clip has no modality files"]
    side = None
    for name, path in files.items():
        row = M.get(name)
        if not row.is_video_file:
            continue
        try:
            info = probe(path)
            side = info.width
            if info.width != info.height:
                problems.append(f"{name} not square: {info.width}x{info.height}")
            if abs(info.fps - 30.0) > 1e-3:
                problems.append(f"{name} fps {info.fps} != 30")
            n = sum(1 for _ in iter_frames(path, info)) if decode_video else info.frames
            if n != CLIP_FRAMES:
                problems.append(f"{name} has {n} frames, expected {CLIP_FRAMES}")
        except VideoError as e:
            problems.append(f"{name} unreadable: {e}")
    for name, path in files.items():
        if not M.get(name).is_video_file:
            problems += M.get(name).problems(path, side)
    return problems
