"""Shared training utilities: frozen train configs, the optimizer loop, codebook-usage statistics."""
from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch


@dataclass(frozen=True)
class TrainConfig:
    """One training run. ``time_budget_s`` > 0 stops early when the wall clock runs out."""
    steps: int = 200
    batch_size: int = 8
    lr: float = 1e-3
    warmup: int = 20
    weight_decay: float = 1e-4
    grad_clip: float = 1.0
    seed: int = 0
    time_budget_s: float = 0.0
    log_every: int = 20

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def lr_at(step: int, cfg: TrainConfig) -> float:
    """Linear warm-up then cosine decay to 5 % of ``lr``."""
    if step < cfg.warmup:
        return cfg.lr * (step + 1) / cfg.warmup
    frac = (step - cfg.warmup) / max(1, cfg.steps - cfg.warmup)
    return cfg.lr * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * min(1.0, frac))))


def fit(model: torch.nn.Module, loss_fn: Callable[[np.random.Generator], dict], cfg: TrainConfig,
        log: Callable[[str], None] = print) -> list[dict]:
    """AdamW loop: ``loss_fn(rng)`` draws a batch and returns a dict with a scalar ``loss`` (+ more scalars).

    Returns the history: one dict per logged step with the step, seconds and every scalar (float).
    """
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, betas=(0.9, 0.99), weight_decay=cfg.weight_decay)
    model.train()
    history, t0 = [], time.time()
    for step in range(cfg.steps):
        for g in opt.param_groups:
            g["lr"] = lr_at(step, cfg)
        out = loss_fn(rng)
        opt.zero_grad(set_to_none=True)
        out["loss"].backward()
        if cfg.grad_clip:
            torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
        opt.step()
        last = step == cfg.steps - 1 or (cfg.time_budget_s and time.time() - t0 > cfg.time_budget_s)
        if step % cfg.log_every == 0 or last:
            row = {"step": step, "seconds": round(time.time() - t0, 2),
                   **{k: float(v.detach()) for k, v in out.items() if torch.is_tensor(v) and v.ndim == 0}}
            history.append(row)
            log(" ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items()))
        if last:
            break
    model.eval()
    return history


def codebook_usage(tokens: np.ndarray, codebook_size: int) -> dict:
    """Perplexity (exp entropy of the code histogram), codes used and dead codes (never used) of ``tokens``."""
    counts = np.bincount(np.asarray(tokens, np.int64).ravel(), minlength=codebook_size).astype(np.float64)
    p = counts / max(1.0, counts.sum())
    nz = p[p > 0]
    return {"perplexity": float(np.exp(-(nz * np.log(nz)).sum())), "codes_used": int((counts > 0).sum()),
            "dead_codes": int((counts == 0).sum()), "codebook_size": int(codebook_size)}
