"""The motion sampler reproduces what curation writes: for the sequences of the curated micro world,
the camera and gaze arrays computed from the synthetic motion alone equal the canonical clips' arrays."""
from __future__ import annotations

import numpy as np

from egom2p.clip import read_clip
from egom2p.catalog import read_index
from egom2p.normalize import relative_poses
from egom2p.synth import aria_mps
from egom2p.synth.common import make_sequence
from egom2p.synth.layouts.egoexo4d import gaze_sample_us, plan_take
from egom2p.synth.trajectories import SamplerConfig, motion_clips, timeline_arrays

SEED, SECONDS = 5, 2.2  # the curated_world fixture (tests/tokenizers/conftest.py)


def _clips(root, ds):
    for r in read_index(root / "clips" / ds):
        yield r, read_clip(root / "clips" / ds / r["clip_id"], modalities=("gaze", "camera"), decode_video=False)


def test_egoexo4d_clips_equal_the_sampled_arrays(curated_world):
    rows = list(_clips(curated_world, "egoexo4d"))
    assert rows and all(c.gaze is not None and c.camera is not None for _, c in rows)
    for r, clip in rows:
        k = int(r["sequence_id"].split("_")[2])
        take = plan_take(SEED, k, SECONDS)
        tau0 = aria_mps.motion_time(take.frame_ns[:1], take.t0_ns)[0]  # ±0.3 ms timesync jitter
        times = tau0 + (60 * r["clip_index"] + np.arange(60)) / 30.0
        g_times = aria_mps.motion_time(gaze_sample_us(take) * 1000, take.t0_ns)
        c2w, gaze = timeline_arrays(take.seq.motion, times, g_times, SamplerConfig())
        np.testing.assert_allclose(relative_poses(c2w), clip.camera, atol=1e-4)
        np.testing.assert_array_equal(np.isfinite(gaze), np.isfinite(clip.gaze))
        ok = np.isfinite(gaze).all(-1)
        assert ok.sum() > 30
        np.testing.assert_allclose(gaze[ok], clip.gaze[ok], atol=1e-5)


def test_egogen_cameras_equal_motion_clips(curated_world):
    for r, clip in _clips(curated_world, "egogen"):
        seq = make_sequence("egogen", SEED, int(r["sequence_id"].rsplit("_", 1)[1]), "room", SECONDS)
        cams, _ = motion_clips(seq.motion, SamplerConfig(seconds=SECONDS))
        np.testing.assert_allclose(cams[r["clip_index"]], clip.camera, atol=1e-5)
