"""Evaluate methods on held-out clips for the four tasks: one row per (task, method, clip) with its metrics.

Held-out = the token shards' ``val`` and ``test`` splits (per sequence, so no leakage from training).
Ground truth lives on each method's output grid (``targets.py``, by the target's registry ``value``): video
targets on the tokenizer's grid, trajectories at the clip's 60 samples. Methods (each a ``Method``):

- ``EgoM2P`` — the multitask model: the task's inputs → target tokens (``generate`` with the paper's
  per-task settings, ``Task.generation``) → detokenized;
- ``task-specific`` — same architecture and budget trained on one task (``TrainConfig.task``);
- ``trivial`` — center gaze, static camera, mean depth, copy of the conditioning (first) frame;
- ``OpenCV VO`` — monocular visual odometry on the clip's 60 frames (camera only);
- ``tokenizer oracle`` — the ground-truth tokens detokenized: the ceiling any token model can reach.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from egom2p import modalities as M
from egom2p.clip import read_clip, read_meta
from egom2p.model.config import ModelConfig
from egom2p.model.data import DataConfig, iter_samples
from egom2p.model.generate import generate
from egom2p.paths import DataPaths
from egom2p.tokenizers.video import data as V

from . import metrics
from .registry import TASKS, Task
from .vo import monocular_vo


@dataclass
class EvalClip:
    dataset: str
    key: str
    folder: Path
    tokens: np.ndarray                 # (L,) int64, flat layout
    present: dict[str, bool]
    meta: dict = field(default_factory=dict)
    _arrays: dict = field(default_factory=dict)

    def array(self, modality: str) -> np.ndarray:
        if modality not in self._arrays:
            self._arrays[modality] = read_clip(self.folder, modalities=(modality,)).get(modality)
        return self._arrays[modality]


def held_out_clips(root: Path, cfg: ModelConfig, tokenizer_ids: dict[str, str], splits=("val", "test"),
                   max_per_dataset: int = 0) -> list[EvalClip]:
    """Held-out clips with their tokens (from the shards) and canonical folders."""
    paths = DataPaths(Path(root))
    tids = tuple((m, tokenizer_ids[m]) for m in cfg.names if m in tokenizer_ids)
    out, per_ds = [], {}
    for split in splits:
        try:
            samples = list(iter_samples(DataConfig(root=str(root), tokenizer_ids=tids, split=split), cfg.layout))
        except FileNotFoundError:
            continue
        for s in samples:
            ds = s["dataset"]
            if max_per_dataset and per_ds.get(ds, 0) >= max_per_dataset:
                continue
            folder = paths.clips(ds) / s["__key__"]
            if not folder.is_dir():
                continue
            per_ds[ds] = per_ds.get(ds, 0) + 1
            out.append(EvalClip(ds, s["__key__"], folder, s["tokens"], dict(zip(cfg.names, s["present"].tolist())),
                                read_meta(folder)))
    return out


def ground_truth(task: Task, clip: EvalClip, video_cfg) -> np.ndarray:
    """The target on the evaluation grid (``targets.py``): e.g. rgb (frames, S, S, 3) uint8, depth
    (frames, S, S) with NaN, gaze (60, 2), camera (60, 4, 4)."""
    return task.behaviour.ground_truth(clip.array(task.target), video_cfg)


def scored_length(task: Task, clip: EvalClip, video_cfg) -> int:
    """How many samples of the task's target grid hold real (not padded) frames: a short sequence of an
    evaluation dataset (ADT) is one clip padded with its last frame, ``valid_frames`` < 60 in its meta.
    Video-grid targets count tokenizer-grid frames, others clip samples; fewer than the target's
    ``min_length`` (a video needs a frame after the conditioning one, poses two) = 0: nothing to score."""
    valid = int(clip.meta.get("valid_frames") or 0) or None
    target = task.behaviour
    if target.on_video_grid:
        idx = V.frame_indices(video_cfg.frames, video_cfg.fps)
        n = len(idx) if valid is None else int((idx < valid).sum())
    else:
        n = len(clip.array(task.target)) if valid is None else valid
    return n if n >= target.min_length else 0


def score(task: Task, pred: np.ndarray, gt: np.ndarray, clip: EvalClip, n: int | None = None) -> dict[str, float]:
    """The task's metrics of one clip over its first ``n`` samples (``scored_length``; None = all)."""
    if n is not None:
        pred, gt = np.asarray(pred)[:n], np.asarray(gt)[:n]
    return task.behaviour.score(pred, gt, clip.meta)


# ------------------------------------------------------------------------------------------ methods
class Method:
    """A way to solve tasks: ``predict(task, clips) -> arrays`` (one per clip, ``ground_truth``'s grid)."""
    name = "method"
    tasks: tuple[str, ...] = tuple(TASKS)

    def predict(self, task: Task, clips: list[EvalClip]) -> list[np.ndarray]:
        raise NotImplementedError


class ModelMethod(Method):
    """A (multitask or task-specific) EgoM2P: inputs → target tokens → detokenized arrays."""

    def __init__(self, name: str, models: dict[str, torch.nn.Module], tokenizers: dict, multitask: bool,
                 gen: dict | None = None):
        """models: task name → model (the same model for every task when ``multitask``); a multitask
        model also gets the task's optional inputs a clip has, a task-specific one only its trained inputs."""
        self.name, self.models, self.tokenizers, self.multitask = name, models, tokenizers, multitask
        self.tasks = tuple(models)
        self.gen = gen or {}

    def predict(self, task: Task, clips: list[EvalClip]) -> list[np.ndarray]:
        model = self.models[task.name]
        lay = model.cfg.layout
        groups: dict[tuple, list[int]] = {}
        for i, c in enumerate(clips):   # one generate call per set of available inputs
            ins = task.inputs_for(c.present) if self.multitask else task.inputs
            groups.setdefault(tuple(m for m in ins if m in lay.names), []).append(i)
        out: list = [None] * len(clips)
        for ins, idx in groups.items():
            inputs: dict = {m: "all" for m in ins}
            spec = model.cfg.spec(task.target)
            if task.first_frame_given:
                inputs[task.target] = np.arange(int(np.prod(spec.token_shape[1:])))
            tokens = torch.as_tensor(np.stack([clips[i].tokens for i in idx]), dtype=torch.long)
            gc = self.gen.get(task.name) or task.generation
            with torch.no_grad():
                pred = generate(model, tokens, inputs, [(task.target, gc)])
            target_tokens = pred[:, lay.slice(task.target)].reshape(len(idx), *spec.token_shape).numpy()
            for i, arr in zip(idx, self.tokenizers[task.target].detokenize(task.target, target_tokens)):
                out[i] = arr
        return out


class TrivialMethod(Method):
    """The target kind's trivial prediction (``targets.py``): centre gaze, static camera, mean depth, copy of
    the conditioning frame."""
    name = "trivial"

    def __init__(self, video_cfg, mean_inverse_depth: float = 0.5):
        self.video_cfg, self.mean_inv = video_cfg, mean_inverse_depth

    def predict(self, task: Task, clips: list[EvalClip]) -> list[np.ndarray]:
        return [task.behaviour.trivial(ground_truth(task, cl, self.video_cfg), self.video_cfg, self.mean_inv)
                for cl in clips]


class VOMethod(Method):
    name, tasks = "OpenCV VO", ("camera_tracking",)

    def predict(self, task: Task, clips: list[EvalClip]) -> list[np.ndarray]:
        out = []
        for cl in clips:
            frames = cl.array(M.one(source="video").name)
            out.append(monocular_vo(frames, metrics.clip_intrinsics(cl.meta, frames.shape[1])).poses)
        return out


class OracleMethod(Method):
    """Ground-truth tokens detokenized (the tokenizer's reconstruction)."""
    name = "tokenizer oracle"

    def __init__(self, cfg: ModelConfig, tokenizers: dict):
        self.cfg, self.tokenizers = cfg, tokenizers

    def predict(self, task: Task, clips: list[EvalClip]) -> list[np.ndarray]:
        spec = self.cfg.spec(task.target)
        toks = np.stack([c.tokens[self.cfg.layout.slice(task.target)].reshape(spec.token_shape) for c in clips])
        return self.tokenizers[task.target].detokenize(task.target, toks)


# ------------------------------------------------------------------------------------------ running
def evaluate(clips: list[EvalClip], methods: list[Method], video_cfg, batch_size: int = 4,
             log: Callable[[str], None] = print) -> tuple[list[dict], list[dict]]:
    """Run every method on every task it supports over the clips that have the task's modalities.

    Returns (rows: {task, method, dataset, key, <metrics>}, predictions kept for plots: one example per
    (task, method) = {task, method, key, pred, gt}). Per-clip wall time is in ``seconds`` of each row.
    """
    rows, examples = [], []
    for task in TASKS.values():
        todo = [c for c in clips if task.available(c.present)]
        lengths = {c.key: scored_length(task, c, video_cfg) for c in todo}
        short = [c.key for c in todo if not lengths[c.key]]
        if short:
            log(f"{task.name}: {len(short)} clip(s) too short to score ({', '.join(short[:3])})")
        todo = [c for c in todo if lengths[c.key]]
        if not todo:
            log(f"{task.name}: no held-out clip has {task.inputs} and {task.target}")
            continue
        gts = [ground_truth(task, c, video_cfg) for c in todo]
        for m in methods:
            if task.name not in m.tasks:
                continue
            for s in range(0, len(todo), batch_size):
                batch = todo[s:s + batch_size]
                t = time.perf_counter()
                preds = m.predict(task, batch)
                secs = (time.perf_counter() - t) / len(batch)
                for c, p, g in zip(batch, preds, gts[s:s + batch_size]):
                    rows.append({"task": task.name, "method": m.name, "dataset": c.dataset, "key": c.key,
                                 "seconds": secs, **score(task, np.asarray(p), g, c, lengths[c.key])})
                if s == 0:
                    examples.append({"task": task.name, "method": m.name, "key": batch[0].key, "pred": preds[0],
                                     "gt": gts[0]})
            log(f"{task.name} · {m.name}: {len(todo)} clips")
    return rows, examples
