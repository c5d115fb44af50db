"""Train and evaluate the video tokenizer on canonical clips (rgb and depth as 3-channel video)."""
from __future__ import annotations

import dataclasses
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from egom2p import metrics as M
from egom2p.clip import read_clip

from ..api import VideoClipTokenizer
from ..artifacts import tokenizer_id
from ..training import TokenizerTrainConfig, codebook_usage, fit
from . import data as V
from .dataset import Augment, VideoBank, is_map, video_modalities
from .model import VideoTokenizer, VideoTokenizerConfig


@dataclass(frozen=True)
class VideoLoss:
    """Reconstruction loss, video units ([-1, 1]), e = reconstruction - target, per pixel and channel:
    ``l1·|e| + mse·e²``. With ``depth_relative`` every pixel of a *depth* clip is weighted by
    ``depth_scale / max(g, depth_floor)``, g = target inverse depth in [0, 1], so its L1 term is
    proportional to the AbsRel being evaluated (weight 1 at g = depth_scale, at most
    depth_scale / depth_floor)."""
    l1: float = 1.0
    mse: float = 1.0
    depth_relative: bool = False
    depth_scale: float = 0.25
    depth_floor: float = 0.0625

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def __call__(self, recon: torch.Tensor, x: torch.Tensor, is_depth: torch.Tensor) -> dict:
        """recon, x (B, 3, T, H, W); is_depth (B,) bool → {"loss", "l1", "mse"} scalars (l1/mse unweighted)."""
        e = recon - x
        per_px = self.l1 * e.abs() + self.mse * e * e
        if self.depth_relative and bool(is_depth.any()):
            g = ((x + 1.0) / 2.0).clamp_min(self.depth_floor)
            w = torch.where(is_depth.view(-1, 1, 1, 1, 1), self.depth_scale / g, torch.ones_like(g))
            per_px = per_px * w
        return {"loss": per_px.mean(), "l1": e.abs().mean(), "mse": (e * e).mean()}


def load_videos(folders: list[Path], cfg: VideoTokenizerConfig) -> tuple[np.ndarray, list[str]]:
    """Every video stream (rgb, depth) of ``folders`` → ((N, 3, frames, S, S) float32 in [-1,1], modality per row)."""
    videos, kinds = [], []
    for folder in folders:
        clip = read_clip(folder, modalities=video_modalities())
        for m in clip:
            videos.append(V.depth_to_video(clip[m], cfg.frames, cfg.fps, cfg.resolution)[0] if is_map(m)
                          else V.rgb_to_video(clip[m], cfg.frames, cfg.fps, cfg.resolution))
            kinds.append(m)
    if not videos:
        return np.zeros((0, 3, cfg.frames, cfg.resolution, cfg.resolution), np.float32), kinds
    return np.stack(videos), kinds


def train_video_tokenizer(videos: np.ndarray | VideoBank, cfg: VideoTokenizerConfig, train: TokenizerTrainConfig,
                          log: Callable[[str], None] = print, *, loss: VideoLoss = VideoLoss(),
                          augment: Augment = Augment(), checkpoint: str | os.PathLike | None = None,
                          on_checkpoint: Callable[[VideoClipTokenizer, int], dict] | None = None,
                          stop_after: int = 0) -> tuple[VideoClipTokenizer, list[dict]]:
    """Train from scratch (or resume ``checkpoint``, see ``training.fit``) on a :class:`VideoBank` or on
    ready-made (N, 3, frames, S, S) videos (then all treated as rgb, no time shifts).

    Augmentation: time-grid shifts (bank only) and horizontal flips. ``on_checkpoint(tokenizer, steps)``
    evaluates the model in training at each checkpoint. Returns the tokenizer (id = hash of config +
    weights) and the loss history.
    """
    torch.manual_seed(train.seed)
    model = VideoTokenizer(cfg)
    bank = videos if isinstance(videos, VideoBank) else VideoBank.from_videos(videos)

    def step(rng: np.random.Generator) -> dict:
        x, is_depth = bank.sample(rng, train.batch_size, augment)
        x = V.pad_time(x, cfg.input_frames)
        recon, _ = model(x)
        return loss(recon, x, is_depth)

    def evaluate(steps: int) -> dict:
        return on_checkpoint(VideoClipTokenizer(model, cfg, f"video-step{steps}"), steps)

    history = fit(model, step, train, log, checkpoint=checkpoint,
                  on_checkpoint=evaluate if on_checkpoint else None, stop_after=stop_after)
    tid = tokenizer_id("video", {"config": cfg.to_dict(), "extra": {}}, model.state_dict())
    return VideoClipTokenizer(model, cfg, tid), history


def load_checkpoint_tokenizer(checkpoint: str | os.PathLike, cfg: VideoTokenizerConfig) -> VideoClipTokenizer:
    """The model of a training checkpoint (``training.fit``) as a clip tokenizer (id = hash of its weights)."""
    model = VideoTokenizer(cfg)
    model.load_state_dict(torch.load(checkpoint, map_location="cpu", weights_only=True)["model"])
    return VideoClipTokenizer(model, cfg, tokenizer_id("video", {"config": cfg.to_dict(), "extra": {}}, model.state_dict()))


def _depth_range(meta: dict) -> tuple[float, float] | None:
    n = meta.get("depth_normalization") or {}
    return (n["inv_lo"], n["inv_hi"]) if "inv_lo" in n and "inv_hi" in n else None


def evaluate_video(tok: VideoClipTokenizer, folders: list[Path], per_clip: bool = False) -> dict:
    """Reconstruction quality on held-out clips: rgb PSNR (dB, uint8, mean over clips), depth AbsRel
    (normalized inverse depth, valid px, gt ≥ 0.05: ``egom2p.metrics.abs_rel``) and AbsRel of metric depth
    (``egom2p.metrics.abs_rel_metric``, clips with normalization constants), FSQ codebook usage, and tokenization
    throughput (clips/s, encode only, incl. preprocessing) per modality. ``per_clip`` adds the lists."""
    c = tok.cfg
    psnrs, absrels, metric, tokens, speed = [], [], [], [], {}
    for modality in ("rgb", "depth"):
        clips = [cl for cl in (read_clip(f, modalities=(modality,)) for f in folders)
                 if getattr(cl, modality) is not None]
        if not clips:
            continue
        arrays = [getattr(cl, modality) for cl in clips]
        t = time.time()
        tok_arr = tok.tokenize(modality, arrays)
        speed[f"{modality}_clips_per_s"] = len(arrays) / (time.time() - t)
        tokens.append(tok_arr)
        recon = tok.detokenize(modality, tok_arr)
        for cl, a, r in zip(clips, arrays, recon):
            if modality == "rgb":
                psnrs.append(M.psnr(r, V.rgb_reference(a, c.frames, c.fps, c.resolution)))
                continue
            gt, valid = V.depth_reference(a, c.frames, c.fps, c.resolution)
            absrels.append(M.abs_rel(r, gt, valid, min_gt=0.05))
            rng_ = _depth_range(cl.meta)
            metric.append(M.abs_rel_metric(r, gt, valid, *rng_) if rng_ else float("nan"))
    usage = codebook_usage(np.concatenate(tokens), c.vocab_size) if tokens else {}
    mean = lambda v: float(np.nanmean(v)) if v and not np.all(np.isnan(v)) else None  # noqa: E731
    out = {"rgb_psnr_db": mean(psnrs), "depth_absrel": mean(absrels), "depth_absrel_metric": mean(metric),
           "clips_rgb": len(psnrs), "clips_depth": len(absrels), **{f"fsq_{k}": v for k, v in usage.items()}, **speed}
    if per_clip:
        out.update(rgb_psnr_per_clip=psnrs, depth_absrel_per_clip=absrels)
    return out
