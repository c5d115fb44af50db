"""Token budgets and masks: 4M's ``UnifiedMasking`` for EgoM2P.

Every modality is masked like an image ("a big image"): per sample,

1. pick one Dirichlet component uniformly from ``alphas`` (the all2all mixture {0.01, 0.1, 1, 10});
2. input budget: Dirichlet proportions over the *present* modalities × ``input_budget``, floored, the
   remainder drawn multinomially, clamped to each modality's token count with the excess redistributed,
   so the total is exactly ``input_budget`` whenever the present modalities hold that many tokens;
3. target budget: a fresh Dirichlet draw of the same component, likewise, clamped to the tokens left
   after the inputs (so inputs and targets never overlap);
4. within a modality, a random permutation: the first ``n_in`` positions are inputs, the next
   ``n_out`` targets.

A missing modality gets no share (4M's empty placeholder, never a pseudo-label). Results are padded to
the fixed budgets with ``valid = False`` (padded index 0).

The batch contract (B = batch size, L = ``layout.length``; ``collate`` builds it from per-sample dicts):

- ``tokens``    (B, L) int64, the flat token sequence of ``TokenLayout`` (missing modalities: 0);
- ``enc_idx``   (B, input_budget) int64 positions into L; ``enc_valid`` (B, input_budget) bool;
- ``dec_idx``   (B, target_budget) int64;                  ``dec_valid`` (B, target_budget) bool.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np
import torch

from .config import TokenLayout

DEFAULT_ALPHAS: tuple[float, ...] = (0.01, 0.1, 1.0, 10.0)
MASK_KEYS = ("enc_idx", "enc_valid", "dec_idx", "dec_valid")
BATCH_KEYS = ("tokens", *MASK_KEYS)


@dataclass(frozen=True)
class Budgets:
    """Per-modality token counts of one sample (layout order): ``n_in`` inputs, ``n_out`` targets."""
    component: int        # index of the Dirichlet component drawn from ``alphas``
    n_in: np.ndarray      # (n_modalities,) int64
    n_out: np.ndarray     # (n_modalities,) int64


def split_budget(budget: int, proportions: np.ndarray, capacity: np.ndarray,
                 rng: np.random.Generator) -> np.ndarray:
    """Integer counts ``n`` with ``n <= capacity`` and ``n.sum() == min(budget, capacity.sum())``.

    ``floor(proportions × budget)`` plus a multinomial draw of the remainder; counts above capacity are
    clamped and the excess is redistributed over modalities with room, in proportion (uniformly when
    those have zero weight). Each round either finishes or fills one more modality: ≤ k rounds.
    """
    p = np.asarray(proportions, np.float64)
    cap = np.asarray(capacity, np.int64)
    total = min(int(budget), int(cap.sum()))
    n = np.floor(p * budget).astype(np.int64)
    rest = int(budget - n.sum())
    if rest > 0:
        n += rng.multinomial(rest, p / p.sum())
    n = np.minimum(n, cap)
    while (short := total - int(n.sum())) > 0:
        spare = cap - n
        w = np.where(spare > 0, p, 0.0)
        if not w.sum() > 0:
            w = (spare > 0).astype(np.float64)
        n += np.minimum(rng.multinomial(short, w / w.sum()), spare)
    return n


def sample_budgets(present: Sequence[bool], layout: TokenLayout, input_budget: int, target_budget: int,
                   rng: np.random.Generator, alphas: Sequence[float] = DEFAULT_ALPHAS) -> Budgets:
    """Draw the per-modality input and target counts of one sample (steps 1–3 above)."""
    present = np.asarray(present, bool)
    if present.shape != (len(layout.names),):
        raise ValueError(f"present has shape {present.shape}, layout has {len(layout.names)} modalities")
    lengths = np.asarray(layout.lengths, np.int64)
    k = len(alphas)
    component = int(rng.integers(k))
    n_in = np.zeros(len(lengths), np.int64)
    n_out = np.zeros(len(lengths), np.int64)
    idx = np.flatnonzero(present)
    if idx.size:
        alpha = np.full(idx.size, float(alphas[component]))
        n_in[idx] = split_budget(input_budget, rng.dirichlet(alpha), lengths[idx], rng)
        n_out[idx] = split_budget(target_budget, rng.dirichlet(alpha), lengths[idx] - n_in[idx], rng)
    return Budgets(component, n_in, n_out)


def _pad(idx: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """(size,) int64 positions padded with 0, and the (size,) bool validity."""
    if idx.size > size:
        raise ValueError(f"{idx.size} positions do not fit a budget of {size}")
    out = np.zeros(size, np.int64)
    out[: idx.size] = idx
    return out, np.arange(size) < idx.size


def _masks(enc: np.ndarray, dec: np.ndarray, input_budget: int, target_budget: int) -> dict[str, np.ndarray]:
    enc_idx, enc_valid = _pad(enc, input_budget)
    dec_idx, dec_valid = _pad(dec, target_budget)
    return dict(enc_idx=enc_idx, enc_valid=enc_valid, dec_idx=dec_idx, dec_valid=dec_valid)


def select_positions(budgets: Budgets, layout: TokenLayout, input_budget: int, target_budget: int,
                     rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Step 4: random disjoint input/target positions per modality, grouped by modality (layout order),
    ascending within a modality, padded to the budgets."""
    enc, dec = [], []
    for i in np.flatnonzero(budgets.n_in + budgets.n_out):
        a, b = int(budgets.n_in[i]), int(budgets.n_out[i])
        pick = rng.choice(layout.lengths[i], size=a + b, replace=False) + layout.offsets[i]
        enc.append(np.sort(pick[:a]))
        dec.append(np.sort(pick[a:]))
    cat = lambda parts: np.concatenate(parts) if parts else np.zeros(0, np.int64)  # noqa: E731
    return _masks(cat(enc), cat(dec), input_budget, target_budget)


def sample_masks(present: Sequence[bool], layout: TokenLayout, input_budget: int, target_budget: int,
                 rng: np.random.Generator, alphas: Sequence[float] = DEFAULT_ALPHAS) -> dict[str, np.ndarray]:
    """One training sample's masks.

    present: (n_modalities,) bools in layout order. Returns numpy ``enc_idx`` (input_budget,) int64,
    ``enc_valid`` (input_budget,) bool, ``dec_idx`` (target_budget,) int64, ``dec_valid`` (target_budget,)
    bool. Deterministic for a given ``rng`` state.
    """
    budgets = sample_budgets(present, layout, input_budget, target_budget, rng, alphas)
    return select_positions(budgets, layout, input_budget, target_budget, rng)


def _as_int64_or_bool(a) -> torch.Tensor:
    t = torch.as_tensor(np.asarray(a))
    return t if t.dtype == torch.bool or t.is_floating_point() else t.to(torch.int64)


def collate(samples: Sequence[Mapping[str, np.ndarray | torch.Tensor]]) -> dict[str, torch.Tensor]:
    """Stack per-sample dicts (numpy or torch, e.g. ``tokens`` + ``sample_masks(...)``) along a new batch
    axis: (B, ...) torch tensors; integer arrays (uint16 tokens included) become int64, bools stay bool."""
    if not samples:
        raise ValueError("collate needs at least one sample")
    return {k: _as_int64_or_bool(np.stack([np.asarray(s[k]) for s in samples])) for k in samples[0]}


def _positions(layout: TokenLayout, chosen: Mapping[str, str | Sequence[int] | np.ndarray]) -> np.ndarray:
    """Flat positions of ``{name: "all" | indices within the modality}``, in layout order."""
    unknown = set(chosen) - set(layout.names)
    if unknown:
        raise KeyError(f"modalities {sorted(unknown)} not in layout {layout.names}")
    parts = []
    for i, name in enumerate(layout.names):
        if name not in chosen:
            continue
        sel = chosen[name]
        local = np.arange(layout.lengths[i]) if isinstance(sel, str) and sel == "all" else np.asarray(sel, np.int64)
        if local.size and (local.min() < 0 or local.max() >= layout.lengths[i]):
            raise IndexError(f"{name}: token indices must lie in [0, {layout.lengths[i]})")
        parts.append(local.reshape(-1) + layout.offsets[i])
    return np.concatenate(parts) if parts else np.zeros(0, np.int64)


def task_masks(layout: TokenLayout, inputs: Mapping[str, str | Sequence[int] | np.ndarray],
               targets: Sequence[str] | Mapping[str, str | Sequence[int] | np.ndarray],
               input_budget: int | None = None, target_budget: int | None = None) -> dict[str, np.ndarray]:
    """Deterministic masks for inference and tasks (one sample, same keys and dtypes as ``sample_masks``).

    inputs:  ``{name: "all" | indices within that modality}`` → encoder positions;
    targets: names (all their tokens) or the same mapping form → decoder positions.
    Budgets default to the exact counts; larger budgets pad with ``valid = False``. Input and target
    positions must be disjoint (e.g. ROAR: decoded tokens are inputs, the rest of the modality targets).
    """
    enc = _positions(layout, inputs)
    dec = _positions(layout, targets if isinstance(targets, Mapping) else {t: "all" for t in targets})
    if np.intersect1d(enc, dec).size:
        raise ValueError("task_masks: input and target positions overlap")
    return _masks(enc, dec, enc.size if input_budget is None else input_budget,
                  dec.size if target_budget is None else target_budget)
