"""Snippets and co-alignment (RollingDepth §3.3) on ground-truth synthetic depth."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from egom2p.curation.depth_annotators.base import CoalignConfig
from egom2p.curation.depth_annotators.coalign import (cap_dilation, coalign, flatten_snippets, frame_mean,
                                                      snippet_indices, snippet_plan)


pytestmark = pytest.mark.usefixtures("one_thread")


def test_snippet_indices_and_cap():
    idx = snippet_indices(10, 3, 4)
    assert idx.tolist() == [[0, 4, 8], [1, 5, 9]]
    assert cap_dilation(60, 3, 25) == 19 and cap_dilation(60, 3, 10) == 10
    plan = snippet_plan(60, 3, (1, 10, 25), cap=True)
    assert [(d, len(i)) for d, i in plan] == [(1, 58), (10, 40), (19, 22)]
    with pytest.raises(ValueError):
        snippet_indices(4, 3, 2)
    with pytest.raises(ValueError, match="uncovered"):
        snippet_plan(12, 3, (5,), cap=False)  # (0,5,10), (1,6,11): frames 2-4, 7-9 in no snippet


@pytest.fixture(scope="module")
def truth():
    """60 frames of exact z-depth (m) of a synthetic room walk, 64x64 pinhole: (z, normalized inverse)."""
    from egom2p.cameras import Pinhole
    from egom2p.synth.common import FPS, make_sequence
    from egom2p.synth.render import pinhole_rays, render_depth
    seq = make_sequence("egogen", 5, 0, "room", 2.0)
    traj = seq.motion.sample(np.arange(60) / FPS)
    rays = pinhole_rays(Pinhole(32.0, 32.0, 31.5, 31.5, 64, 64))
    z = np.stack([render_depth(seq.world, traj.c2w[i], rays, float(traj.times[i])) for i in range(60)])
    assert (z > 0).all() and z.max() / z.min() > 2.5  # a real depth range
    inv = 1.0 / z
    return z, (inv - inv.min()) / (inv.max() - inv.min())


def absrel_after_global_fit(pred_inv: np.ndarray, z: np.ndarray) -> float:
    """AbsRel (depth) after one least-squares scale and shift of the prediction onto the true inverse depth."""
    A = np.stack([pred_inv.ravel(), np.ones(pred_inv.size)], 1)
    coef, *_ = np.linalg.lstsq(A, 1.0 / z.ravel(), rcond=None)
    depth = 1.0 / np.clip(A @ coef, 1e-6, None)
    return float(np.mean(np.abs(depth - z.ravel()) / z.ravel()))


def corrupt(norm_inv: np.ndarray, plan, seed: int, scales=(0.7, 1.4), shift=0.05):
    """Each snippet = s_k · truth + t_k with its own random s_k (log-uniform) and t_k (uniform ±shift)."""
    rng = np.random.default_rng(seed)
    out, true_scales = [], []
    for _, idx in plan:
        s = np.exp(rng.uniform(np.log(scales[0]), np.log(scales[1]), len(idx)))[:, None, None, None]
        t = rng.uniform(-shift, shift, len(idx))[:, None, None, None]
        out.append(torch.tensor(s * norm_inv[idx.numpy()] + t, dtype=torch.float32))
        true_scales.append(s.ravel())
    return out, np.concatenate(true_scales)


def test_coalignment_recovers_corrupted_ground_truth(truth):
    """Done-when: random scale/shift per snippet, paper's co-alignment settings → AbsRel ≤ 1 %."""
    z, norm_inv = truth
    plan = snippet_plan(60, 3, (1, 10, 25), cap=True)
    snippets, true_scales = corrupt(norm_inv, plan, seed=1)
    indices = [i for _, i in plan]
    result = coalign(snippets, indices, 60, CoalignConfig())
    assert result.depth.shape == (60, 64, 64)
    assert result.loss[-1] < 0.5 * result.loss[0]
    err = absrel_after_global_fit(result.depth.double().numpy(), z)
    assert err <= 0.01, err
    # the same snippets merged without co-alignment are far off: the test can fail
    values, _, frame, _ = flatten_snippets(snippets, indices)
    naive = frame_mean(values.reshape(len(values), -1), frame, 60).reshape(60, 64, 64)
    assert absrel_after_global_fit(naive.double().numpy(), z) > 3 * err and \
        absrel_after_global_fit(naive.double().numpy(), z) > 0.02
    # fitted scales undo the corruption up to one global factor: s_k · s_true_k is nearly constant
    product = torch.cat(result.scales).numpy() * true_scales
    assert product.std() / product.mean() < 0.05, product.std() / product.mean()


def test_coalignment_without_shift_penalty_is_exact_for_large_corruption(truth):
    """With λ_t = 0 the consistent solution is reachable even for ±0.2 shifts (the penalty biases it)."""
    z, norm_inv = truth
    plan = snippet_plan(60, 3, (1, 10, 25), cap=True)
    snippets, _ = corrupt(norm_inv, plan, seed=2, scales=(0.5, 2.0), shift=0.2)
    result = coalign(snippets, [i for _, i in plan], 60, CoalignConfig(lambda_shift=0.0, iterations=1500))
    assert absrel_after_global_fit(result.depth.double().numpy(), z) < 0.005
