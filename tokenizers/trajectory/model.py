"""Trajectory VQ-VAE: 60 per-frame vectors → 30 tokens from a 256-code cosine VQ.

Encoder: Conv1d(C → dim, kernel = stride = 2) → + fixed 1D sin-cos positions → pre-LN Transformer
(``depth`` × ``dim``, ``heads``, GELU) → LayerNorm → Linear + Tanh (post-MLP) → Linear(dim → latent 32).
Quantizer: vector-quantize-pytorch ``VectorQuantize`` with cosine similarity (l2-normalized codes), EMA
codebook (decay 0.99), dead-code replacement from the batch, commitment loss.
Decoder (mirror): Linear(latent → dim) → + positions → Transformer → Linear(dim → 2·C) un-patchified back
to 60 frames. Loss: masked MSE (invalid gaze frames do not count) + commitment (the EMA update replaces
the codebook loss term).
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import torch
from torch import nn
from vector_quantize_pytorch import VectorQuantize

from egom2p.presets import CLIP_FRAMES, TrajectoryTokenizerSpec


@dataclass(frozen=True)
class TrajectoryConfig:
    """Network config; saved as JSON with the weights."""
    modality: str = ""          # registry name of the modality it tokenizes
    in_channels: int = 2        # feature channels (``codecs.feature_dims``)
    frames: int = CLIP_FRAMES
    dim: int = 128
    depth: int = 2
    heads: int = 4
    mlp_ratio: float = 4.0
    latent_dim: int = 32
    codebook_size: int = 256
    temporal_compression: int = 2
    ema_decay: float = 0.99
    dead_code_threshold: float = 2.0
    commitment_weight: float = 1.0
    compand_m: float = 0.0  # camera: translation companding scale (m) of the features; 0 = linear (the paper)

    @classmethod
    def from_spec(cls, spec: TrajectoryTokenizerSpec, modality: str, in_channels: int = 0) -> "TrajectoryConfig":
        """The preset's sizes for ``modality``; ``in_channels`` 0 = its codec's feature channels."""
        from .codecs import feature_dims
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(modality=modality, in_channels=in_channels or feature_dims(modality),
                   **{k: v for k, v in dataclasses.asdict(spec).items() if k in names})

    @classmethod
    def from_dict(cls, d: dict) -> "TrajectoryConfig":
        return cls(**{k: v for k, v in d.items() if k in {f.name for f in dataclasses.fields(cls)}})

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @property
    def tokens(self) -> int:
        return self.frames // self.temporal_compression


def sincos_1d(n: int, dim: int) -> torch.Tensor:
    """(n, dim) fixed sin-cos positional table."""
    pos = torch.arange(n, dtype=torch.float32)[:, None]
    freq = torch.exp(-math.log(10000.0) * torch.arange(0, dim, 2, dtype=torch.float32) / dim)
    table = torch.zeros(n, dim)
    table[:, 0::2], table[:, 1::2] = torch.sin(pos * freq), torch.cos(pos * freq)
    return table


def _transformer(cfg: TrajectoryConfig) -> nn.TransformerEncoder:
    layer = nn.TransformerEncoderLayer(cfg.dim, cfg.heads, int(cfg.dim * cfg.mlp_ratio), dropout=0.0,
                                       activation="gelu", batch_first=True, norm_first=True)
    return nn.TransformerEncoder(layer, cfg.depth, enable_nested_tensor=False)


class TrajectoryVQVAE(nn.Module):
    """x (B, 60, C) normalized features → indices (B, 30) int64 in [0, 256) → x̂ (B, 60, C)."""

    def __init__(self, cfg: TrajectoryConfig):
        super().__init__()
        self.cfg = cfg
        n = cfg.tokens
        self.patch = nn.Conv1d(cfg.in_channels, cfg.dim, cfg.temporal_compression, stride=cfg.temporal_compression)
        self.register_buffer("pos", sincos_1d(n, cfg.dim), persistent=False)
        self.enc = _transformer(cfg)
        self.enc_out = nn.Sequential(nn.LayerNorm(cfg.dim), nn.Linear(cfg.dim, cfg.dim), nn.Tanh(),
                                     nn.Linear(cfg.dim, cfg.latent_dim))
        # rotation_trick off: the paper's quantizer (VectorQuantizerLucid) uses the plain straight-through estimator.
        self.vq = VectorQuantize(dim=cfg.latent_dim, codebook_size=cfg.codebook_size, use_cosine_sim=True,
                                 decay=cfg.ema_decay, commitment_weight=cfg.commitment_weight,
                                 threshold_ema_dead_code=cfg.dead_code_threshold, kmeans_init=False,
                                 rotation_trick=False)
        self.dec_in = nn.Linear(cfg.latent_dim, cfg.dim)
        self.dec = _transformer(cfg)
        self.dec_out = nn.Sequential(nn.LayerNorm(cfg.dim), nn.Linear(cfg.dim, cfg.in_channels * cfg.temporal_compression))

    def _latent(self, x: torch.Tensor) -> torch.Tensor:
        h = self.patch(x.transpose(1, 2)).transpose(1, 2) + self.pos
        return self.enc_out(self.enc(h))

    def _decode_latent(self, q: torch.Tensor) -> torch.Tensor:
        h = self.dec(self.dec_in(q) + self.pos)
        return self.dec_out(h).reshape(q.shape[0], self.cfg.frames, self.cfg.in_channels)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 60, C) → indices (B, 30) int64."""
        _, indices, _ = self.vq(self._latent(x))
        return indices.long()

    def decode(self, indices: torch.Tensor) -> torch.Tensor:
        """(B, 30) indices → (B, 60, C) normalized features."""
        return self._decode_latent(self.vq.get_output_from_indices(indices.long()))

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        """Training pass. x (B,60,C), mask (B,60) bool (True = valid) → dict(loss, mse, commit, recon, indices)."""
        q, indices, commit = self.vq(self._latent(x))
        recon = self._decode_latent(q)
        err = ((recon - x) ** 2).mean(-1)
        m = torch.ones_like(err) if mask is None else mask.to(err.dtype)
        mse = (err * m).sum() / m.sum().clamp(min=1.0)
        commit = commit.sum()
        return {"loss": mse + commit, "mse": mse, "commit": commit, "recon": recon, "indices": indices}
