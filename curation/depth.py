"""The ``depth_labels`` stage: ground-truth depth is kept; missing depth is annotated or stays missing.

Per clip folder ``<interim>/depth/<dataset>/<clip_id>/`` exactly one of

- ``depth_m.mkv``: (60,S,S) metric z-depth in metres, NaN unknown — ground truth, a hard link to the clips
  stage's file (no copy; ``depth_source = "gt"``, ``depth_kind = "metric_depth"``), FFV1 16-bit log codes
  (``egom2p.depthio.METRIC``, relative error <= ``METRIC_MAX_RELATIVE_ERROR``);
- ``inv_depth_rel.mkv``: (60,S,S) *relative inverse depth* in [0, 1] (affine-invariant, larger = nearer, one
  affine frame per annotated run of clips), NaN on padded frames — from a depth annotator (``depth_source`` =
  annotator name, ``depth_kind = "relative_inverse_depth"``), FFV1 16-bit linear codes
  (``egom2p.depthio.NORMALIZED``, absolute error <= ``NORMALIZED_MAX_ERROR``);
- neither: depth missing (``depth_source = "none"``; the model handles missing modalities);

and ``meta.json`` (clip_id, depth_source, depth_kind, annotator, settings). Annotators (``depth_annotators``)
are called once per run of consecutive clips without ground truth of a sequence, so those clips share one
scale and shift; ``normalized_clips`` normalizes per sequence as it does ground truth.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from egom2p import depthio, io
from egom2p import modalities as M
from egom2p.catalog import read_index
from egom2p.clip import META_FILE, link_or_copy

from .depth_annotators import (ANNOTATORS, METRIC_DEPTH, RELATIVE_INVERSE_DEPTH, AnnotatorSettings,  # noqa: F401
                               DepthAnnotator, build_annotator)
from .partition import Log, StageResult, Unit, group_by_sequence, run_stage, sequence_units, upstream_fingerprints

DEPTH = M.one(value="inverse_depth")     # the modality this stage labels
VIDEO = M.one(source="video")            # the frames an annotator reads
REL_FILE = "inv_depth_rel" + depthio.EXT
DEPTH_FILES = {METRIC_DEPTH: DEPTH.interim_file, RELATIVE_INVERSE_DEPTH: REL_FILE}
# how each kind of label file is stored: GT is the clips stage's file (the row's interim codec)
LABEL_CODECS = {METRIC_DEPTH: DEPTH.interim_codec, RELATIVE_INVERSE_DEPTH: depthio.NORMALIZED}


VERSION = "depth_labels/3"
_BUILT: dict = {}   # per process: (name, settings) -> annotator, so a worker builds its model once


def cached_annotator(name: str, settings: AnnotatorSettings | None = None) -> DepthAnnotator | None:
    """``build_annotator(name, settings)`` once per process (a worker loads its model once)."""
    spec = (name, settings or AnnotatorSettings())
    if spec not in _BUILT:
        _BUILT[spec] = build_annotator(*spec)
    return _BUILT[spec]


def _annotator(spec) -> DepthAnnotator | None:
    """A (name, settings) pair built once per process; an annotator instance (or None) as it is."""
    return cached_annotator(*spec) if isinstance(spec, tuple) else spec


def label_depth(clips_dir: Path, out: Path, dataset: str, annotator: str | DepthAnnotator | None = "none",
                annotator_settings: AnnotatorSettings | None = None, log: Log | None = None,
                progress: bool = True, workers: int = 0, executor=None, gpus_per_unit: float = 0.0) -> StageResult:
    """Depth for every clip of a partition, one unit per sequence (re-run when the sequence's clips, the
    annotator or its settings change), then the index is published.

    annotator: a registered name (built in each worker with ``annotator_settings``), an annotator instance
    (then the units run in this process: a loaded model is not shipped to workers), or None.
    """
    spec = annotator
    if isinstance(annotator, str):   # built here first: an annotator that cannot run fails before any unit
        spec = (annotator, annotator_settings or AnnotatorSettings())
        spec = spec if cached_annotator(*spec) is not None else None
    instance = _annotator(spec)
    if spec is not None and not isinstance(spec, tuple):
        workers = 1
    identity = {"name": instance.name, "settings": instance.describe()} if instance is not None else {"name": "none"}
    rows = read_index(clips_dir)
    upstream = upstream_fingerprints(rows)
    units = sequence_units(group_by_sequence(rows), lambda sid, r: (Path(clips_dir), sid, r, spec),
                           lambda sid: (VERSION, identity, upstream[sid]))
    if executor is not None and spec is not None:   # an annotator: a GPU share per unit where asked
        executor = executor.with_defaults(num_gpus=gpus_per_unit)
    return run_stage(out, dataset, "depth_labels", units, _depth_unit, workers=workers, log=log, progress=progress,
                     executor=executor)


def _depth_unit(staging: Path, unit: Unit, ctx) -> list[dict]:
    """Depth of one sequence's clips: ground truth linked, runs of clips without it annotated."""
    clips_dir, sid, rows, spec = unit.args
    annotator = _annotator(spec)
    name = annotator.name if annotator is not None else "none"
    settings = annotator.describe() if annotator is not None else {}
    rows = sorted(rows, key=lambda r: r["clip_index"])
    kinds: dict[str, str | None] = {}
    for row in rows:
        src, dst = clips_dir / row["clip_id"], staging / row["clip_id"]
        dst.mkdir(parents=True)
        if DEPTH.interim_path(src).exists():
            link_or_copy(DEPTH.interim_path(src), DEPTH.interim_path(dst))
            kinds[row["clip_id"]] = METRIC_DEPTH
    if annotator is not None:
        for run in _missing_runs(rows, kinds):
            labels = annotator([clips_dir / r["clip_id"] / VIDEO.interim_file for r in run])
            for r, lab in zip(run, labels, strict=True):
                lab = np.array(lab, np.float32)
                lab[int(r.get("valid_frames") or len(lab)):] = np.nan  # padded frames of short clips
                LABEL_CODECS[RELATIVE_INVERSE_DEPTH].write(staging / r["clip_id"] / REL_FILE, lab)
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


def read_depth_label(label: tuple[Path, str]) -> np.ndarray:
    """The (60, S, S) float32 array of a ``depth_label_file`` result (metres or relative inverse depth)."""
    path, kind = label
    return LABEL_CODECS[kind].read(path)


def depth_meta(folder: Path) -> dict:
    p = Path(folder) / META_FILE
    return json.loads(p.read_text()) if p.exists() else {}
