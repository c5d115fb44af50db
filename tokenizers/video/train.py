"""Train and evaluate the video tokenizer on canonical clips (rgb and depth as 3-channel video)."""
from __future__ import annotations

import time
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from egom2p.clip import read_clip

from ..api import VideoClipTokenizer
from ..artifacts import tokenizer_id
from ..training import TrainConfig, codebook_usage, fit
from . import data as V
from .model import VideoTokenizer, VideoTokenizerConfig


def load_videos(folders: list[Path], cfg: VideoTokenizerConfig) -> tuple[np.ndarray, list[str]]:
    """Every rgb and depth clip of ``folders`` → ((N, 3, frames, S, S) float32 in [-1,1], modality per row)."""
    videos, kinds = [], []
    for folder in folders:
        clip = read_clip(folder, modalities=("rgb", "depth"))
        if clip.rgb is not None:
            videos.append(V.rgb_to_video(clip.rgb, cfg.frames, cfg.fps, cfg.resolution))
            kinds.append("rgb")
        if clip.depth is not None:
            videos.append(V.depth_to_video(clip.depth, cfg.frames, cfg.fps, cfg.resolution)[0])
            kinds.append("depth")
    if not videos:
        return np.zeros((0, 3, cfg.frames, cfg.resolution, cfg.resolution), np.float32), kinds
    return np.stack(videos), kinds


def train_video_tokenizer(videos: np.ndarray, cfg: VideoTokenizerConfig, train: TrainConfig,
                          log: Callable[[str], None] = print) -> tuple[VideoClipTokenizer, list[dict]]:
    """Train from scratch on (N, 3, frames, S, S) videos; loss = L1 + MSE of the reconstruction.

    Augmentation: random horizontal flips. Returns the tokenizer (id = hash of config + weights) and the
    loss history.
    """
    torch.manual_seed(train.seed)
    model = VideoTokenizer(cfg)
    data = torch.from_numpy(videos)

    def step(rng: np.random.Generator) -> dict:
        idx = rng.integers(0, len(data), size=min(train.batch_size, len(data)))
        x = data[idx].clone()
        flip = torch.from_numpy(rng.random(len(idx)) < 0.5)
        x[flip] = x[flip].flip(-1)
        x = V.pad_time(x, cfg.input_frames)
        recon, _ = model(x)
        l1, mse = (recon - x).abs().mean(), ((recon - x) ** 2).mean()
        return {"loss": l1 + mse, "l1": l1, "mse": mse}

    history = fit(model, step, train, log)
    tid = tokenizer_id("video", {"config": cfg.to_dict(), "extra": {}}, model.state_dict())
    return VideoClipTokenizer(model, cfg, tid), history


def evaluate_video(tok: VideoClipTokenizer, folders: list[Path]) -> dict:
    """Reconstruction quality on held-out clips: rgb PSNR (dB, uint8), depth AbsRel (valid px, gt ≥ 0.05),
    FSQ codebook usage, and tokenization throughput (clips/s, encode only) per modality."""
    c = tok.cfg
    psnrs, absrels, tokens, speed = [], [], [], {}
    for modality in ("rgb", "depth"):
        clips = [read_clip(f, modalities=(modality,)) for f in folders]
        arrays = [getattr(cl, modality) for cl in clips if getattr(cl, modality) is not None]
        if not arrays:
            continue
        t = time.time()
        tok_arr = tok.tokenize(modality, arrays)
        speed[f"{modality}_clips_per_s"] = len(arrays) / (time.time() - t)
        tokens.append(tok_arr)
        recon = tok.detokenize(modality, tok_arr)
        for a, r in zip(arrays, recon):
            if modality == "rgb":
                gt = V.video_to_rgb(V.rgb_to_video(a, c.frames, c.fps, c.resolution))
                psnrs.append(V.psnr(r, gt))
            else:
                vid, valid = V.depth_to_video(a, c.frames, c.fps, c.resolution)
                absrels.append(V.abs_rel(r, V.video_to_depth(vid), valid))
    usage = codebook_usage(np.concatenate(tokens), c.vocab_size) if tokens else {}
    return {"rgb_psnr_db": float(np.mean(psnrs)) if psnrs else None,
            "depth_absrel": float(np.nanmean(absrels)) if absrels else None,
            "clips_rgb": len(psnrs), "clips_depth": len(absrels), **{f"fsq_{k}": v for k, v in usage.items()}, **speed}
