"""Checkpoints: ``<out>/checkpoints/step-%08d/`` = model.safetensors + config.json (+ resume state).

A checkpoint folder holds
- ``model.safetensors``: fp32 weights of the module (tied head stored once);
- ``config.json``: {"model": ModelConfig, "train": TrainConfig, "data": DataConfig, "preset": …};
- ``trainer_state.json``: step, data position (batches consumed per rank), tokens seen, world size;
- ``rng.pt``: torch RNG state (loaded with ``weights_only=True``);
- ``optimizer.pt`` (torch engine) or ``deepspeed/`` (DeepSpeed engine: ZeRO-partitioned optimizer, per rank).
It is written in a staging sibling and renamed into place; ``<out>/checkpoints/latest`` names the newest
complete one, so a run killed mid-save resumes from the previous checkpoint.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from egom2p import io

from .config import ModelConfig

MODEL_FILE, CONFIG_FILE, STATE_FILE = "model.safetensors", "config.json", "trainer_state.json"


def checkpoints_dir(out_dir: str | Path) -> Path:
    return Path(out_dir) / "checkpoints"


def step_name(step: int) -> str:
    return f"step-{step:08d}"


def state_tensors(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    """fp32, contiguous, de-duplicated (tied weights saved once) copy of the module's parameters."""
    out, seen = {}, set()
    for name, t in module.state_dict(keep_vars=False).items():
        if t.data_ptr() in seen:
            continue
        seen.add(t.data_ptr())
        out[name] = t.detach().float().cpu().contiguous() if t.is_floating_point() else t.detach().cpu().contiguous()
    return out


def save_weights(module: torch.nn.Module, folder: Path, config: dict) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    with io.atomic_path(folder / MODEL_FILE) as tmp:
        save_file(state_tensors(module), str(tmp), metadata={"format": "pt"})
    io.write_json(folder / CONFIG_FILE, config)


def load_weights(module: torch.nn.Module, folder: str | Path) -> None:
    """Load ``model.safetensors`` into ``module`` (tied weights restored by the tie itself)."""
    state = load_file(str(Path(folder) / MODEL_FILE))
    missing, unexpected = module.load_state_dict(state, strict=False)
    own = module.state_dict()
    saved_ptrs = {own[m].data_ptr() for m in state if m in own}
    tied = {n for n in missing if own[n].data_ptr() in saved_ptrs}
    if set(missing) - tied or unexpected:
        raise ValueError(f"checkpoint {folder} does not match the model: missing {sorted(set(missing) - tied)}, "
                         f"unexpected {sorted(unexpected)}")


def load_model(folder: str | Path, device: str = "cpu"):
    """(EgoM2P model in eval mode, full config dict) from a checkpoint or final-model folder."""
    from .egom2p import EgoM2P
    config = json.loads((Path(folder) / CONFIG_FILE).read_text())
    model = EgoM2P(ModelConfig.from_dict(config["model"]))
    load_weights(model, folder)
    return model.to(device).eval(), config


def latest(out_dir: str | Path) -> Path | None:
    """The newest complete checkpoint folder of a run, or None."""
    pointer = checkpoints_dir(out_dir) / "latest"
    if not pointer.exists():
        return None
    folder = checkpoints_dir(out_dir) / pointer.read_text().strip()
    return folder if (folder / STATE_FILE).exists() else None


def staging(out_dir: str | Path, step: int) -> Path:
    """Staging folder every rank writes into before rank 0 publishes it (same path on every rank)."""
    path = checkpoints_dir(out_dir) / f".{step_name(step)}.staging"
    path.mkdir(parents=True, exist_ok=True)
    return path


def publish(out_dir: str | Path, step: int, state: dict, keep: int) -> Path:
    """Rank 0: write the trainer state, rename staging → final, point ``latest`` at it, prune old ones."""
    root = checkpoints_dir(out_dir)
    stage, final = root / f".{step_name(step)}.staging", root / step_name(step)
    torch.save({"torch_rng": torch.get_rng_state()}, stage / "rng.pt")
    io.write_json(stage / STATE_FILE, state)
    io.replace_dir(stage, final)
    io.write_bytes(root / "latest", step_name(step).encode())
    done = sorted(p for p in root.glob("step-*") if (p / STATE_FILE).exists())
    for old in done[:-keep] if keep > 0 else []:
        shutil.rmtree(old, ignore_errors=True)
    return final


def read_state(folder: Path) -> tuple[dict, torch.Tensor]:
    """(trainer state, torch RNG state) of a checkpoint: the caller restores the RNG with
    ``torch.set_rng_state`` when it resumes (reading a checkpoint changes no global state)."""
    state = json.loads((folder / STATE_FILE).read_text())
    rng = torch.load(folder / "rng.pt", weights_only=True)
    return state, rng["torch_rng"]
