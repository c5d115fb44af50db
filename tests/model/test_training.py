"""The network learns: loss falls on a fixed structured token set; a fifth registered modality trains too."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from egom2p import modalities as M
from egom2p.model.config import ModelConfig
from egom2p.model.egom2p import EgoM2P
from egom2p.model.masking import collate, sample_masks

VOCAB = 16


def structured_tokens(cfg: ModelConfig, c: int) -> np.ndarray:
    """(L,) tokens that are a function of (modality, coarse position, sample latent c): video tokens
    follow the time index t, trajectory tokens j // 3, so rgb and depth determine each other
    (depth = f(rgb)) and every input token tells the latent."""
    parts = []
    for i, spec in enumerate(cfg.modalities):
        local = np.arange(spec.n_tokens)
        coarse = np.unravel_index(local, spec.token_shape)[0] if spec.pos_enc == "sincos3d" else local // 3
        parts.append((5 * i + 2 * coarse + c) % spec.vocab_size)
    return np.concatenate(parts)


def train(cfg: ModelConfig, steps: int, seed: int = 0, lr: float = 1e-2, batch: int = 8) -> list[dict[str, float]]:
    """AdamW on two structured samples (latent 0 / 1) with fresh masks every step; per-step losses."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    data = [structured_tokens(cfg, c) for c in (0, 1)]
    model = EgoM2P(cfg)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.0)
    present = [True] * len(cfg.names)
    history = []
    for _ in range(steps):
        b = collate([dict(tokens=data[rng.integers(2)],
                          **sample_masks(present, cfg.layout, cfg.input_budget, cfg.target_budget, rng))
                     for _ in range(batch)])
        out = model(**b)
        opt.zero_grad(set_to_none=True)
        out["loss"].backward()
        opt.step()
        history.append({k: v.item() for k, v in out.items()})
    return history


def mean(history: list[dict[str, float]], key: str) -> float:
    vals = [h[key] for h in history if key in h]
    assert vals, f"{key} never logged"
    return float(np.mean(vals))


def test_loss_falls_on_structured_tokens(shrunk, one_thread):
    cfg = shrunk(ModelConfig.from_preset("tiny"), vocab=VOCAB, dim=32, input_budget=32, target_budget=32)
    hist = train(cfg, steps=150)
    first, last = mean(hist[:5], "loss"), mean(hist[-10:], "loss")
    print(f"\nloss {first:.3f} -> {last:.3f}")
    assert first > 0.9 * np.log(VOCAB)
    assert last < 0.45 * first
    for name in cfg.names:                     # every modality learns, depth = f(rgb) included
        assert mean(hist[-20:], f"loss_{name}") < 0.6 * mean(hist[:5], f"loss_{name}")


@pytest.fixture
def toy_modality():
    M.register(dataclasses.replace(M.trajectory_row("toy", "vector", (3,), resample="linear"),
                                   token_shape=lambda p: (10,), vocab_size=lambda p: 16))
    try:
        yield "toy"
    finally:
        M.unregister("toy")


def test_a_fifth_modality_joins_config_masking_and_training(toy_modality, shrunk, one_thread):
    cfg = ModelConfig.from_preset("tiny")
    assert cfg.names == ("rgb", "depth", "gaze", "camera", "toy")
    assert cfg.layout.length == 710 and cfg.layout.slice("toy") == slice(700, 710)
    rng = np.random.default_rng(0)
    hits = np.zeros(2, int)
    for _ in range(300):
        m = sample_masks([True] * 5, cfg.layout, 64, 64, rng)
        for k, key in enumerate(("enc", "dec")):
            hits[k] += np.any(m[f"{key}_idx"][m[f"{key}_valid"]] >= 700)
    assert hits.min() > 30, hits               # toy tokens are chosen as inputs and as targets
    small = shrunk(cfg, vocab=VOCAB, dim=32, input_budget=32, target_budget=32)
    model = EgoM2P(small)
    assert model.tok_emb["toy"].num_embeddings == 16 and "toy" in model.mod_emb
    hist = train(small, steps=80)
    assert mean(hist[-15:], "loss_toy") < 0.6 * mean(hist[:5], "loss_toy")
