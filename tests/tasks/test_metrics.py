"""Task-level metrics on hand-computed cases (tasks/metrics.py: clip intrinsics, SSIM, video metrics)."""
from __future__ import annotations

import math

import numpy as np
import pytest

from egom2p.metrics import psnr_frames
from egom2p.tasks.metrics import clip_intrinsics, ssim_frames, video_metrics

K100 = np.array([[100.0, 0, 49.5], [0, 100.0, 49.5], [0, 0, 1]])  # centred pinhole of a 100² clip


def test_clip_intrinsics_rescales_with_pixel_centre_rule():
    meta = {"intrinsics": K100.tolist(), "side": 100}
    assert np.array_equal(clip_intrinsics(meta), K100)
    K = clip_intrinsics(meta, side=50)
    assert K[0, 0] == 50.0 and K[0, 2] == pytest.approx(24.5)       # 0.5 · (49.5 + 0.5) − 0.5


# ----------------------------------------------------------------------------------------------- video
def test_psnr_and_ssim_hand_computed():
    gt = np.full((2, 16, 16, 3), 100, np.uint8)
    pred = gt.copy()
    pred[1] = 110                                                    # frame 1: constant offset 10
    psnr = psnr_frames(pred, gt)
    assert psnr[0] == 100.0                                          # identical → the cap
    assert psnr[1] == pytest.approx(10 * math.log10(255 ** 2 / 100))  # 28.130803608679106 dB
    c1 = (0.01 * 255) ** 2                                           # flat images: only the luminance term
    expected = (2 * 100 * 110 + c1) / (100 ** 2 + 110 ** 2 + c1)     # = 0.9954764440915066
    assert ssim_frames(pred, gt) == pytest.approx([1.0, expected], rel=1e-12)
    assert ssim_frames(pred, gt, "gray")[1] == pytest.approx(expected, rel=1e-9)
    m = video_metrics(pred, gt, start=1)
    assert m == pytest.approx({"psnr": 28.130803608679106, "ssim": expected}, rel=1e-9)


def test_ssim_structure_term_and_symmetry():
    rng = np.random.default_rng(0)
    a = rng.integers(0, 256, (1, 24, 24, 3), dtype=np.uint8)
    b = np.clip(a.astype(int) + rng.integers(-40, 41, a.shape), 0, 255).astype(np.uint8)
    inv = (255 - a).astype(np.uint8)
    s_ab, s_ba = ssim_frames(a, b)[0], ssim_frames(b, a)[0]
    assert s_ab == pytest.approx(s_ba) and 0.3 < s_ab < 0.99
    assert ssim_frames(a, inv)[0] < 0                                 # anti-correlated structure
    with pytest.raises(ValueError):
        ssim_frames(a[:, :8, :8], a[:, :8, :8])                     # smaller than the 11-pixel window
