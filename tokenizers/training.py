"""Shared training utilities: frozen train configs, the resumable optimizer loop, codebook-usage statistics."""
from __future__ import annotations

import dataclasses
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from egom2p.schedule import lr_at

# fields that may differ between the run that wrote a checkpoint and the one resuming it
_RESUME_FREE = ("time_budget_s", "log_every", "checkpoint_every")


@dataclass(frozen=True)
class TokenizerTrainConfig:
    """One tokenizer training run.

    ``time_budget_s`` > 0 stops early once the *accumulated* training time (over every resumed
    invocation, seconds) passes it. ``checkpoint_every`` > 0 saves model + optimizer + RNG state every
    that many steps (and at the end) when ``fit`` is given a checkpoint path. ``anneal_to_budget``: with a
    time budget, the cosine follows whichever of step count or accumulated time is further along, so a
    run that the budget cuts short still ends annealed (then ``steps`` is an upper bound).
    """
    steps: int = 200
    batch_size: int = 8
    lr: float = 1e-3
    warmup: int = 20
    weight_decay: float = 1e-4
    grad_clip: float = 1.0
    seed: int = 0
    time_budget_s: float = 0.0
    log_every: int = 20
    checkpoint_every: int = 0
    anneal_to_budget: bool = False

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def lr_at(self, step: int, elapsed_s: float = 0.0) -> float:
        """Learning rate of step ``step``: linear warm-up, then cosine decay to 5 % of ``lr`` over the steps,
        or over the time budget (``elapsed_s`` of ``time_budget_s`` seconds) when ``anneal_to_budget``."""
        progress = elapsed_s / self.time_budget_s if self.anneal_to_budget and self.time_budget_s > 0 else 0.0
        return lr_at(step, self.steps, self.warmup, self.lr, min_ratio=0.05, progress=progress)


def save_checkpoint(path: str | os.PathLike, state: dict) -> None:
    """Atomically write ``state`` (torch.save) to ``path``: a crash mid-write leaves the old file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)


def _plain(row: dict) -> dict:
    """``row`` with numpy scalars as Python numbers (same values): the checkpoint then loads with
    ``torch.load(weights_only=True)``, which refuses numpy objects."""
    return {k: v.item() if isinstance(v, np.generic) else v for k, v in row.items()}


def _resume(path: Path | None, model, opt, rng: np.random.Generator, cfg: TokenizerTrainConfig,
            log) -> dict | None:
    if path is None or not path.exists():
        return None
    state = torch.load(path, map_location="cpu", weights_only=True)
    saved = {k: v for k, v in state["config"].items() if k not in _RESUME_FREE}
    want = {k: v for k, v in cfg.to_dict().items() if k not in _RESUME_FREE}
    if saved != want:
        raise ValueError(f"{path}: checkpoint was written by another recipe {saved} != {want}; "
                         "delete it or resume with the same TokenizerTrainConfig")
    model.load_state_dict(state["model"])
    opt.load_state_dict(state["optimizer"])
    rng.bit_generator.state = state["numpy_rng"]
    torch.set_rng_state(state["torch_rng"])
    log(f"resumed {path} at step {state['step']} ({state['elapsed_s']:.0f} s trained)")
    return state


def fit(model: torch.nn.Module, loss_fn: Callable[[np.random.Generator], dict], cfg: TokenizerTrainConfig,
        log: Callable[[str], None] = print, checkpoint: str | os.PathLike | None = None,
        on_checkpoint: Callable[[int], dict] | None = None, stop_after: int = 0) -> list[dict]:
    """AdamW loop: ``loss_fn(rng)`` draws a batch and returns a dict with a scalar ``loss`` (+ more scalars).

    ``checkpoint``: file to resume from (if it exists) and to save to every ``cfg.checkpoint_every``
    steps and when the run stops; a resumed run continues with the same weights, optimizer moments and
    random streams, so it equals an uninterrupted one. ``on_checkpoint(steps_done)`` (e.g. a held-out
    evaluation) runs at every checkpoint; its dicts are kept in the checkpoint under ``"curve"``.
    ``stop_after`` > 0 ends this invocation after that many steps (the schedule still spans ``cfg.steps``).

    Returns the history: one dict per logged step with the step, accumulated training seconds and every
    scalar (float), over all invocations of a resumed run.
    """
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, betas=(0.9, 0.99), weight_decay=cfg.weight_decay)
    path = Path(checkpoint) if checkpoint is not None else None
    state = _resume(path, model, opt, rng, cfg, log)
    start = state["step"] if state else 0
    history, curve = (state["history"], state["curve"]) if state else ([], [])
    elapsed0 = state["elapsed_s"] if state else 0.0

    def save(done: int, elapsed: float) -> None:
        if on_checkpoint is not None:
            model.eval()
            curve.append({"step": done, "seconds": round(elapsed, 1), **on_checkpoint(done)})
            log(f"checkpoint step {done}: {curve[-1]}")
        if path is not None:
            save_checkpoint(path, {"step": done, "elapsed_s": elapsed, "config": cfg.to_dict(),
                                   "model": model.state_dict(), "optimizer": opt.state_dict(),
                                   "numpy_rng": rng.bit_generator.state, "torch_rng": torch.get_rng_state(),
                                   "history": history, "curve": [_plain(c) for c in curve]})
        model.train()

    model.train()
    t0 = time.time()
    for step in range(start, cfg.steps):
        lr = cfg.lr_at(step, elapsed0 + time.time() - t0)
        for g in opt.param_groups:
            g["lr"] = lr
        out = loss_fn(rng)
        opt.zero_grad(set_to_none=True)
        out["loss"].backward()
        if cfg.grad_clip:
            torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
        opt.step()
        elapsed = elapsed0 + time.time() - t0
        last = (step == cfg.steps - 1 or (cfg.time_budget_s and elapsed > cfg.time_budget_s)
                or (stop_after and step + 1 - start >= stop_after))
        if step % cfg.log_every == 0 or last:
            row = {"step": step, "seconds": round(elapsed, 2), "lr": lr,
                   **{k: float(v.detach()) for k, v in out.items() if torch.is_tensor(v) and v.ndim == 0}}
            history.append(row)
            log(" ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items()))
        if last or (cfg.checkpoint_every and (step + 1) % cfg.checkpoint_every == 0):
            if path is not None or on_checkpoint is not None:
                save(step + 1, elapsed)
                t0, elapsed0 = time.time(), elapsed  # evaluation time is not training time
        if last:
            break
    model.eval()
    return history


def load_curve(checkpoint: str | os.PathLike) -> tuple[int, float, list[dict]]:
    """(steps done, accumulated training seconds, on_checkpoint curve) of a saved checkpoint."""
    state = torch.load(checkpoint, map_location="cpu", weights_only=True)
    return state["step"], state["elapsed_s"], state["curve"]


def codebook_usage(tokens: np.ndarray, codebook_size: int) -> dict:
    """Perplexity (exp entropy of the code histogram), codes used and dead codes (never used) of ``tokens``."""
    counts = np.bincount(np.asarray(tokens, np.int64).ravel(), minlength=codebook_size).astype(np.float64)
    p = counts / max(1.0, counts.sum())
    nz = p[p > 0]
    return {"perplexity": float(np.exp(-(nz * np.log(nz)).sum())), "codes_used": int((counts > 0).sum()),
            "dead_codes": int((counts == 0).sum()), "codebook_size": int(codebook_size)}
