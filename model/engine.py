"""Process group and optimizer engines: one training loop under python, torchrun and the deepspeed launcher.

``dist_info()`` reads the launcher's environment (RANK / WORLD_SIZE / LOCAL_RANK, set by torchrun and the
deepspeed launcher alike). ``TorchEngine`` is plain PyTorch (DDP when world size > 1, gloo on CPU, nccl on
GPU) with AdamW and optional bf16 autocast; ``DeepSpeedEngine`` hands the same model to
``deepspeed.initialize`` (ZeRO stage, bf16, gradient accumulation and clipping from the TrainConfig).
Both expose ``micro_step(batch) -> dict`` (forward + backward), ``boundary`` and ``step(lr)``, and save /
load their optimizer state for exact resume.
"""
from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path

import torch

from .train_config import TrainConfig

BATCH_KEYS = ("tokens", "enc_idx", "enc_valid", "dec_idx", "dec_valid")


@dataclass(frozen=True)
class DistInfo:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def dist_info() -> DistInfo:
    env = os.environ
    return DistInfo(int(env.get("RANK", 0)), int(env.get("WORLD_SIZE", 1)), int(env.get("LOCAL_RANK", 0)))


def device_for(info: DistInfo) -> torch.device:
    if torch.cuda.is_available():
        torch.cuda.set_device(info.local_rank)
        return torch.device("cuda", info.local_rank)
    return torch.device("cpu")


def init_distributed(info: DistInfo, engine: str) -> None:
    """Join the process group when launched with world size > 1 (no-op for a single process)."""
    if info.world_size <= 1 or torch.distributed.is_initialized():
        return
    backend = "nccl" if torch.cuda.is_available() else "gloo"
    if engine == "deepspeed":
        import deepspeed
        deepspeed.init_distributed(dist_backend=backend)
    else:
        torch.distributed.init_process_group(backend=backend)


def to_device(batch: dict, device: torch.device) -> dict:
    return {k: batch[k].to(device, non_blocking=True) for k in BATCH_KEYS}


def _param_groups(model: torch.nn.Module, weight_decay: float) -> list[dict]:
    """No weight decay on embeddings' 1-D params (norm weights) — matrices (incl. embeddings) decay."""
    decay, no_decay = [], []
    for p in model.parameters():
        if p.requires_grad:
            (decay if p.ndim >= 2 else no_decay).append(p)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


class TorchEngine:
    """Plain PyTorch / DDP. Gradients are accumulated over ``grad_accum`` micro-steps; loss is scaled."""

    def __init__(self, model: torch.nn.Module, cfg: TrainConfig, info: DistInfo, device: torch.device):
        self.cfg, self.info, self.device = cfg, info, device
        self.module = model.to(device)
        self.model = self.module
        if info.world_size > 1:
            self.model = torch.nn.parallel.DistributedDataParallel(
                self.module, device_ids=[device.index] if device.type == "cuda" else None)
        self.opt = torch.optim.AdamW(_param_groups(self.module, cfg.weight_decay), lr=cfg.lr, betas=tuple(cfg.betas))
        self.micro = 0

    @property
    def boundary(self) -> bool:
        return (self.micro + 1) % self.cfg.grad_accum == 0

    def _autocast(self):
        if not self.cfg.bf16:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=torch.bfloat16)

    def micro_step(self, batch: dict) -> dict:
        sync = self.boundary or not isinstance(self.model, torch.nn.parallel.DistributedDataParallel)
        ctx = contextlib.nullcontext() if sync else self.model.no_sync()
        with ctx:
            with self._autocast():
                out = self.model(**to_device(batch, self.device))
            (out["loss"] / self.cfg.grad_accum).backward()
        return out

    def step(self, lr: float) -> float:
        """Optimizer step at ``lr`` (call after the boundary micro-step); returns the gradient norm."""
        for g in self.opt.param_groups:
            g["lr"] = lr
        norm = torch.nn.utils.clip_grad_norm_(self.module.parameters(), self.cfg.grad_clip or float("inf"))
        self.opt.step()
        self.opt.zero_grad(set_to_none=True)
        self.micro += 1
        return float(norm)

    def advance(self) -> None:
        self.micro += 1

    def save_state(self, folder: Path) -> None:
        torch.save({"optimizer": self.opt.state_dict()}, folder / "optimizer.pt")

    def load_state(self, folder: Path) -> None:
        self.opt.load_state_dict(torch.load(folder / "optimizer.pt", weights_only=True, map_location=self.device)["optimizer"])


def deepspeed_config(cfg: TrainConfig, world_size: int) -> dict:
    """The DeepSpeed JSON config equivalent of ``cfg`` (also written beside each checkpoint)."""
    return {
        "train_micro_batch_size_per_gpu": cfg.batch_size,
        "gradient_accumulation_steps": cfg.grad_accum,
        "train_batch_size": cfg.global_batch(world_size),
        "gradient_clipping": cfg.grad_clip,
        "optimizer": {"type": "AdamW", "params": {"lr": cfg.lr, "betas": list(cfg.betas),
                                                  "weight_decay": cfg.weight_decay, "torch_adam": True}},
        "zero_optimization": {"stage": cfg.zero_stage},
        "bf16": {"enabled": bool(cfg.bf16)},
        "steps_per_print": 10 ** 9,
        "wall_clock_breakdown": False,
    }


class DeepSpeedEngine:
    """``deepspeed.initialize`` around the model; DeepSpeed owns accumulation, clipping and ZeRO."""

    def __init__(self, model: torch.nn.Module, cfg: TrainConfig, info: DistInfo, device: torch.device):
        import deepspeed
        self.cfg, self.info, self.device = cfg, info, device
        self.ds_config = deepspeed_config(cfg, info.world_size)
        self.model, self.opt, _, _ = deepspeed.initialize(model=model.to(device), config=self.ds_config,
                                                          model_parameters=_param_groups(model, cfg.weight_decay))
        self.module = self.model.module

    @property
    def boundary(self) -> bool:
        return self.model.is_gradient_accumulation_boundary()

    def micro_step(self, batch: dict) -> dict:
        out = self.model(**to_device(batch, self.model.device))
        self.model.backward(out["loss"])
        return out

    def step(self, lr: float) -> float:
        for g in self.opt.param_groups:
            g["lr"] = lr
        self.model.step()
        norm = self.model.get_global_grad_norm()
        return float(norm) if norm is not None else float("nan")

    def advance(self) -> None:
        self.model.step()  # non-boundary micro-steps: DeepSpeed only counts them

    def save_state(self, folder: Path) -> None:
        self.model.save_checkpoint(str(folder / "deepspeed"), tag="state", save_latest=False)

    def load_state(self, folder: Path) -> None:
        self.model.load_checkpoint(str(folder / "deepspeed"), tag="state", load_module_strict=True)


def make_engine(model: torch.nn.Module, cfg: TrainConfig, info: DistInfo, device: torch.device):
    return (DeepSpeedEngine if cfg.engine == "deepspeed" else TorchEngine)(model, cfg, info, device)
