"""Masking: 4M UnifiedMasking properties over many random samples and presence patterns."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from egom2p.model.config import ModelConfig, TokenLayout
from egom2p.model.masking import (DEFAULT_ALPHAS, MASK_KEYS, collate, sample_budgets, sample_masks,
                                  split_budget, task_masks)

TINY = ModelConfig.from_preset("tiny").layout          # rgb 320, depth 320, gaze 30, camera 30


def even_layout(n: int = 1000, k: int = 4) -> TokenLayout:
    return TokenLayout(tuple(f"m{i}" for i in range(k)), (n,) * k, tuple(i * n for i in range(k)), (16,) * k)


def check(m: dict, present: np.ndarray, lay: TokenLayout, n_in: int, n_out: int) -> None:
    """Every contract property of one sample's masks."""
    owner = np.repeat(np.arange(len(lay.names)), lay.lengths)
    avail = int(np.asarray(lay.lengths)[present].sum())
    enc, dec = m["enc_idx"][m["enc_valid"]], m["dec_idx"][m["dec_valid"]]
    assert m["enc_idx"].shape == m["enc_valid"].shape == (n_in,)
    assert m["dec_idx"].shape == m["dec_valid"].shape == (n_out,)
    assert m["enc_idx"].dtype == m["dec_idx"].dtype == np.int64
    # budgets exact when enough tokens, never more than available
    assert enc.size == min(n_in, avail)
    assert dec.size == min(n_out, avail - enc.size)
    # valid first, padding (index 0) after
    for key in ("enc", "dec"):
        v = m[f"{key}_valid"]
        assert not np.any(v[1:] & ~v[:-1])
        assert np.all(m[f"{key}_idx"][~v] == 0)
    # in range, only present modalities, no repeats, inputs and targets disjoint
    both = np.concatenate([enc, dec])
    assert np.all((both >= 0) & (both < lay.length))
    assert np.all(present[owner[both]])
    assert np.unique(both).size == both.size


def test_masks_properties_random_presence():
    rng = np.random.default_rng(123)
    k = len(TINY.names)
    for i in range(2500):
        present = rng.random(k) < 0.6
        n_in, n_out = [(256, 256), (64, 600), (700, 32)][i % 3]   # last: inputs can take everything
        check(sample_masks(present, TINY, n_in, n_out, rng), present, TINY, n_in, n_out)


def test_scarce_tokens_go_to_inputs_first():
    rng = np.random.default_rng(0)
    present = np.array([False, False, True, True])              # gaze + camera: 60 tokens
    for _ in range(200):
        m = sample_masks(present, TINY, 256, 256, rng)
        assert m["enc_valid"].sum() == 60 and m["dec_valid"].sum() == 0
    for _ in range(200):                                         # 40 inputs, 20 targets left
        m = sample_masks(present, TINY, 40, 256, rng)
        assert m["enc_valid"].sum() == 40 and m["dec_valid"].sum() == 20


def test_nothing_present_is_all_padding():
    m = sample_masks([False] * 4, TINY, 16, 8, np.random.default_rng(0))
    assert not m["enc_valid"].any() and not m["dec_valid"].any()
    assert not m["enc_idx"].any() and not m["dec_idx"].any()


def test_every_alpha_component_is_used_and_shapes_the_split():
    lay, rng = even_layout(), np.random.default_rng(7)
    comps, top_share = [], {c: [] for c in range(len(DEFAULT_ALPHAS))}
    for _ in range(2000):
        b = sample_budgets([True] * 4, lay, 256, 256, rng)
        comps.append(b.component)
        assert b.n_in.sum() == 256 and b.n_out.sum() == 256
        top_share[b.component].append(b.n_in.max() / 256)
    counts = np.bincount(comps, minlength=4)
    assert counts.min() > 400, counts                            # ~500 each
    shares = [np.mean(top_share[c]) for c in range(4)]           # alpha 0.01 → one modality; 10 → even
    assert shares[0] > 0.9 and shares[3] < 0.5 and shares == sorted(shares, reverse=True), shares


def test_deterministic_per_seed():
    def draw(seed):
        rng = np.random.default_rng(seed)
        return [sample_masks([True, False, True, True], TINY, 128, 128, rng) for _ in range(5)]
    a, b, c = draw(1), draw(1), draw(2)
    assert all(np.array_equal(x[k], y[k]) for x, y in zip(a, b) for k in MASK_KEYS)
    assert not all(np.array_equal(x["enc_idx"], y["enc_idx"]) for x, y in zip(a, c))


def test_split_budget_clamps_and_redistributes():
    rng = np.random.default_rng(0)
    for _ in range(500):
        p = rng.dirichlet([0.1] * 3)
        cap = rng.integers(0, 50, 3)
        n = split_budget(60, p, cap, rng)
        assert np.all(n >= 0) and np.all(n <= cap) and n.sum() == min(60, cap.sum())
    assert split_budget(10, np.array([1.0, 0.0]), np.array([3, 100]), rng).tolist() == [3, 7]


def test_task_masks():
    m = task_masks(TINY, {"rgb": "all", "gaze": [0, 5]}, ["depth"], input_budget=400)
    rgb, depth, gaze = TINY.slice("rgb"), TINY.slice("depth"), TINY.slice("gaze")
    enc = m["enc_idx"][m["enc_valid"]]
    assert enc.tolist() == list(range(rgb.start, rgb.stop)) + [gaze.start, gaze.start + 5]
    assert m["enc_valid"].sum() == 322 and m["enc_idx"].shape == (400,)
    assert m["dec_idx"].tolist() == list(range(depth.start, depth.stop)) and m["dec_valid"].all()
    m = task_masks(TINY, {"depth": np.arange(10)}, {"depth": np.arange(10, 320)})  # ROAR-style step
    assert m["enc_valid"].sum() == 10 and m["dec_valid"].sum() == 310
    with pytest.raises(ValueError):
        task_masks(TINY, {"rgb": "all"}, ["rgb"])
    with pytest.raises(ValueError):
        task_masks(TINY, {"rgb": "all"}, ["depth"], input_budget=100)
    with pytest.raises(KeyError):
        task_masks(TINY, {"nope": "all"}, ["depth"])


def test_collate_contract():
    rng = np.random.default_rng(0)
    samples = [dict(tokens=rng.integers(0, 1000, TINY.length).astype(np.uint16),
                    **sample_masks([True] * 4, TINY, 32, 16, rng)) for _ in range(3)]
    b = collate(samples)
    assert b["tokens"].shape == (3, TINY.length) and b["tokens"].dtype == torch.int64
    assert b["enc_idx"].shape == (3, 32) and b["enc_idx"].dtype == torch.int64
    assert b["dec_valid"].shape == (3, 16) and b["dec_valid"].dtype == torch.bool
    assert torch.equal(b["tokens"][1], torch.as_tensor(samples[1]["tokens"].astype(np.int64)))
