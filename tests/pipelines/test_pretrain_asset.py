"""The ``pretrained_model`` asset launches a tiny run through Dagster Pipes and shows its metadata."""
from __future__ import annotations

from pathlib import Path

import dagster as dg

from egom2p.assets.model import pretrained_model
from egom2p.assets.resources import DataRoot, LineSettings
from egom2p.model import checkpoint as ckpt
from egom2p.model.config import ModelConfig
from egom2p.model.testing import write_synthetic_shards
from egom2p.pipelines.definitions import defs


def test_pretrained_model_asset_reports_through_pipes(tmp_path, monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    cfg = ModelConfig.from_preset("tiny", dim=32, encoder_depth=1, decoder_depth=1, heads=2,
                                  input_budget=32, target_budget=32)
    write_synthetic_shards(tmp_path, cfg, clips=32)
    run_config = {"ops": {"pretrained_model": {"config": {"run_name": "asset-test", "train": {
        "tokens": 64 * 4 * 12, "batch_size": 4, "workers": 0, "log_every": 4, "ckpt_every": 6, "warmup_tokens": 512}}}}}
    # the Launchpad config cannot shrink the network; the test overrides the preset's sizes through the
    # TrainConfig the asset writes (same code path, smaller numbers)
    from egom2p.assets import model as asset_module
    original = asset_module.PretrainConfig.train_config

    def small(self, root, preset):
        import dataclasses
        return dataclasses.replace(original(self, root, preset), tensorboard=False, model_overrides=dict(
            dim=32, encoder_depth=1, decoder_depth=1, heads=2, input_budget=32, target_budget=32))
    monkeypatch.setattr(asset_module.PretrainConfig, "train_config", small)
    instance = dg.DagsterInstance.ephemeral()
    result = dg.materialize([pretrained_model], run_config=run_config, instance=instance,
                            resources={"data": DataRoot(root=str(tmp_path)), "line": LineSettings(),
                                       "pipes_subprocess_client": dg.PipesSubprocessClient()})
    assert result.success
    mats = result.asset_materializations_for_node("pretrained_model")
    meta = mats[-1].metadata
    assert meta["step"].value == 12 and meta["total_steps"].value == 12
    assert meta["final_loss"].value > 0 and meta["tokens_per_s"].value > 0
    assert Path(meta["checkpoint_path"].value).name == "step-00000012"
    assert "data:image/png;base64" in meta["loss_curve"].value
    assert "egom2p.model.train" in meta["command"].value
    run_dir = tmp_path / "runs" / "asset-test"
    assert ckpt.latest(run_dir).name == "step-00000012" and (run_dir / "model.safetensors").exists()
    # Pipes log lines from rank 0 reach the Dagster event log
    logs = [e.user_message for e in instance.all_logs(result.run_id)]
    assert any(m.startswith("step 12: loss") for m in logs), logs[-10:]


def test_definitions_carry_the_pretrain_job():
    assert defs.get_job_def("pretrain") is not None
    assert "pipes_subprocess_client" in defs.resources
