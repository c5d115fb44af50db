"""Small model configs and batches for the model tests (2 shared CPU cores: keep everything tiny)."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from egom2p.model.config import ModelConfig
from egom2p.model.masking import collate, sample_masks


def shrink(cfg: ModelConfig, vocab: int = 32, **overrides) -> ModelConfig:
    """``cfg``'s modalities and token grids with vocabularies capped at ``vocab`` and a small network."""
    mods = tuple(dataclasses.replace(m, vocab_size=min(m.vocab_size, vocab)) for m in cfg.modalities)
    sizes = dict(dim=48, encoder_depth=2, decoder_depth=2, heads=4, input_budget=64, target_budget=64)
    return dataclasses.replace(cfg, modalities=mods, **{**sizes, **overrides})


def random_batch(cfg: ModelConfig, batch: int, seed: int = 0, present=None) -> dict[str, torch.Tensor]:
    """Uniform random tokens + ``sample_masks``; ``present``: one presence row per sample (default all)."""
    rng = np.random.default_rng(seed)
    lay = cfg.layout
    rows = present if present is not None else [[True] * len(lay.names)] * batch
    samples = []
    for row in rows:
        tokens = np.concatenate([rng.integers(0, v, n) for v, n in zip(lay.vocab_sizes, lay.lengths)])
        samples.append(dict(tokens=tokens, **sample_masks(row, lay, cfg.input_budget, cfg.target_budget, rng)))
    return collate(samples)


@pytest.fixture
def small_cfg() -> ModelConfig:
    return shrink(ModelConfig.from_preset("tiny"))


@pytest.fixture(autouse=True)
def _seeded():
    """Deterministic parameter init in every model test."""
    torch.manual_seed(0)


@pytest.fixture
def make_batch():
    """``random_batch`` (tests cannot import conftest under --import-mode=importlib)."""
    return random_batch


@pytest.fixture
def shrunk():
    """``shrink``."""
    return shrink
