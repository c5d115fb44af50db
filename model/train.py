"""Masked multimodal pretraining entry point — one script for python, torchrun and the deepspeed launcher.

    python -m egom2p.model.train --config run.yaml [--set tokens=2e6 batch_size=8 ...]
    torchrun --nproc_per_node 2 -m egom2p.model.train --config run.yaml
    deepspeed --num_gpus 2 --module egom2p.model.train --config run.yaml --set engine=deepspeed

The run reads the current tokenizers' shards under ``data_root`` (``tokenizers/current/*.json``), trains
for ``tokens`` tokens with AdamW (0.9, 0.95) and a warm-up + cosine schedule, logs to
``<out_dir>/metrics.jsonl`` and TensorBoard, and checkpoints to ``<out_dir>/checkpoints`` (resumed
automatically). The final weights are ``<out_dir>/model.safetensors`` + ``config.json``.
"""
from __future__ import annotations

import argparse
import json
import resource
import shutil
import time
from pathlib import Path

import torch

from egom2p.paths import DataPaths
from egom2p.schedule import lr_at

from . import checkpoint as ckpt
from .config import ModelConfig
from .data import DataConfig, TokenStream
from .engine import DistInfo, device_for, dist_info, init_distributed, make_engine
from .reporting import METRICS_FILE, Reporter, pipes_session, plot_loss
from .train_config import FAILURE_FILE, TrainConfig


def data_config(cfg: TrainConfig, model_cfg: ModelConfig) -> DataConfig:
    """Shards of the current tokenizers for the model's modalities."""
    from egom2p.tokenizers.store import current_ids
    ids = current_ids(DataPaths(Path(cfg.data_root)))
    tids = tuple((m, ids[m]) for m in model_cfg.names if m in ids)
    if not tids:
        raise FileNotFoundError(f"no current tokenizers under {cfg.data_root}/tokenizers/current; "
                                "materialize the tokenizer assets and token_shards first")
    return DataConfig(root=str(cfg.data_root), tokenizer_ids=tids, datasets=tuple(cfg.datasets), split="train",
                      batch_size=cfg.batch_size, unit_size=cfg.unit_size, shuffle_buffer=cfg.shuffle_buffer,
                      epoch_batches=cfg.epoch_batches, seed=cfg.seed, task=cfg.task)


def _all_mean(sums: dict[str, float], keys: list[str], info: DistInfo) -> dict[str, float]:
    """Mean of each key over the ranks that logged it (ranks may lack a modality's targets in a step)."""
    vals = torch.tensor([[sums.get(k, 0.0), float(k in sums)] for k in keys], dtype=torch.float64)
    if info.world_size > 1:
        torch.distributed.all_reduce(vals)
    return {k: float(v / n) for k, (v, n) in zip(keys, vals.tolist()) if n > 0}


def _any(flag: bool, info: DistInfo) -> bool:
    if info.world_size <= 1:
        return flag
    t = torch.tensor([1 if flag else 0])
    torch.distributed.all_reduce(t)
    return bool(t.item())


def _barrier(info: DistInfo) -> None:
    if info.world_size > 1:
        torch.distributed.barrier()


def peak_memory_mb(device: torch.device) -> float:
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2 ** 20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def fresh_start(out_dir: Path) -> None:
    """A run that does not resume starts clean: the folder's old metrics, curves and checkpoints go."""
    for name in ("checkpoints", "tensorboard"):
        shutil.rmtree(out_dir / name, ignore_errors=True)
    for name in (METRICS_FILE, "loss.png"):
        (out_dir / name).unlink(missing_ok=True)


def save_checkpoint(engine, cfg: TrainConfig, configs: dict, state: dict, info: DistInfo) -> Path:
    folder = ckpt.staging(cfg.out_dir, state["step"])
    _barrier(info)
    if info.is_main:
        ckpt.save_weights(engine.module, folder, configs)
    engine.save_state(folder)
    _barrier(info)
    final = ckpt.publish(cfg.out_dir, state["step"], state, cfg.keep_checkpoints) if info.is_main else folder
    _barrier(info)
    return final


def run(cfg: TrainConfig, time_budget_s: float = 0.0) -> dict:
    """Train (or resume) one run; returns a summary (rank 0's view) with losses, tokens/s and paths."""
    from .egom2p import EgoM2P
    info = dist_info()
    init_distributed(info, cfg.engine)
    device = device_for(info)
    torch.manual_seed(cfg.seed)
    model_cfg = ModelConfig.from_preset(cfg.preset, cfg.modalities or None, **cfg.model_overrides)
    dcfg = data_config(cfg, model_cfg)
    model = EgoM2P(model_cfg)
    engine = make_engine(model, cfg, info, device)
    configs = {"model": model_cfg.to_dict(), "train": cfg.to_dict(), "data": dcfg.to_dict(), "preset": cfg.preset}
    tps = model_cfg.input_budget + model_cfg.target_budget
    total, warmup = cfg.steps(info.world_size, tps), cfg.warmup_steps(info.world_size, tps)
    end = min(total, cfg.max_steps) if cfg.max_steps else total

    state = {"step": 0, "batches": 0, "tokens": 0, "world_size": info.world_size}
    last = ckpt.latest(cfg.out_dir) if cfg.resume else None
    if last is not None:
        prev, torch_rng = ckpt.read_state(last)
        torch.set_rng_state(torch_rng)
        saved = json.loads((last / ckpt.CONFIG_FILE).read_text())["model"]
        if saved != json.loads(json.dumps(model_cfg.to_dict())):
            raise ValueError(f"{last} holds another model config than this run's; use a new out_dir (run_name) "
                             "or resume=false")
        if prev["world_size"] != info.world_size:
            raise ValueError(f"{last} was written at world size {prev['world_size']}, this run has {info.world_size}; "
                             "resume with the same number of processes")
        if cfg.engine == "torch":
            ckpt.load_weights(engine.module, last)
        engine.load_state(last)
        state = prev
    elif info.is_main:
        fresh_start(Path(cfg.out_dir))
    _barrier(info)
    stream = TokenStream(dcfg, model_cfg.layout, model_cfg.input_budget, model_cfg.target_budget,
                         rank=info.rank, start_batch=state["batches"])
    loader = torch.utils.data.DataLoader(stream, batch_size=None, num_workers=cfg.workers,
                                         prefetch_factor=4 if cfg.workers else None)
    with pipes_session(info.is_main) as pipes:
        rep = Reporter(Path(cfg.out_dir), info.is_main, total, state["step"], cfg.tensorboard, pipes)
        if info.is_main:
            rep.message(f"{model.num_params(False) / 1e6:.2f} M params ({model.num_params() / 1e6:.2f} M without "
                        f"embeddings), {total} steps of "
                        f"{cfg.global_batch(info.world_size)} samples x {tps} tokens, engine {cfg.engine}, "
                        f"world size {info.world_size}, datasets {stream.datasets}"
                        + (f", resumed from {last.name}" if last is not None else ""))
        summary = _loop(engine, loader, cfg, configs, state, (total, warmup, end), info, rep, time_budget_s)
        summary.update(peak_memory_mb=peak_memory_mb(device), params_M=model.num_params(False) / 1e6)
        if info.is_main:
            ckpt.save_weights(engine.module, Path(cfg.out_dir), configs)
            plot = plot_loss(cfg.out_dir)
            summary.update(model_dir=str(Path(cfg.out_dir).resolve()), loss_plot_path=str(plot) if plot else "")
        rep.close(summary)
    return summary


def _loop(engine, loader, cfg: TrainConfig, configs: dict, state: dict, steps: tuple[int, int, int],
          info: DistInfo, rep: Reporter, time_budget_s: float) -> dict:
    total, warmup, end = steps
    loss_keys = ["loss"] + [f"loss_{m['name']}" for m in configs["model"]["modalities"]]
    it = iter(loader)
    t0, window_t, window_tokens = time.time(), time.time(), 0
    row, start_step, start_tokens, last_ckpt = {}, state["step"], state["tokens"], None
    while state["step"] < end:
        lr = lr_at(state["step"], total, warmup, cfg.lr, cfg.min_lr)
        sums, n_tok = {}, 0
        for _ in range(cfg.grad_accum):
            batch = next(it)
            out = engine.micro_step(batch)
            for k, v in out.items():
                if k.startswith("loss") and torch.is_tensor(v) and v.ndim == 0:
                    sums[k] = sums.get(k, 0.0) + float(v.detach()) / cfg.grad_accum
            n_tok += int(batch["enc_valid"].sum() + batch["dec_valid"].sum())
            if engine.boundary:
                grad_norm = engine.step(lr)
            else:
                engine.advance()
        state["step"] += 1
        state["batches"] += cfg.grad_accum
        state["tokens"] += n_tok * info.world_size
        window_tokens += n_tok * info.world_size
        rep.advance()
        stop = _any(bool(time_budget_s) and time.time() - t0 > time_budget_s, info)
        done = state["step"] >= end or stop
        if state["step"] % cfg.log_every == 0 or done:
            means = _all_mean(sums, loss_keys, info)
            now = time.time()
            row = {"step": state["step"], **means, "lr": lr, "grad_norm": grad_norm, "tokens": state["tokens"],
                   "tokens_per_s": window_tokens / max(1e-9, now - window_t), "seconds": now - t0}
            rep.log(row)
            window_t, window_tokens = now, 0
        if (cfg.ckpt_every and state["step"] % cfg.ckpt_every == 0) or done:
            last_ckpt = save_checkpoint(engine, cfg, configs, dict(state), info)
        if stop:
            rep.message(f"time budget of {time_budget_s:.0f} s reached at step {state['step']}/{total}")
            break
    secs = time.time() - t0
    return {"step": state["step"], "total_steps": total, "tokens": state["tokens"],
            "final_loss": row.get("loss", float("nan")),
            **{k: v for k, v in row.items() if k.startswith("loss_")},
            "tokens_per_s": (state["tokens"] - start_tokens) / secs if state["step"] > start_step and secs > 0 else 0.0,
            "train_s": secs, "checkpoint_path": str(last_ckpt or ckpt.latest(cfg.out_dir) or ""),
            "engine": cfg.engine, "world_size": info.world_size}


def failure_reason(e: BaseException) -> str:
    """One line naming what went wrong: ``<ExceptionType>: <first line of its message>``."""
    first = (str(e).strip().splitlines() or [""])[0]
    return f"{type(e).__name__}: {first}" if first else type(e).__name__


def write_failure(out_dir: str | Path, e: BaseException) -> None:
    """``<out_dir>/failure.txt`` = this rank's one-line reason (the first rank to fail writes it; atomic), so
    the launching asset can say why the run failed instead of only "process failed with code 1"."""
    from egom2p import io
    path = Path(out_dir) / FAILURE_FILE
    if not path.exists():
        rank = dist_info().rank
        io.write_bytes(path, (failure_reason(e) + (f" (rank {rank})" if rank else "") + "\n").encode())


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(prog="python -m egom2p.model.train", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", help="YAML or JSON TrainConfig (see egom2p/model/train_config.py)")
    ap.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE", help="override config fields")
    ap.add_argument("--time-budget-s", type=float, default=0.0, help="stop (with a checkpoint) after this long")
    ap.add_argument("--local_rank", "--local-rank", type=int, default=None, help=argparse.SUPPRESS)  # deepspeed
    args = ap.parse_args(argv)
    cfg = TrainConfig.load(args.config, args.set)
    try:
        summary = run(cfg, args.time_budget_s)
    except Exception as e:      # KeyboardInterrupt (a cancelled run) is not a failure to explain
        write_failure(cfg.out_dir, e)
        raise
    if dist_info().is_main:
        print({k: v for k, v in summary.items()}, flush=True)
    if torch.distributed.is_initialized():
        torch.distributed.destroy_process_group()
    return summary


if __name__ == "__main__":
    main()
