"""A small persistent Dagster world for the browser journeys: one curated, tokenized dataset (egogen) in a
real instance folder, and ``dagster dev`` serving it on 127.0.0.1 (webserver + daemon, as ``make ui``)."""
from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from egom2p.procs import stop_group

REPO = Path(__file__).resolve().parents[2]
SEQ_SECONDS = 2.2
# tiny tokenizers trained for a few steps: the journeys need *current* tokenizers, not good ones
TOKENIZER_STEPS = {"video_steps": 2, "trajectory_steps": 5, "trajectory_sampled_clips": 0, "time_budget_s": 20}


@dataclass(frozen=True)
class World:
    root: Path           # EGOM2P_DATA
    home: Path           # DAGSTER_HOME
    env: dict


def _env(root: Path, home: Path) -> dict:
    return {**os.environ, "EGOM2P_DATA": str(root), "DAGSTER_HOME": str(home), "OMP_NUM_THREADS": "1",
            "EGOM2P_SENSOR_INTERVAL_S": "5", "EGOM2P_AUTOMATION": "0", "PYTHONUNBUFFERED": "1"}


def synthesize(raw: Path, layout: str, seed: int, sequences: int = 1) -> None:
    """``raw`` = ``sequences`` sequences of ``layout``, written in a hidden sibling and renamed in (as users add data)."""
    from egom2p.synth.layouts import LAYOUTS
    staging = raw.parent / f".{raw.name}.staging"
    shutil.rmtree(staging, ignore_errors=True)
    LAYOUTS[layout](staging, sequences=sequences, seconds=SEQ_SECONDS, seed=seed, progress=False)
    staging.rename(raw)


def build_world(base: Path) -> World:
    """Curate, train tiny tokenizers and tokenize ``egogen`` into a persistent instance under ``base``."""
    import dagster as dg

    from egom2p.assets.partitions import datasets_partitions
    from egom2p.assets.resources import CurationSettings, DataRoot, LineSettings, TokenizerSettings
    from egom2p.pipelines.definitions import defs
    root, home = base / "data", base / "dagster_home"
    home.mkdir(parents=True)
    shutil.copy(REPO / "dagster.yaml", home / "dagster.yaml")
    synthesize(root / "raw" / "egogen", "egogen", seed=1, sequences=4)   # some train, some held out
    world = World(root, home, _env(root, home))
    with _instance(home) as instance:
        instance.add_dynamic_partitions(datasets_partitions.name, ["egogen"])
        line = LineSettings()
        resources = {"data": DataRoot(root=str(root)), "line": line, "curation": CurationSettings(line=line),
                     "tokens": TokenizerSettings(line=line, **TOKENIZER_STEPS)}
        curation = [defs.get_assets_def(k) for k in ("raw_inventory", "clips", "depth_labels", "normalized_clips")]
        assert dg.materialize(curation, partition_key="egogen", instance=instance, resources=resources).success
        toks = [defs.get_assets_def(k) for k in ("video_tokenizer", "trajectory_tokenizers")]
        assert dg.materialize(toks, instance=instance, resources=resources).success
        assert dg.materialize([defs.get_assets_def("token_shards")], partition_key="egogen", instance=instance,
                              resources=resources).success
    return world


@contextlib.contextmanager
def _instance(home: Path):
    import dagster as dg
    from dagster._core.instance.ref import InstanceRef
    instance = dg.DagsterInstance.from_ref(InstanceRef.from_dir(str(home)))
    try:
        yield instance
    finally:
        instance.dispose()


def instance_of(world: World):
    return _instance(world.home)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def dagster_dev(world: World, timeout_s: float = 240):
    """``dagster dev`` on 127.0.0.1:<free port> (its own process group, stopped with it); yields the base URL."""
    port = free_port()
    log = open(world.home / "dagster_dev.log", "ab")
    exe = str(Path(sys.executable).with_name("dagster"))
    proc = subprocess.Popen([exe, "dev", "-w", str(REPO / "workspace.yaml"), "-h", "127.0.0.1", "-p", str(port)],
                            cwd=str(REPO), env=world.env, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + timeout_s
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"dagster dev exited ({proc.returncode}); see {world.home / 'dagster_dev.log'}")
            try:
                with urllib.request.urlopen(url + "/server_info", timeout=5) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.time() > deadline:
                raise TimeoutError(f"dagster dev did not answer on {url} in {timeout_s:.0f} s")
            time.sleep(1)
        yield url
    finally:
        stop_group(proc, 60, signals=(signal.SIGTERM, signal.SIGKILL))
        log.close()
