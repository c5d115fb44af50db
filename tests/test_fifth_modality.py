"""Adding a modality is one registry row plus its tokenizer.

A fifth modality — ``imu``, a 6-DoF IMU-like (60, 6) signal tokenized by a trajectory VQ-VAE — is declared
here, in the test, with one ``register`` call, and runs through the whole line with no other file touched:
a reader provides it as a time-stamped track (a wrapper around the EgoGen reader, registered in the test),
curation resamples, writes, normalizes, indexes and checks it; its tokenizer is trained and becomes the
current ``imu`` tokenizer; ``tokenize_dataset`` writes its shards; the model trains a step with it in the
token layout and generates it from rgb.
"""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from egom2p import modalities as M
from egom2p.catalog import read_index
from egom2p.clip import read_clip, validate_clip
from egom2p.curation import datasets as D
from egom2p.curation.checks import check_names, check_partition
from egom2p.curation.clips import curate_clips
from egom2p.curation.config import CurationConfig
from egom2p.curation.depth import label_depth
from egom2p.curation.inventory import build_inventory
from egom2p.curation.normalize import normalize_partition, upstream_quarantine
from egom2p.curation.sequence import Track
from egom2p.paths import DataPaths
from egom2p.presets import TINY

IMU = "imu"
CFG = CurationConfig(preset="tiny", clip_resolution=64)
SMALL_TRAJ = dict(dim=32, depth=1, heads=2)
SMALL_MODEL = dict(dim=32, encoder_depth=1, decoder_depth=1, heads=2, input_budget=32, target_budget=32)


def imu_signal(times: np.ndarray) -> np.ndarray:
    """(M, 6) smooth synthetic angular velocity (rad/s) + acceleration (m/s²) at ``times`` (s)."""
    t = np.asarray(times, np.float64)[:, None]
    k = np.arange(1, 7)[None, :]
    return np.sin(2 * np.pi * 0.3 * k * t + k) * (0.5 + 0.1 * k)


class ImuReader:
    """The EgoGen reader, plus an IMU track at 100 Hz on the same clock (one sample NaN: a dropout)."""
    name = "egogen_imu"
    modalities = (*D.READERS["egogen"].modalities, IMU)

    def list_sequences(self, root):
        return D.READERS["egogen"].list_sequences(root)

    def open(self, root, sequence_id, side, settings=None):
        seq = D.READERS["egogen"].open(root, sequence_id, side, settings)
        t = np.arange(seq.frame_times[0], seq.frame_times[-1] + 0.01, 0.01)
        values = imu_signal(t)
        values[3] = np.nan
        seq.tracks[IMU] = Track(t, values)
        return seq


@pytest.fixture
def imu_line(monkeypatch):
    """The fifth modality's registry row and a reader that provides it (both removed afterwards)."""
    row = M.register(M.trajectory_row(IMU, "vector", (6,), resample="linear", valid_fraction=True,
                                      check_name="imu_shape"))
    monkeypatch.setitem(D.READERS, ImuReader.name, ImuReader())
    try:
        yield row
    finally:
        M.unregister(IMU)


def test_a_fifth_modality_runs_curation_shards_training_and_generation(tmp_path, imu_line):
    from egom2p.model.checkpoint import load_model
    from egom2p.model.config import ModelConfig
    from egom2p.model.generate import GenerationConfig, generate
    from egom2p.model.train import run
    from egom2p.model.train_config import TrainConfig
    from egom2p.synth.layouts import LAYOUTS
    from egom2p.tokenizers import store
    from egom2p.tokenizers.api import VideoClipTokenizer
    from egom2p.tokenizers.shards import read_token_folder
    from egom2p.tokenizers.tokenize import tokenize_dataset
    from egom2p.tokenizers.training import TokenizerTrainConfig
    from egom2p.tokenizers.trajectory.model import TrajectoryConfig
    from egom2p.tokenizers.trajectory.train import load_arrays, train_trajectory_tokenizer
    from egom2p.tokenizers.video.model import VideoTokenizer, VideoTokenizerConfig

    paths, ds = DataPaths(tmp_path / "data"), "egogen_imu"
    LAYOUTS["egogen"](paths.raw(ds), sequences=3, seconds=2.2, seed=5, progress=False)

    # ---- curation: inventory, clips, depth labels, canonical clips, index, checks
    # workers=1: the imu row is registered in this process only (spawned workers import the built-in registry)
    inventory = build_inventory(paths.raw(ds), paths.inventory(ds), ds, CFG, workers=1).rows
    assert all(r["has_imu"] and not r["problem"] for r in inventory)
    curate_clips(paths.raw(ds), paths.interim_clips(ds), ds, CFG, progress=False, workers=1)
    label_depth(paths.interim_clips(ds), paths.interim_depth(ds), ds, progress=False, workers=1)
    q = upstream_quarantine(paths.interim_clips(ds), paths.interim_depth(ds))
    result = normalize_partition(paths.interim_clips(ds), paths.interim_depth(ds), paths.clips(ds), ds, CFG, q,
                                 progress=False, workers=1)
    assert result.quarantine == [] and len(result.rows) == 3
    index = read_index(paths.clips(ds))
    assert all(r["has_imu"] and r["has_rgb"] and r["has_depth"] and r["has_camera"] and not r["has_gaze"]
               for r in index)
    first = paths.clips(ds) / index[0]["clip_id"]
    clip = read_clip(first)
    meta = json.loads((first / "meta.json").read_text())
    assert list(clip) == ["rgb", "depth", "camera", IMU] and meta["modalities"][IMU] is True
    imu = clip[IMU]
    assert imu.shape == (60, 6) and imu.dtype == np.float32
    # values: the signal resampled linearly at the clip's frame times; the NaN sample poisons its neighbours
    times = meta["start_time"] + np.arange(60) / 30.0
    ok = np.isfinite(imu).all(1)
    np.testing.assert_allclose(imu[ok], imu_signal(times)[ok], atol=2e-3)
    assert 0 < (~ok).sum() <= 2 and index[0]["imu_valid_frac"] == pytest.approx(ok.mean())
    assert validate_clip(first) == []
    checks = check_partition(paths.clips(ds))
    assert "imu_shape" in check_names() and checks["imu_shape"] == (True, {"checked": 3, "failures": 0, "examples": []})
    assert checks["index_matches_files"][0]
    # a broken imu file is caught by its row's check
    np.save(paths.clips(ds) / index[1]["clip_id"] / "imu.npy", np.zeros((60, 5), np.float32))
    assert not check_partition(paths.clips(ds))["imu_shape"][0]
    imu_row = M.get(IMU)
    imu_row.write(paths.clips(ds) / index[1]["clip_id"], imu_signal(np.arange(60) / 30.0))

    # ---- tokenizers: a random-weight tiny video tokenizer and a trained imu VQ-VAE become current
    torch.manual_seed(0)
    vcfg = VideoTokenizerConfig.from_spec(TINY.video)
    store.save_current(paths, "video", VideoClipTokenizer(VideoTokenizer(vcfg), vcfg, "unsaved"))
    folders = [paths.clips(ds) / r["clip_id"] for r in index]
    arrays = load_arrays(folders, IMU)
    assert len(arrays) == 3
    tcfg = TrajectoryConfig.from_spec(TINY.trajectory, IMU)
    assert tcfg.in_channels == 6
    tok, _ = train_trajectory_tokenizer(arrays, TrajectoryConfig(**{**tcfg.to_dict(), **SMALL_TRAJ}),
                                        TokenizerTrainConfig(steps=3, batch_size=4, lr=1e-3, warmup=1, log_every=10),
                                        log=lambda s: None)
    recon = tok.detokenize(IMU, tok.tokenize(IMU, arrays))
    assert recon[0].shape == (60, 6)
    store.save_current(paths, imu_row.tokenizer, tok)
    assert store.current_ids(paths)[IMU] == tok.tokenizer_id

    # ---- shards
    summary = tokenize_dataset(paths, ds, store.load_current_all(paths, TINY), TINY, shard_size=2, log=lambda s: None)
    assert set(summary) == {"rgb", "depth", "camera", IMU} or set(summary) == {"rgb", "depth", IMU}
    shards = read_token_folder(paths.tokens(tok.tokenizer_id, IMU, ds))
    assert sorted(shards) == sorted(r["clip_id"] for r in index)
    assert all(v.shape == (30,) and v.max() < TINY.trajectory.codebook_size for v in shards.values())

    # ---- one training step with imu in the token layout, then generation of imu from rgb
    model_cfg = ModelConfig.from_preset("tiny", ("rgb", "depth", IMU), **SMALL_MODEL)
    assert model_cfg.spec(IMU).token_shape == (30,) and model_cfg.spec(IMU).pos_enc == "sincos1d"
    out = tmp_path / "run"
    cfg = TrainConfig(out_dir=str(out), data_root=str(paths.root), preset="tiny", modalities=("rgb", "depth", IMU),
                      tokens=2 * 64 * 2, batch_size=2, warmup_tokens=64, workers=0, log_every=1, ckpt_every=0,
                      tensorboard=False, model_overrides=SMALL_MODEL, max_steps=2)
    summary = run(cfg)
    assert summary["step"] >= 1 and np.isfinite(summary["final_loss"])
    model, _ = load_model(out)
    assert IMU in model.cfg.names
    lay = model.cfg.layout
    tokens = torch.zeros(1, lay.length, dtype=torch.long)
    rgb = read_token_folder(paths.tokens(store.current_ids(paths)["rgb"], "rgb", ds))[index[0]["clip_id"]]
    tokens[0, lay.slice("rgb")] = torch.as_tensor(rgb.reshape(-1).astype(np.int64))
    pred = generate(model, tokens, {"rgb": "all"}, [(IMU, GenerationConfig(steps=2, temperature=0.0))])
    imu_tokens = pred[0, lay.slice(IMU)].numpy()
    assert imu_tokens.shape == (30,) and 0 <= imu_tokens.min() and imu_tokens.max() < TINY.trajectory.codebook_size
    assert tok.detokenize(IMU, imu_tokens[None])[0].shape == (60, 6)
