"""Launchpad config: one line-wide preset shared by every resource, the pretraining config passed through
``TrainConfig.from_dict``, and the demo's run configs valid against the jobs."""
from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

from egom2p.assets.model import PretrainConfig
from egom2p.assets.resources import CurationSettings, LineSettings, TokenizerSettings
from egom2p.model.train_config import TrainConfig
from egom2p.pipelines.definitions import defs
from egom2p.pipelines.demo import pretrain_config


def _fields(key: str) -> set[str]:
    return set(defs.resolve_job_def("curate_dataset").resource_defs[key].config_schema.config_type.fields)


def test_the_preset_is_one_setting_of_the_line_resource():
    assert _fields("line") == {"preset"}
    assert "preset" not in _fields("curation") and "line" not in _fields("curation")
    assert "preset" not in defs.resolve_job_def("train_tokenizers").resource_defs["tokens"].config_schema.config_type.fields
    assert CurationSettings().preset == TokenizerSettings().preset == LineSettings().preset == "tiny"


def test_a_launch_time_preset_reaches_curation_tokenizers_and_pretraining():
    seen = {}

    @dg.asset
    def probe(curation: CurationSettings, tokens: TokenizerSettings, line: LineSettings):
        seen.update(curation=curation.preset, curation_config=curation.config("egogen").preset,
                    tokens=tokens.preset, line=line.preset)

    job = dg.Definitions(assets=[probe], resources=dict(defs.resources)).resolve_implicit_global_asset_job_def()
    assert job.execute_in_process(run_config={"resources": {"line": {"config": {"preset": "paper"}}}}).success
    assert seen == {"curation": "paper", "curation_config": "paper", "tokens": "paper", "line": "paper"}
    assert job.execute_in_process().success and set(seen.values()) == {"tiny"}


def test_pretrain_defaults_are_the_assets_former_defaults(tmp_path):
    cfg = PretrainConfig().train_config(tmp_path, "tiny")
    former = TrainConfig(out_dir=str(tmp_path / "runs" / "tiny"), data_root=str(tmp_path), preset="tiny",
                         tokens=3_000_000, batch_size=8, grad_accum=1, lr=1e-3, warmup_tokens=200_000, bf16=False,
                         engine="torch", zero_stage=1, workers=1, seed=0, resume=True, ckpt_every=100, log_every=10)
    assert repr(cfg.to_dict()) == repr(former.to_dict())
    deepspeed = PretrainConfig(launcher="deepspeed").train_config(tmp_path, "paper")
    assert deepspeed.engine == "deepspeed" and deepspeed.preset == "paper"


def test_pretrain_config_sets_any_training_field_and_names_bad_keys(tmp_path):
    cfg = PretrainConfig(train={"lr": 2e-4, "min_lr": 1e-5, "keep_checkpoints": 5, "datasets": ["egogen"],
                                "betas": [0.9, 0.99], "model_overrides": {"dim": 32}}).train_config(tmp_path, "tiny")
    assert (cfg.lr, cfg.min_lr, cfg.keep_checkpoints, cfg.datasets, cfg.betas) == (2e-4, 1e-5, 5, ("egogen",), (0.9, 0.99))
    assert cfg.tokens == 3_000_000 and cfg.model_overrides == {"dim": 32}
    with pytest.raises(ValueError, match="learning_rate"):
        PretrainConfig(train={"learning_rate": 1e-3}).train_config(tmp_path, "tiny")
    with pytest.raises(ValueError, match="engine"):
        PretrainConfig(train={"engine": "jax"}).train_config(tmp_path, "tiny")
    with pytest.raises(ValueError, match=r"train\.preset .*line"):
        PretrainConfig(train={"preset": "paper"}).train_config(tmp_path, "tiny")


def test_the_demo_run_configs_are_valid_for_their_jobs():
    demo = pretrain_config(120_000, 30.0)
    dg.validate_run_config(defs.resolve_job_def("pretrain"), demo)
    cfg = PretrainConfig(**demo["ops"]["pretrained_model"]["config"]).train_config(Path("/data"), "tiny")
    assert (cfg.tokens, cfg.warmup_tokens, cfg.resume, cfg.ckpt_every, cfg.workers) == (120_000, 12_000, False, 50, 1)
    tokens = {"resources": {"tokens": {"config": {"video_steps": 3, "trajectory_steps": 4, "time_budget_s": 5.0}}}}
    dg.validate_run_config(defs.resolve_job_def("train_tokenizers"), tokens)
