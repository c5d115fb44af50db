"""Launchpad config: every field of our Config classes and resources carries a description (the config
editor shows it), and the ready configs (one default run config per job) validate, say what they promise and,
for the tiny quick pretraining run, actually train."""

import dataclasses
from pathlib import Path

import dagster as dg
import pytest
from dagster._config import ConfigType
from pydantic import Field

from egom2p.assets import model as model_assets
from egom2p.assets.model import PretrainConfig
from egom2p.model.config import ModelConfig
from egom2p.model.testing import write_synthetic_shards
from egom2p.pipelines import jobs
from egom2p.pipelines.definitions import defs

READY = {"pretrain": jobs.PRETRAIN_TINY_QUICK, "pretrain_paper_8gpu": jobs.PRETRAIN_PAPER_8GPU,
         "evaluate": jobs.EVALUATE_TINY, "train_tokenizers": jobs.TRAIN_TOKENIZERS_TINY}


def _children(t: ConfigType) -> list[tuple[str, ConfigType, str | None]]:
    """(name, type, description) of the fields one level below ``t``, looking through Noneable/Array/Map."""
    fields = getattr(t, "fields", None)
    if isinstance(fields, dict):
        return [(n, f.config_type, f.description) for n, f in fields.items()]
    inner = [getattr(t, a) for a in ("inner_type", "key_type") if isinstance(getattr(t, a, None), ConfigType)]
    return [(n, c, d) for i in inner for n, c, d in _children(i)]


def _fields_below(t: ConfigType, path: str) -> dict[str, str]:
    """path → description of every field below ``t``, at any depth."""
    out = {}
    for name, child, description in _children(t):
        out[f"{path}.{name}"] = (description or "").strip()
        out.update(_fields_below(child, f"{path}.{name}"))
    return out


def _ours(resources: dict, name: str, package: str) -> bool:
    resource = resources.get(name)      # Dagster adds io_manager itself
    cls = getattr(resource, "resource_cls", None) or type(resource)     # configure_at_launch: PartialResource
    return resource is not None and cls.__module__.startswith(package)


def config_fields(job: dg.JobDefinition, resources: dict, package: str = "egom2p.") -> dict[str, str]:
    """path → description of every field under ``ops.<asset>.config`` and ``resources.<resource>.config`` of
    ``job``'s run-config schema, for the resources of ``resources`` whose class lives in ``package`` (Dagster's
    own executor / loggers / io_manager config is not ours)."""
    top = job.run_config_schema.config_type.fields
    config_of = []
    for section, keep in (("ops", lambda name: True), ("resources", lambda name: _ours(resources, name, package))):
        if section in top:
            for name, node in top[section].config_type.fields.items():
                if keep(name) and "config" in node.config_type.fields:
                    config_of.append((f"{section}.{name}.config", node.config_type.fields["config"].config_type))
    return {f: d for path, t in config_of for f, d in _fields_below(t, path).items()}


def undocumented_fields(job: dg.JobDefinition, resources: dict, package: str = "egom2p.") -> list[str]:
    return sorted(f for f, description in config_fields(job, resources, package).items() if not description)


def _jobs(definitions: dg.Definitions) -> list[dg.JobDefinition]:
    return list(definitions.resolve_all_job_defs())     # the named jobs and Dagster's implicit asset job


def test_every_config_field_of_every_job_has_a_description():
    checked = set()
    for job in _jobs(defs):
        missing = undocumented_fields(job, defs.resources)
        assert not missing, f"job {job.name}: fields without a description: {missing}"
        checked |= {job.name}
    assert set(READY) | {"curate_dataset", "tokenize_dataset"} <= checked
    # the walker sees the fields it must (a job with every asset and resource: Dagster's implicit asset job)
    seen = config_fields(defs.resolve_implicit_global_asset_job_def(), defs.resources)
    for path in ("ops.pretrained_model.config.train", "ops.task_models.config.parallel",
                 "ops.evaluation.config.max_clips_per_dataset", "resources.data.config.root",
                 "resources.line.config.preset", "resources.curation.config.depth_dilations",
                 "resources.curation.config.ray_address", "resources.tokens.config.video_steps"):
        assert path in seen, path
    assert "Ranks per node" in seen["ops.pretrained_model.config.processes"]
    assert "0 (default) = one per core" in seen["resources.tokens.config.workers"]
    assert "deepspeed" in PretrainConfig.to_config_schema().as_field().config_type.fields["launcher"].description


class Bare(dg.Config):
    documented: int = Field(default=1, description="one")
    bare: int = 2


class BareResource(dg.ConfigurableResource):
    documented: int = Field(default=1, description="one")
    level: str = ""


@dg.asset
def probe(config: Bare, knob: BareResource) -> None:
    pass


def test_the_walker_reports_an_undocumented_config_and_resource():
    bare_defs = dg.Definitions(assets=[probe], resources={"knob": BareResource()})
    missing = {m for job in _jobs(bare_defs) for m in undocumented_fields(job, bare_defs.resources, __name__)}
    assert missing == {"ops.probe.config.bare", "resources.knob.config.level"}


@pytest.mark.parametrize("name", sorted(READY))
def test_each_ready_config_is_its_jobs_default_and_validates(name):
    job = defs.resolve_job_def(name)
    assert job.run_config == READY[name]
    assert "Ready config" in job.description or "ready config" in job.description.lower()
    full = dg.validate_run_config(job, READY[name])
    # a launch with no config at all (the Launchpad's "default") is the ready config
    assert dg.validate_run_config(job, {}) == full
    for op, cfg in READY[name].get("ops", {}).items():
        assert {k: full["ops"][op]["config"][k] for k in cfg["config"]} == cfg["config"]
    for res, cfg in READY[name].get("resources", {}).items():
        assert {k: full["resources"][res]["config"][k] for k in cfg["config"]} == cfg["config"]


def test_a_launch_config_still_replaces_the_ready_config_per_op():
    """The demo and the tests launch ``pretrain`` / ``train_tokenizers`` with their own config: an op or
    resource they name takes the launch config (missing fields = the class defaults), the rest the job's."""
    given = {"ops": {"pretrained_model": {"config": {"run_name": "demo", "train": {"tokens": 1000}}}}}
    full = dg.validate_run_config(defs.resolve_job_def("pretrain_paper_8gpu"), given)
    launched = given["ops"]["pretrained_model"]["config"]
    assert full["ops"]["pretrained_model"]["config"] == {**PretrainConfig().model_dump(), **launched}
    assert full["resources"]["line"]["config"] == {"preset": "paper"}
    tokens = dg.validate_run_config(defs.resolve_job_def("train_tokenizers"),
                                    {"resources": {"tokens": {"config": {"video_steps": 3}}}})
    assert tokens["resources"]["tokens"]["config"]["video_steps"] == 3
    assert tokens["resources"]["tokens"]["config"]["trajectory_steps"] == 150


def test_the_paper_config_is_deepspeed_zero1_bf16_on_8_gpus(tmp_path):
    from egom2p.model.engine import deepspeed_config
    from egom2p.model.launch import LaunchSpec, train_command
    ready = jobs.PRETRAIN_PAPER_8GPU
    op = ready["ops"]["pretrained_model"]["config"]
    assert (op["launcher"], op["processes"]) == ("deepspeed", 8)
    assert ready["resources"]["line"]["config"]["preset"] == "paper"
    cfg = PretrainConfig(**op).train_config(tmp_path, "paper")
    assert (cfg.engine, cfg.zero_stage, cfg.bf16, cfg.preset) == ("deepspeed", 1, True, "paper")
    assert cfg.global_batch(8) == 1024 and cfg.lr == pytest.approx(1e-4 * 1024 / 256)
    assert (cfg.tokens, cfg.warmup_tokens) == (500 * 10 ** 9, 10 * 10 ** 9)
    ds = deepspeed_config(cfg, world_size=8)
    assert ds["zero_optimization"] == {"stage": 1} and ds["bf16"] == {"enabled": True}
    assert ds["train_batch_size"] == 1024
    command = train_command(LaunchSpec(op["launcher"], op["processes"], op["hostfile"]), tmp_path / "run.yaml")
    assert Path(command[0]).name == "deepspeed" and command[1:3] == ["--num_gpus", "8"]


def test_the_tiny_quick_ready_config_trains(tmp_path, monkeypatch):
    """Launch ``pretrain`` with no config (= the ready config) on synthetic token shards. The test shrinks the
    network and stops after 3 of the run's ≈ 29 steps (``max_steps``, through the TrainConfig the asset writes,
    as test_pretrain_asset.py does): the full run takes 1–2 minutes, too long for a unit test."""
    op = jobs.PRETRAIN_TINY_QUICK["ops"]["pretrained_model"]["config"]
    ready = PretrainConfig(**op).train_config(tmp_path, "tiny")
    steps = ready.steps(world_size=1, tokens_per_sample=512)
    assert 20 <= steps <= 40 and op["run_name"] == "tiny-quick"
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    monkeypatch.setenv("EGOM2P_DATA", str(tmp_path))
    write_synthetic_shards(tmp_path, ModelConfig.from_preset("tiny"), clips=32)
    original = model_assets.PretrainConfig.train_config

    def shrunk(self, root, preset):
        return dataclasses.replace(original(self, root, preset), tensorboard=False, model_overrides=dict(
            dim=32, encoder_depth=1, decoder_depth=1, heads=2), max_steps=3)
    monkeypatch.setattr(model_assets.PretrainConfig, "train_config", shrunk)
    result = defs.resolve_job_def("pretrain").execute_in_process(instance=dg.DagsterInstance.ephemeral())
    assert result.success
    meta = result.asset_materializations_for_node("pretrained_model")[-1].metadata
    assert meta["total_steps"].value == steps and meta["step"].value == 3 and meta["final_loss"].value > 0
    assert "egom2p.model.train" in meta["command"].value
    assert (tmp_path / "runs" / "tiny-quick" / "model.safetensors").exists()
