"""The ``ray`` executor on a real local Ray instance (started by the test, 2 CPUs): curation and tokenization
give every byte the local executor gives, and a Ray worker killed mid-unit is retried without a trace."""
from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest

from egom2p.catalog import read_index
from egom2p.curation.clips import curate_clips
from egom2p.curation.config import CurationConfig
from egom2p.curation.depth import label_depth
from egom2p.curation.normalize import normalize_partition, upstream_quarantine
from egom2p.paths import DataPaths
from egom2p.pool import Executor
from egom2p.presets import TINY
from egom2p.units import UNITS_DIR

pytest.importorskip("ray")
RAY = Executor(kind="ray", num_cpus=1, memory_gb=0.5)
LOCAL = Executor(kind="local", workers=2)
CFG = CurationConfig(clip_resolution=32)


@pytest.fixture(scope="module")
def ray_instance():
    from egom2p import raypool
    raypool.connect("")
    yield
    raypool.shutdown()


@pytest.fixture(scope="module")
def raw(tmp_path_factory) -> Path:
    from egom2p.synth.layouts import LAYOUTS
    root = tmp_path_factory.mktemp("rayraw")
    LAYOUTS["egogen"](root / "egogen", sequences=3, seconds=2.2, seed=4, progress=False)
    return root


def digest(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file() and UNITS_DIR not in p.parts and "raw" not in p.parts}


def line(paths: DataPaths, ex: Executor, cfg: CurationConfig = CFG) -> None:
    """Curation of ``egogen`` and, when tokenizers exist, its token shards, all on ``ex``."""
    ds = "egogen"
    curate_clips(paths.raw(ds), paths.interim_clips(ds), ds, cfg, progress=False, executor=ex)
    label_depth(paths.interim_clips(ds), paths.interim_depth(ds), ds, progress=False, executor=ex)
    normalize_partition(paths.interim_clips(ds), paths.interim_depth(ds), paths.clips(ds), ds, cfg,
                        upstream_quarantine(paths.interim_clips(ds), paths.interim_depth(ds)), progress=False,
                        executor=ex)


def tokenize(paths: DataPaths, ex: Executor) -> dict:
    from egom2p.tokenizers import store
    from egom2p.tokenizers.tokenize import tokenize_dataset
    return tokenize_dataset(paths, "egogen", store.current_refs(paths), TINY, shard_size=2, batch_size=2,
                            log=lambda s: None, device="cpu", progress=False, executor=ex)


def test_ray_executor_writes_the_same_bytes_as_local(ray_instance, raw, tmp_path):
    from egom2p.tokenizers.testing import save_random_tokenizers
    roots = {}
    for name, ex in (("local", LOCAL), ("ray", RAY)):
        paths = DataPaths(tmp_path / name)
        shutil.copytree(raw / "egogen", paths.raw("egogen"), copy_function=shutil.copy2)
        line(paths, ex)
        roots[name] = paths
    # the same random-weight tokenizers for both (same seed, same ids), then shards on each executor
    ids = [save_random_tokenizers(paths, TINY, seed=0) for paths in roots.values()]
    assert ids[0] == ids[1]
    summaries = {name: tokenize(paths, RAY if name == "ray" else LOCAL) for name, paths in roots.items()}
    assert {m: s["units_run"] for m, s in summaries["ray"].items()} == {"rgb": 2, "depth": 2, "camera": 2}
    local = {k: v for k, v in digest(roots["local"].root).items() if not k.startswith("tokenizers")}
    ray_out = {k: v for k, v in digest(roots["ray"].root).items() if not k.startswith("tokenizers")}
    assert len(local) > 30 and local == ray_out
    assert len(read_index(roots["ray"].clips("egogen"))) == 3


def _ray_task_pids() -> list[int]:
    """Ray worker processes running a unit right now (Ray titles them ``ray::_call``)."""
    out = subprocess.run(["pgrep", "-f", "ray::_call"], capture_output=True, text=True).stdout.split()
    return [int(p) for p in out if int(p) != os.getpid()]


def test_a_killed_ray_worker_is_retried_and_leaves_no_trace(ray_instance, raw, tmp_path):
    paths = DataPaths(tmp_path / "kill")
    shutil.copytree(raw / "egogen", paths.raw("egogen"), copy_function=shutil.copy2)
    cfg = CurationConfig(clip_resolution=160)       # units long enough to be caught running
    killed: list[int] = []

    def killer():
        deadline = time.time() + 120
        while time.time() < deadline and not killed:
            staging = list((paths.interim_clips("egogen") / UNITS_DIR).glob(".staging-*")) \
                if (paths.interim_clips("egogen") / UNITS_DIR).is_dir() else []
            pids = _ray_task_pids()
            if staging and pids:
                os.kill(pids[0], signal.SIGKILL)
                killed.append(pids[0])
            time.sleep(0.02)

    t = threading.Thread(target=killer)
    t.start()
    report = curate_clips(paths.raw("egogen"), paths.interim_clips("egogen"), "egogen", cfg, progress=False,
                          executor=RAY)
    t.join()
    assert killed, "no running Ray worker was caught"
    assert (report.run, report.quarantined) == (3, 0) and len(read_index(paths.interim_clips("egogen"))) == 3
    fresh = DataPaths(tmp_path / "fresh")
    shutil.copytree(raw / "egogen", fresh.raw("egogen"), copy_function=shutil.copy2)
    curate_clips(fresh.raw("egogen"), fresh.interim_clips("egogen"), "egogen", cfg, progress=False, workers=1)
    again = curate_clips(paths.raw("egogen"), paths.interim_clips("egogen"), "egogen", cfg, progress=False,
                         executor=RAY)
    assert again.run == 0 and not list((paths.interim_clips("egogen") / UNITS_DIR).glob(".staging-*"))
    assert digest(paths.interim_clips("egogen")) == digest(fresh.interim_clips("egogen"))


def test_closing_the_stream_cancels_running_ray_tasks(ray_instance):
    """What a run cancelled from the UI does: the step is interrupted, the stream closed, its tasks killed."""
    import ray

    from egom2p.pool import imap_unordered
    stream = imap_unordered(time.sleep, [0.05, 60, 60, 60], executor=RAY)
    assert next(stream) is None                        # the short task finished; two 60 s tasks hold both CPUs
    t0 = time.time()
    stream.close()
    while ray.available_resources().get("CPU", 0) < 2 and time.time() - t0 < 30:
        time.sleep(0.1)
    assert ray.available_resources().get("CPU", 0) == 2 and time.time() - t0 < 30
