"""A pool of worker processes for independent units of work, results streamed back as they finish.

``workers`` = 1 runs every item in the calling process (debugging, tests, one item); more starts that many
*spawned* processes (never forked: a Dagster run process holds threads and, on a GPU machine, a CUDA
context). Each worker gets ``threads = max(1, cores // workers)`` for the native libraries it uses (OpenCV,
torch, OpenMP), so N workers never oversubscribe the machine. Submission is windowed (``2 × workers`` items
in flight), so a stage of 100k units does not build 100k futures up front. A pool of a given size is
kept for the life of the process (stages of one run, tokenizing one modality after another, reuse its
warm workers and what they cached, e.g. a loaded tokenizer) and rebuilt if a worker died.
"""
from __future__ import annotations

import atexit
import dataclasses
import multiprocessing
import os
from dataclasses import dataclass
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Callable, Iterable, Iterator, TypeVar

T = TypeVar("T")
R = TypeVar("R")

WORKERS_ENV = "EGOM2P_WORKERS"   # default worker count when a setting says 0
THREADS_ENV = "EGOM2P_THREADS"   # set inside each worker: native threads it may use


@dataclass(frozen=True)
class Executor:
    """Where units run.

    kind:      ``local`` (this machine's process pool, below) | ``ray`` (one Ray task per unit, ``raypool.py``)
    workers:   local: worker processes (0 = ``$EGOM2P_WORKERS`` or one per core, 1 = in this process)
    address:   ray: ``""`` = start a Ray instance on this machine (loopback only), ``auto`` = the cluster this
               machine belongs to, ``ray://host:10001`` = a remote cluster through Ray Client
    num_cpus, num_gpus, memory_gb: ray: what one unit declares (fractional GPUs allowed), so a mixed
               CPU/GPU cluster places each unit on a node that has it
    max_retries: ray: times a unit is re-run when its worker process dies (then it is quarantined)
    """
    kind: str = "local"
    workers: int = 0
    address: str = ""
    num_cpus: float = 1.0
    num_gpus: float = 0.0
    memory_gb: float = 0.0
    max_retries: int = 2

    def __post_init__(self):
        if self.kind not in ("local", "ray"):
            raise ValueError(f"executor {self.kind!r}: use 'local' or 'ray'")

    def with_defaults(self, **resources) -> "Executor":
        """This executor with per-unit resources a stage asks for where the user left the default."""
        base = Executor()
        return dataclasses.replace(self, **{k: v for k, v in resources.items() if getattr(self, k) == getattr(base, k)})


def cores() -> int:
    """CPU cores this process may run on (the affinity mask where the OS has one)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def resolve_workers(workers: int = 0) -> int:
    """``workers`` when > 0, else ``$EGOM2P_WORKERS``, else the number of cores."""
    if workers and workers > 0:
        return int(workers)
    return max(1, int(os.environ.get(WORKERS_ENV) or cores()))


def worker_threads() -> int:
    """Native threads the current worker may use (all cores outside a pool)."""
    return max(1, int(os.environ.get(THREADS_ENV) or cores()))


def init_threads(threads: int) -> None:
    """Limit the native threads of this (worker) process: OpenMP, OpenCV, and torch where it asks."""
    os.environ[THREADS_ENV] = str(threads)
    os.environ["OMP_NUM_THREADS"] = str(threads)
    try:
        import cv2
        cv2.setNumThreads(threads)
    except ImportError:  # pragma: no cover - cv2 is a dependency
        pass


_POOLS: dict[int, ProcessPoolExecutor] = {}


def _pool(n: int) -> ProcessPoolExecutor:
    pool = _POOLS.get(n)
    if pool is None or getattr(pool, "_broken", False):
        ctx = multiprocessing.get_context("spawn")
        pool = _POOLS[n] = ProcessPoolExecutor(max_workers=n, mp_context=ctx, initializer=init_threads,
                                               initargs=(max(1, cores() // n),))
    return pool


@atexit.register
def shutdown() -> None:
    """Stop every kept local pool (at exit; tests and benchmarks may call it)."""
    while _POOLS:
        _POOLS.popitem()[1].shutdown(wait=True, cancel_futures=True)


def imap_unordered(fn: Callable[[T], R], items: Iterable[T], workers: int = 0, executor: Executor | None = None,
                   on_crash: Callable[[T, BaseException], R] | None = None) -> Iterator[R]:
    """``fn(item)`` for every item, yielded in completion order. ``fn`` and the items must be picklable
    (a module-level function and plain data) unless everything runs in this process. An exception raised by
    ``fn`` propagates (work functions that must not stop the pool catch their own). A local worker that dies
    (OOM kill) raises ``BrokenProcessPool``; on Ray the item is retried, then ``on_crash(item, error)`` gives
    its result (or the error propagates)."""
    executor = executor or Executor(workers=workers)
    if executor.kind == "ray":
        from .raypool import ray_imap
        yield from ray_imap(fn, items, executor, on_crash)
        return
    items = list(items)
    n = min(resolve_workers(executor.workers), len(items))
    if n <= 1:
        for item in items:
            yield fn(item)
        return
    pool, pending = _pool(n), set()
    try:
        for item in items:
            pending.add(pool.submit(fn, item))
            if len(pending) >= 2 * n:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for f in done:
                    yield f.result()
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for f in done:
                yield f.result()
    except BrokenProcessPool:
        _POOLS.pop(n, None)
        raise
    finally:
        for f in pending:
            f.cancel()
