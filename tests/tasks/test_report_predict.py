"""Report aggregation (hand-computed), the speed ratio, and ``egom2p predict`` on a real mp4 and on bad input."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from egom2p.tasks import predict as P
from egom2p.tasks.report import aggregate, markdown, ratio_vs_trivial, targeted
from egom2p.tasks.run import speed


def _row(task, method, ds, **m):
    return {"task": task, "method": method, "dataset": ds, "key": f"{ds}_{method}_{len(m)}", "seconds": 0.5, **m}


def test_aggregate_means_and_ratio_vs_trivial():
    rows = [_row("camera_tracking", "EgoM2P", "a", ate_m=0.1, rte_m=0.01, rre_deg=1.0),
            _row("camera_tracking", "EgoM2P", "b", ate_m=0.3, rte_m=0.03, rre_deg=3.0),
            _row("camera_tracking", "trivial", "a", ate_m=0.8, rte_m=0.05, rre_deg=2.0),
            _row("video_generation", "EgoM2P", "a", psnr=30.0, ssim=0.9),
            _row("video_generation", "trivial", "a", psnr=20.0, ssim=0.5),
            _row("camera_tracking", "tokenizer oracle", "a", ate_m=0.05, rte_m=0.01, rre_deg=1.0),
            _row("camera_tracking", "EgoM2P", "adt", ate_m=9.0, rte_m=0.01, rre_deg=1.0)]   # reported, not targeted
    agg = aggregate(targeted(rows))
    assert agg[("camera_tracking", "EgoM2P")]["ate_m"] == pytest.approx(0.2)
    assert agg[("camera_tracking", "EgoM2P")]["clips"] == 2
    assert aggregate(rows)[("camera_tracking", "EgoM2P")]["clips"] == 3
    assert aggregate(rows, by_dataset=True)[("camera_tracking", "EgoM2P", "b")]["rre_deg"] == pytest.approx(3.0)
    r = ratio_vs_trivial(agg, "EgoM2P")
    assert r["camera_tracking"] == pytest.approx(4.0) and r["video_generation"] == pytest.approx(1.5)
    text = markdown(rows)
    assert "| EgoM2P | **all** | 3 | 3.133 | 0.01667 | 1.667 | 0.500 |" in text and "| EgoM2P | b | 1 |" in text
    assert "| EgoM2P | adt | 1 | 9 |" in text and "adt (evaluation only) is reported above, not targeted" in text
    assert "EgoM2P vs trivial (main metric, × better): camera_tracking 4.00×, video_generation 1.50×" in text
    assert "tokenizer oracle vs trivial (main metric, × better): camera_tracking 16.00× — the ceiling" in text


def test_speed_sums_the_specialists_and_vo():
    agg = {(t, "EgoM2P"): {"seconds": 1.0} for t in ("gaze_estimation", "camera_tracking", "depth_estimation")}
    agg.update({(t, "task-specific"): {"seconds": 1.0} for t in ("gaze_estimation", "camera_tracking")})
    agg[("camera_tracking", "OpenCV VO")] = {"seconds": 4.0}
    s = speed(agg)
    assert s["multitask_s_per_clip"] == 3.0 and s["specialists_s_per_clip"] == 6.0
    assert s["specialists_over_multitask"] == 2.0


def test_load_windows_resamples_crops_and_pads(tmp_path):
    from egom2p.video import write_video
    frames = np.zeros((45, 80, 100, 3), np.uint8)           # 3 s at 15 fps, landscape
    frames[:, :, 10:90] = np.arange(45, dtype=np.uint8)[:, None, None, None] * 5
    write_video(tmp_path / "v.mp4", frames, fps=15)
    w = P.load_windows(tmp_path / "v.mp4", side=32)
    assert w.shape == (2, 60, 32, 32, 3)                     # 90 frames at 30 fps → 2 windows (30 padded)
    assert abs(int(w[0, 2].mean()) - 5) <= 3                  # frame 2 at 30 fps = source frame 1
    np.testing.assert_array_equal(w[1, -1], w[1, 29])         # edge-padded tail


def test_predict_reports_unreadable_input(tmp_path, capsys):
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"not a video at all")
    with pytest.raises(ValueError, match="cannot read"):
        P.load_windows(bad, 32)
    assert P.main([str(tmp_path / "missing.mp4"), "--model", str(tmp_path / "nomodel")]) == 2
    assert "error:" in capsys.readouterr().err


def test_predict_windows_shapes_with_untrained_models():
    """Random-weight tokenizers and model (no weights can be downloaded): checks the plumbing and shapes."""
    from egom2p.model.config import ModelConfig
    from egom2p.model.egom2p import EgoM2P
    from egom2p.presets import TINY
    from egom2p.tokenizers.api import TrajectoryClipTokenizer, VideoClipTokenizer
    from egom2p.tokenizers.trajectory.features import Normalizer
    from egom2p.tokenizers.trajectory.model import TrajectoryConfig, TrajectoryVQVAE
    from egom2p.tokenizers.video.model import VideoTokenizer, VideoTokenizerConfig
    torch.manual_seed(0)
    vcfg = VideoTokenizerConfig.from_spec(TINY.video)
    video = VideoClipTokenizer(VideoTokenizer(vcfg), vcfg, "video-random")
    toks = {"rgb": video, "depth": video}
    for m, c in (("gaze", 2), ("camera", 9)):
        toks[m] = TrajectoryClipTokenizer(TrajectoryVQVAE(TrajectoryConfig.from_spec(TINY.trajectory, m, c)),
                                          Normalizer.identity(c), f"{m}-random")
    model = EgoM2P(ModelConfig.from_preset("tiny", dim=24, encoder_depth=1, decoder_depth=1, heads=2)).eval()
    windows = np.random.default_rng(0).integers(0, 255, (1, 60, 128, 128, 3), dtype=np.uint8)
    out = P.predict_windows(windows, model, toks)
    assert out["depth"].shape == (16, 64, 64) and out["gaze"].shape == (60, 2) and out["camera"].shape == (60, 4, 4)
    assert np.isfinite(out["depth"]).all() and ((out["depth"] >= 0) & (out["depth"] <= 1)).all()
    frames = P.preview(windows, out, vcfg)
    assert frames.shape == (16, 64, 128, 3) and frames.dtype == np.uint8
