"""WebDataset token shards: deterministic, atomic writing; reading never unpickles.

Layout: ``<root>/tokens/<tokenizer_id>/<modality>/<dataset>/shard-%06d.tar`` + ``manifest.parquet``.
A sample is ``<key>.tok.npy`` with key = clip id (no dots); the array has the registry token shape and
dtype uint16 (every vocabulary here is ≤ 65,536) else int32.

Determinism: samples are written in key order, tar headers carry fixed metadata (mtime 0, uid/gid 0,
empty user/group names, mode 0644, USTAR), and ``.npy`` bytes come from ``np.save`` — so the same tokens
give byte-identical tars. The pipeline writes a folder shard by shard (``tokenize.py``) and publishes the manifest last.
"""
from __future__ import annotations

import io as _io
import json
import os
import shutil
import tarfile
from pathlib import Path
from typing import Iterator

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from egom2p import io

SHARD_PATTERN = "shard-%06d.tar"
MANIFEST = "manifest.parquet"
PENDING_MANIFEST = ".pending-manifest.parquet"   # a run's manifest until every modality is ready
MEMBER_SUFFIX = ".tok.npy"


def token_dtype(vocab_size: int) -> np.dtype:
    return np.dtype(np.uint16) if vocab_size <= 1 << 16 else np.dtype(np.int32)


def npy_bytes(arr: np.ndarray) -> bytes:
    buf = _io.BytesIO()
    np.save(buf, np.ascontiguousarray(arr), allow_pickle=False)
    return buf.getvalue()


def _tar_member(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode = len(data), 0, 0o644
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    tar.addfile(info, _io.BytesIO(data))


def write_shard(path: str | os.PathLike, samples: list[tuple[str, np.ndarray]]) -> Path:
    """Write ``[(key, tokens)]`` as one tar (atomic). Keys must not contain dots (WebDataset splits on them)."""
    with io.atomic_path(path) as tmp:
        with open(tmp, "wb") as f, tarfile.open(fileobj=f, mode="w", format=tarfile.USTAR_FORMAT) as tar:
            for key, tokens in samples:
                if "." in key or "/" in key:
                    raise ValueError(f"sample key {key!r} must not contain '.' or '/'")
                _tar_member(tar, key + MEMBER_SUFFIX, npy_bytes(tokens))
    return Path(path)


def write_token_folder(folder: str | os.PathLike, samples: dict[str, np.ndarray], vocab_size: int,
                       shard_size: int = 256, rows: dict[str, dict] | None = None, meta: dict | None = None) -> dict:
    """Write every sample of one (tokenizer, modality, dataset) into ``folder`` at once and swap it in
    atomically (fixtures and tests; the pipeline writes shard by shard, ``tokenize.py``).

    samples: key → token array (any int dtype, values < vocab_size); rows: key → extra manifest columns
    (e.g. split, sequence_id); meta: stored in the manifest's schema metadata (tokenizer id, config …).
    Returns a summary: samples, shards, tokens, bytes.
    """
    folder = Path(folder)
    dtype = token_dtype(vocab_size)
    keys = sorted(samples)
    stage = io.staging_dir(folder)
    try:
        manifest = []
        for s in range(0, len(keys), shard_size):
            name = SHARD_PATTERN % (s // shard_size)
            chunk = []
            for k in keys[s:s + shard_size]:
                arr = np.asarray(samples[k])
                if arr.size and (arr.min() < 0 or arr.max() >= vocab_size):
                    raise ValueError(f"{k}: tokens outside [0, {vocab_size})")
                chunk.append((k, arr.astype(dtype)))
                manifest.append({"key": k, "shard": name, "tokens": int(arr.size),
                                 "shape": list(arr.shape), **(rows or {}).get(k, {})})
            write_shard(stage / name, chunk)
        nbytes = publish_manifest(stage, manifest, vocab_size, meta)
        io.replace_dir(stage, folder)
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    return {"samples": len(keys), "shards": -(-len(keys) // shard_size) if keys else 0,
            "tokens": int(sum(r["tokens"] for r in manifest)), "bytes": nbytes}


def publish_manifest(folder: str | os.PathLike, rows: list[dict], vocab_size: int, meta: dict | None = None,
                     name: str = MANIFEST) -> int:
    """Write ``manifest.parquet`` (rows sorted by key; ``meta`` + vocab size + dtype in the schema metadata)
    atomically — as ``name`` when given (``PENDING_MANIFEST``: staged, renamed into place later); returns
    the bytes of the shards it lists."""
    folder = Path(folder)
    rows = sorted(rows, key=lambda r: r["key"])
    table = pa.Table.from_pylist(rows, schema=_manifest_schema(rows))
    table = table.replace_schema_metadata({"egom2p": json.dumps({**(meta or {}), "vocab_size": vocab_size,
                                                                 "dtype": token_dtype(vocab_size).name}, sort_keys=True)})
    io.write_parquet(folder / name, table)
    return sum((folder / name).stat().st_size for name in sorted({r["shard"] for r in rows}))


def _manifest_schema(rows: list[dict]) -> pa.Schema | None:
    if rows:
        return None
    return pa.schema([("key", pa.string()), ("shard", pa.string()), ("tokens", pa.int64()),
                      ("shape", pa.list_(pa.int64()))])


def read_manifest(folder: str | os.PathLike) -> tuple[list[dict], dict]:
    """(rows, meta) of a token folder's manifest."""
    table = pq.read_table(Path(folder) / MANIFEST)
    meta = json.loads((table.schema.metadata or {}).get(b"egom2p", b"{}"))
    return table.to_pylist(), meta


def iter_shard(path: str | os.PathLike) -> Iterator[tuple[str, np.ndarray]]:
    """Yield ``(key, tokens)`` from one tar; members are parsed with ``np.load(allow_pickle=False)``."""
    with tarfile.open(path, mode="r") as tar:
        for member in tar:
            if not member.isfile() or not member.name.endswith(MEMBER_SUFFIX):
                continue
            data = tar.extractfile(member).read()
            yield member.name[: -len(MEMBER_SUFFIX)], np.load(_io.BytesIO(data), allow_pickle=False)


def read_token_folder(folder: str | os.PathLike) -> dict[str, np.ndarray]:
    """key → tokens for every shard listed in the manifest."""
    rows, _ = read_manifest(folder)
    out: dict[str, np.ndarray] = {}
    for shard in sorted({r["shard"] for r in rows}):
        out.update(iter_shard(Path(folder) / shard))
    return out
