"""Trajectory VQ-VAE: features round trip, masking, 30 tokens in [0,256), save/load, training reduces loss."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from egom2p.geometry import axis_angle_to_matrix, make_pose
from egom2p.presets import TINY
from egom2p.tokenizers.api import load_tokenizer
from egom2p.tokenizers.trajectory import features as F
from egom2p.tokenizers.trajectory.codecs import feature_dims
from egom2p.tokenizers.trajectory.model import TrajectoryConfig, TrajectoryVQVAE
from egom2p.tokenizers.trajectory.train import train_trajectory_tokenizer
from egom2p.tokenizers.training import TokenizerTrainConfig, codebook_usage

SMALL = dict(dim=32, depth=1, heads=2)
pytestmark = pytest.mark.usefixtures("one_thread")


def _camera(seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.linspace(0, 2, 60)
    poses = [make_pose(axis_angle_to_matrix(np.array([0.1, 1.0, 0.2]), 0.4 * np.sin(ti + seed)),
                       np.array([0.3 * ti, 0.05 * np.sin(3 * ti), 0.1 * ti]) + rng.normal(0, 1e-3, 3)) for ti in t]
    T = np.stack(poses)
    return (np.linalg.inv(T[0])[None] @ T).astype(np.float32)


def _gaze(seed: int) -> np.ndarray:
    t = np.linspace(0, 2, 60)
    g = np.stack([0.5 + 0.3 * np.sin(2 * t + seed), 0.5 + 0.2 * np.cos(3 * t + seed)], -1).astype(np.float32)
    g[10 + seed % 5: 14 + seed % 5] = np.nan  # a blink
    return g


def test_camera_features_round_trip_and_errors():
    cam = _camera(0)
    x = F.camera_features(cam)
    assert x.shape == (60, 9)
    np.testing.assert_allclose(x[0], [1, 0, 0, 0, 1, 0, 0, 0, 0], atol=1e-6)  # identity first frame
    back = F.features_to_camera(x)
    np.testing.assert_allclose(back, cam, atol=1e-5)
    ate, rot = F.camera_errors(back, cam)
    assert ate < 1e-5 and rot < 1e-2
    shifted = cam.copy()
    shifted[:, :3, 3] += np.array([0.01, 0, 0], np.float32)
    assert F.camera_errors(shifted, cam)[0] == pytest.approx(0.01, rel=1e-4)
    norm = F.Normalizer.fit(np.stack([F.camera_features(_camera(s)) for s in range(4)]))
    np.testing.assert_allclose(norm.inverse(norm(x)), x, atol=1e-5)


def test_gaze_nan_frames_are_masked_out_of_the_loss():
    g = _gaze(0)
    x, valid = F.gaze_features(g)
    assert not valid[10:14].any() and valid[:10].all() and np.all(x[10:14] == 0)
    np.testing.assert_allclose(F.features_to_gaze(x)[valid], g[valid], atol=1e-6)
    torch.manual_seed(0)
    model = TrajectoryVQVAE(TrajectoryConfig(modality="gaze", in_channels=2, **SMALL)).eval()
    xt, m = torch.from_numpy(x[None]), torch.from_numpy(valid[None])
    with torch.no_grad():
        recon = model(xt, m)["recon"]
        garbage = xt.clone()
        garbage[:, ~valid] = 5.0  # the encoder sees it, but the loss must not count masked frames
        expected = ((recon - xt) ** 2).mean(-1)[m].mean()
        assert model(xt, m)["mse"].item() == pytest.approx(expected.item(), rel=1e-5)
        loss_full = model(garbage, torch.ones_like(m))["mse"].item()
        loss_masked = model(garbage, m)["mse"].item()
    assert loss_full > loss_masked
    assert F.gaze_error(F.features_to_gaze(x), g) == 0.0


def test_companded_normalizer_round_trip_and_resolution():
    x = np.stack([F.camera_features(_camera(s)) for s in range(4)]) * np.r_[np.ones(6), 3.0 * np.ones(3)]
    lin = F.Normalizer.fit(x)
    comp = F.Normalizer.fit(x, compand=(0.0,) * 6 + (0.05,) * 3)
    for n in (lin, comp):
        np.testing.assert_allclose(n.inverse(n(x)), x, atol=1e-5)
        assert F.Normalizer.from_dict(n.to_dict()) == n
    assert "compand" not in lin.to_dict()  # linear artifacts keep their stored form (and tokenizer ids)
    np.testing.assert_allclose(comp(x)[..., :6], lin(x)[..., :6], atol=1e-6)  # rotation channels untouched
    # 1 cm of translation spans more normalized units companded: centimetre motions keep resolution
    step = np.zeros((1, 1, 9))
    step[..., 6:] = 0.01
    gain = lambda n: float(np.abs(n(step) - n(np.zeros_like(step)))[..., 6:].min())  # noqa: E731
    assert gain(comp) > 2.0 * gain(lin)


@pytest.mark.parametrize("compand_m", [0.0, 0.05])
def test_thirty_tokens_from_256_codes_and_artifact_round_trip(tmp_path, compand_m):
    cams = [_camera(s) for s in range(6)]
    cfg = TrajectoryConfig.from_spec(TINY.trajectory, "camera", 9)
    assert cfg.tokens == 30 and cfg.codebook_size == 256 and cfg.latent_dim == 32
    tok, _ = train_trajectory_tokenizer(cams, TrajectoryConfig(modality="camera", in_channels=9, compand_m=compand_m,
                                                               **SMALL),
                                        TokenizerTrainConfig(steps=2, batch_size=4), log=lambda s: None)
    assert tok.normalizer.compand == (() if compand_m == 0 else (0.0,) * 6 + (compand_m,) * 3)
    tokens = tok.tokenize("camera", cams)
    assert tokens.shape == (6, 30) and tokens.min() >= 0 and tokens.max() < 256
    tid = tok.save(tmp_path / "cam")
    again = load_tokenizer(tmp_path / "cam")
    assert again.tokenizer_id == tid and again.normalizer == tok.normalizer
    assert np.array_equal(again.tokenize("camera", cams), tokens)
    recon = again.detokenize("camera", tokens)
    np.testing.assert_allclose(np.stack(recon), np.stack(tok.detokenize("camera", tokens)), atol=1e-6)
    assert recon[0].shape == (60, 4, 4)
    # rotations decoded from 6D are orthonormal
    R = recon[0][:, :3, :3].astype(np.float64)
    np.testing.assert_allclose(R @ np.swapaxes(R, 1, 2), np.broadcast_to(np.eye(3), R.shape), atol=1e-5)


def test_training_reduces_the_masked_loss():
    gazes = [_gaze(s) for s in range(8)]
    tok, hist = train_trajectory_tokenizer(gazes, TrajectoryConfig(modality="gaze", in_channels=2, **SMALL),
                                           TokenizerTrainConfig(steps=40, batch_size=8, lr=2e-3, warmup=4, log_every=1),
                                           log=lambda s: None)
    first, last = np.mean([h["mse"] for h in hist[:3]]), np.mean([h["mse"] for h in hist[-3:]])
    assert last < 0.5 * first, (first, last)


def test_codebook_usage_counts():
    u = codebook_usage(np.array([0, 0, 1, 1]), 4)
    assert u["perplexity"] == pytest.approx(2.0) and u["codes_used"] == 2 and u["dead_codes"] == 2


def test_training_on_motion_sampled_clips_reduces_held_out_error():
    """The benchmark recipe in miniature: plentiful motion-sampled clips, no augmentation, held-out seed."""
    from egom2p.synth.trajectories import sample_trajectories
    from egom2p.tokenizers.trajectory.train import evaluate_trajectory
    cams, gazes = sample_trajectories(48, seed=0)
    held_cams, held_gazes = sample_trajectories(12, seed=1)
    for modality, train, held, key in (("camera", cams, held_cams, "camera_ate_m"),
                                       ("gaze", gazes, held_gazes, "gaze_error_frac_width")):
        cfg = TrajectoryConfig(modality=modality, in_channels=feature_dims(modality), **SMALL)
        errs = []
        for steps in (1, 150):
            tok, _ = train_trajectory_tokenizer(list(train), cfg,
                                                TokenizerTrainConfig(steps=steps, batch_size=16, lr=3e-3, warmup=5),
                                                log=lambda s: None, augment=False)
            errs.append(evaluate_trajectory(tok, list(held))[key])
        assert errs[1] < 0.6 * errs[0], (modality, errs)
