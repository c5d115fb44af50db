"""Atomic file writes: every output is written to a temporary sibling and renamed into place.

A crash mid-write leaves either the old file or the new one, never a torn file. Folders are swapped the
same way (``replace_dir``), so a partition's output appears all at once.
"""
from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
import uuid
from pathlib import Path
from typing import Iterator

import numpy as np


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success rename it onto ``path``, else delete it.

    ``suffix`` defaults to the target's suffix, so tools that pick a format by extension
    (ffmpeg, numpy) still see it.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".{path.name}.{uuid.uuid4().hex[:8]}.tmp{suffix if suffix is not None else path.suffix}"
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def write_json(path: str | os.PathLike, obj) -> Path:
    return write_bytes(path, (json.dumps(obj, indent=2, sort_keys=True, default=_json_default) + "\n").encode())


def _json_default(o):
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"not JSON serializable: {type(o).__name__}")


def write_npy(path: str | os.PathLike, arr: np.ndarray) -> Path:
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            np.save(f, np.ascontiguousarray(arr), allow_pickle=False)
    return Path(path)


def read_npy(path: str | os.PathLike) -> np.ndarray:
    """Load an array; never unpickles."""
    return np.load(path, allow_pickle=False)


def write_parquet(path: str | os.PathLike, table) -> Path:
    import pyarrow.parquet as pq
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp)
    return Path(path)


def staging_dir(final: str | os.PathLike) -> Path:
    """A fresh empty folder beside ``final`` to build a new version of it in."""
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f".{final.name}.staging-", dir=final.parent))


def replace_dir(staged: str | os.PathLike, final: str | os.PathLike) -> Path:
    """Swap ``staged`` into ``final``: the old folder is renamed away, then deleted."""
    staged, final = Path(staged), Path(final)
    old = None
    if final.exists():
        old = final.parent / f".{final.name}.old-{uuid.uuid4().hex[:8]}"
        os.replace(final, old)
    os.replace(staged, final)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
    return final
