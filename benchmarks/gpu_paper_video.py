"""GPU timing of the ``paper`` video tokenizer (DV4x8x8 widths, random weights): encode + decode time per
frame for (1, 3, 17, 256, 256) in bf16, to set beside Cosmos DV4x8x8's published ~51.5 ms/frame (A100).

    python benchmarks/gpu_paper_video.py [--weights DIR_WITH_encoder.jit]   # needs CUDA

Prints one JSON line; with ``--write`` also writes a RESULTS.md section.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--weights", default="", help="Cosmos encoder.jit/decoder.jit folder (default: our paper model)")
    ap.add_argument("--repeats", type=int, default=10)
    ap.add_argument("--write", action="store_true")
    a = ap.parse_args(argv)
    if not torch.cuda.is_available():
        print(json.dumps({"error": "CUDA not available"}))
        return 1
    from egom2p.presets import PAPER
    from egom2p.tokenizers.video.model import VideoTokenizer, VideoTokenizerConfig
    if a.weights:
        from egom2p.tokenizers.video.jit import JitVideoTokenizer
        model = JitVideoTokenizer(a.weights, device="cuda", dtype=torch.bfloat16)
    else:
        model = VideoTokenizer(VideoTokenizerConfig.from_spec(PAPER.video)).cuda().to(torch.bfloat16).eval()
    x = (torch.rand(1, 3, 17, 256, 256, device="cuda") * 2 - 1).to(torch.bfloat16)
    with torch.no_grad():
        for _ in range(2):
            model.decode(model.encode(x)[0])
        torch.cuda.synchronize()
        t = time.time()
        for _ in range(a.repeats):
            idx = model.encode(x)[0]
            model.decode(idx)
        torch.cuda.synchronize()
    per_clip = (time.time() - t) / a.repeats
    res = {"device": torch.cuda.get_device_name(), "ms_per_frame": 1000 * per_clip / 17, "ms_per_clip": 1000 * per_clip,
           "indices_shape": list(idx.shape), "weights": a.weights or "random (paper widths)"}
    print(json.dumps(res))
    if a.write:
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from results import write_section
        write_section("Paper video tokenizer on GPU (bf16)", f"Command: `python benchmarks/gpu_paper_video.py`\n\n{json.dumps(res)}\n\n"
                      "Cosmos DV4x8x8 published: ~51.5 ms/frame encode+decode on an A100 80GB.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
