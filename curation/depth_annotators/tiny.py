"""A tiny, randomly initialised Marigold depth pipeline built fully offline (tests and benchmarks).

Same component kinds as a real Marigold / RollingDepth checkpoint (SD2-style ``UNet2DConditionModel``
with 8 input channels, ``AutoencoderKL``, ``DDIMScheduler``, CLIP text encoder + tokenizer), at toy
widths: UNet blocks (32, 64), VAE blocks (32, 64) → a VAE scale factor of 2, CLIP hidden size 32. The
tokenizer is written from a 5-entry vocabulary into the target folder, so nothing touches the network.
Its predictions are meaningless; it exercises the real loading and inference code paths.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

VOCAB = {"<|startoftext|>": 0, "<|endoftext|>": 1, "!": 2, "a</w>": 3, "a": 4}


def build_tiny_marigold(out_dir: str | os.PathLike, seed: int = 0, prediction_type: str = "disparity",
                        rollingdepth_layout: bool = False, full_size: bool = False) -> Path:
    """Build the tiny pipeline, ``save_pretrained`` it to ``out_dir`` and return that folder.

    full_size: the real architecture's widths instead (SD2 UNet (320, 640, 1280, 1280) with 8 input
    channels and 1024-wide cross attention, SD VAE (128, 256, 512, 512), 23-layer 1024-wide CLIP text
    encoder; ~1.3 G random parameters, saved in fp16): GPU timing without the real weights.

    prediction_type: ``disparity`` (inverse depth, like RollingDepth) or ``depth`` (like Marigold v1-0).
    rollingdepth_layout: rewrite ``model_index.json`` as the RollingDepth checkpoint ships it
    (``_class_name: RollingDepthPipeline``, no Marigold config keys), to test loading such a folder.
    """
    import torch
    from diffusers import AutoencoderKL, DDIMScheduler, MarigoldDepthPipeline, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

    out = Path(out_dir)
    tok_dir = out / ".tokenizer-src"
    tok_dir.mkdir(parents=True, exist_ok=True)
    (tok_dir / "vocab.json").write_text(json.dumps(VOCAB))
    (tok_dir / "merges.txt").write_text("#version: 0.2\n")
    # model_max_length is required: transformers 5.x overflows tokenising "" without it.
    tokenizer = CLIPTokenizer(str(tok_dir / "vocab.json"), str(tok_dir / "merges.txt"), pad_token="!",
                              model_max_length=77)
    torch.manual_seed(seed)
    if full_size:
        unet = UNet2DConditionModel(block_out_channels=(320, 640, 1280, 1280), layers_per_block=2, sample_size=96,
                                    in_channels=8, out_channels=4, cross_attention_dim=1024,
                                    attention_head_dim=(5, 10, 20, 20), use_linear_projection=True,
                                    down_block_types=("CrossAttnDownBlock2D",) * 3 + ("DownBlock2D",),
                                    up_block_types=("UpBlock2D",) + ("CrossAttnUpBlock2D",) * 3)
        vae = AutoencoderKL(block_out_channels=[128, 256, 512, 512], in_channels=3, out_channels=3,
                            down_block_types=["DownEncoderBlock2D"] * 4, up_block_types=["UpDecoderBlock2D"] * 4,
                            latent_channels=4, layers_per_block=2, sample_size=768)
        text = dict(hidden_size=1024, intermediate_size=4096, num_attention_heads=16, num_hidden_layers=23,
                    hidden_act="gelu")
    else:
        unet = UNet2DConditionModel(block_out_channels=(32, 64), layers_per_block=2, sample_size=32, in_channels=8,
                                    out_channels=4, down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
                                    up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"), cross_attention_dim=32)
        vae = AutoencoderKL(block_out_channels=[32, 64], in_channels=3, out_channels=3,
                            down_block_types=["DownEncoderBlock2D", "DownEncoderBlock2D"],
                            up_block_types=["UpDecoderBlock2D", "UpDecoderBlock2D"], latent_channels=4)
        text = dict(hidden_size=32, intermediate_size=37, num_attention_heads=4, num_hidden_layers=2)
    scheduler = DDIMScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear",
                              clip_sample=False, set_alpha_to_one=False, prediction_type="v_prediction",
                              timestep_spacing="trailing")
    text_encoder = CLIPTextModel(CLIPTextConfig(bos_token_id=0, eos_token_id=1, pad_token_id=2, layer_norm_eps=1e-5,
                                                vocab_size=len(VOCAB), max_position_embeddings=77, **text))
    pipe = MarigoldDepthPipeline(unet=unet, vae=vae, scheduler=scheduler, text_encoder=text_encoder,
                                 tokenizer=tokenizer, prediction_type=prediction_type, scale_invariant=True,
                                 shift_invariant=True, default_denoising_steps=1,
                                 default_processing_resolution=768 if full_size else 32)
    if full_size:
        pipe = pipe.to(dtype=torch.float16)
    pipe.save_pretrained(out)
    if rollingdepth_layout:
        index = json.loads((out / "model_index.json").read_text())
        keep = {"unet", "vae", "scheduler", "text_encoder", "tokenizer"}
        index = {"_class_name": "RollingDepthPipeline", "_diffusers_version": "0.24.0",
                 **{k: v for k, v in index.items() if k in keep}}
        (out / "model_index.json").write_text(json.dumps(index, indent=2))
    return out
