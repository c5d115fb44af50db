"""``rollingdepth``: the authors' ``rollingdepth`` package (github.com/prs-eth/RollingDepth), when installed.

It is not on PyPI and has no packaging metadata. Install (see docs/data-engineer.md, "Depth pseudo-labels")::

    git clone https://github.com/prs-eth/RollingDepth && export PYTHONPATH=$PWD/RollingDepth:$PYTHONPATH
    # weights: a local copy of the HF repo prs-eth/rollingdepth-v1-0 (model_index.json, unet/, vae/, …)

RollingDepth's own install replaces diffusers by a patched 0.30 whose UNet takes ``num_view``; with the
project's stock diffusers the UNet is wrapped instead (:class:`NumViewUNet`: ``num_view`` → the cross-frame
processor of ``attention.py``), so both installs work. Presets map to ``RollingDepthPipeline.forward``
arguments by :func:`forward_kwargs` (unit-tested without the package). A GPU is used when there is one;
the class raises :class:`AnnotatorUnavailable` with the reason when it cannot run.
"""
from __future__ import annotations

import inspect
import logging
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from .base import (RELATIVE_INVERSE_DEPTH, AnnotatorSettings, AnnotatorUnavailable, RollingConfig,
                   read_sequence_frames, require_checkpoint, resolve, split_frames, torch_threads)

INSTALL_HINT = ("the `rollingdepth` package is not importable: it is not on PyPI; clone "
                "https://github.com/prs-eth/RollingDepth and put the clone on PYTHONPATH (its requirements: "
                "einops, omegaconf, pyav), or use the annotator 'marigold-rolling' (same algorithm on stock diffusers)")
log = logging.getLogger(__name__)


def forward_kwargs(cfg: RollingConfig) -> dict:
    """``RollingDepthPipeline.forward`` keyword arguments (besides ``input_frames`` and ``generator``)."""
    c = cfg.coalign
    return {"dilations": list(cfg.dilations), "cap_dilation": cfg.cap_dilation,
            "snippet_lengths": [cfg.snippet_length], "init_infer_steps": [cfg.denoising_steps], "strides": [1],
            "coalign_kwargs": {"factor": c.factor, "border": c.border, "num_iterations": c.iterations, "lr": c.lr,
                               "depth_loss_weight": c.depth_loss_weight, "lmda2": c.lambda_scale,
                               "lmda3": c.lambda_shift},
            "refine_step": cfg.refine_steps, "refine_snippet_len": cfg.refine_snippet_length,
            "refine_start_dilation": cfg.refine_start_dilation, "verbose": False,
            "max_vae_bs": max(1, cfg.batch_snippets), "unload_snippet": False}


def resize_longest_edge(frames: torch.Tensor, size: int) -> torch.Tensor:
    """(N, 3, H, W) → longest edge ``size`` (RollingDepth truncates the other edge with int()); 0 = as is."""
    if size <= 0:
        return frames
    h, w = frames.shape[-2:]
    scale = size / max(h, w)
    return torch.nn.functional.interpolate(frames, size=(int(h * scale), int(w * scale)), mode="bilinear",
                                           align_corners=False, antialias=True)


class NumViewUNet(torch.nn.Module):
    """Stock ``UNet2DConditionModel`` called the way RollingDepth's patched diffusers is: ``num_view=n``."""

    def __init__(self, unet):
        super().__init__()
        self.unet = unet

    def __getattr__(self, name):  # config, dtype, device … of the wrapped UNet
        try:
            return super().__getattr__(name)
        except AttributeError:
            return getattr(self.unet, name)

    def forward(self, sample, timestep, encoder_hidden_states=None, num_view: int = 1, **kwargs):
        kwargs["cross_attention_kwargs"] = {**(kwargs.get("cross_attention_kwargs") or {}), "num_view": num_view}
        return self.unet(sample, timestep, encoder_hidden_states=encoder_hidden_states, **kwargs)


def _needs_adapter(unet) -> bool:
    return "num_view" not in inspect.signature(type(unet).forward).parameters


class RollingDepthAnnotator:
    """Annotator ``rollingdepth`` (contract in ``base.py``)."""
    name = "rollingdepth"
    kind = RELATIVE_INVERSE_DEPTH

    def __init__(self, settings: AnnotatorSettings):
        try:
            from rollingdepth import RollingDepthPipeline
        except ImportError as e:
            raise AnnotatorUnavailable(f"{INSTALL_HINT} ({e})") from None
        self.cfg = resolve(settings)
        path = require_checkpoint(self.cfg.checkpoint, self.name)
        if self.cfg.device == "cpu":
            log.warning("rollingdepth: no CUDA GPU, running on CPU in fp32 (slow)")
        dtype = torch.float16 if self.cfg.dtype == "fp16" else torch.float32
        pipe = RollingDepthPipeline.from_pretrained(str(path), torch_dtype=dtype)
        if _needs_adapter(pipe.unet):
            from .attention import enable_cross_frame_attention
            enable_cross_frame_attention(pipe.unet)
            object.__setattr__(pipe, "unet", NumViewUNet(pipe.unet))  # bypass config registration
        self.pipe = pipe.to(self.cfg.device)

    def describe(self) -> dict:
        return {"annotator": self.name, "kind": self.kind, **self.cfg.to_dict(),
                "forward_kwargs": forward_kwargs(self.cfg), "versions": {"torch": torch.__version__}}

    def __call__(self, rgb_paths: Sequence[Path]) -> list[np.ndarray]:
        frames, counts = read_sequence_frames(rgb_paths)
        return split_frames(self.predict(frames), counts)

    @torch.no_grad()
    def predict(self, frames: np.ndarray) -> np.ndarray:
        """(N, H, W, 3) uint8 → (N, H, W) float32 relative inverse depth in [0, 1] (output [-1, 1] → [0, 1])."""
        with torch_threads(self.cfg.cpu_threads):
            x = torch.from_numpy(np.ascontiguousarray(frames)).permute(0, 3, 1, 2).float() / 255.0 * 2 - 1
            x = resize_longest_edge(x, self.cfg.processing_resolution)
            gen = torch.Generator(self.cfg.device).manual_seed(self.cfg.seed)
            out = self.pipe.forward(input_frames=x[None].to(self.cfg.device, self.pipe.dtype), generator=gen,
                                    **forward_kwargs(self.cfg))
            depth = out.depth_pred.float().reshape(len(frames), 1, *out.depth_pred.shape[-2:])
            depth = torch.nn.functional.interpolate(depth, size=frames.shape[1:3], mode="bilinear", align_corners=False)
        return ((depth[:, 0] + 1) / 2).clamp(0, 1).cpu().numpy().astype(np.float32)
