"""Make the line's tokenizers: load the configured weights, else train on the curated clips; evaluate;
save; point ``tokenizers/current/<role>.json`` at the result.

What the ``video_tokenizer`` and ``trajectory_tokenizers`` assets run, without Dagster: each builder
returns the tokenizers and a plain metadata dict (numbers, strings, ``Path`` for folders, lists/dicts for
JSON, :class:`Preview` for images) that the asset turns into Dagster metadata, key for key.
Extra trajectory clips (e.g. drawn from the synthetic motion model) come in as arrays: this stage does not
import the synthesis code.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Mapping

import numpy as np

from egom2p import modalities as M
from egom2p.paths import DataPaths
from egom2p.presets import Preset

from . import store
from .training import TokenizerTrainConfig


class NothingToTrain(ValueError):
    """No configured weights and no curated clip to train on."""


@dataclass(frozen=True)
class Preview:
    """An image for the asset metadata: ``image`` (H, W, 3) uint8, shown under ``title``."""
    image: np.ndarray
    title: str


def numbers(metrics: dict) -> dict[str, float]:
    """The numeric entries of ``metrics`` as floats (strings, lists and ``None`` left out)."""
    return {k: float(v) for k, v in metrics.items() if isinstance(v, (int, float)) and v is not None}


def build_video_tokenizer(paths: DataPaths, preset: Preset, train: list[Path], held: list[Path], weights: str,
                          train_cfg: TokenizerTrainConfig, log: Callable[[str], None] = print) -> tuple[object, dict]:
    """The video tokenizer (rgb + depth) of the line → (tokenizer, metadata).

    ``weights``: a tokenizer folder to load ('' = train on the ``train`` clip folders, else the ``held`` ones);
    evaluated on ``held`` (else ``train``). Metadata: tokenizer_id, path, config, the evaluation numbers,
    loss_history (last 20 logged steps; empty when loaded), reconstruction (a :class:`Preview`).
    Raises :class:`NothingToTrain` when there is nothing to load or train on.
    """
    from .preview import video_preview
    from .video.model import VideoTokenizerConfig
    from .video.train import evaluate_video, load_videos, train_video_tokenizer
    history: list[dict] = []
    if weights:
        tok = store.load_configured(weights, "video", preset)
    else:
        cfg = VideoTokenizerConfig.from_spec(preset.video)
        videos, _ = load_videos(train or held, cfg)
        if not len(videos):
            raise NothingToTrain("no curated rgb/depth clips to train the video tokenizer on")
        tok, history = train_video_tokenizer(videos, cfg, train_cfg, log)
    evaluated = held or train
    metrics = {**evaluate_video(tok, evaluated), "evaluated_on": "held-out" if held else "train"}
    folder = store.save_current(paths, "video", tok, metrics, source=weights)
    meta = {"tokenizer_id": tok.tokenizer_id, "path": folder, "config": tok.cfg.to_dict(), **numbers(metrics),
            "loss_history": history[-20:]}
    maps = [m for m in M.rows(kind="video") if m.value != "color"]
    with_depth = [f for f in evaluated if any(m.path(f).exists() for m in maps)] + list(evaluated)
    if with_depth:
        meta["reconstruction"] = Preview(video_preview(tok, with_depth[0]), "input / reconstruction")
    return tok, meta


def build_trajectory_tokenizers(paths: DataPaths, preset: Preset, train: list[Path], held: list[Path],
                                weights: Mapping[str, str], train_cfg: TokenizerTrainConfig,
                                extra_clips: Mapping[str, list[np.ndarray]] | None = None,
                                log: Callable[[str], None] = print,
                                warn: Callable[[str], None] | None = None) -> tuple[dict[str, object], dict]:
    """One trajectory tokenizer per modality of ``weights`` (in its order) → (modality → tokenizer, metadata).

    ``weights[m]``: a tokenizer folder to load ('' = train on the ``m`` arrays of the ``train`` clips, else
    of the ``held`` ones, plus ``extra_clips[m]``: with extra clips no augmentation, without it
    augmentation). Evaluated on the ``held`` arrays (else ``train``). A modality no clip has is skipped with
    a message to ``warn`` (default ``log``). Metadata per modality ``m``: ``m_loss_history`` (last 10 logged
    steps, when trained), ``m_tokenizer_id``, ``m_path``, ``m_<metric>`` numbers, ``m_reconstruction``
    (a :class:`Preview` of up to 4 clips); then ``config`` (the preset's trajectory spec).
    """
    from .preview import trajectory_preview
    from .trajectory.model import TrajectoryConfig
    from .trajectory.train import evaluate_trajectory, load_arrays, train_trajectory_tokenizer
    extra_clips = extra_clips or {}
    warn = warn or log
    toks: dict[str, object] = {}
    meta: dict = {}
    for modality, source in weights.items():
        extra = list(extra_clips.get(modality, []))
        train_arrays, held_arrays = load_arrays(train, modality), load_arrays(held, modality)
        if source:
            tok = store.load_configured(source, modality, preset)
        elif train_arrays or held_arrays:
            cfg = TrajectoryConfig.from_spec(preset.trajectory, modality)
            tok, history = train_trajectory_tokenizer((train_arrays or held_arrays) + extra, cfg, train_cfg, log,
                                                      augment=not extra)
            meta[f"{modality}_loss_history"] = history[-10:]
        else:
            warn(f"no curated clip has {modality}; no {modality} tokenizer made")
            continue
        arrays = held_arrays or train_arrays
        metrics = {**evaluate_trajectory(tok, arrays), "evaluated_on": "held-out" if held_arrays else "train"}
        folder = store.save_current(paths, modality, tok, metrics, source=source)
        meta.update({f"{modality}_tokenizer_id": tok.tokenizer_id, f"{modality}_path": folder,
                     **{f"{modality}_{k}": v for k, v in numbers(metrics).items()}})
        if arrays:
            recon = tok.detokenize(modality, tok.tokenize(modality, arrays[:4]))
            meta[f"{modality}_reconstruction"] = Preview(trajectory_preview(modality, arrays[:4], recon),
                                                         f"{modality} input / reconstruction")
        toks[modality] = tok
    meta["config"] = {"preset": preset.name, **preset.to_dict()["trajectory"]}
    return toks, meta
