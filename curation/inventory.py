"""The ``raw_inventory`` stage: what a raw dataset folder holds, before any decoding.

One row per sequence: modalities present, frame count, duration, native frame rate, expected clips,
and the problem found while opening it (empty when none). Sequences with a problem are quarantined by
the ``clips`` stage with the same reason.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa

from .config import CurationConfig
from .datasets import dataset_settings, resolve_reader
from .partition import Log
from .tables import write_rows

SCHEMA = pa.schema([
    ("dataset", pa.string()), ("sequence_id", pa.string()), ("reader", pa.string()),
    ("has_rgb", pa.bool_()), ("has_depth", pa.bool_()), ("has_gaze", pa.bool_()), ("has_camera", pa.bool_()),
    ("frames", pa.int64()), ("duration_s", pa.float64()), ("native_fps", pa.float64()),
    ("expected_clips", pa.int64()), ("problem", pa.string()),
])


def inventory_rows(raw: Path, dataset: str, cfg: CurationConfig) -> list[dict]:
    reader = resolve_reader(raw)
    settings = dataset_settings(raw)
    rows = []
    for sid in reader.list_sequences(raw):
        row = {"dataset": dataset, "sequence_id": sid, "reader": reader.name, "has_rgb": False,
               "has_depth": False, "has_gaze": False, "has_camera": False, "frames": 0, "duration_s": 0.0,
               "native_fps": 0.0, "expected_clips": 0, "problem": ""}
        try:
            seq = reader.open(raw, sid, cfg.side, settings)
            t = seq.frame_times
            duration = float(t[-1] - t[0]) + (float(np.median(np.diff(t))) if len(t) > 1 else 0.0)
            row.update({f"has_{m}": v for m, v in seq.modalities.items()})
            row.update(frames=len(t), duration_s=duration,
                       native_fps=float(1.0 / np.median(np.diff(t))) if len(t) > 1 else 0.0,
                       expected_clips=int(duration * cfg.fps + 1e-6) // cfg.clip_frames)
        except Exception as e:  # noqa: BLE001 - recorded, not raised: the inventory lists problems
            row["problem"] = str(e) or type(e).__name__
        rows.append(row)
    return rows


def build_inventory(raw: Path, out_file: Path, dataset: str, cfg: CurationConfig, log: Log | None = None) -> list[dict]:
    rows = inventory_rows(raw, dataset, cfg)
    write_rows(out_file, rows, SCHEMA)
    if log:
        bad = [r for r in rows if r["problem"]]
        log(f"{dataset}: {len(rows)} sequences, {len(bad)} with problems")
    return rows
