"""End to end: the Dagster graph on a micro synthetic world (in-process), the sensor, and the demo's
backfill through the real CLI and daemon (one run process per partition)."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import dagster as dg
import numpy as np
import pytest

from egom2p.assets.partitions import datasets_partitions
from egom2p.assets.resources import CurationSettings, DataRoot
from egom2p.clip import read_clip
from egom2p.catalog import read_index
from egom2p.pipelines.definitions import defs
from egom2p.pipelines.sensors import raw_dataset_sensor


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    from egom2p.synth.layouts import LAYOUTS
    root = tmp_path_factory.mktemp("world") / "data"
    for name in ("egogen", "egoexo4d"):
        LAYOUTS[name](root / "raw" / name, sequences=1, seconds=2.2, seed=3, progress=False)
    return root


def test_sensor_registers_new_folders_then_skips(world, tmp_path):
    instance = dg.DagsterInstance.ephemeral()
    ctx = dg.build_sensor_context(instance=instance, resources={"data": DataRoot(root=str(world))})
    result = raw_dataset_sensor(ctx)
    assert sorted(r.partition_key for r in result.run_requests) == ["egoexo4d", "egogen"]
    instance.add_dynamic_partitions(datasets_partitions.name, ["egogen", "egoexo4d"])
    again = raw_dataset_sensor(dg.build_sensor_context(instance=instance, resources={"data": DataRoot(root=str(world))},
                                                       cursor=result.cursor))
    assert isinstance(again, dg.SkipReason)


def test_graph_materializes_both_partitions(world):
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions(datasets_partitions.name, ["egogen", "egoexo4d"])
    assets = [defs.get_assets_def(k) for k in ("raw_inventory", "clips", "depth_labels", "normalized_clips")]
    resources = {"data": DataRoot(root=str(world)), "curation": CurationSettings(clip_resolution=64)}
    expect = {"egogen": {"rgb", "depth", "camera"}, "egoexo4d": {"rgb", "gaze", "camera"}}
    for ds in ("egogen", "egoexo4d"):
        res = dg.materialize(assets, partition_key=ds, resources=resources, instance=instance)
        assert res.success
        checks = res.get_asset_check_evaluations()
        assert len(checks) == 10 and all(c.passed for c in checks), [(c.check_name, c.metadata) for c in checks]
        assert all(c.severity == dg.AssetCheckSeverity.ERROR for c in checks if c.asset_key.path[-1] == "normalized_clips")
        mats = {m.asset_key.path[-1]: m for m in res.get_asset_materialization_events()}
        meta = mats["normalized_clips"].materialization.metadata
        assert meta["dagster/row_count"].value == 1 and meta["quarantined"].value == 0
        assert "data:image/png;base64," in meta["preview"].value
        index = read_index(world / "clips" / ds)
        present = {m for m in ("rgb", "depth", "gaze", "camera") if index[0][f"has_{m}"]}
        assert present == expect[ds]
        clip = read_clip(world / "clips" / ds / index[0]["clip_id"])
        assert clip.rgb.shape == (60, 64, 64, 3)
        np.testing.assert_allclose(clip.camera[0], np.eye(4))
        if clip.gaze is not None:
            assert np.isfinite(clip.gaze).all(1).mean() > 0.5


@pytest.mark.slow
def test_demo_backfill_runs_the_graph(tmp_path, monkeypatch):
    """The demo command on a micro world: real backfill, one run per partition."""
    env = {**os.environ, "EGOM2P_DATA": str(tmp_path / "data"), "DAGSTER_HOME": str(tmp_path / "home")}
    (tmp_path / "home").mkdir()
    shutil.copy(Path(__file__).resolve().parents[2] / "dagster.yaml", tmp_path / "home" / "dagster.yaml")
    out = subprocess.run([sys.executable, "-m", "egom2p.pipelines.demo", "--sequences", "1", "--seconds", "2.2",
                          "--datasets", "egogen,egoexo4d", "--video-steps", "3", "--trajectory-steps", "10",
                          "--train-budget-s", "20", "--pretrain-tokens", "8192", "--no-eval"],
                         env=env, capture_output=True, text=True, timeout=900, cwd=tmp_path)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert "egogen=SUCCESS" in out.stdout and "egoexo4d=SUCCESS" in out.stdout
    assert "| egogen | 1 | 1 | 1 | 0 | 1 |" in out.stdout
    assert "| egoexo4d | 1 | 1 | 0 | 1 | 1 |" in out.stdout
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home"))
    instance = dg.DagsterInstance.get()
    backfills = instance.get_backfills()  # curate_dataset, then tokenize_dataset (token_shards)
    assert len(backfills) == 2 and all(sorted(b.partition_names) == ["egoexo4d", "egogen"] for b in backfills)
    assert "train_tokenizers=SUCCESS" in out.stdout
    assert "tokenize_dataset[egogen]=SUCCESS" in out.stdout and "tokenize_dataset[egoexo4d]=SUCCESS" in out.stdout
    assert "| egoexo4d | gaze | trajectory-" in out.stdout and "| egogen | depth | video-" in out.stdout
    assert "pretrain=SUCCESS" in out.stdout and "pretraining (data/runs/demo):" in out.stdout
    assert (tmp_path / "data" / "runs" / "demo" / "model.safetensors").exists()


def test_bad_sequence_quarantines_inside_the_asset_run(tmp_path):
    """One corrupt sequence: the run still succeeds, the inventory check warns, the metadata counts it."""
    from egom2p.synth.layouts import LAYOUTS
    root = tmp_path / "data"
    LAYOUTS["egogen"](root / "raw" / "egogen", sequences=2, seconds=2.1, seed=5, progress=False)
    bad = sorted((root / "raw" / "egogen").iterdir())[0]
    (bad / "smplx_params" / "3.npy").unlink()      # found by the inventory (no decoding needed)
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions(datasets_partitions.name, ["egogen"])
    assets = [defs.get_assets_def(k) for k in ("raw_inventory", "clips", "depth_labels", "normalized_clips")]
    res = dg.materialize(assets, partition_key="egogen", instance=instance,
                         resources={"data": DataRoot(root=str(root)), "curation": CurationSettings(clip_resolution=64)})
    assert res.success
    checks = {c.check_name: c for c in res.get_asset_check_evaluations()}
    assert not checks["all_sequences_readable"].passed
    assert checks["all_sequences_readable"].severity == dg.AssetCheckSeverity.WARN
    assert all(c.passed for name, c in checks.items() if name != "all_sequences_readable")
    mats = {m.asset_key.path[-1]: m.materialization.metadata for m in res.get_asset_materialization_events()}
    assert mats["clips"]["quarantined"].value == 1 and mats["normalized_clips"]["quarantined"].value == 1
    assert "missing smplx_params/3.npy" in mats["normalized_clips"]["quarantine"].value
    assert mats["normalized_clips"]["dagster/row_count"].value == 1
