"""Snippets and depth co-alignment of RollingDepth (Ke et al., CVPR 2025, §3.3), written for this project.

A video of N frames is covered by *snippets*: for dilation d and length L, the snippet starting at frame
i holds frames ``i, i+d, …, i+(L−1)d`` (one snippet per start frame). A depth model predicts each snippet
up to its own unknown scale and shift (affine-invariant inverse depth). Co-alignment fits one scale s_k
and shift t_k per snippet k *jointly*: every frame's target is the mean of all (scaled, shifted) snippet
values covering it (held fixed within an iteration), and the loss is the L1 distance to it, normalised
per frame, both in inverse-depth space and in depth space (reciprocal), plus ``λ_s·mean(max(0, 1−s)²) +
λ_t·mean(t²)`` per dilation, which rules out the collapse s → 0. Adam minimises it on a border-cropped,
spatially subsampled copy; the full-resolution frames are then the mean of their aligned snippets.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from .base import CoalignConfig


def cap_dilation(n_frames: int, length: int, dilation: int) -> int:
    """RollingDepth's cap: a dilation is at most ``int(n_frames / length) − 1`` (at least 1)."""
    return max(1, min(int(dilation), int(n_frames / length) - 1))


def snippet_indices(n_frames: int, length: int, dilation: int) -> torch.Tensor:
    """(n_snip, length) int64 frame indices of every snippet with this dilation (stride 1)."""
    span = (length - 1) * dilation
    if n_frames <= span:
        raise ValueError(f"{n_frames} frames are too few for snippets of length {length} and dilation {dilation}")
    starts = torch.arange(n_frames - span)
    return starts[:, None] + dilation * torch.arange(length)[None, :]


def snippet_plan(n_frames: int, length: int, dilations, cap: bool) -> list[tuple[int, torch.Tensor]]:
    """[(dilation, (n_snip, length) indices)] for each distinct (capped) dilation; covers every frame."""
    plan, seen = [], set()
    for d in dilations:
        d = cap_dilation(n_frames, length, d) if cap else int(d)
        if d not in seen:
            seen.add(d)
            plan.append((d, snippet_indices(n_frames, length, d)))
    covered = torch.zeros(n_frames, dtype=torch.bool)
    for _, idx in plan:
        covered[idx.reshape(-1)] = True
    if not covered.all():
        raise ValueError(f"snippets with dilations {[d for d, _ in plan]} leave frames uncovered")
    return plan


@dataclass
class CoalignResult:
    """depth: (N, H, W) merged co-aligned inverse depth (arbitrary affine frame, min-shifted input) ·
    scales / shifts: one (n_snip,) tensor per dilation · loss: loss per iteration."""
    depth: torch.Tensor
    scales: list[torch.Tensor]
    shifts: list[torch.Tensor]
    loss: list[float]


def flatten_snippets(snippets, indices):
    """Entries of all snippets: values (M, ...), owning snippet (M,), frame (M,), group of each snippet
    (all on the snippets' device)."""
    values, owner, frame, group = [], [], [], []
    offset = 0
    for g, (snip, idx) in enumerate(zip(snippets, indices)):
        n, L = idx.shape
        dev = snip.device
        values.append(snip.reshape(n * L, *snip.shape[2:]))
        owner.append((offset + torch.arange(n, device=dev))[:, None].expand(n, L).reshape(-1))
        frame.append(idx.reshape(-1).to(dev))
        group.append(torch.full((n,), g, device=dev))
        offset += n
    return torch.cat(values), torch.cat(owner), torch.cat(frame), torch.cat(group)


def frame_mean(values: torch.Tensor, frame: torch.Tensor, n_frames: int,
               count: torch.Tensor | None = None) -> torch.Tensor:
    """Mean over the entries of each frame: values (M, P), frame (M,) → (N, P); ``count`` (N, 1) cached."""
    if count is None:
        count = torch.bincount(frame, minlength=n_frames).clamp(min=1).to(values.dtype)[:, None]
    total = torch.zeros(n_frames, values.shape[1], dtype=values.dtype, device=values.device)
    return total.index_add_(0, frame, values) / count


def fit_scale_shift(snippets: list[torch.Tensor], indices: list[torch.Tensor], n_frames: int,
                    cfg: CoalignConfig = CoalignConfig()) -> tuple[torch.Tensor, torch.Tensor, list[float]]:
    """Fit one (scale, shift) per snippet.

    snippets: per dilation, (n_snip, L, h, w) float inverse depth, already min-shifted, subsampled ·
    indices: per dilation, (n_snip, L) frame indices. Returns scales (K,), shifts (K,) over all K snippets
    (dilation groups concatenated in order) and the loss history.
    """
    with torch.enable_grad():  # callers may run inside torch.no_grad() (inference)
        return _fit(snippets, indices, n_frames, cfg)


def _fit(snippets, indices, n_frames, cfg):
    values, owner, frame, group = flatten_snippets(snippets, indices)
    values = values.reshape(len(values), -1).float()
    K, P = int(owner.max()) + 1, values.shape[1]
    norm = sum(idx.shape[1] for idx in indices) * n_frames * P  # as the paper's mean over padded frame slots
    count = torch.bincount(frame, minlength=n_frames).clamp(min=1).to(values.dtype)[:, None]
    # per-dilation means of the regularisers as one weighted sum: weight 1 / (snippets of that dilation)
    reg_w = (1.0 / torch.bincount(group).to(values.dtype))[group]
    s = torch.ones(K, device=values.device, requires_grad=True)
    t = torch.zeros(K, device=values.device, requires_grad=True)
    opt = torch.optim.Adam([s, t], lr=cfg.lr, betas=tuple(cfg.betas))
    history = []
    for _ in range(cfg.iterations):
        opt.zero_grad()
        inv = torch.addcmul(t[owner, None], values, s[owner, None])
        loss = (reg_w * (cfg.lambda_scale * torch.relu(1 - s).square() + cfg.lambda_shift * t.square())).sum()
        for weight, x in ((1.0, inv), (cfg.depth_loss_weight, inv.clamp(min=cfg.eps).reciprocal())):
            with torch.no_grad():  # the target: mean of every aligned snippet value of the frame, held fixed
                target = frame_mean(x, frame, n_frames, count)
                inv_scale = target.abs().mean(1, keepdim=True).clamp(min=1e-12).reciprocal()
            loss = loss + weight * ((x - target[frame]).abs() * inv_scale[frame]).sum() / norm
        loss.backward()
        opt.step()
        history.append(loss.item())
    return s.detach(), t.detach(), history


def coalign(snippets: list[torch.Tensor], indices: list[torch.Tensor], n_frames: int,
            cfg: CoalignConfig = CoalignConfig()) -> CoalignResult:
    """Co-align snippet predictions into one video.

    snippets: per dilation, (n_snip, L, H, W) float affine-invariant inverse depth (any common range) ·
    indices: per dilation, (n_snip, L) int64 frame indices · n_frames: N. Returns the merged (N, H, W).
    """
    mn = min(float(x.min()) for x in snippets)
    shifted = [x.float() - mn for x in snippets]
    b, f = cfg.border, max(1, cfg.factor)
    small = [x[..., b:x.shape[-2] - b:f, b:x.shape[-1] - b:f] if min(x.shape[-2:]) > 2 * b + 1 else x[..., ::f, ::f]
             for x in shifted]
    s, t, history = fit_scale_shift(small, indices, n_frames, cfg)
    values, owner, frame, _ = flatten_snippets(shifted, indices)
    aligned = values * s[owner, None, None] + t[owner, None, None]
    merged = frame_mean(aligned.reshape(len(aligned), -1), frame, n_frames).reshape(n_frames, *values.shape[1:])
    sizes = [len(idx) for idx in indices]
    return CoalignResult(merged, list(s.split(sizes)), list(t.split(sizes)), history)
