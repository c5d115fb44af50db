"""Clip-level tokenizers: canonical clip arrays ↔ token arrays of the registry shape.

``VideoClipTokenizer`` serves every video modality (rgb and depth: one Cosmos-style tokenizer, native
weights or TorchScript; color frames vs a scalar map by the registry row's ``value``),
``TrajectoryClipTokenizer`` one trajectory modality (gaze, camera, …: features by the row's ``value``,
``trajectory/codecs.py``). Both expose

    tokenize(modality, arrays: list[np.ndarray]) -> np.ndarray (N, *token_shape) int64
    detokenize(modality, tokens)                 -> list of clip-like arrays at tokenizer rate/size
    tokenizer_id                                  str, hash of config + weights (artifacts.py)
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch

from egom2p import modalities as M

from . import artifacts
from .trajectory import codecs
from .trajectory import features as F
from .trajectory.model import TrajectoryConfig, TrajectoryVQVAE
from .video import data as V
from .video.model import VideoTokenizer, VideoTokenizerConfig

VIDEO_KIND, TRAJECTORY_KIND, JIT_KIND = "video", "trajectory", "video-jit"


def _is_color(modality: str) -> bool:
    return M.get(modality).value == "color"


def resolve_device(device: str = "auto") -> str:
    """``auto`` → ``cuda`` when a GPU is visible, else ``cpu``; anything else as given."""
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return device


def _autocast(device: str):
    """bf16 autocast on a GPU (encoders run their convolutions/attention in bf16 there), a no-op on CPU."""
    return torch.autocast("cuda", dtype=torch.bfloat16, enabled=device.startswith("cuda"))


class _OnDevice:
    """``to(device)``: move the model (``auto`` resolved) and encode there (bf16 autocast on CUDA)."""
    device = "cpu"

    def to(self, device: str = "auto"):
        self.device = resolve_device(device)
        if hasattr(self.model, "to"):
            self.model.to(self.device)
        return self


class VideoClipTokenizer(_OnDevice):
    """Video clips (color (60, S, S, 3) uint8 or a (60, S, S) map in [0, 1]) ↔ (t, h, w) tokens. ``model`` is
    a :class:`VideoTokenizer` or a JIT wrapper."""

    def __init__(self, model, cfg: VideoTokenizerConfig, tokenizer_id: str, batch_size: int = 4):
        self.model, self.cfg, self.tokenizer_id, self.batch_size = model, cfg, tokenizer_id, batch_size
        if isinstance(model, torch.nn.Module):
            model.eval()

    @property
    def modalities(self) -> tuple[str, ...]:
        return tuple(m.name for m in M.rows(kind="video"))

    def to_video(self, modality: str, array: np.ndarray) -> np.ndarray:
        """Canonical clip array → (3, frames, side, side) in [-1, 1]."""
        c = self.cfg
        if _is_color(modality):
            return V.rgb_to_video(array, c.frames, c.fps, c.resolution)
        return V.depth_to_video(array, c.frames, c.fps, c.resolution)[0]

    @torch.no_grad()
    def encode_videos(self, videos: np.ndarray) -> np.ndarray:
        """(N, 3, frames, S, S) in [-1,1] → (N, t, h, w) int64 (time padded to the causal length)."""
        out = []
        for i in range(0, len(videos), self.batch_size):
            x = V.pad_time(torch.from_numpy(np.ascontiguousarray(videos[i:i + self.batch_size])), self.cfg.input_frames)
            with _autocast(self.device):
                out.append(self.model.encode(x.to(self.device))[0].cpu().numpy())
        return np.concatenate(out).astype(np.int64)

    @torch.no_grad()
    def decode_videos(self, tokens: np.ndarray) -> np.ndarray:
        """(N, t, h, w) → (N, 3, frames, S, S) in [-1,1] (the causal padding frame dropped)."""
        out = []
        for i in range(0, len(tokens), self.batch_size):
            v = self.model.decode(torch.from_numpy(np.asarray(tokens[i:i + self.batch_size], np.int64)).to(self.device))
            out.append(v[:, :, :self.cfg.frames].float().clamp(-1, 1).cpu().numpy())
        return np.concatenate(out)

    def tokenize(self, modality: str, arrays: list[np.ndarray]) -> np.ndarray:
        return self.encode_videos(np.stack([self.to_video(modality, a) for a in arrays]))

    def detokenize(self, modality: str, tokens: np.ndarray) -> list[np.ndarray]:
        """color → (frames, S, S, 3) uint8; a map (depth) → (frames, S, S) in [0, 1]."""
        videos = self.decode_videos(tokens)
        return [V.video_to_rgb(v) if _is_color(modality) else V.video_to_depth(v) for v in videos]

    def save(self, folder: str | os.PathLike, metrics: dict | None = None) -> str:
        self.tokenizer_id = artifacts.save_artifact(folder, VIDEO_KIND, self.cfg.to_dict(), self.model.state_dict(),
                                                    metrics=metrics)
        return self.tokenizer_id


class TrajectoryClipTokenizer(_OnDevice):
    """Clips of one trajectory modality (gaze (60, 2), camera (60, 4, 4), …) ↔ (30,) tokens."""

    def __init__(self, model: TrajectoryVQVAE, normalizer: F.Normalizer, tokenizer_id: str):
        self.model, self.normalizer, self.tokenizer_id = model.eval(), normalizer, tokenizer_id
        self.cfg = model.cfg
        self.modalities = (self.cfg.modality,)

    def features(self, array: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Clip array → (normalized features (60, C), valid mask (60,))."""
        x, valid = codecs.codec_for(self.cfg.modality).encode(array)
        return np.where(valid[:, None], self.normalizer(x), 0.0).astype(np.float32), valid

    @torch.no_grad()
    def tokenize(self, modality: str, arrays: list[np.ndarray]) -> np.ndarray:
        x = torch.from_numpy(np.stack([self.features(a)[0] for a in arrays])).to(self.device)
        with _autocast(self.device):
            return self.model.encode(x).cpu().numpy().astype(np.int64)

    @torch.no_grad()
    def detokenize(self, modality: str, tokens: np.ndarray) -> list[np.ndarray]:
        x = self.normalizer.inverse(self.model.decode(torch.from_numpy(np.asarray(tokens, np.int64)).to(self.device))
                                    .float().cpu().numpy())
        return [codecs.decode(self.cfg.modality, a) for a in x]

    def save(self, folder: str | os.PathLike, metrics: dict | None = None) -> str:
        extra = {"normalizer": self.normalizer.to_dict()}
        self.tokenizer_id = artifacts.save_artifact(folder, TRAJECTORY_KIND, self.cfg.to_dict(),
                                                    self.model.state_dict(), extra=extra, metrics=metrics)
        return self.tokenizer_id


def load_tokenizer(folder: str | os.PathLike, device: str = "cpu"):
    """Load a saved tokenizer folder (ours: config.json + weights.safetensors; Cosmos: *.jit + config.json)."""
    folder = Path(folder)
    if (folder / "encoder.jit").exists() and not (folder / artifacts.WEIGHTS).exists():
        return load_jit_tokenizer(folder, device=device)
    meta, state = artifacts.load_artifact(folder)
    if meta["kind"] == VIDEO_KIND:
        cfg = VideoTokenizerConfig.from_dict(meta["config"])
        model = VideoTokenizer(cfg)
        model.load_state_dict(state)
        return VideoClipTokenizer(model, cfg, meta["tokenizer_id"])
    if meta["kind"] == TRAJECTORY_KIND:
        cfg = TrajectoryConfig.from_dict(meta["config"])
        model = TrajectoryVQVAE(cfg)
        model.load_state_dict(state)
        return TrajectoryClipTokenizer(model, F.Normalizer.from_dict(meta["extra"]["normalizer"]), meta["tokenizer_id"])
    raise ValueError(f"{folder}: unknown tokenizer kind {meta['kind']!r}")


def load_jit_tokenizer(folder: str | os.PathLike, cfg: VideoTokenizerConfig | None = None, device: str = "cpu",
                       dtype: torch.dtype = torch.float32) -> VideoClipTokenizer:
    """Cosmos' official ``encoder.jit``/``decoder.jit`` (or our export) as a clip tokenizer.

    ``cfg`` (resolution, frames, fps, compression) comes from ``config.json`` in the folder when present,
    else the argument, else the paper preset's DV4x8x8 spec.
    """
    from egom2p.presets import PAPER
    from .video.jit import JitVideoTokenizer
    folder = Path(folder)
    if cfg is None:
        cfg_file = folder / artifacts.CONFIG
        if cfg_file.exists():
            import json
            cfg = VideoTokenizerConfig.from_dict(json.loads(cfg_file.read_text())["config"])
        else:
            cfg = VideoTokenizerConfig.from_spec(PAPER.video)
    tid = artifacts.files_tokenizer_id(JIT_KIND, cfg.to_dict(), folder / "encoder.jit", folder / "decoder.jit")
    return VideoClipTokenizer(JitVideoTokenizer(folder, device=device, dtype=dtype), cfg, tid)
