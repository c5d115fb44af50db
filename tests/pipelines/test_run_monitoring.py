"""Runs whose process died are marked FAILED: dagster.yaml turns run monitoring on with a launcher that can
check its run workers, and the monitoring daemon's check fails a STARTED run whose process was kill -9'd."""
from __future__ import annotations

import logging
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
from dagster import DagsterInstance, DagsterRunStatus
from dagster._core.events import DagsterEvent, DagsterEventType, EngineEventData
from dagster._core.launcher import WorkerStatus
from dagster._daemon.monitoring.run_monitoring import monitor_started_run

from egom2p.pipelines.launcher import LocalRunLauncher, run_worker_pid

REPO = Path(__file__).resolve().parents[2]


def _instance(tmp_path: Path) -> DagsterInstance:
    shutil.copy(REPO / "dagster.yaml", tmp_path / "dagster.yaml")
    return DagsterInstance.from_config(str(tmp_path))


def test_dagster_yaml_turns_run_monitoring_on(tmp_path):
    instance = _instance(tmp_path)
    assert instance.run_monitoring_enabled
    assert instance.run_monitoring_max_resume_run_attempts == 0
    assert instance.run_monitoring_start_timeout_seconds > 0 and instance.run_monitoring_cancel_timeout_seconds > 0
    assert isinstance(instance.run_launcher, LocalRunLauncher)
    assert instance.run_launcher.supports_check_run_worker_health


@dg.op
def _noop():
    return None


@dg.job
def _job():
    _noop()


def test_killed_run_worker_is_marked_failed(tmp_path):
    instance = _instance(tmp_path)
    run = instance.create_run_for_job(_job)
    worker = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    try:
        # what the code server records when it starts the run's process
        instance.report_engine_event(f"Started process for run (pid: {worker.pid}).", run,
                                     EngineEventData.in_process(worker.pid))
        instance.report_dagster_event(DagsterEvent(DagsterEventType.RUN_START.value, run.job_name), run.run_id)
        assert instance.get_run_by_id(run.run_id).status == DagsterRunStatus.STARTED
        assert run_worker_pid(instance, run.run_id) == worker.pid
        assert instance.run_launcher.check_run_worker_health(run).status == WorkerStatus.RUNNING
        worker.send_signal(signal.SIGKILL)
        worker.wait(10)
        time.sleep(0.1)
        assert instance.run_launcher.check_run_worker_health(run).status == WorkerStatus.FAILED
        record = instance.get_run_records(dg.RunsFilter(run_ids=[run.run_id]))[0]
        monitor_started_run(instance, None, record, logging.getLogger("test"))
        assert instance.get_run_by_id(run.run_id).status == DagsterRunStatus.FAILURE
    finally:
        if worker.poll() is None:
            worker.kill()
