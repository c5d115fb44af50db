"""run_many: task-specific runs side by side in spawned processes give the runs one-after-another gives;
a failing run is reported by its out_dir after the others finished."""
from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from egom2p.model.config import ModelConfig
from egom2p.model.parallel_runs import run_many
from egom2p.model.reporting import read_metrics
from egom2p.model.testing import write_synthetic_shards
from egom2p.model.train_config import TrainConfig

SMALL = dict(dim=32, encoder_depth=1, decoder_depth=1, heads=2, input_budget=32, target_budget=32)


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> TrainConfig:
    root = tmp_path_factory.mktemp("shards")
    write_synthetic_shards(root, ModelConfig.from_preset("tiny", **SMALL), clips=32, scenes=4)
    return TrainConfig(data_root=str(root), tokens=64 * 4 * 6, batch_size=4, lr=3e-3, warmup_tokens=64 * 4,
                       workers=0, log_every=2, ckpt_every=0, tensorboard=False, model_overrides=SMALL,
                       epoch_batches=5, shuffle_buffer=16, unit_size=8)


def _cfgs(base: TrainConfig, folder: Path) -> list[TrainConfig]:
    return [dataclasses.replace(base, task=spec, out_dir=str(folder / spec.replace("->", "2")))
            for spec in ("rgb->gaze", "rgb->camera", "rgb->depth")]


def test_parallel_runs_match_sequential_runs(tmp_path, base):
    seq = run_many(_cfgs(base, tmp_path / "seq"), parallel=1)
    logged: list[str] = []
    par = run_many(_cfgs(base, tmp_path / "par"), parallel=2, log=logged.append)
    assert [s["step"] for s in par] == [s["step"] for s in seq] == [6, 6, 6]
    for a, b, cfg in zip(seq, par, _cfgs(base, tmp_path / "par")):
        assert Path(b["model_dir"]) == Path(cfg.out_dir).resolve()             # order of the configs kept
        assert b["final_loss"] == pytest.approx(a["final_loss"], rel=1e-3)
        la = [r["loss"] for r in read_metrics(a["model_dir"])]
        lb = [r["loss"] for r in read_metrics(b["model_dir"])]
        assert lb == pytest.approx(la, rel=1e-3)
        assert (Path(cfg.out_dir) / "model.safetensors").exists()
    assert len(logged) == 3 and all("finished" in m for m in logged)


def test_a_failing_run_is_named_after_the_others_finish(tmp_path, base):
    good, bad = _cfgs(base, tmp_path)[:2]
    bad = dataclasses.replace(bad, data_root=str(tmp_path / "no-shards-here"))
    with pytest.raises(RuntimeError, match="no-shards-here|rgb2camera") as err:
        run_many([good, bad], parallel=2)
    assert "rgb2camera" in str(err.value)
    assert (Path(good.out_dir) / "model.safetensors").exists()
