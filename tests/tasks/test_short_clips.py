"""Evaluation of padded short clips (ADT, an evaluation dataset): only the real frames are scored, the padding
(last frame held) never counts, and a clip too short for a task is left out of that task."""
from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np

from egom2p.assets.resources import CurationSettings
from egom2p.catalog import EVALUATION_DATASETS, split_of
from egom2p.geometry import make_pose
from egom2p.tasks.evaluate import EvalClip, evaluate, score, scored_length
from egom2p.tasks.registry import TASKS

VIDEO = SimpleNamespace(frames=5, fps=7.5, resolution=16)   # grid frames at clip samples 0, 4, 8, 12, 16


def _clip(valid: int | None, camera=None) -> EvalClip:
    c = EvalClip("adt", "seq-0000", Path("/nonexistent"), np.zeros(4, np.int64),
                 {"rgb": True, "depth": True, "gaze": True, "camera": True},
                 {"valid_frames": valid} if valid else {})
    if camera is not None:
        c._arrays["camera"] = camera
    return c


def test_scored_length_counts_real_frames_on_each_grid():
    cam = np.repeat(np.eye(4)[None], 60, 0)
    assert scored_length(TASKS["camera_tracking"], _clip(None, cam), VIDEO) == 60
    assert scored_length(TASKS["camera_tracking"], _clip(3, cam), VIDEO) == 3
    assert scored_length(TASKS["camera_tracking"], _clip(1, cam), VIDEO) == 0      # one pose: no trajectory
    assert scored_length(TASKS["depth_estimation"], _clip(3, cam), VIDEO) == 1     # grid frame 0 only
    assert scored_length(TASKS["depth_estimation"], _clip(9, cam), VIDEO) == 3     # samples 0, 4, 8
    assert scored_length(TASKS["video_generation"], _clip(3, cam), VIDEO) == 0     # only the conditioning frame
    assert scored_length(TASKS["video_generation"], _clip(5, cam), VIDEO) == 2


def test_camera_score_ignores_the_padding():
    """A prediction exact on the 3 real frames and wild on the padding scores 0; all 60 frames would not."""
    gt = np.stack([make_pose(np.eye(3), [0.1 * i, 0, 0]) for i in range(3)] + [make_pose(np.eye(3), [0.2, 0, 0])] * 57)
    pred = gt.copy()
    pred[3:, :3, 3] = np.random.default_rng(0).normal(size=(57, 3))
    clip = _clip(3, gt)
    on_real = score(TASKS["camera_tracking"], pred, gt, clip, 3)
    assert on_real["ate_m"] < 1e-9 and on_real["rte_m"] < 1e-9
    assert score(TASKS["camera_tracking"], pred, gt, clip)["ate_m"] > 0.01   # Sim(3) shrinks the noise


def test_evaluate_leaves_out_clips_too_short_for_a_task():
    class Copy:      # predicts the ground truth
        name, tasks = "copy", ("camera_tracking",)

        def predict(self, task, clips):
            return [c.array("camera") for c in clips]

    gt = np.stack([make_pose(np.eye(3), [0.05 * i, 0, 0]) for i in range(60)])
    logs: list[str] = []
    clips = [_clip(3, gt), _clip(1, gt)]
    clips[1].key = "short-0000"
    for c in clips:   # camera tracking only (no file behind these clips)
        c.present = {"rgb": True, "depth": False, "gaze": False, "camera": True}
    rows, _ = evaluate(clips, [Copy()], VIDEO, log=logs.append)
    cam = [r for r in rows if r["task"] == "camera_tracking"]
    assert [r["key"] for r in cam] == ["seq-0000"] and cam[0]["ate_m"] < 1e-9
    assert any("too short to score (short-0000)" in m for m in logs)


def test_evaluation_datasets_are_test_split_and_allow_short():
    assert "adt" in EVALUATION_DATASETS
    assert {split_of("adt", f"seq{i}") for i in range(50)} == {"test"}
    assert len({split_of("egogen", f"seq{i}") for i in range(50)}) == 3
    settings = CurationSettings()
    assert settings.config("adt").allow_short and not settings.config("egogen").allow_short
