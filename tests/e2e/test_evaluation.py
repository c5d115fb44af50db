"""End to end, in-process: curated micro world → tokenizers → shards → tiny pretraining (Pipes) → task
models → evaluation report with every method and plots."""
from __future__ import annotations

import importlib.util

import dagster as dg
import pytest

from egom2p.assets.partitions import datasets_partitions
from egom2p.assets.resources import CurationSettings, DataRoot, LineSettings, TokenizerSettings
from egom2p.pipelines.definitions import defs

SMALL = dict(dim=32, encoder_depth=1, decoder_depth=1, heads=2, input_budget=64, target_budget=64)


@pytest.mark.slow
def test_evaluation_asset_reports_every_task_and_method(tmp_path, monkeypatch):
    """With the real ADT sample present (``../shared/reference``), it joins as the evaluation-only ``adt``
    partition: a 3-frame sequence curated as one padded clip, never trained on, scored on its real frames."""
    from egom2p.assets import model as model_assets
    from egom2p.paths import DataPaths
    from egom2p.pipelines.demo import default_reference, link_reference_adt
    from egom2p.synth.layouts import LAYOUTS
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    root = tmp_path / "data"
    for ds in ("egogen", "egoexo4d"):
        LAYOUTS[ds](root / "raw" / ds, sequences=4, seconds=2.2, seed=3, progress=False)
    with_adt = importlib.util.find_spec("projectaria_tools") is not None and \
        bool(link_reference_adt(DataPaths(root), default_reference()))
    datasets = ["egogen", "egoexo4d"] + (["adt"] if with_adt else [])
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions(datasets_partitions.name, datasets)
    resources = {"data": DataRoot(root=str(root)), "line": LineSettings(), "curation": CurationSettings(clip_resolution=64),
                 "tokens": TokenizerSettings(video_steps=2, trajectory_steps=5, trajectory_sampled_clips=0,
                                             time_budget_s=20),
                 "pipes_subprocess_client": dg.PipesSubprocessClient()}
    curation = [defs.get_assets_def(k) for k in ("raw_inventory", "clips", "depth_labels", "normalized_clips")]
    for ds in datasets:
        assert dg.materialize(curation, partition_key=ds, instance=instance, resources=resources).success
    toks = [defs.get_assets_def(k) for k in ("video_tokenizer", "trajectory_tokenizers")]
    assert dg.materialize(toks, instance=instance, resources=resources).success
    for ds in datasets:
        assert dg.materialize([defs.get_assets_def("token_shards")], partition_key=ds, instance=instance,
                              resources=resources).success
    original = model_assets.PretrainConfig.train_config
    monkeypatch.setattr(model_assets.PretrainConfig, "train_config", lambda self, r, p: __import__("dataclasses").replace(
        original(self, r, p), tensorboard=False, model_overrides=SMALL))
    run_config = {"ops": {"pretrained_model": {"config": {"run_name": "e2e", "train": {
                              "tokens": 128 * 4 * 6, "batch_size": 4, "workers": 0, "log_every": 3,
                              "warmup_tokens": 256}}},
                          "task_models": {"config": {"pretrained_run": "e2e"}},
                          "evaluation": {"config": {"pretrained_run": "e2e", "max_clips_per_dataset": 2}}}}
    assets = [defs.get_assets_def(k) for k in ("pretrained_model", "task_models", "evaluation")]
    res = dg.materialize(assets, instance=instance, resources=resources, run_config=run_config)
    assert res.success
    meta = {m.asset_key.path[-1]: m.materialization.metadata for m in res.get_asset_materialization_events()}
    report = (root / "eval" / "report.md").read_text()
    for task in ("camera_tracking", "depth_estimation", "video_generation"):
        assert f"## {task}" in report
    for method in ("EgoM2P", "task-specific", "trivial", "OpenCV VO", "tokenizer oracle"):
        assert f"| {method} | **all** |" in report
    assert (root / "eval" / "results.parquet").exists() and (root / "eval" / "depth_estimation.png").exists()
    ev = meta["evaluation"]
    assert ev["clips"].value > 0 and ev["specialists_over_multitask"].value > 0
    assert "data:image/png;base64" in ev["plot_camera_tracking"].value
    assert meta["task_models"]["tokens_per_task"].value > 0
    if with_adt:   # the real sample is reported per dataset for the tasks its 3 real frames can score
        for task in ("gaze_estimation", "camera_tracking", "depth_estimation"):
            section = report.split(f"## {task}", 1)[1].split("\n## ", 1)[0]
            assert "| EgoM2P | adt | 1 |" in section and "| trivial | adt | 1 |" in section
        assert "| adt |" not in report.split("## video_generation", 1)[1].split("\n## ", 1)[0]
