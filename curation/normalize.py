"""The ``normalized_clips`` stage: interim clips + depth labels -> the canonical clips, index and quarantine.

Depth is normalized per *sequence* (inverse depth, percentile range -> [0, 1]; the constants go into each
clip's meta; ground truth is metric, annotator labels relative inverse depth, ``depth_normalization.input``
says which); every other modality goes through its registry row's ``normalize`` (``egom2p.normalize``).

Per-modality outcomes: the ``clips`` stage's ``dropped`` record (modality -> reason) is carried into each
canonical clip's meta and the index's ``dropped_<modality>`` columns for the modalities the clip still
lacks (depth an annotator filled is no longer dropped); a sequence whose depth labels hold no valid value
loses depth here with its reason, instead of failing as a whole.
"""
from __future__ import annotations

from pathlib import Path

from egom2p import modalities as M
from egom2p.catalog import read_index, read_quarantine
from egom2p.clip import file_checksum, read_meta, write_clip
from egom2p.normalize import (depth_constants, inverse_depth_constants, normalize_depth, normalize_inverse_depth,
                              valid_fraction)

from .config import CurationConfig
from .depth import DEPTH, METRIC_DEPTH, RELATIVE_INVERSE_DEPTH, VIDEO, depth_label_file, depth_meta, read_depth_label
from .partition import (Log, StageResult, Unit, dropped_columns, group_by_sequence, run_stage, sequence_units,
                        upstream_fingerprints)


VERSION = "normalized_clips/4"


def normalize_partition(clips_dir: Path, depth_dir: Path, out: Path, dataset: str, cfg: CurationConfig,
                        upstream_quarantine: list[dict] = (), log: Log | None = None,
                        progress: bool = True, workers: int = 0, executor=None) -> StageResult:
    """The canonical clips of one partition, one unit per sequence (re-run when its clips or depth labels
    or the config change), then the index and the merged quarantine are published."""
    rows = read_index(clips_dir)
    depth_rows = read_index(depth_dir)
    by_depth = group_by_sequence(depth_rows)
    clips_fp, depth_fp = upstream_fingerprints(rows), upstream_fingerprints(depth_rows)
    units = sequence_units(group_by_sequence(rows),
                           lambda sid, r: (Path(clips_dir), Path(depth_dir), r, by_depth.get(sid, []), cfg),
                           lambda sid: (VERSION, cfg.to_dict(), clips_fp[sid], depth_fp.get(sid)))
    return run_stage(out, dataset, "normalized_clips", units, _normalize_unit, workers=workers, log=log,
                     progress=progress, prior_quarantine=list(upstream_quarantine), executor=executor)


def _normalize_unit(staging: Path, unit: Unit, ctx) -> list[dict]:
    """One sequence: depth normalized with one range per sequence and depth kind, the rest per row."""
    clips_dir, depth_dir, rows, depth_rows, cfg = unit.args
    by_clip = {r["clip_id"]: r for r in depth_rows}
    labels = [depth_label_file(depth_dir / r["clip_id"]) for r in rows]
    consts, lost = {}, {}  # one range per sequence and depth kind (metric GT / relative pseudo-labels)
    for kind, fn in ((METRIC_DEPTH, depth_constants), (RELATIVE_INVERSE_DEPTH, inverse_depth_constants)):
        of_kind = [lab for lab in labels if lab and lab[1] == kind]
        if of_kind:  # decoded one clip at a time: only the finite values are kept for the percentiles
            try:
                consts[kind] = {**fn((read_depth_label(lab) for lab in of_kind), cfg.depth_percentiles),
                                "input": kind}
            except ValueError as e:   # no valid value in the whole sequence: it goes without depth
                lost[kind] = f"{DEPTH.name}: {kind} labels of the sequence hold no valid value ({e})"
    out = []
    for r, lab in zip(rows, labels):
        why = lost.get(lab[1]) if lab else None
        out.append(_write_canonical(clips_dir / r["clip_id"], None if why else lab, staging / r["clip_id"], r,
                                    by_clip.get(r["clip_id"], {}), consts.get(lab[1]) if lab and not why else None,
                                    {DEPTH.name: why} if why else {}))
    return out


def _write_canonical(src: Path, label: tuple[Path, str] | None, dst: Path, row: dict, depth_row: dict,
                     const: dict | None, lost: dict[str, str]) -> dict:
    """One canonical clip: depth from its label (normalized with the sequence's constants), every other
    interim array through its registry row's ``normalize``, the video hard-linked; returns its index row.
    ``lost``: modality -> reason for modalities this stage drops (added to the clip's ``dropped``)."""
    meta = read_meta(src)
    arrays = {}
    if label is not None:
        norm = normalize_depth if label[1] == METRIC_DEPTH else normalize_inverse_depth
        arrays[DEPTH.name] = norm(read_depth_label(label), const)
    for m in M.REGISTRY.values():
        if m.normalize is not None and m.interim_path(src).exists():
            arrays[m.name] = m.normalize(m.read_interim(src), meta)
    have = {m.name: m.source == "video" or m.name in arrays for m in M.REGISTRY.values()}
    depth = DEPTH.name in arrays
    dropped = {m: why for m, why in {**meta.get("dropped", {}), **lost}.items() if not have.get(m)}
    meta.update(modalities=have, dropped=dropped,
                depth_source=depth_row.get("depth_source", "none") if depth else "none",
                depth_normalization=({**const, "kind": "inverse_depth_per_sequence"} if depth else None),
                depth_annotator=(depth_meta(label[0].parent).get("settings") or None) if label else None)
    write_clip(dst, meta, links={VIDEO.name: src / VIDEO.interim_file}, **arrays)
    fractions = {f"{m.name}_valid_frac": valid_fraction(arrays[m.name]) if m.name in arrays else 0.0
                 for m in M.rows(valid_fraction=True)}
    return {"clip_id": row["clip_id"], "sequence_id": row["sequence_id"], "clip_index": row["clip_index"],
            "split": row["split"], "start_time": row["start_time"], "valid_frames": row["valid_frames"],
            **M.flags(have), "depth_source": meta["depth_source"], **fractions, **dropped_columns(dropped),
            f"{VIDEO.name}_sha256": file_checksum(VIDEO.path(dst)),
            "depth_inv_lo": const["inv_lo"] if depth else None,
            "depth_inv_hi": const["inv_hi"] if depth else None}


def upstream_quarantine(*folders: Path) -> list[dict]:
    rows = []
    for f in folders:
        rows += read_quarantine(f)
    return rows


__all__ = ["normalize_partition", "upstream_quarantine"]
