"""The annotator contract, RollingDepth's presets and the frozen, resolved annotator config.

Contract: an annotator is built once per ``depth_labels`` run from :class:`AnnotatorSettings` and then
called once per run of consecutive clips without ground truth (normally a whole *sequence*) with their
``rgb.mp4`` files in time order::

    labels = annotator([clip0/rgb.mp4, clip1/rgb.mp4, ...])   # -> [(60, S, S) float32, ...]

Every returned array is **relative inverse depth** (``kind = "relative_inverse_depth"``): affine-
invariant inverse depth (``a · label + b ≈ 1 / z`` with one unknown a > 0, b for the whole list, i.e. the
whole run), larger = nearer, in [0, 1] (the co-aligned video is min–max normalised over the run; refinement
and resizing keep it inside), NaN where unknown. It is *not* metric: ``depth_labels`` stores it as
``inv_depth_rel.mkv`` (never ``depth_m.mkv``) and ``normalized_clips`` applies the per-sequence percentile
normalization to it directly (no reciprocal).
"""
from __future__ import annotations

import contextlib
import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, Sequence

import numpy as np

METRIC_DEPTH = "metric_depth"                  # z-depth in metres (ground truth)
RELATIVE_INVERSE_DEPTH = "relative_inverse_depth"  # affine-invariant inverse depth in [0, 1] (annotators)
CHECKPOINT_ENV = "EGOM2P_DEPTH_CHECKPOINT"


class AnnotatorUnavailable(RuntimeError):
    """The annotator cannot run here (package not installed, no weights, no such device); says why."""


class DepthAnnotator(Protocol):
    name: str
    kind: str

    def __call__(self, rgb_paths: Sequence[Path]) -> list[np.ndarray]:
        """One (60, S, S) float32 relative-inverse-depth array in [0, 1] per clip (see module doc)."""

    def describe(self) -> dict:
        """JSON-able settings recorded into each clip's meta and the asset metadata."""


@dataclass(frozen=True)
class RollingPreset:
    """One of RollingDepth's ``run_video.py`` presets (snippet length 3 and refinement snippet 3 / start
    dilation 6 in all of them)."""
    processing_resolution: int          # longest edge the frames are resized to, pixels
    dilations: tuple[int, ...]          # snippet dilations (frame spacing inside a snippet)
    refine_steps: int                   # 0 = no refinement
    dtype: str                          # fp16 | fp32 (on a GPU)
    cap_dilation: bool                  # cap each dilation at int(N / snippet_length) - 1
    snippet_length: int = 3
    refine_snippet_length: int = 3
    refine_start_dilation: int = 6


PRESETS = {
    "fast": RollingPreset(768, (1, 25), 0, "fp16", True),
    "fast1024": RollingPreset(1024, (1, 25), 0, "fp16", True),
    "full": RollingPreset(1024, (1, 10, 25), 10, "fp16", True),
    "paper": RollingPreset(768, (1, 10, 25), 10, "fp32", False),
}


@dataclass(frozen=True)
class CoalignConfig:
    """Depth co-alignment (RollingDepth §3.3): one scale and shift per snippet, fitted jointly.

    factor: spatial subsampling of the snippets for the fit · border: pixels cropped on each side for the
    fit · iterations, lr, betas: Adam · depth_loss_weight: weight of the L1 term in depth (reciprocal)
    space · lambda_scale: weight of mean(max(0, 1 − s)²) · lambda_shift: weight of mean(t²) · eps: floor
    of inverse depth before the reciprocal.
    """
    factor: int = 10
    border: int = 2
    iterations: int = 2000
    lr: float = 1e-3
    betas: tuple[float, float] = (0.5, 0.9)
    depth_loss_weight: float = 1.0
    lambda_scale: float = 0.1
    lambda_shift: float = 10.0
    eps: float = 1e-3


@dataclass(frozen=True)
class AnnotatorSettings:
    """User-facing annotator settings (the ``curation`` resource); 0 / -1 / () = take the preset's value.

    checkpoint: local folder of the weights ('' = ``$EGOM2P_DEPTH_CHECKPOINT``) · preset: fast |
    fast1024 | full | paper · device: auto (CUDA when available, else CPU) | cpu | cuda | cuda:N ·
    dtype: auto (the preset's on a GPU, fp32 on CPU) | fp16 | fp32 · processing_resolution: longest edge,
    pixels · dilations, refine_steps: as the preset · denoising_steps: per snippet (RollingDepth: 1) ·
    coalign_iterations / coalign_factor: co-alignment Adam iterations / subsampling · batch_snippets:
    snippets per UNet batch · cpu_threads: torch threads while annotating (0 = leave as is) · seed.
    """
    checkpoint: str = ""
    preset: str = "fast"
    device: str = "auto"
    dtype: str = "auto"
    processing_resolution: int = 0
    dilations: tuple[int, ...] = ()
    refine_steps: int = -1
    denoising_steps: int = 1
    coalign_iterations: int = 2000
    coalign_factor: int = 10
    batch_snippets: int = 8
    cpu_threads: int = 0
    seed: int = 0

    def checkpoint_path(self) -> str:
        return self.checkpoint or os.environ.get(CHECKPOINT_ENV, "")


@dataclass(frozen=True)
class RollingConfig:
    """Fully resolved settings of a RollingDepth-style run (saved with every output)."""
    checkpoint: str
    preset: str
    device: str
    dtype: str
    processing_resolution: int
    dilations: tuple[int, ...]
    snippet_length: int
    cap_dilation: bool
    denoising_steps: int
    refine_steps: int
    refine_snippet_length: int
    refine_start_dilation: int
    batch_snippets: int
    cpu_threads: int
    seed: int
    coalign: CoalignConfig = field(default_factory=CoalignConfig)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def resolve_device(device: str) -> str:
    """``auto`` → ``cuda`` when torch sees a GPU, else ``cpu``; an unavailable CUDA device raises."""
    import torch
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise AnnotatorUnavailable(f"depth annotator device {device!r} requested but torch sees no CUDA GPU "
                                   f"(torch {torch.__version__}); use device='auto' or 'cpu'")
    return device


def resolve(settings: AnnotatorSettings) -> RollingConfig:
    """Apply the preset, then the explicit overrides (explicit values win, as in ``run_video.py``)."""
    if settings.preset not in PRESETS:
        raise ValueError(f"unknown RollingDepth preset {settings.preset!r}; known: {sorted(PRESETS)}")
    p = PRESETS[settings.preset]
    device = resolve_device(settings.device)
    dtype = settings.dtype if settings.dtype != "auto" else (p.dtype if device.startswith("cuda") else "fp32")
    if dtype not in ("fp16", "fp32"):
        raise ValueError(f"dtype must be auto, fp16 or fp32, got {settings.dtype!r}")
    dilations = tuple(int(d) for d in (settings.dilations or p.dilations))
    if 1 not in dilations:
        raise ValueError(f"dilations must include 1 (every frame in a snippet), got {dilations}")
    return RollingConfig(
        checkpoint=settings.checkpoint_path(), preset=settings.preset, device=device, dtype=dtype,
        processing_resolution=settings.processing_resolution or p.processing_resolution, dilations=dilations,
        snippet_length=p.snippet_length, cap_dilation=p.cap_dilation, denoising_steps=settings.denoising_steps,
        refine_steps=p.refine_steps if settings.refine_steps < 0 else settings.refine_steps,
        refine_snippet_length=p.refine_snippet_length, refine_start_dilation=p.refine_start_dilation,
        batch_snippets=settings.batch_snippets, cpu_threads=settings.cpu_threads, seed=settings.seed,
        coalign=CoalignConfig(iterations=settings.coalign_iterations, factor=settings.coalign_factor))


def require_checkpoint(path: str, name: str) -> Path:
    """The local checkpoint folder, or AnnotatorUnavailable saying how to provide one."""
    if not path:
        raise AnnotatorUnavailable(f"depth annotator {name!r} needs local weights: set the curation resource's "
                                   f"depth_checkpoint or ${CHECKPOINT_ENV} to a checkpoint folder "
                                   "(e.g. a download of prs-eth/rollingdepth-v1-0)")
    p = Path(path).expanduser()
    if not (p / "model_index.json").is_file():
        raise AnnotatorUnavailable(f"depth annotator {name!r}: {p} is not a diffusers checkpoint folder "
                                   "(no model_index.json)")
    return p


def read_sequence_frames(rgb_paths: Sequence[Path]) -> tuple[np.ndarray, list[int]]:
    """Decode and concatenate clips: (N, S, S, 3) uint8 frames and the frame count of each clip."""
    from egom2p.video import read_video
    clips = [read_video(p) for p in rgb_paths]
    return np.concatenate(clips), [len(c) for c in clips]


def split_frames(values: np.ndarray, counts: Sequence[int]) -> list[np.ndarray]:
    """(N, ...) → one array per clip with ``counts`` frames each."""
    return np.split(np.asarray(values, np.float32), np.cumsum(counts)[:-1])


def minmax01(x: np.ndarray) -> np.ndarray:
    """Min–max normalise to [0, 1] over the whole array (constant input → zeros)."""
    x = np.asarray(x, np.float64)
    lo, hi = np.nanmin(x), np.nanmax(x)
    return ((x - lo) / (hi - lo) if hi > lo else np.zeros_like(x)).astype(np.float32)


@contextlib.contextmanager
def torch_threads(n: int):
    """Set torch's intra-op threads to ``n`` for the block (0 = leave unchanged)."""
    import torch
    old = torch.get_num_threads()
    if n > 0:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(old)
