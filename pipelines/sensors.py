"""Sensors that make the line run by itself.

``raw_dataset_sensor``: a new folder under ``<data>/raw`` becomes a ``datasets`` partition and gets a
``curate_dataset`` run; a registered folder whose files changed (a new sequence, a touched file) gets a
``curate_dataset`` run too (curation redoes only the sequences whose sources changed).

``line_automation``: Dagster's declarative automation over the assets that carry an automation condition
(``token_shards``: eager until requested, so new curated clips or a new current tokenizer re-tokenize a dataset).

Both default to RUNNING, so a running ``dagster-daemon`` (``dagster dev`` starts one) drives the line.
Environment, read when the code location loads:

- ``EGOM2P_SENSOR_INTERVAL_S`` (default 30): minimum seconds between two evaluations of each sensor;
- ``EGOM2P_AUTOMATION`` (default ``1``): ``0`` / ``off`` / ``false`` makes both sensors default to STOPPED
  (a sensor started or stopped by hand in the UI keeps that state).
"""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg

from egom2p.assets.partitions import datasets_partitions
from egom2p.assets.resources import DataRoot
from egom2p.paths import DataPaths
from egom2p.pipelines.jobs import curate_dataset

INTERVAL_ENV = "EGOM2P_SENSOR_INTERVAL_S"
AUTOMATION_ENV = "EGOM2P_AUTOMATION"
# run statuses during which a partition's folders may still be read or written by a run
IN_FLIGHT = [dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.NOT_STARTED, dg.DagsterRunStatus.STARTING,
             dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.CANCELING]


def sensor_interval_s() -> int:
    """``$EGOM2P_SENSOR_INTERVAL_S`` (seconds, at least 1), default 30."""
    return max(1, int(os.environ.get(INTERVAL_ENV, "30")))


def default_status() -> dg.DefaultSensorStatus:
    """RUNNING unless ``$EGOM2P_AUTOMATION`` is ``0`` / ``off`` / ``false`` / ``no``."""
    off = os.environ.get(AUTOMATION_ENV, "1").strip().lower() in {"0", "off", "false", "no"}
    return dg.DefaultSensorStatus.STOPPED if off else dg.DefaultSensorStatus.RUNNING


def folder_signature(folder: Path) -> str:
    """Hex SHA-256 over ``(relative path, size, mtime_ns)`` of every file under ``folder``, in sorted order.

    Only ``stat`` calls (``os.scandir``), no file reads. Hidden entries (names starting with ``.``: staging
    folders, editor files, the demo's synthesis marker) are ignored; symlinked folders are followed (the
    real ADT sample is linked in), each real folder once.
    """
    entries: list[str] = []
    seen: set[tuple[int, int]] = set()

    def walk(path: Path, rel: str) -> None:
        st = path.stat()
        if (st.st_dev, st.st_ino) in seen:
            return
        seen.add((st.st_dev, st.st_ino))
        with os.scandir(path) as it:
            for e in it:
                if e.name.startswith("."):
                    continue
                sub = f"{rel}{e.name}"
                try:
                    if e.is_dir():
                        walk(Path(e.path), sub + "/")
                    elif e.is_file():
                        s = e.stat()
                        entries.append(f"{sub}\0{s.st_size}\0{s.st_mtime_ns}")
                except FileNotFoundError:       # removed while we walked: the next tick sees the new state
                    continue

    walk(Path(folder), "")
    digest = hashlib.sha256()
    for line in sorted(entries):
        digest.update(line.encode("utf-8", "surrogateescape") + b"\n")
    return digest.hexdigest()


def read_cursor(cursor: str | None) -> dict[str, str]:
    """The sensor cursor (JSON ``{dataset: signature}``) as a dict; ``{}`` when empty or unreadable."""
    try:
        value = json.loads(cursor) if cursor else {}
    except json.JSONDecodeError:
        return {}
    return {str(k): str(v) for k, v in value.items()} if isinstance(value, dict) else {}


def write_cursor(signatures: dict[str, str]) -> str:
    """``{dataset: signature}`` as the sensor cursor (JSON, keys sorted)."""
    return json.dumps(dict(sorted(signatures.items())), separators=(",", ":"))


def run_key(dataset: str, signature: str) -> str:
    """One run per (dataset, folder state): the same state never launches twice."""
    return f"{dataset}-{signature[:16]}"


@dataclass(frozen=True)
class RawScan:
    """What one look at ``<data>/raw`` found.

    new: folders that are no partition yet (register + curate); changed: registered folders whose signature
    differs from the cursor's (curate); recorded: registered folders seen for the first time (signature
    recorded, no run); deferred: changed folders whose partition has a run in flight (looked at again next
    tick); signatures: the next cursor.
    """
    new: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    recorded: list[str] = field(default_factory=list)
    deferred: list[str] = field(default_factory=list)
    signatures: dict[str, str] = field(default_factory=dict)


def scan_raw(paths: DataPaths, registered: set[str], previous: dict[str, str], busy: set[str] = frozenset()) -> RawScan:
    """Compare every raw folder's signature with ``previous`` (the cursor).

    A registered folder without a cursor entry (first sight: the sensor was just turned on, or the
    partition was registered by hand or by the demo) is only recorded: no run. A changed folder whose
    partition is in ``busy`` (a run of it in flight) keeps its old cursor entry and is looked at again on a
    later tick, so two runs never write one partition at once. Registered partitions whose folder is gone
    drop out of the cursor.
    """
    scan = RawScan()
    for ds in paths.raw_datasets():
        try:
            sig = folder_signature(paths.raw(ds))
        except FileNotFoundError:               # the folder vanished between listing and walking
            continue
        if ds not in registered:
            scan.new.append(ds)
        elif ds not in previous:
            scan.recorded.append(ds)
        elif previous[ds] == sig:
            pass
        elif ds in busy:
            scan.deferred.append(ds)
            sig = previous[ds]
        else:
            scan.changed.append(ds)
        scan.signatures[ds] = sig
    return scan


def sensor_result(scan: RawScan, previous: dict[str, str]) -> dg.SensorResult | dg.SkipReason:
    """Run requests (``run_key`` per folder state) and partition registrations for ``scan``; a
    ``SkipReason`` when there is nothing to run and the cursor stays as it is."""
    todo = scan.new + scan.changed
    cursor = write_cursor(scan.signatures)
    if not todo:
        why = (f"nothing new or changed; recorded {scan.recorded}" if scan.recorded else "nothing new or changed")
        if scan.deferred:
            why += f"; waiting for runs in flight: {scan.deferred}"
        if scan.signatures == previous:
            return dg.SkipReason(why)
        return dg.SensorResult(skip_reason=why, cursor=cursor)
    return dg.SensorResult(
        run_requests=[dg.RunRequest(partition_key=ds, run_key=run_key(ds, scan.signatures[ds]),
                                    tags={"egom2p/trigger": "new-dataset" if ds in scan.new else "changed-dataset"})
                      for ds in todo],
        dynamic_partitions_requests=[datasets_partitions.build_add_request(scan.new)] if scan.new else [],
        cursor=cursor)


def new_dataset_folders(data: DataRoot, instance: dg.DagsterInstance) -> list[str]:
    """Raw folders that are no ``datasets`` partition yet."""
    existing = set(instance.get_dynamic_partitions(datasets_partitions.name))
    return [k for k in data.paths().raw_datasets() if k not in existing]


def busy_partitions(instance: dg.DagsterInstance) -> set[str]:
    """Partitions with a run (any job: curation, token shards) queued or in progress."""
    runs = instance.get_runs(filters=dg.RunsFilter(statuses=IN_FLIGHT))
    return {r.tags["dagster/partition"] for r in runs if "dagster/partition" in r.tags}


@dg.sensor(job=curate_dataset, minimum_interval_seconds=sensor_interval_s(), default_status=default_status(),
           description="Registers a `datasets` partition for each new folder in data/raw and requests its "
                       "curation; requests curation again when the files of a registered folder change.")
def raw_dataset_sensor(context: dg.SensorEvaluationContext, data: DataRoot) -> dg.SensorResult | dg.SkipReason:
    """Signature of every raw folder (stat only) against the cursor ``{dataset: signature}``.

    New folder: registered + curated. Registered folder with another signature: curated again (deferred
    while a run of that partition is in flight). A registered folder the cursor has never seen (first tick
    after the sensor is turned on) is recorded without a run: turning the sensor on never re-curates
    everything.
    """
    paths, previous = data.paths(), read_cursor(context.cursor)
    registered = set(context.instance.get_dynamic_partitions(datasets_partitions.name))
    scan = scan_raw(paths, registered, previous, busy_partitions(context.instance))
    if scan.new or scan.changed or scan.recorded:
        context.log.info(f"raw folders: new {scan.new}, changed {scan.changed}, recorded {scan.recorded}")
    return sensor_result(scan, previous)


line_automation = dg.AutomationConditionSensorDefinition(
    "line_automation", target=dg.AssetSelection.assets("token_shards"), default_status=default_status(),
    # one run per requested partition (not one backfill per tick): each shows up at once in the run queue
    minimum_interval_seconds=sensor_interval_s(), emit_backfills=False,
    description="Declarative automation of token_shards (eager until requested): new curated clips or a new current tokenizer "
                "re-tokenize the affected datasets. Training assets stay manual.")
