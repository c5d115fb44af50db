"""``marigold-rolling``: RollingDepth's algorithm on diffusers' stock ``MarigoldDepthPipeline``.

Weights come from a LOCAL diffusers folder (``model_index.json`` + unet/vae/scheduler/text_encoder/
tokenizer): the RollingDepth checkpoint (``prs-eth/rollingdepth-v1-0``, which predicts inverse depth) or
any Marigold-layout checkpoint whose ``prediction_type`` is ``disparity``. Steps, for one sequence of N
frames (all clips of the sequence at once, so the whole sequence shares one affine frame):

1. frames → [-1, 1], resized so the longest edge is ``processing_resolution`` (padded to the VAE factor),
   VAE-encoded (posterior mean); one initial noise map shared by every frame;
2. per dilation d: every snippet ``i, i+d, i+2d`` (length 3) is denoised (``denoising_steps``, RollingDepth:
   1) with the three frames attending to each other (``CrossFrameAttnProcessor`` through
   ``cross_attention_kwargs={"num_view": 3}``), decoded → (n_snip, 3, H, W) inverse depth in [0, 1];
3. co-alignment (``coalign.py``) → one video, min–max normalised to [0, 1];
4. optional refinement: the co-aligned video is encoded, noised to the middle of a ``2·refine_steps``
   DDIM schedule and denoised ``refine_steps`` times over snippets whose dilation falls linearly from
   ``refine_start_dilation`` to 1, overlapping latents averaged after each step; decoded to [0, 1].
Output: (N, S, S) float32 relative inverse depth in [0, 1] (larger = nearer), resized to the input size.
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from .attention import enable_cross_frame_attention
from .base import (RELATIVE_INVERSE_DEPTH, AnnotatorSettings, AnnotatorUnavailable, minmax01, read_sequence_frames,
                   require_checkpoint, resolve, split_frames, torch_threads)
from .coalign import cap_dilation, coalign, snippet_indices, snippet_plan

SKIP_T_RATIO = 0.5  # refinement starts halfway through its schedule (RollingDepth)
DTYPES = {"fp16": torch.float16, "fp32": torch.float32}


def load_pipeline(path: Path, device: str, dtype: torch.dtype):
    """``MarigoldDepthPipeline`` from a local folder (never the network), cross-frame attention enabled."""
    from diffusers import DDIMScheduler, MarigoldDepthPipeline
    pipe = MarigoldDepthPipeline.from_pretrained(str(path), local_files_only=True, dtype=dtype)
    kind = pipe.config.get("prediction_type")
    if kind not in (None, "disparity"):
        raise AnnotatorUnavailable(f"{path}: prediction_type={kind!r}; marigold-rolling co-aligns inverse depth and "
                                   "needs a disparity model such as prs-eth/rollingdepth-v1-0 (Marigold depth "
                                   "v1-0 predicts affine-invariant depth, whose reciprocal is not affine-invariant)")
    if not isinstance(pipe.scheduler, DDIMScheduler):
        raise AnnotatorUnavailable(f"{path}: scheduler {type(pipe.scheduler).__name__}; marigold-rolling steps "
                                   "snippet batches independently and needs the stateless DDIMScheduler")
    pipe = pipe.to(device)
    pipe.set_progress_bar_config(disable=True)
    enable_cross_frame_attention(pipe.unet)
    return pipe


class MarigoldRollingAnnotator:
    """Annotator ``marigold-rolling`` (contract in ``base.py``)."""
    name = "marigold-rolling"
    kind = RELATIVE_INVERSE_DEPTH

    def __init__(self, settings: AnnotatorSettings):
        self.cfg = resolve(settings)
        self.pipe = load_pipeline(require_checkpoint(self.cfg.checkpoint, self.name), self.cfg.device,
                                  DTYPES[self.cfg.dtype])

    def describe(self) -> dict:
        import diffusers
        return {"annotator": self.name, "kind": self.kind, **self.cfg.to_dict(),
                "versions": {"diffusers": diffusers.__version__, "torch": torch.__version__}}

    def __call__(self, rgb_paths: Sequence[Path]) -> list[np.ndarray]:
        frames, counts = read_sequence_frames(rgb_paths)
        return split_frames(self.predict(frames), counts)

    # ---------------------------------------------------------------------------------------- steps
    @torch.no_grad()
    def predict(self, frames: np.ndarray) -> np.ndarray:
        """(N, H, W, 3) uint8 frames → (N, H, W) float32 relative inverse depth in [0, 1]."""
        cfg, pipe = self.cfg, self.pipe
        with torch_threads(cfg.cpu_threads):
            dev, dtype = torch.device(cfg.device), DTYPES[cfg.dtype]
            image = torch.from_numpy(np.ascontiguousarray(frames)).permute(0, 3, 1, 2).float() / 255.0
            image, padding, size = pipe.image_processor.preprocess(image, cfg.processing_resolution, "bilinear",
                                                                   dev, dtype)  # (N, 3, PPH, PPW) in [-1, 1]
            n = len(image)
            gen = torch.Generator("cpu").manual_seed(cfg.seed)
            h, w = image.shape[-2] // pipe.vae_scale_factor, image.shape[-1] // pipe.vae_scale_factor
            noise = torch.randn((1, pipe.vae.config.latent_channels, h, w), generator=gen).to(dev, dtype).expand(n, -1, -1, -1)
            rgb_latent, _ = pipe.prepare_latents(image, noise, None, 1, self._frames_per_batch())
            plan = snippet_plan(n, cfg.snippet_length, cfg.dilations, cfg.cap_dilation)
            pipe.scheduler.set_timesteps(cfg.denoising_steps, device=dev)
            snippets = [self._decode(self._denoise(rgb_latent, noise, idx, pipe.scheduler.timesteps), padding)
                        for _, idx in plan]
            merged = coalign([s.float() for s in snippets], [idx for _, idx in plan], n, cfg.coalign).depth
            depth = torch.from_numpy(minmax01(merged.cpu().numpy()))[:, None]  # (N, 1, PH, PW)
            if cfg.refine_steps > 0:
                depth = self._refine(rgb_latent, noise, depth.to(dev, dtype), padding)
            depth = pipe.image_processor.resize_antialias(depth.float(), size, "bilinear", is_aa=False)
        return depth[:, 0].clamp(0, 1).cpu().numpy().astype(np.float32)

    def _frames_per_batch(self) -> int:
        return max(1, self.cfg.batch_snippets) * self.cfg.snippet_length

    def _text(self, count: int) -> torch.Tensor:
        """The empty-prompt embedding (computed once, as the stock pipeline does), repeated ``count`` times."""
        pipe = self.pipe
        if pipe.empty_text_embedding is None:
            ids = pipe.tokenizer("", padding="do_not_pad", max_length=pipe.tokenizer.model_max_length,
                                 truncation=True, return_tensors="pt").input_ids.to(pipe.text_encoder.device)
            pipe.empty_text_embedding = pipe.text_encoder(ids)[0]
        return pipe.empty_text_embedding.to(self.cfg.device, DTYPES[self.cfg.dtype]).expand(count, -1, -1)

    def _step(self, rgb: torch.Tensor, latent: torch.Tensor, t, num_view: int) -> torch.Tensor:
        """One denoising step of (B·L, 4, h, w) latents whose snippets (L consecutive items) attend jointly."""
        pipe = self.pipe
        noise = pipe.unet(torch.cat([rgb, latent], 1), t, encoder_hidden_states=self._text(len(latent)),
                          cross_attention_kwargs={"num_view": num_view}, return_dict=False)[0]
        return pipe.scheduler.step(noise, t, latent).prev_sample

    def _denoise(self, rgb_latent, start_latent, idx: torch.Tensor, timesteps) -> torch.Tensor:
        """Denoise every snippet of ``idx`` (n_snip, L) from ``start_latent`` → (n_snip, L, 4, h, w)."""
        out = []
        for chunk in idx.split(max(1, self.cfg.batch_snippets)):
            flat = chunk.reshape(-1).to(rgb_latent.device)
            rgb, latent = rgb_latent[flat], start_latent[flat]
            for t in timesteps:
                latent = self._step(rgb, latent, t, chunk.shape[1])
            out.append(latent.reshape(*chunk.shape, *latent.shape[1:]))
        return torch.cat(out)

    def _decode(self, latent: torch.Tensor, padding) -> torch.Tensor:
        """(..., 4, h, w) latents → (..., PH, PW) inverse depth in [0, 1] (stock decode: channel mean, clip)."""
        lead, flat = latent.shape[:-3], latent.reshape(-1, *latent.shape[-3:])
        pred = torch.cat([self.pipe.decode_prediction(b) for b in flat.split(self._frames_per_batch())])
        pred = self.pipe.image_processor.unpad_image(pred, padding)  # (M, 1, PH, PW)
        return pred.reshape(*lead, *pred.shape[-2:])

    def _refine(self, rgb_latent, noise, depth: torch.Tensor, padding) -> torch.Tensor:
        """(N, 1, PH, PW) co-aligned depth in [0, 1] → refined (N, 1, PH, PW) in [0, 1] (module doc, step 4)."""
        cfg, pipe = self.cfg, self.pipe
        n = len(depth)
        padded, _ = pipe.image_processor.pad_image(depth.expand(-1, 3, -1, -1) * 2 - 1, pipe.vae_scale_factor)
        depth_latent, _ = pipe.prepare_latents(padded, noise, None, 1, self._frames_per_batch())
        total = int(cfg.refine_steps / SKIP_T_RATIO)
        pipe.scheduler.set_timesteps(total, device=depth_latent.device)
        timesteps = pipe.scheduler.timesteps[int(total * SKIP_T_RATIO):]
        latent = pipe.scheduler.add_noise(depth_latent, noise, timesteps[:1])
        L = cfg.refine_snippet_length
        start = cap_dilation(n, L, cfg.refine_start_dilation) if cfg.cap_dilation else cfg.refine_start_dilation
        for i, t in enumerate(timesteps):
            dilation = int((1 - i / len(timesteps)) * (start - 1)) + 1  # falls linearly to 1
            idx = snippet_indices(n, L, dilation)
            stepped = self._denoise(rgb_latent, latent, idx, [t])  # (n_snip, L, 4, h, w)
            total_latent = torch.zeros_like(latent).index_add_(0, idx.reshape(-1).to(latent.device),
                                                                stepped.reshape(-1, *latent.shape[1:]))
            count = torch.bincount(idx.reshape(-1), minlength=n).to(latent)
            latent = total_latent / count[:, None, None, None]
        return self._decode(latent, padding)[:, None]
