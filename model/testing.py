"""Structured synthetic token shards for tests and benchmarks of the model stage (no tokenizer needed).

Each sample has a hidden scene id ``s``; every modality's tokens are a fixed function of (s, position)
with a fraction of uniformly random tokens, so cross-modal prediction is learnable (a trained model's loss
falls far below ln(vocab)) while no modality is trivially constant. Datasets may lack modalities, as the
real ones do. Written with the same writer and layout as ``token_shards``, plus the
``tokenizers/current/<role>.json`` pointers the training entry point resolves shards by.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from egom2p import io
from egom2p import modalities as M
from egom2p.paths import DataPaths
from egom2p.tokenizers.shards import write_token_folder

from .config import ModelConfig


def default_datasets() -> dict[str, tuple[str, ...]]:
    """Two datasets: one with every registered modality, one without depth (as real datasets lack it)."""
    return {"synth-full": M.names(),
            "synth-nodepth": tuple(m.name for m in M.REGISTRY.values() if m.value != "inverse_depth")}


def scene_tokens(scene: int, n: int, vocab: int, salt: int, rng: np.random.Generator, noise: float,
                 used_vocab: int = 256) -> np.ndarray:
    """(n,) tokens = hash(scene, position, salt) in [0, min(vocab, used_vocab)), ``noise`` of them random."""
    v = min(vocab, used_vocab)
    pos = np.arange(n, dtype=np.int64)
    base = (scene * 2654435761 + pos * 40503 + salt * 97) % 1000003 % v
    flip = rng.random(n) < noise
    return np.where(flip, rng.integers(0, v, n), base).astype(np.int64)


def write_synthetic_shards(root: str | Path, cfg: ModelConfig, datasets: dict[str, tuple[str, ...]] | None = None,
                           clips: int = 64, scenes: int = 16, noise: float = 0.05, seed: int = 0,
                           shard_size: int = 32, val_fraction: float = 0.125) -> dict[str, str]:
    """Write token shards for ``datasets`` (name → modalities it has) under ``root``; return modality → id.

    Keys are ``<dataset>_<i>``; the last ``val_fraction`` of each dataset's clips get split ``val``.
    """
    datasets = datasets or default_datasets()
    paths = DataPaths(Path(root))
    ids = {role: f"{role}-synthetic" for role in M.roles()}
    rng = np.random.default_rng(seed)
    for ds, mods in datasets.items():
        scene = rng.integers(0, scenes, clips)
        n_val = int(round(clips * val_fraction))
        split = {f"{ds.replace('-', '_')}_{i:05d}": ("val" if i >= clips - n_val else "train") for i in range(clips)}
        keys = list(split)
        for m in mods:
            spec = cfg.spec(m)
            salt = cfg.names.index(m)
            samples = {k: scene_tokens(int(scene[i]), spec.n_tokens, spec.vocab_size, salt, rng, noise)
                       .reshape(spec.token_shape) for i, k in enumerate(keys)}
            role = M.get(m).tokenizer
            rows = {k: {"split": split[k], "sequence_id": k} for k in keys}
            write_token_folder(paths.tokens(ids[role], m, ds), samples, spec.vocab_size, shard_size, rows,
                               {"tokenizer_id": ids[role], "modality": m, "dataset": ds, "synthetic": True})
    for role, tid in ids.items():
        io.write_json(paths.current_tokenizer(role),
                      {"tokenizer_id": tid, "path": "", "metrics": {"synthetic": True}})
    return {m: ids[r] for r, ms in M.roles().items() for m in ms}
