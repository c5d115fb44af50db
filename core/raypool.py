"""Units as Ray tasks: the ``ray`` executor of ``egom2p.pool``.

Dagster stays the control plane (which partition, lineage, checks); Ray only places the units of one stage
run on the cluster's nodes. Each unit is one task declaring ``num_cpus`` / ``num_gpus`` / ``memory`` (from
the :class:`~egom2p.pool.Executor`), submitted through a window of ``2 × cluster CPUs`` tasks in flight.
Every node reads and writes the same data root (a shared filesystem path), and a unit commits its own
output (``egom2p.units``), so results are identical to the local executor. A task whose worker process dies
(``kill -9``, OOM) is re-run by Ray up to ``max_retries`` times, then handed to ``on_crash`` (the stage
quarantines the unit with the reason). Closing the stream early (a run cancelled from the Dagster UI
interrupts the step) cancels every task still pending or running.

Starting: ``address=""`` starts a Ray instance on this machine with as many CPUs as the process may use
(Ray's token authentication on, its dashboard off); ``auto`` / ``ray://…`` connect to an existing cluster, whose workers must have this
package installed at the same version (a container image, or ``runtime_env`` set up by the cluster admin).
"""
from __future__ import annotations

import os
from typing import Callable, Iterable, Iterator

from .pool import THREADS_ENV, Executor, cores, init_threads


def _ray():
    try:
        import ray
    except ImportError as e:  # pragma: no cover - ray is a dependency
        raise RuntimeError("executor 'ray' needs the `ray` package (pip install ray)") from e
    return ray


def connect(address: str = "") -> None:
    """Start or join Ray once per process (see module doc)."""
    ray = _ray()
    if ray.is_initialized():
        return
    common = dict(include_dashboard=False, log_to_driver=False, configure_logging=False, ignore_reinit_error=True)
    if address:
        ray.init(address=address, **common)
    else:
        ray.init(num_cpus=cores(), **common)


def shutdown() -> None:
    """Leave (and, if this process started it, stop) Ray."""
    ray = _ray()
    if ray.is_initialized():
        ray.shutdown()


def _call(fn: Callable, item, threads: int):
    """What runs inside the Ray worker: thread limits as the local pool sets them, then the unit."""
    if os.environ.get(THREADS_ENV) != str(threads):
        init_threads(threads)
    return fn(item)


def ray_imap(fn: Callable, items: Iterable, ex: Executor, on_crash: Callable | None = None) -> Iterator:
    """``fn(item)`` for every item as Ray tasks, yielded in completion order."""
    ray = _ray()
    connect(ex.address)
    opts = {"num_cpus": ex.num_cpus, "num_gpus": ex.num_gpus, "max_retries": ex.max_retries,
            "retry_exceptions": False}
    if ex.memory_gb > 0:
        opts["memory"] = int(ex.memory_gb * 2**30)
    task = ray.remote(_call).options(**opts)
    threads = max(1, int(ex.num_cpus))
    window = max(2, 2 * int(ray.cluster_resources().get("CPU", 1) / max(ex.num_cpus, 1e-3)))
    pending: dict = {}

    def collect(ref):
        item = pending.pop(ref)
        try:
            return ray.get(ref)
        except (ray.exceptions.WorkerCrashedError, ray.exceptions.NodeDiedError,
                ray.exceptions.OutOfMemoryError) as e:
            if on_crash is None:
                raise
            return on_crash(item, e)

    try:
        for item in items:
            pending[task.remote(fn, item, threads)] = item
            while len(pending) >= window:
                done, _ = ray.wait(list(pending), num_returns=1)
                yield collect(done[0])
        while pending:
            done, _ = ray.wait(list(pending), num_returns=1)
            yield collect(done[0])
    finally:
        for ref in list(pending):
            ray.cancel(ref, force=True)
