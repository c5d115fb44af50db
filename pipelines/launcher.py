"""A run launcher whose runs the daemon's run monitoring can see die.

Dagster's ``DefaultRunLauncher`` starts each run in a process of the code server but cannot tell the
monitoring daemon whether that process still lives (``supports_check_run_worker_health`` is False), so a run
whose process was killed (kill -9, OOM) stays STARTED forever. ``LocalRunLauncher`` launches exactly as the
default one does and answers the health check from the run's own event log: the first engine event that
carries a ``pid`` is the run's main process (``Started process for run (pid: N)`` for launched runs,
``Executing steps ... (pid: N)`` for runs executed from the shell); the worker is RUNNING while that process
exists on this host and FAILED once it is gone, and the daemon then marks the run FAILED
(``run_monitoring`` in dagster.yaml). It assumes the daemon runs on the host of the code server, as with
``dagster dev`` / ``make ui``; multi-host deployments use the K8s launcher, which has its own check.
"""
from __future__ import annotations

import os

from dagster import DagsterEventType
from dagster._core.launcher import CheckRunHealthResult, WorkerStatus
from dagster._core.launcher.default_run_launcher import DefaultRunLauncher
from dagster._core.storage.dagster_run import DagsterRun


def run_worker_pid(instance, run_id: str) -> int | None:
    """The pid of a run's main process from its first engine event with a ``pid`` (None before it starts)."""
    for record in instance.all_logs(run_id, of_type=DagsterEventType.ENGINE_EVENT):
        data = record.dagster_event.engine_event_data if record.dagster_event else None
        pid = (data.metadata or {}).get("pid") if data is not None else None
        if pid is not None:
            return int(pid.value if hasattr(pid, "value") else pid)
    return None


def process_alive(pid: int) -> bool:
    """Whether a process with ``pid`` exists on this host (a zombie counts as gone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return True


class LocalRunLauncher(DefaultRunLauncher):
    """``DefaultRunLauncher`` plus a run-worker health check by pid (see the module doc)."""

    @property
    def supports_check_run_worker_health(self) -> bool:
        return True

    def check_run_worker_health(self, run: DagsterRun) -> CheckRunHealthResult:
        pid = run_worker_pid(self._instance, run.run_id)
        if pid is None or process_alive(pid):
            return CheckRunHealthResult(WorkerStatus.RUNNING)
        return CheckRunHealthResult(WorkerStatus.FAILED, f"run worker process (pid {pid}) is gone")
