"""The line's GPU numbers in one short call: video tokenizer encode rate, depth annotator frame rate,
training-step MFU.

    python benchmarks/gpu_line.py [--write]          # on a CUDA machine (a lent H100/H200), ~5 minutes
    python benchmarks/gpu_line.py --smoke            # CPU, toy sizes: checks the script runs (a test does)

1. ``paper`` video tokenizer (DV4x8x8 widths, random weights), bf16 autocast on the GPU, through the same
   ``VideoClipTokenizer.tokenize`` call ``token_shards`` makes: 60-frame 512² rgb clips → (t, h, w) tokens;
   clips/s at batch ``--video-batch``.
2. The ``marigold-rolling`` depth annotator at its ``fast`` preset with random weights of the real
   architecture (SD2 UNet with 8 input channels, SD VAE, 23-layer CLIP text encoder; ~1.3 G parameters,
   saved in fp16), through ``MarigoldRollingAnnotator.predict`` on one 60-frame 512² clip: frames/s.
3. One ``paper`` EgoM2P training step (``bench_model_step.py``: bf16, AdamW): tokens/s and MFU against the
   device's dense bf16 peak (``--peak-tflops``, default 989 = H100 SXM).
Prints one JSON line; ``--write`` adds a RESULTS.md section; ``--json-out`` saves the JSON.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent


def video_rate(preset_name: str, device: str, batch: int, repeats: int) -> dict:
    import torch

    from egom2p.presets import get_preset
    from egom2p.tokenizers.api import VideoClipTokenizer
    from egom2p.tokenizers.video.model import VideoTokenizer, VideoTokenizerConfig
    preset = get_preset(preset_name)
    cfg = VideoTokenizerConfig.from_spec(preset.video)
    torch.manual_seed(0)
    tok = VideoClipTokenizer(VideoTokenizer(cfg), cfg, "random", batch_size=batch).to(device)
    side = preset.clip_resolution
    clips = [np.random.default_rng(i).integers(0, 256, (60, side, side, 3), np.uint8) for i in range(batch)]
    tok.tokenize("rgb", clips)   # warm-up (kernels, allocator)
    _sync(device)
    t = time.time()
    for _ in range(repeats):
        tokens = tok.tokenize("rgb", clips)
    _sync(device)
    secs = (time.time() - t) / repeats
    return {"video_clips_per_s": batch / secs, "video_batch": batch, "video_tokens_shape": list(tokens.shape[1:]),
            "clip_side": side}


def depth_rate(device: str, full: bool, frames: int) -> dict:
    from egom2p.curation.depth_annotators import AnnotatorSettings
    from egom2p.curation.depth_annotators.marigold_rolling import MarigoldRollingAnnotator
    from egom2p.curation.depth_annotators.tiny import build_tiny_marigold
    with tempfile.TemporaryDirectory() as tmp:
        t = time.time()
        folder = build_tiny_marigold(Path(tmp) / "marigold", full_size=full)
        built = time.time() - t
        ann = MarigoldRollingAnnotator(AnnotatorSettings(checkpoint=str(folder), preset="fast", device=device,
                                                         coalign_iterations=200 if full else 5))
        side = 512 if full else 64
        video = np.random.default_rng(0).integers(0, 256, (frames, side, side, 3), np.uint8)
        ann.predict(video[: min(frames, 9)])   # warm-up
        _sync(device)
        t = time.time()
        depth = ann.predict(video)
        _sync(device)
        secs = time.time() - t
    return {"depth_frames_per_s": frames / secs, "depth_frames": frames, "depth_side": side,
            "depth_shape": list(depth.shape), "depth_weights": "random, real architecture" if full else "tiny",
            "depth_build_s": built}


def train_step(preset: str, device: str, batch: int, peak: float) -> dict:
    cmd = [sys.executable, str(HERE / "bench_model_step.py"), "--preset", preset, "--batch", str(batch),
           "--steps", "5" if device == "cpu" else "15", "--device", device]
    if device != "cpu":
        cmd += ["--bf16", "--peak-tflops", str(peak)]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.strip().splitlines()[-1]
    return {f"train_{k}": v for k, v in json.loads(out).items()}


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        import torch
        torch.cuda.synchronize()


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--smoke", action="store_true", help="CPU, tiny preset and toy annotator (checks the script)")
    ap.add_argument("--video-batch", type=int, default=8)
    ap.add_argument("--train-batch", type=int, default=16)
    ap.add_argument("--peak-tflops", type=float, default=989.0)
    ap.add_argument("--write", action="store_true")
    ap.add_argument("--json-out", default="")
    a = ap.parse_args(argv)
    import torch
    if not a.smoke and not torch.cuda.is_available():
        raise SystemExit("gpu_line.py needs CUDA (use --smoke to check it on CPU)")
    device = "cpu" if a.smoke else "cuda"
    res = {"device": torch.cuda.get_device_name() if device == "cuda" else "cpu (smoke)"}
    res.update(video_rate("tiny" if a.smoke else "paper", device, 2 if a.smoke else a.video_batch, 1 if a.smoke else 5))
    res.update(depth_rate(device, full=not a.smoke, frames=12 if a.smoke else 60))
    res.update(train_step("tiny" if a.smoke else "paper", device, 2 if a.smoke else a.train_batch, a.peak_tflops))
    print(json.dumps(res), flush=True)
    if a.json_out:
        Path(a.json_out).write_text(json.dumps(res, indent=2))
    if a.write:
        sys.path.insert(0, str(HERE))
        from results import write_section
        write_section("GPU line: tokenizer, depth annotator, training step (issue 15)",
                      f"Command: `python benchmarks/gpu_line.py --write`\n\n```\n{json.dumps(res, indent=2)}\n```\n")
    return res


if __name__ == "__main__":
    main()
