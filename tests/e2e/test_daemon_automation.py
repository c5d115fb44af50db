"""End to end with ``dagster-daemon`` running: the line runs by itself.

A micro world: ``egogen`` (1 sequence, 2.2 s) is curated and the tokenizers are trained in-process against
the test's ``DAGSTER_HOME``; then the daemon starts (sensors every 2 s). A new raw folder (``egoexo4d``)
must be registered, curated and tokenized by the daemon alone (``raw_dataset_sensor`` → ``curate_dataset``,
``line_automation`` → ``token_shards``). Then new trajectory tokenizers (another seed = another
tokenizer id) must make the automation re-tokenize both datasets into the new tokenizer's folders.
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

import dagster as dg
import pytest

from egom2p import io
from egom2p.assets.partitions import datasets_partitions
from egom2p.assets.resources import CurationSettings, DataRoot, TokenizerSettings
from egom2p.catalog import has_index
from egom2p.paths import DataPaths
from egom2p.procs import stop_group
from egom2p.pipelines import sensors as S
from egom2p.pipelines.definitions import defs
from egom2p.tokenizers.shards import MANIFEST
from egom2p.tokenizers.store import current_ids

REPO = Path(__file__).resolve().parents[2]
CURATION = ("raw_inventory", "clips", "depth_labels", "normalized_clips")
TOKENS = dg.AssetKey("token_shards")
LAUNCHERS = {"raw_dataset_sensor", "line_automation"}


def tiny_tokens(seed: int = 0) -> TokenizerSettings:
    return TokenizerSettings(video_steps=2, trajectory_steps=2, time_budget_s=5, trajectory_sampled_clips=0, seed=seed)


def synthesize(paths: DataPaths, layout: str) -> None:
    """One 2.2 s sequence of ``layout``, built in a hidden staging folder and renamed into ``raw/`` at once
    (how data should arrive: the sensor never sees a half-written folder)."""
    from egom2p.synth.layouts import LAYOUTS
    staging = io.staging_dir(paths.raw(layout))
    LAYOUTS[layout](staging, sequences=1, seconds=2.2, seed=3, progress=False)
    io.replace_dir(staging, paths.raw(layout))


def materialize(instance: dg.DagsterInstance, root: Path, names: tuple[str, ...], partition: str | None = None,
                tokens: TokenizerSettings | None = None) -> None:
    res = dg.materialize([defs.get_assets_def(k) for k in names], partition_key=partition, instance=instance,
                         resources={"data": DataRoot(root=str(root)), "curation": CurationSettings(),
                                    "tokens": tokens or tiny_tokens()})
    assert res.success


def shards(paths: DataPaths, tokenizer_id: str, modality: str, dataset: str) -> Path:
    return paths.tokens(tokenizer_id, modality, dataset) / MANIFEST


def token_materializations(instance: dg.DagsterInstance, dataset: str) -> int:
    flt = dg.AssetRecordsFilter(asset_key=TOKENS, asset_partitions=[dataset])
    return len(instance.fetch_materializations(flt, limit=1000).records)


def runs_table(instance: dg.DagsterInstance) -> str:
    """One line per run, oldest first: id, job, partition, status, launcher."""
    return "\n".join(f"  {r.run_id[:8]} {r.job_name} {r.tags.get('dagster/partition', '-')} {r.status.value} "
                     f"by {r.tags.get('dagster/sensor_name', 'the test')}" for r in reversed(instance.get_runs(limit=30)))


def diagnostics(instance: dg.DagsterInstance, log: Path) -> str:
    tail = log.read_text(errors="replace")[-4000:] if log.exists() else "(no daemon log)"
    return f"runs:\n{runs_table(instance)}\ndaemon log tail:\n{tail}"


def wait_for(what: str, ready: Callable[[], bool], timeout_s: float, explain: Callable[[], str]) -> float:
    """Poll ``ready`` every second; the seconds it took, or fail with ``explain()``."""
    start = time.time()
    while time.time() - start < timeout_s:
        if ready():
            return time.time() - start
        time.sleep(1.0)
    pytest.fail(f"{what} did not happen within {timeout_s:.0f} s\n{explain()}")


@pytest.mark.slow
def test_daemon_curates_and_tokenizes_new_data_and_follows_new_tokenizers(tmp_path, monkeypatch):
    home, root = tmp_path / "home", tmp_path / "data"
    home.mkdir()
    shutil.copy(REPO / "dagster.yaml", home / "dagster.yaml")
    for k, v in {"DAGSTER_HOME": str(home), "EGOM2P_DATA": str(root), "EGOM2P_SENSOR_INTERVAL_S": "2"}.items():
        monkeypatch.setenv(k, v)
    for k in ("EGOM2P_AUTOMATION", "EGOM2P_DEPTH_CHECKPOINT"):
        monkeypatch.delenv(k, raising=False)
    paths = DataPaths(root)
    t0 = time.time()
    with dg.DagsterInstance.get() as instance:
        synthesize(paths, "egogen")
        instance.add_dynamic_partitions(datasets_partitions.name, ["egogen"])
        materialize(instance, root, CURATION, "egogen")
        materialize(instance, root, ("video_tokenizer", "trajectory_tokenizers"))
        ids = current_ids(paths)
        print(f"set-up (egogen curated, tokenizers {ids}) in {time.time() - t0:.0f} s")

        log = home / "daemon.log"
        with open(log, "wb") as out:
            daemon = subprocess.Popen([str(Path(sys.executable).with_name("dagster-daemon")), "run", "-m",
                                       "egom2p.pipelines.definitions"], stdout=out, stderr=subprocess.STDOUT,
                                      cwd=tmp_path, env=dict(os.environ), start_new_session=True)
        explain = lambda: diagnostics(instance, log)  # noqa: E731
        try:
            synthesize(paths, "egoexo4d")               # new data arrives; nobody launches anything
            took = wait_for("curation of the new folder", lambda: has_index(paths.clips("egoexo4d")), 150, explain)
            print(f"egoexo4d curated by the daemon after {took:.0f} s")
            fresh = [shards(paths, ids["rgb"], "rgb", "egoexo4d"), shards(paths, ids["camera"], "camera", "egoexo4d")]
            took = wait_for("token shards of the new folder", lambda: all(p.exists() for p in fresh), 120, explain)
            print(f"egoexo4d tokenized by the automation after {took:.0f} s more")
            assert instance.get_dynamic_partitions(datasets_partitions.name) == ["egogen", "egoexo4d"]

            before = {ds: token_materializations(instance, ds) for ds in ("egogen", "egoexo4d")}
            materialize(instance, root, ("trajectory_tokenizers",), tokens=tiny_tokens(seed=1))
            camera = current_ids(paths)["camera"]
            assert camera != ids["camera"] and current_ids(paths)["rgb"] == ids["rgb"]
            retokenized = [shards(paths, camera, "camera", ds) for ds in ("egogen", "egoexo4d")]
            took = wait_for("re-tokenization with the new camera tokenizer",
                            lambda: all(p.exists() for p in retokenized), 150, explain)
            print(f"both datasets re-tokenized after {took:.0f} s")
            wait_for("the token_shards materializations of those runs", lambda: all(
                token_materializations(instance, ds) > before[ds] for ds in before), 30, explain)
            wait_for("the end of every run", lambda: not instance.get_runs(
                filters=dg.RunsFilter(statuses=S.IN_FLIGHT), limit=1), 60, explain)
        finally:
            stop_group(daemon, 30, signals=(signal.SIGTERM, signal.SIGKILL))

        # every run of the new dataset, and every token_shards run, came from a sensor, none from the test
        launched = [r for r in instance.get_runs() if r.tags.get("dagster/partition") == "egoexo4d"
                    or (r.asset_selection and TOKENS in r.asset_selection)]
        assert launched and all(r.tags.get("dagster/sensor_name") in LAUNCHERS for r in launched), explain()
        assert all(r.status == dg.DagsterRunStatus.SUCCESS for r in launched), explain()
        # curation writes nothing into raw/: the new folder was curated exactly once
        curated = [r.tags.get("dagster/partition") for r in instance.get_runs() if r.job_name == "curate_dataset"]
        assert curated == ["egoexo4d"], explain()
        print(f"runs:\n{runs_table(instance)}")
    print(f"whole test {time.time() - t0:.0f} s")
