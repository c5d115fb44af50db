"""Normalization and the ``normalized_clips`` stage, which writes the canonical clips (DESIGN.md §4).

- depth: inverse depth, normalized per *sequence* so that its (low, high) percentiles map to (0, 1),
  clipped to [0, 1]; NaN stays NaN. The constants are stored in each clip's meta. Ground truth is metric
  (1 / depth_m); annotator labels are already relative inverse depth and are normalized directly (no
  reciprocal), with their own per-sequence range (``depth_normalization.input`` says which).
- gaze: rectified pixels (u, v) -> ((u + 0.5) / S, (v + 0.5) / S) in [0, 1]; outside the frame -> NaN.
- camera: OpenCV camera-to-world relative to the clip's first frame: T_0⁻¹ · T_i (first = identity).
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from egom2p import io
from egom2p.clip import file_checksum, write_clip
from egom2p.geometry import invert_pose

from .clips import FILES
from .config import CurationConfig
from .depth import METRIC_DEPTH, RELATIVE_INVERSE_DEPTH, depth_label_file, depth_meta
from .partition import Log, StageResult, group_by_sequence, read_index, read_quarantine, run_stage

MAX_DEPTH_SAMPLES = 200_000


def depth_constants(depth_maps: list[np.ndarray], percentiles=(1.0, 99.0), seed: int = 0) -> dict:
    """Per-sequence inverse-depth range {inv_lo, inv_hi} (1/m) from metric z-depth maps (NaN unknown)."""
    values = [d[np.isfinite(d) & (d > 0)].astype(np.float64) for d in depth_maps]
    return _inverse_range([1.0 / v for v in values], percentiles, seed)


def inverse_depth_constants(inv_maps: list[np.ndarray], percentiles=(1.0, 99.0), seed: int = 0) -> dict:
    """The same range from relative inverse depth maps (annotators: affine-invariant, NaN unknown)."""
    return _inverse_range([m[np.isfinite(m)].astype(np.float64) for m in inv_maps], percentiles, seed)


def _inverse_range(values: list[np.ndarray], percentiles, seed: int) -> dict:
    v = np.concatenate(values) if values else np.empty(0)
    if v.size == 0:
        raise ValueError("no valid depth in sequence")
    if v.size > MAX_DEPTH_SAMPLES:
        v = np.random.default_rng(seed).choice(v, MAX_DEPTH_SAMPLES, replace=False)
    lo, hi = np.percentile(v, percentiles)
    if hi - lo < 1e-9:
        hi = lo + 1e-9
    return {"inv_lo": float(lo), "inv_hi": float(hi), "percentiles": list(percentiles)}


def normalize_depth(depth_m: np.ndarray, c: dict) -> np.ndarray:
    """Metric z-depth (…) -> normalized inverse depth in [0,1] (1 = near), NaN where unknown."""
    d = np.asarray(depth_m, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        inv = np.where(np.isfinite(d) & (d > 0), 1.0 / d, np.nan)
    return normalize_inverse_depth(inv, c)


def normalize_inverse_depth(inv: np.ndarray, c: dict) -> np.ndarray:
    """Inverse depth (1/m or relative) -> [0,1] with the sequence's (inv_lo, inv_hi); NaN stays NaN."""
    inv = np.asarray(inv, dtype=np.float64)
    return np.clip((inv - c["inv_lo"]) / (c["inv_hi"] - c["inv_lo"]), 0.0, 1.0)


def denormalize_depth(depth_n: np.ndarray, c: dict) -> np.ndarray:
    """Inverse of ``normalize_depth`` inside the unclipped range: normalized -> metres."""
    inv = np.asarray(depth_n, np.float64) * (c["inv_hi"] - c["inv_lo"]) + c["inv_lo"]
    return 1.0 / inv


def normalize_gaze(gaze_px: np.ndarray, side: int) -> np.ndarray:
    """(T,2) rectified pixels -> (T,2) normalized coordinates in [0,1]; off-frame or invalid -> NaN."""
    g = (np.asarray(gaze_px, dtype=np.float64) + 0.5) / side
    bad = ~np.isfinite(g).all(-1) | (g < 0).any(-1) | (g > 1).any(-1)
    g[bad] = np.nan
    return g


def relative_poses(T_world_cam: np.ndarray) -> np.ndarray:
    """(T,4,4) camera-to-world -> poses relative to the first frame (T_0⁻¹ T_i), first exactly I."""
    T = np.asarray(T_world_cam, dtype=np.float64)
    rel = invert_pose(T[0]) @ T
    rel[0] = np.eye(4)
    rel[:, 3] = [0, 0, 0, 1]
    return rel


def normalize_partition(clips_dir: Path, depth_dir: Path, out: Path, dataset: str, cfg: CurationConfig,
                        upstream_quarantine: list[dict] = (), log: Log | None = None,
                        progress: bool = True) -> StageResult:
    """Write the canonical clips of one partition, its index and the merged quarantine (atomic swap)."""
    by_seq = group_by_sequence(read_index(clips_dir))
    depth_rows = {r["clip_id"]: r for r in read_index(depth_dir)}

    def work(staging: Path, sid: str) -> list[dict]:
        rows = by_seq[sid]
        labels = [depth_label_file(depth_dir / r["clip_id"]) for r in rows]
        consts = {}  # one range per sequence and depth kind (metric GT / relative pseudo-labels)
        for kind, fn in ((METRIC_DEPTH, depth_constants), (RELATIVE_INVERSE_DEPTH, inverse_depth_constants)):
            maps = [io.read_npy(lab[0]) for lab in labels if lab and lab[1] == kind]
            if maps:
                consts[kind] = {**fn(maps, cfg.depth_percentiles), "input": kind}
        return [_write_canonical(clips_dir / r["clip_id"], lab, staging / r["clip_id"], r,
                                 depth_rows.get(r["clip_id"], {}), consts.get(lab[1]) if lab else None)
                for r, lab in zip(rows, labels)]
    return run_stage(out, dataset, "normalized_clips", sorted(by_seq), work, log, progress,
                     prior_quarantine=list(upstream_quarantine))


def _write_canonical(src: Path, label: tuple[Path, str] | None, dst: Path, row: dict, depth_row: dict,
                     const: dict | None) -> dict:
    meta = json.loads((src / "meta.json").read_text())
    side = int(meta["side"])
    arrays = {}
    if label is not None:
        norm = normalize_depth if label[1] == METRIC_DEPTH else normalize_inverse_depth
        arrays["depth"] = norm(io.read_npy(label[0]), const)
    if (src / FILES["gaze"]).exists():
        arrays["gaze"] = normalize_gaze(io.read_npy(src / FILES["gaze"]), side)
    if (src / FILES["camera"]).exists():
        arrays["camera"] = relative_poses(io.read_npy(src / FILES["camera"]))
    have = {"rgb": True, **{m: m in arrays for m in ("depth", "gaze", "camera")}}
    meta.update(modalities=have, depth_source=depth_row.get("depth_source", "none") if "depth" in arrays else "none",
                depth_normalization=({**const, "kind": "inverse_depth_per_sequence"} if "depth" in arrays else None),
                depth_annotator=(depth_meta(label[0].parent).get("settings") or None) if label else None)
    write_clip(dst, meta, rgb_file=src / FILES["rgb"], **arrays)
    g = arrays.get("gaze")
    return {"clip_id": row["clip_id"], "sequence_id": row["sequence_id"], "clip_index": row["clip_index"],
            "split": row["split"], "start_time": row["start_time"], "valid_frames": row["valid_frames"],
            **{f"has_{m}": v for m, v in have.items()}, "depth_source": meta["depth_source"],
            "gaze_valid_frac": float(np.isfinite(g).all(1).mean()) if g is not None else 0.0,
            "rgb_sha256": file_checksum(dst / "rgb.mp4"),
            "depth_inv_lo": const["inv_lo"] if "depth" in arrays else None,
            "depth_inv_hi": const["inv_hi"] if "depth" in arrays else None}


def upstream_quarantine(*folders: Path) -> list[dict]:
    rows = []
    for f in folders:
        rows += read_quarantine(f)
    return rows


__all__ = ["depth_constants", "inverse_depth_constants", "normalize_depth", "normalize_inverse_depth",
           "denormalize_depth", "normalize_gaze", "relative_poses", "normalize_partition", "upstream_quarantine"]
