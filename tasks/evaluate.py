"""Evaluate methods on held-out clips for the four tasks: one row per (task, method, clip) with its metrics.

Held-out = the token shards' ``val`` and ``test`` splits (per sequence, so no leakage from training).
Ground truth lives on each method's output grid: video targets on the tokenizer's grid (``frames`` frames
at ``fps``, ``resolution``²: the clip is subsampled and resized exactly as the tokenizer does), gaze and
camera at the clip's 60 samples. Methods (each a ``Method``):

- ``EgoM2P`` — the multitask model: the task's inputs → target tokens (``generate`` with the paper's
  per-task settings, ``TASK_DEFAULTS``) → detokenized;
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

from egom2p.clip import read_clip
from egom2p.model.config import ModelConfig
from egom2p.model.data import DataConfig, iter_samples
from egom2p.model.generate import TASK_DEFAULTS, GenerationConfig, generate
from egom2p.tokenizers.video import data as V

from . import baselines, metrics
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
            self._arrays[modality] = getattr(read_clip(self.folder, modalities=(modality,)), modality)
        return self._arrays[modality]


def held_out_clips(root: Path, cfg: ModelConfig, tokenizer_ids: dict[str, str], splits=("val", "test"),
                   max_per_dataset: int = 0) -> list[EvalClip]:
    """Held-out clips with their tokens (from the shards) and canonical folders."""
    import json
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
            folder = Path(root) / "clips" / ds / s["__key__"]
            if not folder.is_dir():
                continue
            per_ds[ds] = per_ds.get(ds, 0) + 1
            out.append(EvalClip(ds, s["__key__"], folder, s["tokens"], dict(zip(cfg.names, s["present"].tolist())),
                                json.loads((folder / "meta.json").read_text())))
    return out


def ground_truth(task: Task, clip: EvalClip, video_cfg) -> np.ndarray:
    """The target on the evaluation grid: rgb (frames, S, S, 3) uint8, depth (frames, S, S) with NaN,
    gaze (60, 2), camera (60, 4, 4)."""
    a = clip.array(task.target)
    c = video_cfg
    if task.target == "rgb":
        return V.video_to_rgb(V.rgb_to_video(a, c.frames, c.fps, c.resolution))
    if task.target == "depth":
        vid, valid = V.depth_to_video(a, c.frames, c.fps, c.resolution)
        return np.where(valid, (vid[0] + 1.0) / 2.0, np.nan)
    return np.asarray(a, np.float64)


def scored_length(task: Task, clip: EvalClip, video_cfg) -> int:
    """How many samples of the task's target grid hold real (not padded) frames: a short sequence of an
    evaluation dataset (ADT) is one clip padded with its last frame, ``valid_frames`` < 60 in its meta.
    Video targets count tokenizer-grid frames; gaze/camera count clip samples. 0 = nothing to score."""
    valid = int(clip.meta.get("valid_frames") or 0) or None
    if task.target in ("rgb", "depth"):
        idx = V.frame_indices(video_cfg.frames, video_cfg.fps)
        n = len(idx) if valid is None else int((idx < valid).sum())
        return n if task.target == "depth" or n >= 2 else 0   # video: frame 0 is the conditioning frame
    n = len(clip.array(task.target)) if valid is None else valid
    return n if task.target == "gaze" or n >= 2 else 0


def score(task: Task, pred: np.ndarray, gt: np.ndarray, clip: EvalClip, n: int | None = None) -> dict[str, float]:
    """The task's metrics of one clip over its first ``n`` samples (``scored_length``; None = all)."""
    if n is not None:
        pred, gt = np.asarray(pred)[:n], np.asarray(gt)[:n]
    if task.target == "gaze":
        side = int(clip.meta.get("side", 0)) or None
        K = metrics.clip_intrinsics(clip.meta) if "intrinsics" in clip.meta else None
        return metrics.gaze_metrics(pred, gt, K=K, side=side)
    if task.target == "camera":
        return metrics.camera_metrics(pred, gt, delta=min(metrics.RTE_DELTA, len(gt) - 1))
    if task.target == "depth":
        return metrics.depth_metrics(pred, gt, clip.meta.get("depth_normalization"))
    return metrics.video_metrics(pred, gt, start=1)   # frame 0 is the conditioning frame


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
            gc = self.gen.get(task.name) or TASK_DEFAULTS.get((task.inputs[0], task.target)) or GenerationConfig()
            with torch.no_grad():
                pred = generate(model, tokens, inputs, [(task.target, gc)])
            target_tokens = pred[:, lay.slice(task.target)].reshape(len(idx), *spec.token_shape).numpy()
            for i, arr in zip(idx, self.tokenizers[task.target].detokenize(task.target, target_tokens)):
                out[i] = arr
        return out


class TrivialMethod(Method):
    name = "trivial"

    def __init__(self, video_cfg, mean_inverse_depth: float = 0.5):
        self.video_cfg, self.mean_inv = video_cfg, mean_inverse_depth

    def predict(self, task: Task, clips: list[EvalClip]) -> list[np.ndarray]:
        c = self.video_cfg
        if task.target == "gaze":
            return [baselines.center_gaze() for _ in clips]
        if task.target == "camera":
            return [baselines.static_camera() for _ in clips]
        if task.target == "depth":
            return [baselines.mean_depth(c.resolution, self.mean_inv, c.frames).astype(np.float32) for _ in clips]
        return [baselines.copy_first_frame(ground_truth(task, cl, c), c.frames) for cl in clips]


class VOMethod(Method):
    name, tasks = "OpenCV VO", ("camera_tracking",)

    def predict(self, task: Task, clips: list[EvalClip]) -> list[np.ndarray]:
        out = []
        for cl in clips:
            rgb = cl.array("rgb")
            out.append(monocular_vo(rgb, metrics.clip_intrinsics(cl.meta, rgb.shape[1])).poses)
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
