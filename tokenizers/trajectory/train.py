"""Train and evaluate a trajectory VQ-VAE (gaze or camera) on canonical clips."""
from __future__ import annotations

import time
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from egom2p.clip import read_clip

from ..api import TrajectoryClipTokenizer
from ..artifacts import tokenizer_id
from ..training import TokenizerTrainConfig, codebook_usage, fit
from . import features as F
from .codecs import codec_for
from .model import TrajectoryConfig, TrajectoryVQVAE


def load_arrays(folders: list[Path], modality: str) -> list[np.ndarray]:
    """The ``modality`` array of every clip that has it, e.g. gaze (60,2) or camera (60,4,4)."""
    out = []
    for f in folders:
        a = getattr(read_clip(f, modalities=(modality,), decode_video=False), modality)
        if a is not None:
            out.append(a)
    return out


def clip_features(arrays, modality: str, norm: F.Normalizer) -> tuple[np.ndarray, np.ndarray]:
    """Clip arrays (N × (60, *sample_shape)) → (normalized features (N, 60, C) float32, valid mask (N, 60)
    bool); invalid frames are 0 (what the tokenizer sees)."""
    codec = codec_for(modality)
    fx = [codec.encode(a) for a in arrays]
    x = np.stack([np.where(v[:, None], norm(f), 0.0).astype(np.float32) for f, v in fx])
    return x, np.stack([v for _, v in fx])


def _augmented_batch(raw: np.ndarray, modality: str, idx: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Clips ``raw[idx]`` with augmentation: time reversal, then the codec's own (camera: re-anchored at the
    new first frame + small random conjugating rotations; gaze: x-flip)."""
    batch = raw[idx].copy()
    rev = rng.random(len(batch)) < 0.5
    batch[rev] = batch[rev][:, ::-1]
    return codec_for(modality).augment(batch, rev, rng)


def train_trajectory_tokenizer(arrays: list[np.ndarray] | np.ndarray, cfg: TrajectoryConfig,
                               train: TokenizerTrainConfig, log: Callable[[str], None] = print, augment: bool = True
                               ) -> tuple[TrajectoryClipTokenizer, list[dict]]:
    """Fit normalization stats on ``arrays`` (codecs that ``fit``: z-norm of the features, e.g. camera's 9D;
    gaze: fixed mean/std 0.5), then train the VQ-VAE with masked MSE + commitment loss.

    ``augment`` (for few curated clips; codecs without augmentation ignore it): time reversal, gaze x-flip,
    camera small random conjugating rotations, drawn per batch. Without it (plenty of clips, e.g. motion-sampled) the features are
    computed once and batches are plain random draws, which is several times faster per step."""
    torch.manual_seed(train.seed)
    model = TrajectoryVQVAE(cfg)
    raw = np.stack(arrays).astype(np.float64)
    codec = codec_for(cfg.modality)
    augment = augment and codec.augment is not None
    norm = F.Normalizer.identity(cfg.in_channels)
    if codec.fit:
        feats = [codec.encode(a) for a in raw]
        norm = F.Normalizer.fit(np.stack([f for f, _ in feats]), np.stack([v for _, v in feats]),
                                compand=codec.compand(cfg))
    if not augment:
        all_x, all_m = (torch.from_numpy(a) for a in clip_features(raw, cfg.modality, norm))

    def step(rng: np.random.Generator) -> dict:
        idx = rng.integers(0, len(raw), size=train.batch_size)
        if augment:
            x, m = (torch.from_numpy(a) for a in clip_features(_augmented_batch(raw, cfg.modality, idx, rng),
                                                               cfg.modality, norm))
        else:
            x, m = all_x[idx], all_m[idx]
        out = model(x, m)
        return {k: out[k] for k in ("loss", "mse", "commit")}

    history = fit(model, step, train, log)
    extra = {"normalizer": norm.to_dict()}
    tid = tokenizer_id("trajectory", {"config": cfg.to_dict(), "extra": extra}, model.state_dict())
    return TrajectoryClipTokenizer(model, norm, tid), history


def evaluate_trajectory(tok: TrajectoryClipTokenizer, arrays: list[np.ndarray]) -> dict:
    """Held-out reconstruction by the codec (gaze mean error as a fraction of the width over valid samples;
    camera ATE (m, RMSE of positions relative to frame 0) and mean rotation error (deg); a vector's RMSE),
    codebook usage, throughput (clips/s)."""
    if not arrays:
        return {"clips": 0}
    modality = tok.cfg.modality
    codec = codec_for(modality)
    t = time.time()
    tokens = tok.tokenize(modality, arrays)
    speed = len(arrays) / (time.time() - t)
    recon = tok.detokenize(modality, tokens)
    out = {"clips": len(arrays), f"{modality}_clips_per_s": speed,
           **{f"vq_{k}": v for k, v in codebook_usage(tokens, tok.cfg.codebook_size).items()}}
    return {**out, **codec.errors(modality, recon, arrays)}
