"""Schedules and token sampling for parallel decoding.

- token schedules: how many of a modality's ``n`` target tokens each of ``steps`` steps fixes;
- temperature schedules: the sampling temperature of each step;
- ``filter_logits`` / ``sample_tokens``: top-k, top-p (nucleus), temperature; temperature 0 = argmax;
- ``guide``: classifier-free guidance ``uncond + g · (cond − uncond)``.

Pure functions of their arguments; randomness only from an explicit ``torch.Generator``.
"""
from __future__ import annotations

import math

import torch

TOKEN_SCHEDULES = ("cosine", "linear")
TEMPERATURE_SCHEDULES = ("constant", "linear", "cosine")


def _check_steps(steps: int, n: int) -> int:
    if n < 1:
        raise ValueError(f"a token schedule needs n >= 1 tokens, got {n}")
    if steps < 1:
        raise ValueError(f"steps must be >= 1, got {steps}")
    return min(steps, n)


def linear_schedule(steps: int, n: int) -> list[int]:
    """Equal split of ``n`` tokens over ``min(steps, n)`` steps, the remainder on the first steps
    (non-increasing, counts differ by ≤ 1; 4M's ``linear_schedule``). Sums to n, each ≥ 1."""
    s = _check_steps(steps, n)
    q, r = divmod(n, s)
    return [q + 1] * r + [q] * (s - r)


def cosine_schedule(steps: int, n: int) -> list[int]:
    """MaskGIT's schedule: after step i of S, ``n · cos(π/2 · i/S)`` tokens stay masked, so
    few tokens are fixed early and many late (non-decreasing counts). Rounded cumulatively, then each
    step lifted to ≥ 1 (and sorted, which the lift may need). Sums to n over ``min(steps, n)`` steps."""
    s = _check_steps(steps, n)
    cum = [round(n * (1.0 - math.cos(math.pi / 2 * i / s))) for i in range(s + 1)]
    cum[0], cum[s] = 0, n
    for i in range(1, s):                       # strictly increasing, leaving ≥ 1 token per later step
        cum[i] = min(max(cum[i], cum[i - 1] + 1), n - (s - i))
    return sorted(b - a for a, b in zip(cum[:-1], cum[1:]))


def token_schedule(name: str, steps: int, n: int) -> list[int]:
    """``cosine`` or ``linear`` schedule: a list of ``min(steps, n)`` counts ≥ 1 summing to n."""
    if name == "cosine":
        return cosine_schedule(steps, n)
    if name == "linear":
        return linear_schedule(steps, n)
    raise ValueError(f"unknown token schedule {name!r} (one of {TOKEN_SCHEDULES})")


def temperature_schedule(name: str, steps: int, start: float, end: float | None = None) -> list[float]:
    """Per-step temperatures from ``start`` (step 0) to ``end`` (last step; default = start).

    constant: ``start`` everywhere; linear: straight line start → end; cosine: half-cosine decay
    ``end + (start − end) · ½(1 + cos(π i/(S−1)))``. A single step gets ``start``.
    """
    end = start if end is None else end
    if steps < 1:
        raise ValueError(f"steps must be >= 1, got {steps}")
    if name == "constant":
        return [float(start)] * steps
    frac = [i / (steps - 1) if steps > 1 else 0.0 for i in range(steps)]
    if name == "linear":
        return [start + (end - start) * f for f in frac]
    if name == "cosine":
        return [end + (start - end) * 0.5 * (1.0 + math.cos(math.pi * f)) for f in frac]
    raise ValueError(f"unknown temperature schedule {name!r} (one of {TEMPERATURE_SCHEDULES})")


def filter_logits(logits: torch.Tensor, top_k: int = 0, top_p: float = 0.0) -> torch.Tensor:
    """logits (..., V) → copy with −inf outside the kept support.

    top_k > 0: keep the k largest (ties with the k-th kept too). 0 < top_p < 1: keep the smallest set of
    highest-probability tokens whose probability sums to ≥ top_p (the most likely token always stays).
    Both: top-k first, then nucleus on what is left (4M's ``top_k_top_p_filtering``).
    """
    logits = logits.clone()
    if top_k and top_k > 0:
        k = min(int(top_k), logits.shape[-1])
        kth = torch.topk(logits, k, dim=-1).values[..., -1:]
        logits.masked_fill_(logits < kth, float("-inf"))
    if top_p and 0.0 < top_p < 1.0:
        sorted_logits, order = torch.sort(logits, dim=-1, descending=True)
        cum = sorted_logits.softmax(-1).cumsum(-1)
        drop = cum > top_p
        drop[..., 1:] = drop[..., :-1].clone()   # keep the first token that crosses top_p
        drop[..., 0] = False
        logits.masked_fill_(drop.scatter(-1, order, drop), float("-inf"))
    return logits


def sample_tokens(logits: torch.Tensor, temperature: float = 1.0, top_k: int = 0, top_p: float = 0.0,
                  generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """logits (..., V) → (samples (...) int64, probs (...) float32: each sample's probability).

    temperature 0 (≤ 1e-10): argmax, ``probs`` = softmax(logits) at the argmax (a confidence, not 1 as
    in 4M, so MaskGIT still ranks positions). Otherwise the support is filtered on the raw logits (4M's
    order), then sampled from ``softmax(filtered / temperature)``; ``probs`` are from that distribution.
    """
    logits = logits.float()
    if temperature <= 1e-10:
        probs = logits.softmax(-1)
        conf, samples = probs.max(-1)
        return samples, conf
    probs = (filter_logits(logits, top_k, top_p) / temperature).softmax(-1)
    flat = probs.reshape(-1, probs.shape[-1])
    samples = torch.multinomial(flat, 1, generator=generator).view(probs.shape[:-1])
    return samples, probs.gather(-1, samples.unsqueeze(-1)).squeeze(-1)


def guide(cond: torch.Tensor, uncond: torch.Tensor, scale: float) -> torch.Tensor:
    """Classifier-free guidance on logits (..., V): ``uncond + scale · (cond − uncond)`` (1 = cond)."""
    return cond if scale == 1.0 else uncond + scale * (cond - uncond)


def gumbel_noise(shape: tuple[int, ...], generator: torch.Generator | None = None,
                 device: torch.device | str | None = None) -> torch.Tensor:
    """Standard Gumbel samples ``−log(−log U)`` of ``shape`` (float32), U ~ Uniform(0, 1) from ``generator``."""
    u = torch.rand(shape, generator=generator, device=device).clamp_(1e-20, 1.0 - 1e-7)
    return -torch.log(-torch.log(u))


def confidence(probs: torch.Tensor, noise_scale: float = 0.0, generator: torch.Generator | None = None
               ) -> torch.Tensor:
    """MaskGIT ranking score (...,): ``log probs + noise_scale · Gumbel`` (no noise when scale is 0)."""
    score = probs.clamp_min(1e-30).log()
    if noise_scale > 0:
        score = score + noise_scale * gumbel_noise(tuple(probs.shape), generator, probs.device)
    return score


__all__ = ["TOKEN_SCHEDULES", "TEMPERATURE_SCHEDULES", "linear_schedule", "cosine_schedule", "token_schedule",
           "temperature_schedule", "filter_logits", "sample_tokens", "guide", "gumbel_noise", "confidence"]
