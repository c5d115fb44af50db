"""Tokenizer artifacts on disk: ``config.json`` + ``weights.safetensors`` (+ ``metrics.json``).

``tokenizer_id`` = ``<kind>-<sha256(config JSON + weight bytes)[:12]>``: a new config or new weights is a
new id, so token shards of a new tokenizer never mix with old ones. A Cosmos TorchScript
tokenizer gets its id from the hashes of ``encoder.jit`` and ``decoder.jit``. Weights are read with
safetensors (never pickle).
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from egom2p import io

CONFIG = "config.json"
WEIGHTS = "weights.safetensors"
METRICS = "metrics.json"


def _canonical(obj) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), default=io._json_default).encode()


def state_hash(state: dict[str, torch.Tensor]) -> str:
    """sha256 over (name, dtype, shape, bytes) of every tensor, in name order."""
    h = hashlib.sha256()
    for name in sorted(state):
        t = state[name].detach().cpu().contiguous()
        h.update(f"{name}|{t.dtype}|{tuple(t.shape)}|".encode())
        h.update(t.view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return h.hexdigest()


def tokenizer_id(kind: str, config: dict, state: dict[str, torch.Tensor]) -> str:
    h = hashlib.sha256(_canonical({"kind": kind, "config": config}))
    h.update(state_hash(state).encode())
    return f"{kind}-{h.hexdigest()[:12]}"


def file_hash(*paths: str | os.PathLike) -> str:
    h = hashlib.sha256()
    for p in paths:
        with open(p, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
    return h.hexdigest()


def files_tokenizer_id(kind: str, config: dict, *paths: str | os.PathLike) -> str:
    """Id of a tokenizer whose weights are opaque files (Cosmos TorchScript): config + file hashes."""
    h = hashlib.sha256(_canonical({"kind": kind, "config": config}))
    h.update(file_hash(*paths).encode())
    return f"{kind}-{h.hexdigest()[:12]}"


def save_artifact(folder: str | os.PathLike, kind: str, config: dict, state: dict[str, torch.Tensor],
                  extra: dict | None = None, metrics: dict | None = None) -> str:
    """Write ``config.json`` ({kind, config, extra, tokenizer_id}) + ``weights.safetensors``; return the id.

    ``extra`` holds non-network state saved with the tokenizer (e.g. the camera normalization stats).
    Both files are written atomically.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu().contiguous() for k, v in state.items()}
    tid = tokenizer_id(kind, {"config": config, "extra": extra or {}}, state)
    with io.atomic_path(folder / WEIGHTS) as tmp:
        save_file(state, str(tmp), metadata={"tokenizer_id": tid})
    io.write_json(folder / CONFIG, {"kind": kind, "config": config, "extra": extra or {}, "tokenizer_id": tid})
    if metrics is not None:
        io.write_json(folder / METRICS, metrics)
    return tid


def load_artifact(folder: str | os.PathLike) -> tuple[dict, dict[str, torch.Tensor]]:
    """(config.json contents, state dict); checks the stored id against the files."""
    folder = Path(folder)
    meta = json.loads((folder / CONFIG).read_text())
    state = load_file(str(folder / WEIGHTS))
    tid = tokenizer_id(meta["kind"], {"config": meta["config"], "extra": meta["extra"]}, state)
    if tid != meta["tokenizer_id"]:
        raise ValueError(f"{folder}: weights/config do not match tokenizer_id {meta['tokenizer_id']} (got {tid})")
    return meta, state


def read_metrics(folder: str | os.PathLike) -> dict:
    p = Path(folder) / METRICS
    return json.loads(p.read_text()) if p.exists() else {}
