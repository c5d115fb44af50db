"""Reference codecs at the tokenizers' bit budgets (tokenizers/bounds.py): budgets, codec round trips
through the system ffmpeg, interpolation, entropy and the camera transform code."""
import math

import numpy as np
import pytest

from egom2p.presets import PAPER, TINY
from egom2p.tokenizers import bounds as B
from egom2p.tokenizers.video.data import psnr


def test_token_bit_budgets():
    assert B.video_token_bits(TINY.video) == pytest.approx(5 * 8 * 8 * math.log2(64000))
    assert B.video_token_bits(PAPER.video) == pytest.approx(5 * 32 * 32 * math.log2(64000))
    assert B.trajectory_token_bits(TINY.trajectory) == 240.0


def _moving_gradient(T=8, S=32) -> np.ndarray:
    y, x = np.mgrid[0:S, 0:S] / S
    frames = [np.stack([x + 0.03 * t, y, 0.5 * (x + y)], -1) for t in range(T)]
    return (np.clip(np.stack(frames), 0, 1) * 255).astype(np.uint8)


@pytest.mark.parametrize("codec", ["h264", "hevc", "av1"])
def test_codec_roundtrip_rgb_more_bits_better_psnr(codec):
    clip = _moving_gradient()
    fine_bits, fine = B.codec_roundtrip(clip, codec, 10)
    coarse_bits, coarse = B.codec_roundtrip(clip, codec, 50)
    assert fine.shape == clip.shape and fine.dtype == np.uint8
    assert 0 < coarse_bits < fine_bits
    assert psnr(fine, clip) > 38.0
    assert psnr(fine, clip) > psnr(coarse, clip)


@pytest.mark.parametrize("codec", ["h264", "hevc", "av1"])
def test_codec_roundtrip_depth_is_10bit_grey(codec):
    d = np.linspace(0.05, 1.0, 8 * 32 * 32).reshape(8, 32, 32).astype(np.float32)
    bits, rec = B.codec_roundtrip(d, codec, 0)
    assert rec.shape == d.shape and rec.dtype == np.float32 and bits > 0
    assert np.abs(rec - d).max() < 4 / 1023  # finer than 8-bit steps: 10-bit grey, near-lossless


def test_codec_roundtrip_rejects_bad_input():
    with pytest.raises(ValueError, match="uint8"):
        B.codec_roundtrip(np.zeros((4, 8, 8, 3), np.float32), "av1", 30)
    with pytest.raises(KeyError, match="known"):
        B.codec_roundtrip(_moving_gradient(), "mpeg2", 30)


def test_at_budget_interpolates_in_log_bits():
    assert B.at_budget([1000, 4000], [20.0, 30.0], 2000) == pytest.approx(25.0)
    assert B.at_budget([4000, 1000], [30.0, 20.0], 1000) == pytest.approx(20.0)
    assert math.isnan(B.at_budget([1000, 4000], [20.0, 30.0], 8000))
    assert B.bits_for([30.0, 20.0], [4000, 1000], 25.0) == pytest.approx(2000.0)  # the inverse
    assert math.isnan(B.bits_for([20.0, 30.0], [1000, 4000], 35.0))


def test_empirical_entropy_bits():
    const = np.zeros((16, 3), int)
    assert B.empirical_entropy_bits(const) == 0.0
    four = np.tile(np.arange(4), 4)[:, None].repeat(2, axis=1)  # two columns, each uniform over 4 values
    assert B.empirical_entropy_bits(four) == pytest.approx(4.0)


def _turning_walk(n=32, F=60, seed=0) -> np.ndarray:
    from scipy.spatial.transform import Rotation
    rng = np.random.default_rng(seed)
    t = np.linspace(0, 2, F)
    cams = np.tile(np.eye(4), (n, F, 1, 1))
    for i in range(n):
        v, w = rng.normal(0, 0.5, 3), rng.normal(0, 0.4, 3)
        cams[i, :, :3, 3] = t[:, None] * v + 0.05 * np.sin(3 * t)[:, None]
        cams[i, :, :3, :3] = Rotation.from_rotvec(t[:, None] * w).as_matrix()
    return cams


def test_camera_transform_code_rate_distortion():
    cams = _turning_walk()
    fine, coarse = B.camera_transform_code(cams, 1e-5, 1e-4), B.camera_transform_code(cams, 0.1, 4.0)
    assert fine["ate_m"] < 1e-5 and fine["rot_deg"] < 1e-3
    assert coarse["bits"] < fine["bits"]
    assert coarse["ate_m"] > 0.002 and coarse["rot_deg"] > 0.1
    still = B.camera_transform_code(np.tile(np.eye(4), (8, 60, 1, 1)), 0.01, 0.5)
    assert still == {"bits": 0.0, "ate_m": 0.0, "rot_deg": 0.0}
