"""The ``raw_inventory`` stage: what a raw dataset folder holds, before any decoding.

One row per sequence: modalities present, frame count, duration, native frame rate, expected clips,
and the problem found while opening it (empty when none). Sequences with a problem are quarantined by
the ``clips`` stage with the same reason.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa

from egom2p import modalities as M
from egom2p.tables import write_rows

from .config import CurationConfig
from .datasets import dataset_settings, resolve_reader
from .partition import Log


def inventory_schema() -> pa.Schema:
    """Columns of ``inventory.parquet``: ids, one ``has_<modality>`` flag per registry row, timing, problem."""
    return pa.schema([
        ("dataset", pa.string()), ("sequence_id", pa.string()), ("reader", pa.string()),
        *[(flag, pa.bool_()) for flag in M.flags(())],
        ("frames", pa.int64()), ("duration_s", pa.float64()), ("native_fps", pa.float64()),
        ("expected_clips", pa.int64()), ("problem", pa.string()),
    ])


def inventory_rows(raw: Path, dataset: str, cfg: CurationConfig) -> list[dict]:
    reader = resolve_reader(raw)
    settings = dataset_settings(raw)
    rows = []
    for sid in reader.list_sequences(raw):
        row = {"dataset": dataset, "sequence_id": sid, "reader": reader.name, **M.flags(()), "frames": 0,
               "duration_s": 0.0, "native_fps": 0.0, "expected_clips": 0, "problem": ""}
        try:
            seq = reader.open(raw, sid, cfg.side, settings)
            t = seq.frame_times
            duration = float(t[-1] - t[0]) + (float(np.median(np.diff(t))) if len(t) > 1 else 0.0)
            row.update(M.flags(seq.modalities))
            row.update(frames=len(t), duration_s=duration,
                       native_fps=float(1.0 / np.median(np.diff(t))) if len(t) > 1 else 0.0,
                       expected_clips=int(duration * cfg.fps + 1e-6) // cfg.clip_frames)
        except Exception as e:  # noqa: BLE001 - recorded, not raised: the inventory lists problems
            row["problem"] = str(e) or type(e).__name__
        rows.append(row)
    return rows


def build_inventory(raw: Path, out_file: Path, dataset: str, cfg: CurationConfig, log: Log | None = None) -> list[dict]:
    rows = inventory_rows(raw, dataset, cfg)
    write_rows(out_file, rows, inventory_schema())
    if log:
        bad = [r for r in rows if r["problem"]]
        log(f"{dataset}: {len(rows)} sequences, {len(bad)} with problems")
    return rows
