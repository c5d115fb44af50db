"""Shared machinery of a partition stage: sequence loop with quarantine, staging + atomic swap.

A stage processes every sequence of one dataset partition. A failing sequence is quarantined with its
reason (stage, error) and the rest completes. Output is built in a staging folder and swapped in at the
end, so readers never see a half-written partition and re-running a stage replaces its output whole.
"""
from __future__ import annotations

import hashlib
import re
import shutil
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from tqdm import tqdm

from egom2p import io
from egom2p.catalog import write_index, write_quarantine

from .sequence import SequenceError

Log = Callable[[str], None]


def clip_id(sequence_id: str, k: int) -> str:
    """Sample key of clip k: letters, digits, ``_`` and ``-`` only, no dots (WebDataset keys). An id that
    had to be cleaned (``subject1/h1/0``, ``(stir, spoon, bowl)/…``) gets a short hash of the original,
    so two sequences never share a key."""
    clean = re.sub(r"[^A-Za-z0-9_-]+", "_", sequence_id).strip("_")
    if clean != sequence_id:
        clean = f"{clean}_{hashlib.sha1(sequence_id.encode()).hexdigest()[:6]}"
    return f"{clean}-{k:04d}"


@dataclass
class StageResult:
    rows: list[dict] = field(default_factory=list)         # one per clip
    quarantine: list[dict] = field(default_factory=list)   # one per failed sequence
    sequences: int = 0

    @property
    def quarantined(self) -> int:
        return len(self.quarantine)


def run_sequences(dataset: str, stage: str, sequence_ids: list[str], work: Callable[[str], list[dict]],
                  log: Log | None = None, progress: bool = True) -> StageResult:
    """Run ``work(sequence_id) -> clip rows`` for each sequence; exceptions quarantine that sequence."""
    result = StageResult(sequences=len(sequence_ids))
    bar = tqdm(sequence_ids, desc=f"{stage}[{dataset}]", unit="seq", disable=not progress, leave=False)
    for seq in bar:
        try:
            result.rows += work(seq)
        except Exception as e:  # noqa: BLE001 - any failure quarantines this sequence only
            reason = str(e) if isinstance(e, SequenceError) else f"{type(e).__name__}: {e}"
            if not isinstance(e, SequenceError) and log:
                log(traceback.format_exc(limit=3))
            result.quarantine.append({"dataset": dataset, "sequence_id": seq, "stage": stage, "error": reason})
            if log:
                log(f"quarantined {dataset}/{seq} at {stage}: {reason}")
    return result


def run_stage(out: Path, dataset: str, stage: str, sequence_ids: list[str],
              work: Callable[[Path, str], list[dict]], log: Log | None = None, progress: bool = True,
              prior_quarantine: list[dict] = ()) -> StageResult:
    """A whole stage: ``work(staging, sequence_id) -> clip rows`` per sequence into a staging folder,
    then index + quarantine (``prior_quarantine`` first) and an atomic swap onto ``out``."""
    staging = io.staging_dir(out)
    try:
        result = run_sequences(dataset, stage, sequence_ids, lambda sid: work(staging, sid), log, progress)
        result.quarantine = list(prior_quarantine) + result.quarantine
        publish(staging, out, result)
    except BaseException:
        discard(staging)
        raise
    return result


def group_by_sequence(rows: list[dict]) -> dict[str, list[dict]]:
    """Index rows grouped by ``sequence_id`` (order kept)."""
    out: dict[str, list[dict]] = {}
    for row in rows:
        out.setdefault(row["sequence_id"], []).append(row)
    return out


def publish(staging: Path, final: Path, result: StageResult, schema=None) -> Path:
    """Write index + quarantine into ``staging`` and swap it into ``final`` atomically."""
    write_index(staging, result.rows, schema)
    write_quarantine(staging, result.quarantine)
    return io.replace_dir(staging, final)


def discard(staging: Path) -> None:
    shutil.rmtree(staging, ignore_errors=True)
