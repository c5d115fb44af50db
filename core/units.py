"""Resumable units of work: each unit's output is keyed by a fingerprint of what produced it.

A stage splits its work into units (one sequence for curation, one shard for tokenization). Its output
folder ``out`` holds, directly under it, the entries the units wrote (clip folders, shard files), the
stage's published tables, and one **commit record** per unit in ``out/.units/<key>.json``::

    {"key", "label", "fingerprint", "outputs": [entry names], "rows": [table rows],
     "inputs": {...}, "error": "", "retry": false, "seconds"}

A unit runs into a private staging folder and commits in this order: drop its old record (from now on the
unit counts as not done), remove its old entries, rename its new entries into ``out``, write the record
atomically. A crash anywhere before the last step leaves the unit uncommitted, so the next run redoes it
and only it; leftovers are swept. A stage run

1. lists its units with the fingerprint each would have now (hash of the inputs, the stage's config and a
   stage version string; or, where that is known only after opening the input, a ``current(record)``
   check that recomputes it from the record's ``inputs``);
2. skips a unit whose record has the same fingerprint (an input error recorded as ``bad input`` is skipped
   too: the same input fails the same way; any other error is retried);
3. runs the rest on a pool of worker processes (``egom2p.pool``), committing each as it finishes;
4. removes the records and entries of units that no longer exist (a sequence deleted from the raw folder)
   and any entry no record owns;
5. returns rows and quarantine in unit order, so the caller publishes its table atomically. Neither the
   order nor any byte depends on the number of workers.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

from tqdm import tqdm

from . import io
from .pool import Executor, imap_unordered, resolve_workers

UNITS_DIR = ".units"
STAGING_PREFIX = ".staging-"
Log = Callable[[str], None]


def fingerprint(*parts) -> str:
    """Stable hash (20 hex digits) of JSON-able parts (dicts by sorted keys; paths and numpy scalars as text)."""
    blob = json.dumps(parts, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()[:20]


@dataclass(frozen=True)
class Unit:
    """One retryable piece of a stage.

    key: file-name-safe, unique within the stage; label: what people call it (sequence id, shard name);
    fingerprint: what the output must have been made from to be reused (None: decided by the stage's
    ``current`` check on the record); args: picklable arguments of the stage's work function."""
    key: str
    label: str
    fingerprint: str | None = None
    args: tuple = ()


@dataclass
class UnitContext:
    """Handed to a work function: it may set ``fingerprint`` and ``inputs`` once it has opened its input."""
    fingerprint: str | None = None
    inputs: dict = field(default_factory=dict)


@dataclass
class StageReport:
    """What a stage run did. rows / quarantine: every live unit's, in unit order; run / skipped: units
    executed now vs reused; quarantined: live units that failed; removed: units whose input disappeared."""
    rows: list[dict] = field(default_factory=list)
    quarantine: list[dict] = field(default_factory=list)
    total: int = 0
    run: int = 0
    skipped: int = 0
    removed: int = 0
    seconds: float = 0.0
    fingerprints: dict[str, str | None] = field(default_factory=dict)   # label -> fingerprint of live units

    @property
    def quarantined(self) -> int:
        return len(self.quarantine)

    @property
    def sequences(self) -> int:
        return self.total

    def counts(self) -> dict[str, int]:
        return {"units_total": self.total, "units_run": self.run, "units_skipped": self.skipped,
                "units_quarantined": self.quarantined, "units_removed": self.removed}


def records_dir(out: Path) -> Path:
    return Path(out) / UNITS_DIR


def read_records(out: Path) -> dict[str, dict]:
    """key -> commit record of every committed unit of a stage folder (unreadable records are ignored:
    the unit then simply runs again)."""
    folder = records_dir(out)
    recs = {}
    if folder.is_dir():
        for p in folder.glob("*.json"):
            try:
                rec = json.loads(p.read_text())
                recs[rec["key"]] = rec
            except (ValueError, KeyError, OSError):
                continue
    return recs


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    elif path.exists() or path.is_symlink():
        path.unlink()


def commit(out: Path, record: dict, staging: Path | None) -> None:
    """Replace a unit's committed output by ``staging``'s entries and write its record (see module doc)."""
    out, rec_path = Path(out), records_dir(out) / f"{record['key']}.json"
    old = None
    if rec_path.exists():
        try:
            old = json.loads(rec_path.read_text())
        except ValueError:
            old = None
        rec_path.unlink()
    for name in (old or {}).get("outputs", []):
        _remove(out / name)
    for name in record["outputs"]:
        _remove(out / name)
        os.replace(staging / name, out / name)
    io.write_json(rec_path, record)


def drop(out: Path, record: dict) -> None:
    """Forget a unit: its record first, then its entries."""
    (records_dir(out) / f"{record['key']}.json").unlink(missing_ok=True)
    for name in record.get("outputs", []):
        _remove(Path(out) / name)


@dataclass(frozen=True)
class _Job:
    out: Path
    stage: str
    dataset: str
    work: Callable
    unit: Unit
    bad_input: tuple


def _execute(job: _Job) -> dict:
    """Run one unit (in a worker or in-process) and commit it; failures are committed as quarantine records."""
    unit, t0 = job.unit, time.time()
    staging = Path(tempfile.mkdtemp(prefix=f"{STAGING_PREFIX}{unit.key}-", dir=records_dir(job.out)))
    ctx = UnitContext(fingerprint=unit.fingerprint)
    record = {"key": unit.key, "label": unit.label, "stage": job.stage, "rows": [], "outputs": [], "error": "",
              "retry": False, "trace": ""}
    try:
        record["rows"] = job.work(staging, unit, ctx)
        record["outputs"] = sorted(os.listdir(staging))
    except Exception as e:  # noqa: BLE001 - one unit's failure quarantines that unit only
        bad = isinstance(e, job.bad_input)
        record.update(error=str(e) if bad else f"{type(e).__name__}: {e}", retry=not bad, rows=[], outputs=[],
                      trace="" if bad else traceback.format_exc(limit=4))
    record.update(fingerprint=ctx.fingerprint, inputs=ctx.inputs, seconds=round(time.time() - t0, 3))
    try:
        commit(job.out, record, staging)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return record


def _quarantine_row(dataset: str, stage: str, rec: dict) -> dict:
    return {"dataset": dataset, "sequence_id": rec["label"], "stage": rec.get("stage", stage), "error": rec["error"]}


def _crashed(job: _Job, error: BaseException) -> dict:
    """A unit whose worker process died on every try (Ray): quarantined with the reason, retried next run."""
    record = {"key": job.unit.key, "label": job.unit.label, "stage": job.stage, "rows": [], "outputs": [],
              "error": f"worker process died on every try: {type(error).__name__}: {str(error).splitlines()[0][:300]}",
              "retry": True, "trace": "", "fingerprint": job.unit.fingerprint, "inputs": {}, "seconds": 0.0}
    commit(job.out, record, None)
    return record


def run_units(out: Path, stage: str, dataset: str, units: Iterable[Unit], work: Callable,
              current: Callable[[dict], bool] | None = None, workers: int = 0, bad_input: tuple = (),
              protected: Iterable[str] = (), log: Log | None = None, progress: bool = True,
              executor: Executor | None = None) -> StageReport:
    """Bring a stage folder up to date with ``units`` (see the module doc).

    work: module-level ``work(staging: Path, unit: Unit, ctx: UnitContext) -> list[dict]`` (rows); it writes
    the unit's entries into ``staging``. current: ``record -> bool`` for units whose fingerprint is None.
    bad_input: exception types meaning "this input is bad" (quarantined and not retried while unchanged).
    protected: entry names under ``out`` that belong to the stage itself (its tables), never swept.
    executor: where units run (``egom2p.pool.Executor``: local process pool or Ray); default: ``workers``
    local processes.
    """
    t0, out, units = time.time(), Path(out), list(units)
    keys = [u.key for u in units]
    if len(set(keys)) != len(keys):
        raise ValueError(f"{stage}[{dataset}]: duplicate unit keys")
    records_dir(out).mkdir(parents=True, exist_ok=True)
    for stale in records_dir(out).glob(f"{STAGING_PREFIX}*"):
        shutil.rmtree(stale, ignore_errors=True)   # staging of a run that was killed
    records = read_records(out)
    report = StageReport(total=len(units))

    def done(u: Unit) -> bool:
        rec = records.get(u.key)
        if rec is None or rec.get("retry") or rec.get("fingerprint") is None:
            return False
        return rec["fingerprint"] == u.fingerprint if u.fingerprint is not None else bool(current and current(rec))

    todo = [u for u in units if not done(u)]
    report.skipped = len(units) - len(todo)
    ex = executor or Executor(workers=workers)
    where = (f"on Ray ({ex.address or 'local instance'})" if ex.kind == "ray"
             else f"on {min(resolve_workers(ex.workers), max(1, len(todo)))} worker(s)")
    if log:
        log(f"{stage}[{dataset}]: {len(units)} units, {report.skipped} already committed, {len(todo)} to run {where}")
    bar = tqdm(total=len(todo), desc=f"{stage}[{dataset}]", unit="unit", disable=not progress or not todo, leave=False)
    jobs = [_Job(out, stage, dataset, work, u, tuple(bad_input)) for u in todo]
    failed, last_log = 0, time.time()
    for rec in imap_unordered(_execute, jobs, executor=ex, on_crash=_crashed):
        # the committed record as stored, so a resumed run publishes exactly what a fresh one does
        rec = records[rec["key"]] = json.loads((records_dir(out) / f"{rec['key']}.json").read_text())
        report.run += 1
        failed += bool(rec["error"])
        bar.update(1)
        if rec["error"] and log:
            log(f"quarantined {dataset}/{rec['label']} at {stage}: {rec['error']}" + (f"\n{rec['trace']}" if rec.get("trace") else ""))
        if log and (time.time() - last_log > 10 or report.run == len(todo)):
            last_log = time.time()
            log(f"{stage}[{dataset}]: {report.run}/{len(todo)} run ({failed} quarantined), {report.skipped} skipped, "
                f"{len(todo) - report.run} remaining")
    bar.close()
    live = set(keys)
    for key, rec in list(records.items()):
        if key not in live:
            drop(out, rec)
            report.removed += 1
            del records[key]
    _sweep(out, {n for r in records.values() for n in r.get("outputs", [])} | set(protected))
    for u in units:
        rec = records[u.key]
        report.fingerprints[u.label] = rec.get("fingerprint")
        if rec["error"]:
            report.quarantine.append(_quarantine_row(dataset, stage, rec))
        else:
            report.rows += rec["rows"]
    report.seconds = time.time() - t0
    return report


def _sweep(out: Path, keep: set[str]) -> None:
    """Remove entries of ``out`` that no record owns (left by a killed run or a removed unit)."""
    for p in out.iterdir():
        if not p.name.startswith(".") and p.name not in keep:
            _remove(p)
