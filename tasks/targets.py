"""How a task treats its target, by the target's registry ``value`` kind: the evaluation grid of the ground
truth, how many samples of it are scored, its metrics, and the trivial baseline.

Video targets live on the video tokenizer's grid (``frames`` frames at ``fps``, ``resolution``²: the clip
is subsampled and resized exactly as the tokenizer does); trajectory targets at the clip's 60 samples.

=============  ============================  =================  ====================================
value          ground truth                  scored from        trivial baseline
=============  ============================  =================  ====================================
color          (frames, S, S, 3) uint8       frame 1 (frame 0   copy of the conditioning first frame
                                             is conditioning)
inverse_depth  (frames, S, S), NaN invalid   frame 0            mean training inverse depth
image_point    (60, 2) in [0, 1], NaN        sample 0           the image centre
pose           (60, 4, 4) c2w                sample 0 (≥ 2)     a static camera
vector         (60, *shape), NaN             sample 0           zeros
=============  ============================  =================  ====================================
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from egom2p.tokenizers.video import data as V

from . import baselines, metrics


@dataclass(frozen=True)
class Target:
    """ground_truth(array, video_cfg) -> the target on its evaluation grid;
    on_video_grid: lengths count tokenizer-grid frames (else clip samples);
    min_length: fewer scored samples than this = nothing to score;
    score(pred, gt, meta) -> {metric: value} over the given samples;
    trivial(gt, video_cfg, mean_inverse_depth) -> the trivial baseline's prediction."""
    ground_truth: Callable[[np.ndarray, object], np.ndarray]
    on_video_grid: bool
    min_length: int
    score: Callable[[np.ndarray, np.ndarray, dict], dict]
    trivial: Callable[[np.ndarray, object, float], np.ndarray]


def _color_truth(a: np.ndarray, c) -> np.ndarray:
    return V.video_to_rgb(V.rgb_to_video(a, c.frames, c.fps, c.resolution))


def _depth_truth(a: np.ndarray, c) -> np.ndarray:
    vid, valid = V.depth_to_video(a, c.frames, c.fps, c.resolution)
    return np.where(valid, (vid[0] + 1.0) / 2.0, np.nan)


def _array_truth(a: np.ndarray, c) -> np.ndarray:
    return np.asarray(a, np.float64)


def _gaze_score(pred: np.ndarray, gt: np.ndarray, meta: dict) -> dict:
    side = int(meta.get("side", 0)) or None
    K = metrics.clip_intrinsics(meta) if "intrinsics" in meta else None
    return metrics.gaze_metrics(pred, gt, K=K, side=side)


def _vector_score(pred: np.ndarray, gt: np.ndarray, meta: dict) -> dict:
    ok = np.isfinite(gt)
    return {"rmse": float(np.sqrt(np.mean((np.asarray(pred, np.float64)[ok] - gt[ok]) ** 2))) if ok.any()
            else float("nan")}


TARGETS: dict[str, Target] = {
    "color": Target(_color_truth, True, 2, lambda p, g, meta: metrics.video_metrics(p, g, start=1),
                    lambda gt, c, mean_inv: baselines.copy_first_frame(gt, c.frames)),
    "inverse_depth": Target(_depth_truth, True, 1,
                            lambda p, g, meta: metrics.depth_metrics(p, g, meta.get("depth_normalization")),
                            lambda gt, c, mean_inv: baselines.mean_depth(c.resolution, mean_inv,
                                                                         c.frames).astype(np.float32)),
    "image_point": Target(_array_truth, False, 1, _gaze_score, lambda gt, c, mean_inv: baselines.center_gaze()),
    "pose": Target(_array_truth, False, 2,
                   lambda p, g, meta: metrics.camera_metrics(p, g, delta=min(metrics.RTE_DELTA, len(g) - 1)),
                   lambda gt, c, mean_inv: baselines.static_camera()),
    "vector": Target(_array_truth, False, 1, _vector_score, lambda gt, c, mean_inv: np.zeros_like(gt)),
}
