"""TorchScript encoder/decoder: export ours, load Cosmos' official ``encoder.jit`` / ``decoder.jit``.

The official Cosmos checkpoints (e.g. ``Cosmos-0.1-Tokenizer-DV4x8x8``) are plain TorchScript files that
Cosmos itself loads with nothing but ``torch.jit.load``: ``encoder.jit``
maps video (B,3,T,H,W) in [-1,1] to ``(indices, codes, loss)`` and ``decoder.jit`` maps indices
(B,t,h,w) to video. :func:`export_jit` writes our model in the same contract, so one loader
(:class:`JitVideoTokenizer`) serves both; tests run it on our export and on files exported by Cosmos' own code.
To fine-tune official weights instead, ``cosmos.py`` converts the files' parameters into our modules.
"""
from __future__ import annotations

import os
import warnings
from pathlib import Path

import torch
from torch import nn

from egom2p import io

from .model import VideoTokenizer


class _EncoderExport(nn.Module):
    def __init__(self, model: VideoTokenizer):
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor):
        codes, indices = self.model.quantize(x)
        return indices, codes, torch.zeros((), dtype=x.dtype)


class _DecoderExport(nn.Module):
    def __init__(self, model: VideoTokenizer):
        super().__init__()
        self.model = model

    def forward(self, indices: torch.Tensor):
        return self.model.decode(indices)


def export_jit(model: VideoTokenizer, folder: str | os.PathLike, example: torch.Tensor) -> Path:
    """Trace ``model`` at the shape of ``example`` (B,3,T,H,W); save ``encoder.jit``, ``decoder.jit``, ``config.json``.

    Traced graphs are specialized to the example's shape (the FSQ reshapes with Python ints).
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    model = model.eval()
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        enc = torch.jit.trace(_EncoderExport(model), example)
        indices = enc(example)[0]
        dec = torch.jit.trace(_DecoderExport(model), indices)
        enc.save(str(folder / "encoder.jit"))
        dec.save(str(folder / "decoder.jit"))
    # clip geometry for the loader (Cosmos folders have none; the loader then takes the preset's spec)
    io.write_json(folder / "config.json", {"kind": "video-jit", "config": model.cfg.to_dict()})
    return folder


class JitVideoTokenizer(nn.Module):
    """``encode``/``decode`` over TorchScript ``encoder.jit`` / ``decoder.jit`` in ``folder``.

    encode: (B,3,T,H,W) in [-1,1] → (indices (B,t,h,w) int64, codes (B,6,t,h,w));
    decode: indices (B,t,h,w) → (B,3,T,H,W). ``dtype`` casts the modules (Cosmos ships bf16 weights).
    """

    def __init__(self, folder: str | os.PathLike, device: str = "cpu", dtype: torch.dtype = torch.float32):
        super().__init__()
        folder = Path(folder)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.encoder = torch.jit.load(str(folder / "encoder.jit"), map_location=device).eval().to(dtype)
            self.decoder = torch.jit.load(str(folder / "decoder.jit"), map_location=device).eval().to(dtype)
        self.dtype = dtype

    @torch.no_grad()
    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        out = self.encoder(x.to(self.dtype))
        return out[0].long(), out[1]

    @torch.no_grad()
    def decode(self, indices: torch.Tensor) -> torch.Tensor:
        return self.decoder(indices).float()
