"""Shared machinery of the curation stages: one unit per sequence, fingerprints, publishing a partition.

Every curation stage runs its sequences as resumable units (``egom2p.units``): a sequence's output is
reused while its fingerprint is unchanged — for the stages that read the raw folder, the sizes and
modification times of the source files the reader used, the stage's config and version; for the later
stages, the upstream stage's fingerprint of that sequence plus their own config and version. A failing
sequence is quarantined with its reason and the rest completes. At the end the partition's index (one row
per clip, with the sequence's ``unit_fingerprint``) and quarantine table are published atomically.
"""
from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path
from typing import Callable, Iterable

from egom2p import modalities as M
from egom2p.catalog import INDEX, QUARANTINE, write_index, write_quarantine
from egom2p.pool import Executor
from egom2p.units import StageReport, Unit, fingerprint, run_units

from .sequence import SequenceError

Log = Callable[[str], None]
StageResult = StageReport            # what every stage function returns
DATASET_SETTINGS = "dataset.json"


def unit_key(sequence_id: str) -> str:
    """File-name-safe key of a sequence: letters, digits, ``_`` and ``-`` only; an id that had to be
    cleaned (``subject1/h1/0``, ``(stir, spoon, bowl)/…``) gets a short hash of the original, so two
    sequences never share a key."""
    clean = re.sub(r"[^A-Za-z0-9_-]+", "_", sequence_id).strip("_")
    if clean != sequence_id:
        clean = f"{clean}_{hashlib.sha1(sequence_id.encode()).hexdigest()[:6]}"
    return clean


def clip_id(sequence_id: str, k: int) -> str:
    """Sample key of clip k of a sequence (WebDataset keys: no dots)."""
    return f"{unit_key(sequence_id)}-{k:04d}"


def _resolve(raw: Path, sequence_id: str, rel: str) -> Path | None:
    """A reader's source path: relative to the raw folder, or (Aria-family readers) to the sequence folder."""
    for p in (raw / rel, raw / sequence_id / rel):
        if p.exists():
            return p
    return None


def source_scope(raw: str | os.PathLike, sequence_id: str, source_files: Iterable[str]) -> list[str]:
    """What a sequence's fingerprint stats, relative to the raw folder: the deepest folder holding every
    source file the reader used when that folder is inside the raw folder (so a file added to the
    sequence's folder later, e.g. gaze, changes it), else the source paths themselves; plus the raw
    folder's ``dataset.json`` (reader settings)."""
    raw = Path(raw)
    found = [p for p in (_resolve(raw, sequence_id, r) for r in source_files) if p is not None]
    scope: list[str] = []
    if found:
        common = Path(os.path.commonpath([str(p if p.is_dir() else p.parent) for p in found]))
        if common != raw and raw in common.parents:
            scope = [str(common.relative_to(raw))]
        else:
            scope = sorted(str(p.relative_to(raw)) for p in found)
    if (raw / DATASET_SETTINGS).exists():
        scope.append(DATASET_SETTINGS)
    return scope


def scope_signature(raw: str | os.PathLike, scope: Iterable[str]) -> str:
    """Hash of (path, size, mtime_ns) of every file under the scope's paths (folders walked; no reads)."""
    raw, entries = Path(raw), []
    for rel in scope:
        p = raw / rel
        if p.is_dir():
            for dirpath, _, files in os.walk(p):
                for f in files:
                    st = os.stat(os.path.join(dirpath, f))
                    entries.append((os.path.relpath(os.path.join(dirpath, f), raw), st.st_size, st.st_mtime_ns))
        elif p.exists():
            st = p.stat()
            entries.append((rel, st.st_size, st.st_mtime_ns))
        else:
            entries.append((rel, -1, -1))
    return fingerprint(sorted(entries))


def source_fingerprint(raw: str | os.PathLike, scope: list[str], *parts) -> str:
    """A raw-reading stage's fingerprint: the scope's signature + the stage's own parts (version, config)."""
    return fingerprint(scope_signature(raw, scope), *parts)


def source_current(raw: str | os.PathLike, *parts) -> Callable[[dict], bool]:
    """``current(record)`` check of a raw-reading stage: recompute the fingerprint from the record's scope."""
    def current(rec: dict) -> bool:
        scope = (rec.get("inputs") or {}).get("scope")
        return scope is not None and rec.get("fingerprint") == source_fingerprint(raw, scope, *parts)
    return current


def sequence_units(by_seq: dict[str, list[dict]], args: Callable[[str, list[dict]], tuple],
                   parts: Callable[[str], tuple]) -> list[Unit]:
    """Units of a stage that reads an upstream index: one per sequence (sorted), fingerprinted by
    ``parts(sequence_id)`` (upstream fingerprints, config, version)."""
    return [Unit(unit_key(sid), sid, fingerprint(*parts(sid)), args(sid, by_seq[sid])) for sid in sorted(by_seq)]


def upstream_fingerprints(rows: list[dict]) -> dict[str, str | None]:
    """sequence_id -> the ``unit_fingerprint`` its index rows carry."""
    return {r["sequence_id"]: r.get("unit_fingerprint") for r in rows}


def run_stage(out: Path, dataset: str, stage: str, units: list[Unit], work: Callable, *, workers: int = 0,
              current: Callable[[dict], bool] | None = None, log: Log | None = None, progress: bool = True,
              prior_quarantine: Iterable[dict] = (), publish_index: bool = True,
              protected: Iterable[str] = (), executor: Executor | None = None) -> StageReport:
    """Run a curation stage's units and publish the partition (index + quarantine, ``prior_quarantine``
    first). Each index row gets its sequence's ``unit_fingerprint``."""
    report = run_units(out, stage, dataset, units, work, current=current, workers=workers,
                       bad_input=(SequenceError,), protected=(INDEX, QUARANTINE, *protected), log=log, progress=progress,
                       executor=executor)
    for row in report.rows if publish_index else ():
        row["unit_fingerprint"] = report.fingerprints.get(row["sequence_id"])
    report.quarantine = list(prior_quarantine) + report.quarantine
    if publish_index:
        write_index(out, report.rows)
        write_quarantine(out, report.quarantine)
    return report


def dropped_columns(dropped: dict[str, str]) -> dict[str, str]:
    """``{dropped_<name>: reason or ""}`` for every registry row (the index's per-modality outcome)."""
    return {f"dropped_{m}": dropped.get(m, "") for m in M.REGISTRY}


def group_by_sequence(rows: list[dict]) -> dict[str, list[dict]]:
    """Index rows grouped by ``sequence_id`` (order kept)."""
    out: dict[str, list[dict]] = {}
    for row in rows:
        out.setdefault(row["sequence_id"], []).append(row)
    return out
