"""The ``raw_inventory`` stage: what a raw dataset folder holds, before any decoding.

One row per sequence: modalities present, frame count, duration, native frame rate, expected clips,
and the problem found while opening it (empty when none). ``expected_clips`` is what the ``clips`` stage
makes of the sequence (``plan_clips`` on the same config): a sequence shorter than one clip counts one
padded clip under ``allow_short`` (evaluation datasets) and 0 otherwise (the clips stage quarantines it). Sequences with a problem are quarantined by
the ``clips`` stage with the same reason.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa

from egom2p import modalities as M
from egom2p.tables import write_rows

from .clips import open_sequence, plan_clips
from .config import CurationConfig
from .datasets import resolve_reader
from .partition import Log, StageResult, Unit, run_stage, source_current, unit_key
from .sequence import Sequence, SequenceError

VERSION = "raw_inventory/3"


def inventory_schema() -> pa.Schema:
    """Columns of ``inventory.parquet``: ids, one ``has_<modality>`` flag per registry row, timing, problem."""
    return pa.schema([
        ("dataset", pa.string()), ("sequence_id", pa.string()), ("reader", pa.string()),
        *[(flag, pa.bool_()) for flag in M.flags(())],
        ("frames", pa.int64()), ("duration_s", pa.float64()), ("native_fps", pa.float64()),
        ("expected_clips", pa.int64()), ("problem", pa.string()),
    ])


def _inventory_unit(staging: Path, unit: Unit, ctx) -> list[dict]:
    """One sequence's inventory row; a sequence that cannot be opened is listed with its problem."""
    raw, dataset, sid, cfg = unit.args
    row = {"dataset": dataset, "sequence_id": sid, "reader": resolve_reader(raw).name, **M.flags(()), "frames": 0,
           "duration_s": 0.0, "native_fps": 0.0, "expected_clips": 0, "problem": ""}
    try:
        seq = open_sequence(raw, sid, cfg, ctx, VERSION)
        t = seq.frame_times
        duration = float(t[-1] - t[0]) + (float(np.median(np.diff(t))) if len(t) > 1 else 0.0)
        row.update(M.flags(seq.modalities))
        row.update(frames=len(t), duration_s=duration,
                   native_fps=float(1.0 / np.median(np.diff(t))) if len(t) > 1 else 0.0,
                   expected_clips=expected_clips(seq, cfg))
    except Exception as e:  # noqa: BLE001 - recorded, not raised: the inventory lists problems
        row["problem"] = str(e) or type(e).__name__
    return [row]


def expected_clips(seq: Sequence, cfg: CurationConfig) -> int:
    """Clips the ``clips`` stage makes of ``seq``: ``plan_clips``' count, 0 for a sequence it refuses as
    shorter than one clip (without ``allow_short``)."""
    try:
        return plan_clips(seq, cfg)[1]
    except SequenceError:
        return 0


def build_inventory(raw: Path, out_file: Path, dataset: str, cfg: CurationConfig, log: Log | None = None,
                    workers: int = 0, progress: bool = True, executor=None) -> StageResult:
    """Inventory one raw dataset folder into ``out_file`` (one unit per sequence; a sequence whose source
    files are unchanged keeps its row, one that could not be opened is looked at again every run)."""
    raw, out_file = Path(raw), Path(out_file)
    reader = resolve_reader(raw)
    units = [Unit(unit_key(s), s, None, (raw, dataset, s, cfg)) for s in reader.list_sequences(raw)]
    report = run_stage(out_file.parent, dataset, "raw_inventory", units, _inventory_unit, workers=workers,
                       current=source_current(raw, VERSION, cfg.to_dict(), reader.name), log=log, progress=progress,
                       publish_index=False, protected=(out_file.name,), executor=executor)
    write_rows(out_file, report.rows, inventory_schema())
    if log:
        bad = [r for r in report.rows if r["problem"]]
        log(f"{dataset}: {len(report.rows)} sequences, {len(bad)} with problems")
    return report
