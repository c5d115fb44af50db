"""Model-stage benchmark → benchmarks/RESULTS.md ("Model training (CPU)").

    .venv/bin/python benchmarks/bench_model.py [--paper-steps 2] [--dist-tokens 40960]

1. one training step of the tiny (batch 8) and paper (batch 1, 2048/2048 tokens) configs: tokens/s and
   peak memory, each in its own process (``bench_model_step.py``), fp32 and bf16 autocast;
2. plain PyTorch (1 process) vs DDP (torchrun, 2 processes) vs DeepSpeed ZeRO-1 (deepspeed launcher,
   2 processes) on the same synthetic token shards through the real entry point (tokens/s over the run);
3. the loader: samples/s of ``TokenStream`` (1 worker and in-process) against what a tiny training step
   consumes (batch / step time) — goal ≥ 10×.
"""
from __future__ import annotations

import argparse
import itertools
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from results import machine, write_section  # noqa: E402

PY = sys.executable
ENV = {**os.environ, "TORCH_EXTENSIONS_DIR": str(HERE.parent / ".torch_extensions")}


def step(preset: str, batch: int, steps: int, bf16: bool) -> dict:
    cmd = [PY, str(HERE / "bench_model_step.py"), "--preset", preset, "--batch", str(batch), "--steps", str(steps)]
    out = subprocess.run(cmd + (["--bf16"] if bf16 else []), capture_output=True, text=True, env=ENV, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def distributed(root: Path, tokens: int) -> list[dict]:
    from egom2p.model.launch import LaunchSpec, train_command
    from egom2p.model.reporting import read_metrics
    rows = []
    for name, launcher, procs, engine in (("plain PyTorch, 1 process", "python", 1, "torch"),
                                          ("DDP (torchrun), 2 processes", "torchrun", 2, "torch"),
                                          ("DeepSpeed ZeRO-1 (deepspeed), 2 processes", "deepspeed", 2, "deepspeed")):
        out = root / "runs" / launcher
        cfg = dict(out_dir=str(out), data_root=str(root), tokens=tokens, batch_size=8, workers=1, log_every=5,
                   ckpt_every=0, tensorboard=False, engine=engine, zero_stage=1, resume=False)
        path = root / f"{launcher}.yaml"
        path.write_text(yaml.safe_dump(cfg))
        env = {**ENV, "OMP_NUM_THREADS": str(max(1, 2 // procs))}
        t = time.time()
        res = subprocess.run(train_command(LaunchSpec(launcher, procs), path), env=env, capture_output=True, text=True)
        if res.returncode != 0:
            raise RuntimeError(res.stderr[-3000:])
        m = read_metrics(out)
        steady = m[1:] or m                      # first window includes start-up (loader warm-up, compile)
        tps = sum(r["tokens_per_s"] for r in steady) / len(steady)
        rows.append({"setup": name, "steps": m[-1]["step"], "tokens_per_s": tps, "wall_s": time.time() - t,
                     "final_loss": m[-1]["loss"]})
        print(rows[-1], flush=True)
    return rows


def loader(root: Path, batches: int = 60) -> dict:
    import torch
    from egom2p.model.config import ModelConfig
    from egom2p.model.data import TokenStream
    from egom2p.model.train import data_config
    from egom2p.model.train_config import TrainConfig
    cfg = ModelConfig.from_preset("tiny")
    dcfg = data_config(TrainConfig(data_root=str(root), batch_size=8), cfg)
    out = {}
    for workers in (0, 1):
        stream = TokenStream(dcfg, cfg.layout, cfg.input_budget, cfg.target_budget)
        it = iter(torch.utils.data.DataLoader(stream, batch_size=None, num_workers=workers))
        next(it)
        t = time.time()
        for _ in itertools.islice(it, batches):
            pass
        out[f"samples_per_s_workers{workers}"] = batches * 8 / (time.time() - t)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--paper-steps", type=int, default=2)
    ap.add_argument("--dist-tokens", type=int, default=8 * 512 * 2 * 30)
    ap.add_argument("--bf16", action="store_true", help="also time bf16 autocast (very slow on CPUs without "
                    "native bf16 matmul: a tiny step did not finish in minutes here)")
    a = ap.parse_args()
    from egom2p.model.config import ModelConfig
    from egom2p.model.testing import write_synthetic_shards
    plan = [("tiny", 8, 3, False), ("paper", 1, a.paper_steps, False)]
    plan += [("tiny", 8, 2, True), ("paper", 1, a.paper_steps, True)] if a.bf16 else []
    steps = []
    for preset, batch, n, bf16 in plan:
        steps.append(step(preset, batch, n, bf16))
        print(steps[-1], flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        write_synthetic_shards(root, ModelConfig.from_preset("tiny"), clips=256, scenes=16)
        load = loader(root)
        dist = distributed(root, a.dist_tokens)
    tiny = steps[0]
    consume = 8 / tiny["step_s"]
    lines = [f"Command: `.venv/bin/python benchmarks/bench_model.py --paper-steps {a.paper_steps}` — machine: {machine()}.",
             "", "Training step (random tokens, 4M masking, AdamW; median of the timed steps after one warm-up):", "",
             "| preset | dtype | batch | tokens/step | params (M, w/o embeddings) | step (s) | tokens/s | peak RSS (GiB) |",
             "|---|---|---|---|---|---|---|---|"]
    for s in steps:
        lines.append(f"| {s['preset']} | {s['dtype']} | {s['batch']} | {s['tokens_per_step']} | {s['params_M']:.1f} "
                     f"({s['params_M_without_embeddings']:.1f}) | {s['step_s']:.2f} | {s['tokens_per_s']:.0f} | "
                     f"{s['peak_memory_GiB']:.2f} |")
    lines += ["", "Launchers on the same synthetic tiny shards (entry point `egom2p.model.train`, batch 8 per rank, "
              "tokens/s averaged over the logged windows after the first):", "",
              "| setup | steps | tokens/s | wall (s, incl. start-up) |", "|---|---|---|---|"]
    lines += [f"| {r['setup']} | {r['steps']} | {r['tokens_per_s']:.0f} | {r['wall_s']:.0f} |" for r in dist]
    lines += ["", f"Loader: {load['samples_per_s_workers0']:.0f} samples/s in-process, "
              f"{load['samples_per_s_workers1']:.0f} samples/s with one worker; a tiny fp32 step consumes "
              f"{consume:.1f} samples/s → loader/step = **{load['samples_per_s_workers1'] / consume:.0f}×** (goal ≥ 10×)."]
    write_section("Model training (CPU)", "\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
