"""Training-run config: one frozen dataclass, read from YAML/JSON, overridable with ``--set key=value``.

Run length is given in tokens: one optimizer step consumes
``world_size × batch_size × grad_accum`` samples of ``input_budget + target_budget`` tokens each.
The paper's learning rate follows ``lr = blr × global_batch / 256`` (4M); ``lr`` here is the final value.
"""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path

import yaml


FAILURE_FILE = "failure.txt"   # <out_dir>/failure.txt: one-line reason of a failed run (egom2p.model.train)


@dataclass(frozen=True)
class TrainConfig:
    """Everything one training run needs; saved into every checkpoint's ``config.json``."""
    out_dir: str = "data/runs/tiny"
    data_root: str = "data"
    preset: str = "tiny"
    datasets: tuple[str, ...] = ()       # empty = every dataset with token shards
    modalities: tuple[str, ...] = ()     # empty = every registered modality
    task: str = ""                       # "" = multitask (4M masking); "rgb->gaze" = task-specific model
    tokens: int = 2_000_000              # run length in tokens (input + target) over all ranks
    batch_size: int = 8                  # samples per rank per micro-step
    grad_accum: int = 1
    lr: float = 1e-3
    min_lr: float = 0.0
    warmup_tokens: int = 100_000
    weight_decay: float = 0.05
    betas: tuple[float, float] = (0.9, 0.95)
    grad_clip: float = 1.0
    bf16: bool = False                   # bf16 autocast (torch engine) / bf16 weights (deepspeed)
    engine: str = "torch"                # "torch" (plain or DDP) | "deepspeed"
    zero_stage: int = 1                  # DeepSpeed ZeRO stage (engine = deepspeed)
    workers: int = 1                     # DataLoader worker processes per rank
    seed: int = 0
    log_every: int = 10                  # optimizer steps between logged points
    ckpt_every: int = 100                # optimizer steps between checkpoints (0 = only at the end)
    keep_checkpoints: int = 2
    resume: bool = True                  # continue from out_dir's latest checkpoint when there is one
    max_steps: int = 0                   # > 0: stop after this many steps (a time-boxed slice of the run)
    tensorboard: bool = True
    model_overrides: dict = field(default_factory=dict)   # e.g. {"dim": 128} on top of the preset
    unit_size: int = 64
    epoch_batches: int = 64
    shuffle_buffer: int = 256

    def __post_init__(self):
        if self.engine not in ("torch", "deepspeed"):
            raise ValueError(f"engine must be 'torch' or 'deepspeed', got {self.engine!r}")
        if self.zero_stage not in (0, 1, 2, 3):
            raise ValueError(f"zero_stage must be 0-3, got {self.zero_stage}")
        for name in ("tokens", "batch_size", "grad_accum"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)}")

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "TrainConfig":
        known = {f.name: f for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - set(known))
        if unknown:
            raise ValueError(f"unknown training config keys {unknown}; known: {sorted(known)}")
        return cls(**{k: _coerce(k, v, known[k].type) for k, v in d.items()})

    @classmethod
    def load(cls, path: str | Path | None = None, overrides: list[str] | tuple[str, ...] = ()) -> "TrainConfig":
        """YAML/JSON file (optional) then ``key=value`` overrides (values parsed as YAML: 1e-3, true, [a, b])."""
        d = {}
        if path:
            text = Path(path).read_text()
            d = (json.loads(text) if str(path).endswith(".json") else yaml.safe_load(text)) or {}
        for item in overrides:
            if "=" not in item:
                raise ValueError(f"override {item!r} must be key=value")
            k, v = item.split("=", 1)
            d[k.strip()] = yaml.safe_load(v)
        return cls.from_dict(d)

    def steps(self, world_size: int, tokens_per_sample: int) -> int:
        """Optimizer steps for ``tokens`` at this world size (≥ 1)."""
        return max(1, self.tokens // (self.global_batch(world_size) * tokens_per_sample))

    def warmup_steps(self, world_size: int, tokens_per_sample: int) -> int:
        return self.warmup_tokens // (self.global_batch(world_size) * tokens_per_sample)

    def global_batch(self, world_size: int) -> int:
        return world_size * self.batch_size * self.grad_accum


def _coerce(name: str, value, kind: str):
    """YAML reads ``2e-4`` as a string and ``3e6`` as a float: convert to the field's declared type."""
    try:
        if kind == "float" and isinstance(value, (str, int)) and not isinstance(value, bool):
            return float(value)
        if kind == "int" and isinstance(value, (str, float)):
            f = float(value)
            if f != int(f):
                raise ValueError
            return int(f)
    except ValueError:
        raise ValueError(f"training config {name}={value!r} is not a valid {kind}") from None
    return tuple(value) if isinstance(value, list) else value
