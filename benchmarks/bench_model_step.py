"""One EgoM2P training step, measured: tokens/s, peak memory and model FLOPs utilization (MFU).

    .venv/bin/python benchmarks/bench_model_step.py --preset tiny --batch 8 --steps 5
    .venv/bin/python benchmarks/bench_model_step.py --preset paper --batch 1 --steps 3          # CPU
    python benchmarks/bench_model_step.py --preset paper --batch 8 --steps 20 --device cuda --bf16 \
        --peak-tflops 989                                                    # GPU (H100/H200 dense bf16)

Random tokens with the 4M masking (all modalities present), AdamW, the training step of
``egom2p.model.engine.TorchEngine`` (bf16 autocast when --bf16). Prints one JSON line.
FLOPs per step = 3 × forward, forward = 2 × (matmul parameters touched per token) + attention scores
(4·n·m·dim per attention of n queries over m keys) + the tied output head (2·dim·vocab per target).
"""
from __future__ import annotations

import argparse
import json
import resource
import time

import numpy as np
import torch


def step_flops(cfg, batch: int) -> float:
    """Model FLOPs of one forward+backward training step (see module docstring)."""
    d, n_in, n_out = cfg.dim, cfg.input_budget, cfg.target_budget
    hidden = int(2 * cfg.mlp_ratio * d / 3)
    block = 4 * d * d + 3 * d * hidden                  # qkv + proj, SwiGLU (3 matrices)
    enc = cfg.encoder_depth * (2 * n_in * block + 4 * n_in * n_in * d)
    dec = cfg.decoder_depth * (2 * n_out * (block + 4 * d * d) + 4 * n_out * n_out * d + 4 * n_out * n_in * d)
    head = 2 * n_out * d * max(m.vocab_size for m in cfg.modalities)
    proj = 2 * n_in * d * d                              # decoder_proj_context
    return 3.0 * batch * (enc + dec + head + proj)


def random_batch(cfg, batch: int, rng: np.random.Generator) -> dict:
    from egom2p.model.masking import collate, sample_masks
    lay = cfg.layout
    samples = []
    for _ in range(batch):
        tokens = np.concatenate([rng.integers(0, v, n) for v, n in zip(lay.vocab_sizes, lay.lengths)])
        samples.append({"tokens": tokens, **sample_masks([True] * len(lay.names), lay, cfg.input_budget,
                                                         cfg.target_budget, rng)})
    return collate(samples)


def measure(preset: str, batch: int, steps: int, device: str, bf16: bool, peak_tflops: float) -> dict:
    from egom2p.model.config import ModelConfig
    from egom2p.model.egom2p import EgoM2P
    from egom2p.model.engine import DistInfo, TorchEngine
    from egom2p.model.train_config import TrainConfig
    torch.manual_seed(0)
    cfg = ModelConfig.from_preset(preset)
    dev = torch.device(device)
    model = EgoM2P(cfg)
    params = (model.num_params(False) / 1e6, model.num_params(True) / 1e6)
    engine = TorchEngine(model, TrainConfig(batch_size=batch, bf16=bf16), DistInfo(), dev)
    batches = [random_batch(cfg, batch, np.random.default_rng(i)) for i in range(2)]
    times = []
    for i in range(steps + 1):                          # step 0 is warm-up (allocations, kernels)
        if dev.type == "cuda":
            torch.cuda.synchronize()
        t = time.perf_counter()
        engine.micro_step(batches[i % 2])
        engine.step(1e-4)
        if dev.type == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - t)
    step_s = float(np.median(times[1:]))
    tokens = batch * (cfg.input_budget + cfg.target_budget)
    flops = step_flops(cfg, batch)
    peak = (torch.cuda.max_memory_allocated(dev) if dev.type == "cuda"
            else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024) / 2 ** 30
    out = {"preset": preset, "device": torch.cuda.get_device_name(dev) if dev.type == "cuda" else "cpu",
           "dtype": "bf16-autocast" if bf16 else "fp32", "batch": batch, "tokens_per_step": tokens,
           "params_M": params[0], "params_M_without_embeddings": params[1],
           "step_s": step_s, "tokens_per_s": tokens / step_s, "tflops_per_s": flops / step_s / 1e12,
           "peak_memory_GiB": peak, "threads": torch.get_num_threads()}
    if peak_tflops:
        out["mfu"] = flops / step_s / (peak_tflops * 1e12)
    return out


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--preset", default="tiny")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--bf16", action="store_true")
    ap.add_argument("--peak-tflops", type=float, default=0.0, help="device peak (dense) for MFU, e.g. 989 for H100 bf16")
    a = ap.parse_args(argv)
    res = measure(a.preset, a.batch, a.steps, a.device, a.bf16, a.peak_tflops)
    print(json.dumps(res), flush=True)
    return res


if __name__ == "__main__":
    main()
