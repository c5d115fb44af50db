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
import multiprocessing
import os
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Callable, Iterable, Iterator, TypeVar

T = TypeVar("T")
R = TypeVar("R")

WORKERS_ENV = "EGOM2P_WORKERS"   # default worker count when a setting says 0
THREADS_ENV = "EGOM2P_THREADS"   # set inside each worker: native threads it may use


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


def _init_worker(threads: int) -> None:
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
        pool = _POOLS[n] = ProcessPoolExecutor(max_workers=n, mp_context=ctx, initializer=_init_worker,
                                               initargs=(max(1, cores() // n),))
    return pool


@atexit.register
def shutdown() -> None:
    """Stop every kept pool (at exit; tests may call it)."""
    while _POOLS:
        _POOLS.popitem()[1].shutdown(wait=True, cancel_futures=True)


def imap_unordered(fn: Callable[[T], R], items: Iterable[T], workers: int = 0) -> Iterator[R]:
    """``fn(item)`` for every item, yielded in completion order. ``fn`` and the items must be picklable
    (a module-level function and plain data) when ``workers`` > 1. An exception raised by ``fn`` propagates
    (work functions that must not stop the pool catch their own); a worker that dies (OOM kill) raises
    ``BrokenProcessPool``."""
    items = list(items)
    n = min(resolve_workers(workers), len(items))
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
