"""Task-specific baselines ("specialists"): one EgoM2P run per task, derived from a pretrained multitask run.

Each specialist copies the multitask run's ``TrainConfig`` (its ``config.json``) and changes only what makes
it a specialist: the task (``Task.spec``, e.g. ``rgb->gaze``), the same token budget for every task (by
default the tokens the multitask run actually consumed, as the paper's specialists), a fresh run folder
``<runs>/<pretrained_run>-<task>`` and in-process data loading.
"""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from egom2p.model.reporting import read_metrics
from egom2p.model.train_config import TrainConfig

from .registry import TASKS


def specialist_dir(runs: Path, pretrained_run: str, task: str) -> Path:
    """Run folder of the ``task`` specialist of ``pretrained_run``: ``<runs>/<pretrained_run>-<task>``."""
    return runs / f"{pretrained_run}-{task}"


def specialist_configs(runs: Path, pretrained_run: str, tokens: int = 0) -> tuple[int, dict[str, TrainConfig]]:
    """(tokens per task, task name → TrainConfig) of the specialists of ``runs/<pretrained_run>``.

    ``tokens``: the run length of every specialist (input + target tokens); 0 = the tokens the pretrained
    run's last logged step had consumed, else (no log) its configured ``tokens``.
    """
    src = runs / pretrained_run
    base = TrainConfig.from_dict(json.loads((src / "config.json").read_text())["train"])
    rows = read_metrics(src)
    tokens = tokens or (rows[-1]["tokens"] if rows else base.tokens)
    cfgs = {name: dataclasses.replace(base, task=task.spec, tokens=int(tokens), resume=False, tensorboard=False,
                                      out_dir=str(specialist_dir(runs, pretrained_run, name)), workers=0, max_steps=0)
            for name, task in TASKS.items()}
    return tokens, cfgs


def trained_specialists(runs: Path, pretrained_run: str) -> dict[str, Path]:
    """task name → run folder of each specialist of ``pretrained_run`` that has its final weights."""
    dirs = {t: specialist_dir(runs, pretrained_run, t) for t in TASKS}
    return {t: d for t, d in dirs.items() if (d / "model.safetensors").exists()}
