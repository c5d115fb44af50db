"""The ``depth_labels`` stage: ground-truth depth is kept; missing depth is annotated or stays missing.

Per clip folder ``<interim>/depth/<dataset>/<clip_id>/`` exactly one of

- ``depth_m.npy``: float16 (60,S,S) metric z-depth in metres, NaN unknown — ground truth, a hard link to
  the clips stage's file (``depth_source = "gt"``, ``depth_kind = "metric_depth"``);
- ``inv_depth_rel.npy``: float16 (60,S,S) *relative inverse depth* in [0, 1] (affine-invariant, larger =
  nearer, one affine frame per annotated run of clips), NaN on padded frames — from a depth annotator
  (``depth_source`` = annotator name, ``depth_kind = "relative_inverse_depth"``);
- neither: depth missing (``depth_source = "none"``; the model handles missing modalities);

and ``meta.json`` (clip_id, depth_source, depth_kind, annotator, settings). Annotators (``depth_annotators``)
are called once per run of consecutive clips without ground truth of a sequence, so those clips share one
scale and shift; ``normalized_clips`` normalizes per sequence as it does ground truth.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from egom2p import io
from egom2p import modalities as M
from egom2p.catalog import read_index
from egom2p.clip import META_FILE, link_or_copy

from .depth_annotators import (ANNOTATORS, METRIC_DEPTH, RELATIVE_INVERSE_DEPTH, AnnotatorSettings,  # noqa: F401
                               DepthAnnotator, build_annotator)
from .partition import Log, StageResult, group_by_sequence, run_stage

DEPTH = M.one(value="inverse_depth")     # the modality this stage labels
VIDEO = M.one(source="video")            # the frames an annotator reads
REL_FILE = "inv_depth_rel.npy"
DEPTH_FILES = {METRIC_DEPTH: DEPTH.interim_file, RELATIVE_INVERSE_DEPTH: REL_FILE}


def label_depth(clips_dir: Path, out: Path, dataset: str, annotator: str | DepthAnnotator | None = "none",
                annotator_settings: AnnotatorSettings | None = None, log: Log | None = None,
                progress: bool = True) -> StageResult:
    """Depth for every clip of a partition (atomic swap of ``out``).

    annotator: a registered name (built here with ``annotator_settings``), an annotator instance, or None.
    """
    if isinstance(annotator, str):
        annotator = build_annotator(annotator, annotator_settings or AnnotatorSettings())
    settings = annotator.describe() if annotator is not None else {}
    name = annotator.name if annotator is not None else "none"
    by_seq = group_by_sequence(read_index(clips_dir))

    def work(staging: Path, sid: str) -> list[dict]:
        rows = sorted(by_seq[sid], key=lambda r: r["clip_index"])
        kinds: dict[str, str | None] = {}
        for row in rows:
            src, dst = clips_dir / row["clip_id"], staging / row["clip_id"]
            dst.mkdir(parents=True)
            if (src / DEPTH.interim_file).exists():
                link_or_copy(src / DEPTH.interim_file, dst / DEPTH.interim_file)
                kinds[row["clip_id"]] = METRIC_DEPTH
        if annotator is not None:
            for run in _missing_runs(rows, kinds):
                labels = annotator([clips_dir / r["clip_id"] / VIDEO.interim_file for r in run])
                for r, lab in zip(run, labels, strict=True):
                    lab = np.array(lab, np.float32)
                    lab[int(r.get("valid_frames") or len(lab)):] = np.nan  # padded frames of short clips
                    io.write_npy(staging / r["clip_id"] / REL_FILE, lab.astype(np.float16))
                    kinds[r["clip_id"]] = RELATIVE_INVERSE_DEPTH
        out_rows = []
        for row in rows:
            kind = kinds.get(row["clip_id"])
            source = "gt" if kind == METRIC_DEPTH else (name if kind else "none")
            io.write_json(staging / row["clip_id"] / META_FILE, {
                "clip_id": row["clip_id"], "depth_source": source, "depth_kind": kind, "annotator": name,
                "settings": settings if kind == RELATIVE_INVERSE_DEPTH else {}})
            out_rows.append({"clip_id": row["clip_id"], "sequence_id": sid, "depth_source": source,
                             "depth_kind": kind or "", f"has_{DEPTH.name}": kind is not None})
        return out_rows
    return run_stage(out, dataset, "depth_labels", sorted(by_seq), work, log, progress)


def _missing_runs(rows: list[dict], kinds: dict) -> list[list[dict]]:
    """Runs of consecutive clips (by clip_index) that have no ground-truth depth."""
    runs: list[list[dict]] = []
    for r in rows:
        if r["clip_id"] in kinds:
            continue
        if runs and runs[-1][-1]["clip_index"] == r["clip_index"] - 1:
            runs[-1].append(r)
        else:
            runs.append([r])
    return runs


def depth_label_file(folder: Path) -> tuple[Path, str] | None:
    """(file, depth_kind) of a ``depth_labels`` clip folder, or None when its depth is missing."""
    for kind, name in DEPTH_FILES.items():
        if (Path(folder) / name).exists():
            return Path(folder) / name, kind
    return None


def depth_meta(folder: Path) -> dict:
    p = Path(folder) / META_FILE
    return json.loads(p.read_text()) if p.exists() else {}
