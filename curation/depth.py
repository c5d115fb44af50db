"""The ``depth_labels`` stage: ground-truth depth is kept; missing depth is annotated or stays missing.

Per clip folder ``<interim>/depth/<dataset>/<clip_id>/``: ``depth_m.npy`` (float16 (60,S,S) z-depth in
metres, NaN unknown; a hard link to the GT file when the source is ``gt``) and ``meta.json``
(``depth_source``: ``gt`` | annotator name | ``none``; annotator settings).

Annotators are registered in ``ANNOTATORS`` (name -> callable(rgb_mp4_path) -> (60,S,S) relative depth);
``none`` leaves depth missing — the model handles missing modalities. Pseudo-depth annotators
(RollingDepth …) plug in here.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Callable

import numpy as np

from egom2p import io
from egom2p.clip import link_or_copy

from .clips import FILES
from .partition import Log, StageResult, discard, publish, read_index, run_sequences

Annotator = Callable[[Path], np.ndarray]
ANNOTATORS: dict[str, Annotator | None] = {"none": None}


def label_depth(clips_dir: Path, out: Path, dataset: str, annotator: str = "none",
                annotator_settings: dict | None = None, log: Log | None = None,
                progress: bool = True) -> StageResult:
    """Depth for every clip of a partition (atomic swap of ``out``)."""
    if annotator not in ANNOTATORS:
        raise KeyError(f"unknown depth annotator {annotator!r}; known: {sorted(ANNOTATORS)}")
    fn = ANNOTATORS[annotator]
    index = read_index(clips_dir)
    by_seq: dict[str, list[dict]] = {}
    for row in index:
        by_seq.setdefault(row["sequence_id"], []).append(row)
    staging = io.staging_dir(out)
    try:
        def work(sid: str) -> list[dict]:
            rows = []
            for row in by_seq[sid]:
                src = clips_dir / row["clip_id"]
                dst = staging / row["clip_id"]
                dst.mkdir(parents=True)
                if (src / FILES["depth"]).exists():
                    link_or_copy(src / FILES["depth"], dst / FILES["depth"])
                    source = "gt"
                elif fn is not None:
                    io.write_npy(dst / FILES["depth"], np.asarray(fn(src / FILES["rgb"]), np.float16))
                    source = annotator
                else:
                    source = "none"
                io.write_json(dst / "meta.json", {"clip_id": row["clip_id"], "depth_source": source,
                                                  "annotator": annotator, "settings": annotator_settings or {}})
                rows.append({"clip_id": row["clip_id"], "sequence_id": sid, "depth_source": source,
                             "has_depth": source != "none"})
            return rows
        result = run_sequences(dataset, "depth_labels", sorted(by_seq), work, log, progress)
        publish(staging, out, result)
    except BaseException:
        discard(staging)
        raise
    return result


def depth_meta(folder: Path) -> dict:
    p = Path(folder) / "meta.json"
    return json.loads(p.read_text()) if p.exists() else {}
