"""Training entry point: loss falls, kill + resume is exact, DeepSpeed 2-process CPU run, configs, launch argv."""
from __future__ import annotations

import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
import yaml

from egom2p.model import checkpoint as ckpt
from egom2p.model.config import ModelConfig
from egom2p.model.launch import LaunchSpec, train_command
from egom2p.model.reporting import read_metrics
from egom2p.model.testing import write_synthetic_shards
from egom2p.model.train import run
from egom2p.model.train_config import TrainConfig
from egom2p.schedule import lr_at

SMALL = dict(dim=32, encoder_depth=1, decoder_depth=1, heads=2, input_budget=32, target_budget=32)
REPO = Path(__file__).resolve().parents[2]


def _env() -> dict:
    return {**os.environ, "OMP_NUM_THREADS": "1", "TORCH_EXTENSIONS_DIR": str(REPO / ".torch_extensions")}


@pytest.fixture(scope="module")
def data_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("shards")
    write_synthetic_shards(root, ModelConfig.from_preset("tiny", **SMALL), clips=48, scenes=4)
    return root


def _config(tmp: Path, data_root: Path, name: str, **kw) -> Path:
    base = dict(out_dir=str(tmp / name), data_root=str(data_root), tokens=64 * 4 * 30, batch_size=4, lr=3e-3,
                warmup_tokens=64 * 4 * 3, workers=2, log_every=1, ckpt_every=4, tensorboard=False,
                model_overrides=SMALL, epoch_batches=5, shuffle_buffer=16, unit_size=8)
    path = tmp / f"{name}.yaml"
    path.write_text(yaml.safe_dump({**base, **kw}))
    return path


def _train(config: Path, *extra: str, launcher: list[str] | None = None) -> subprocess.CompletedProcess:
    cmd = launcher or [sys.executable, "-m", "egom2p.model.train"]
    return subprocess.run([*cmd, "--config", str(config), *extra], env=_env(), capture_output=True, text=True,
                          timeout=600)


def test_lr_schedule_and_config_overrides(tmp_path):
    assert lr_at(0, 100, 10, 1e-3) == pytest.approx(1e-4)
    assert lr_at(9, 100, 10, 1e-3) == pytest.approx(1e-3)
    assert lr_at(55, 100, 10, 1e-3) == pytest.approx(5e-4)
    assert lr_at(100, 100, 10, 1e-3, 1e-5) == pytest.approx(1e-5)
    p = tmp_path / "c.yaml"
    p.write_text("tokens: 1000\nbatch_size: 2\nbetas: [0.9, 0.95]\n")
    cfg = TrainConfig.load(p, ["lr=2e-4", "datasets=[a, b]", "bf16=true", "tokens=1e3"])
    assert (cfg.tokens, cfg.batch_size, cfg.lr, cfg.datasets, cfg.bf16, cfg.betas) == (1000, 2, 2e-4, ("a", "b"), True, (0.9, 0.95))
    assert cfg.steps(world_size=2, tokens_per_sample=100) == 2  # 1000 tokens / (2 ranks × 2 × 100)
    with pytest.raises(ValueError, match="unknown training config keys"):
        TrainConfig.load(None, ["learning_rate=1"])
    with pytest.raises(ValueError, match="engine"):
        TrainConfig(engine="jax")


def test_launch_commands(tmp_path):
    py = "/venv/bin/python"
    assert train_command(LaunchSpec(), "r.yaml", py) == [py, "-m", "egom2p.model.train", "--config", "r.yaml"]
    tr = train_command(LaunchSpec("torchrun", 2, master_port=1234), "r.yaml", py)
    assert tr[:6] == [py, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port"]
    ds = train_command(LaunchSpec("deepspeed", 2, master_port=1234), "r.yaml", py)
    assert ds == ["/venv/bin/deepspeed", "--num_gpus", "2", "--master_port", "1234", "--module",
                  "egom2p.model.train", "--config", "r.yaml"]
    hosts = tmp_path / "hostfile"
    hosts.write_text("worker-1 slots=8\nworker-2 slots=8\n")
    assert "--hostfile" in train_command(LaunchSpec("deepspeed", 8, str(hosts), 1), "r.yaml", py)
    with pytest.raises(ValueError, match="one process"):
        LaunchSpec("python", 2)
    with pytest.raises(FileNotFoundError):
        LaunchSpec("deepspeed", 2, str(tmp_path / "nope"))


def test_loss_falls_and_checkpoint_loads(tmp_path):
    ov = dict(dim=48, encoder_depth=1, decoder_depth=1, heads=4, input_budget=48, target_budget=48)
    write_synthetic_shards(tmp_path / "data", ModelConfig.from_preset("tiny", **ov), clips=64, scenes=4)
    cfg = TrainConfig(out_dir=str(tmp_path / "run"), data_root=str(tmp_path / "data"), tokens=96 * 8 * 120,
                      batch_size=8, lr=3e-3, warmup_tokens=96 * 8 * 10, model_overrides=ov, workers=1,
                      log_every=10, ckpt_every=0, tensorboard=True)
    summary = run(cfg)
    rows = read_metrics(cfg.out_dir)
    assert summary["step"] == 120 and rows[-1]["step"] == 120
    # uniform over the 64,000-code video vocabulary is ln 64000 = 11.1; over the 256 codes in use 5.5;
    # below that only by predicting tokens from the other modalities (gaze/camera learn first)
    assert rows[0]["loss"] > 6.0 and rows[-1]["loss"] < 5.0, [r["loss"] for r in rows]
    assert rows[-1]["loss_gaze"] < 4.5 and rows[-1]["loss_camera"] < 4.5
    assert summary["tokens_per_s"] > 0 and Path(summary["loss_plot_path"]).exists()
    assert any((Path(cfg.out_dir) / "tensorboard").iterdir())
    model, config = ckpt.load_model(cfg.out_dir)
    assert config["train"]["tokens"] == cfg.tokens and model.cfg.dim == 48
    final = ckpt.latest(cfg.out_dir)
    assert final.name == "step-00000120" and (final / "optimizer.pt").exists()


def test_killed_run_resumes_to_the_same_losses(tmp_path, data_root):
    """SIGKILL a run after its first checkpoint; the resumed run reproduces the uninterrupted losses exactly."""
    full = _config(tmp_path, data_root, "full")
    assert _train(full).returncode == 0
    killed = _config(tmp_path, data_root, "killed")
    proc = subprocess.Popen([sys.executable, "-m", "egom2p.model.train", "--config", str(killed)], env=_env(),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    while ckpt.latest(tmp_path / "killed") is None and proc.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    at = ckpt.latest(tmp_path / "killed")
    assert at is not None and at.name != "step-00000030", "the run must be killed mid-way"
    res = _train(killed)
    assert res.returncode == 0, res.stderr[-2000:]
    assert "resumed from" in res.stderr
    a, b = read_metrics(tmp_path / "full"), read_metrics(tmp_path / "killed")
    assert [r["step"] for r in a] == [r["step"] for r in b] == list(range(1, 31))
    for ra, rb in zip(a, b):
        assert ra["loss"] == rb["loss"], (ra["step"], ra["loss"], rb["loss"])


def test_resume_refuses_another_world_size(tmp_path, data_root):
    cfg = _config(tmp_path, data_root, "ws", tokens=64 * 4 * 4, workers=0)
    assert _train(cfg).returncode == 0
    state = ckpt.latest(tmp_path / "ws") / ckpt.STATE_FILE
    state.write_text(state.read_text().replace('"world_size": 1', '"world_size": 2'))
    res = _train(cfg, "--set", "tokens=2048")
    assert res.returncode != 0 and "world size 2" in res.stderr


@pytest.mark.slow
def test_deepspeed_two_processes_zero1_on_cpu(tmp_path, data_root):
    cfg = _config(tmp_path, data_root, "ds", engine="deepspeed", zero_stage=1, workers=0, log_every=2, ckpt_every=5,
                  tokens=64 * 8 * 10)
    res = _train(cfg, launcher=train_command(LaunchSpec("deepspeed", 2), cfg)[:-2])
    assert res.returncode == 0, (res.stdout + res.stderr)[-3000:]
    rows = read_metrics(tmp_path / "ds")
    assert rows[-1]["step"] == 10 and all(math.isfinite(r["loss"]) for r in rows)
    final = ckpt.latest(tmp_path / "ds")
    assert final.name == "step-00000010" and (final / "deepspeed" / "state").is_dir()
    assert "world_size" in (final / ckpt.STATE_FILE).read_text() and '"world_size": 2' in (final / ckpt.STATE_FILE).read_text()
    model, config = ckpt.load_model(tmp_path / "ds")
    assert config["train"]["engine"] == "deepspeed"
    assert all(torch.isfinite(p).all() for p in model.parameters())
    # the same run as plain DDP under torchrun: same seed, same data per rank, fp32 → the same losses
    ddp = _config(tmp_path, data_root, "ddp", engine="torch", workers=0, log_every=2, ckpt_every=5, tokens=64 * 8 * 10)
    res = _train(ddp, launcher=train_command(LaunchSpec("torchrun", 2), ddp)[:-2])
    assert res.returncode == 0, res.stderr[-3000:]
    assert [r["loss"] for r in read_metrics(tmp_path / "ddp")] == pytest.approx([r["loss"] for r in rows], rel=1e-4)
