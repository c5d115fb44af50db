"""Any-to-any parallel decoding with a trained EgoM2P: 4M's ``GenerationSampler``
(ROAR / MaskGIT, chained targets, classifier-free guidance) on this repo's flat token layout.

Shapes: B = batch, L = ``cfg.layout.length``; a target modality has n positions to fill.

For each target modality, in the order given (chained: later targets are conditioned on the earlier
ones' decoded tokens), ``steps`` steps fix ``token_schedule(schedule, steps, n)`` tokens each. At a step:

- encoder inputs = the conditioning positions (``present_inputs`` + previously decoded targets) + this
  target's already decoded positions: (B, N) ``enc_idx``, the same N for every sample;
- decoder queries = **ROAR**: the next k positions of a random permutation drawn up front (per sample),
  sampled and all kept; **MaskGIT**: every still-masked position, sampled, and the k most confident
  (sampled-token log-probability + optional annealed Gumbel noise) kept, the rest re-masked;
- guidance g ≠ 1: a second, unconditional pass whose encoder holds only this target's decoded tokens
  (plus conditioning of modalities not guided against); logits = uncond + g · (cond − uncond). With
  ``cfg_grow_conditioning`` (EgoM2P/4M "grow cond."), decoded earlier targets count as conditioning and
  are dropped from the unconditional pass too. An empty encoder gets one padded, masked-out slot (the
  attention guard attends to it alone: finite logits, no NaN).

One ``model.encode`` + ``model.decode_logits`` per step (two with guidance). Randomness only from a
``torch.Generator`` seeded per target with ``GenerationConfig.seed``: deterministic for fixed seeds.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np
import torch

from .config import TokenLayout
from .masking import task_masks
from .sampling import TEMPERATURE_SCHEDULES, TOKEN_SCHEDULES, confidence, guide, sample_tokens, \
    temperature_schedule, token_schedule

ORDERS = ("roar", "maskgit")
Selection = str | Sequence[int] | np.ndarray          # "all" or indices within one modality


@dataclass(frozen=True)
class GenerationConfig:
    """How to decode one target modality.

    order: "roar" | "maskgit"; steps: decoding steps (capped at the token count); schedule: token
    schedule "linear" | "cosine"; temperature → temperature_end (None = same) along temperature_schedule
    ("constant" | "linear" | "cosine"), 0 = argmax; top_k (0 = off), top_p (0 = off); guidance: CFG
    scale (1 = off, no second pass); seed of this target's generator; maskgit_noise: scale of Gumbel
    noise on MaskGIT confidences, annealed linearly to 0 at the last step (MaskGIT's choice temperature).
    """
    order: str = "roar"
    steps: int = 8
    schedule: str = "linear"
    temperature: float = 1.0
    temperature_end: float | None = None
    temperature_schedule: str = "constant"
    top_k: int = 0
    top_p: float = 0.0
    guidance: float = 1.0
    seed: int = 0
    maskgit_noise: float = 0.0

    def __post_init__(self):
        if self.order not in ORDERS:
            raise ValueError(f"order {self.order!r} not in {ORDERS}")
        if self.schedule not in TOKEN_SCHEDULES:
            raise ValueError(f"schedule {self.schedule!r} not in {TOKEN_SCHEDULES}")
        if self.temperature_schedule not in TEMPERATURE_SCHEDULES:
            raise ValueError(f"temperature_schedule {self.temperature_schedule!r} not in {TEMPERATURE_SCHEDULES}")
        if self.steps < 1 or self.temperature < 0 or self.top_k < 0 or not 0.0 <= self.top_p <= 1.0:
            raise ValueError(f"invalid GenerationConfig {self}")


# EgoM2P's evaluation decoding: ROAR, linear token schedule, temperature 0.01 (constant), classifier-free
# guidance 2.0 with grow conditioning, top-p 0.8; top_k off (4M's default), seed 0. The steps differ per task
# (``egom2p.tasks.registry``).
PAPER_GENERATION = dict(order="roar", schedule="linear", temperature=0.01, temperature_schedule="constant",
                        top_k=0, top_p=0.8, guidance=2.0, seed=0)


def _positions(layout: TokenLayout, chosen: Mapping[str, Selection], device) -> torch.Tensor:
    """(N,) int64 flat positions of ``{name: "all" | local indices}`` (``task_masks``' index building)."""
    return torch.as_tensor(task_masks(layout, chosen, {})["enc_idx"], device=device)


def _modality_of(layout: TokenLayout, device) -> torch.Tensor:
    """(L,) modality index of every flat position."""
    return torch.repeat_interleave(torch.arange(len(layout.names)), torch.tensor(layout.lengths)).to(device)


def _logits(model, tokens: torch.Tensor, enc_idx: torch.Tensor, dec_idx: torch.Tensor, name: str,
            placeholder: torch.Tensor) -> torch.Tensor:
    """One encoder + decoder pass. enc_idx (B, N) (N may be 0: then ``placeholder`` (B, 1), masked out),
    dec_idx (B, T) → logits (B, T, vocab_name) float32."""
    b = tokens.shape[0]
    if enc_idx.shape[1] == 0:
        enc_idx, enc_valid = placeholder, torch.zeros(b, 1, dtype=torch.bool, device=tokens.device)
    else:
        enc_valid = torch.ones(enc_idx.shape, dtype=torch.bool, device=tokens.device)
    ctx = model.encode(tokens, enc_idx, enc_valid)
    dec_valid = torch.ones(dec_idx.shape, dtype=torch.bool, device=tokens.device)
    return model.decode_logits(ctx, dec_idx, dec_valid, name).float()


def decode_modality(model, tokens: torch.Tensor, cond: torch.Tensor, uncond: torch.Tensor,
                    target: torch.Tensor, name: str, gc: GenerationConfig) -> torch.Tensor:
    """Fill ``target`` positions of ``tokens`` in place and return it.

    tokens (B, L) int64; cond (Nc,) conditioning positions; uncond (Nu,) the ones kept in the
    unconditional pass; target (n,) flat positions of modality ``name`` (none in cond/uncond).
    """
    b, n, dev = tokens.shape[0], target.numel(), tokens.device
    gen = torch.Generator(device=dev).manual_seed(int(gc.seed))
    counts = token_schedule(gc.schedule, gc.steps, n)
    temps = temperature_schedule(gc.temperature_schedule, len(counts), gc.temperature, gc.temperature_end)
    tokens[:, target] = 0                                      # undecoded: a fixed, meaningless value
    local = torch.arange(n, device=dev).expand(b, n)           # (B, n) indices into ``target``
    decoded = torch.zeros(b, n, dtype=torch.bool, device=dev)
    perm = torch.rand(b, n, generator=gen, device=dev).argsort(-1) if gc.order == "roar" else None
    placeholder = target[:1].expand(b, 1)                      # an undecoded target slot (token 0)
    done_count = 0
    for step, (k, temp) in enumerate(zip(counts, temps)):
        done = target[local[decoded].view(b, done_count)]      # (B, d) decoded positions
        if perm is not None:
            cand = perm[:, done_count:done_count + k]          # (B, k) next positions in the random order
        else:
            cand = local[~decoded].view(b, n - done_count)     # (B, n - d) every masked position
        dec_idx = target[cand]
        logits = _logits(model, tokens, torch.cat([cond.expand(b, -1), done], 1), dec_idx, name, placeholder)
        if gc.guidance != 1.0:
            free = _logits(model, tokens, torch.cat([uncond.expand(b, -1), done], 1), dec_idx, name, placeholder)
            logits = guide(logits, free, gc.guidance)
        samples, probs = sample_tokens(logits, temp, gc.top_k, gc.top_p, gen)   # (B, c) each
        if cand.shape[1] > k:                                  # MaskGIT: keep the k most confident
            noise = gc.maskgit_noise * (1.0 - (step + 1) / len(counts))
            keep = confidence(probs, noise, gen).topk(k, dim=-1).indices
            cand, samples = cand.gather(1, keep), samples.gather(1, keep)
        tokens.scatter_(1, target[cand], samples)
        decoded.scatter_(1, cand, True)
        done_count += k
    return tokens


@torch.no_grad()
def generate(model, tokens: torch.Tensor, present_inputs: Mapping[str, Selection],
             targets: Sequence[tuple[str, GenerationConfig]], cfg_grow_conditioning: bool = True) -> torch.Tensor:
    """Decode ``targets`` (in order, chained) given ``present_inputs``; returns a new (B, L) int64 tensor.

    tokens (B, L) int64: conditioning tokens at the ``present_inputs`` positions (``{name: "all" | indices
    within the modality}``, the same for every sample); target positions are overwritten; every other
    position is returned unchanged. A target's positions are those of its modality not in
    ``present_inputs`` (so a partly given modality is completed). The unconditional pass of guidance drops
    the ``present_inputs`` modalities (and, with ``cfg_grow_conditioning``, earlier decoded targets).
    The model is run in eval mode (its mode is restored afterwards).
    """
    layout: TokenLayout = model.cfg.layout
    if tokens.ndim != 2 or tokens.shape[1] != layout.length:
        raise ValueError(f"tokens must be (B, {layout.length}), got {tuple(tokens.shape)}")
    names = [t for t, _ in targets]
    if len(set(names)) != len(names) or not set(names) <= set(layout.names):
        raise ValueError(f"targets {names} must be distinct modalities of {layout.names}")
    dev = tokens.device
    out = tokens.clone()
    mod_of = _modality_of(layout, dev)
    cond = _positions(layout, present_inputs, dev)
    guided = {layout.index(m) for m in present_inputs}        # modalities dropped in the unconditional pass
    training = getattr(model, "training", False)
    if hasattr(model, "eval"):
        model.eval()
    try:
        for name, gc in targets:
            target = _positions(layout, {name: "all"}, dev)
            target = target[~torch.isin(target, cond)]
            if target.numel() == 0:
                continue
            drop = sorted(guided - {layout.index(name)})       # given tokens of the target itself stay
            keep = ~torch.isin(mod_of[cond], torch.tensor(drop, dtype=torch.long, device=dev))
            decode_modality(model, out, cond, cond[keep], target, name, gc)
            cond = torch.cat([cond, target])
            if cfg_grow_conditioning:
                guided.add(layout.index(name))
    finally:
        if training and hasattr(model, "train"):
            model.train(True)
    return out


def predict_all(model, tokens: torch.Tensor, inputs: Mapping[str, Selection], target: str) -> torch.Tensor:
    """One pass: every ``target`` position predicted at once by argmax (steps=1, temperature 0, no CFG);
    (B, L) int64 like ``generate``. The cheapest prediction, e.g. for speed comparisons."""
    return generate(model, tokens, inputs, [(target, GenerationConfig(order="maskgit", steps=1, temperature=0.0))])


__all__ = ["GenerationConfig", "PAPER_GENERATION", "ORDERS", "generate", "predict_all", "decode_modality"]
