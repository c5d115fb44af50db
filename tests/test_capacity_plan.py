"""The capacity plan's arithmetic from measurement files (benchmarks/capacity_plan.py)."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "capacity_plan.py"


@pytest.fixture(scope="module")
def cp():
    import sys
    sys.path.insert(0, str(SCRIPT.parent))
    spec = importlib.util.spec_from_file_location("capacity_plan", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_plan_totals_follow_the_measurements(cp):
    m = {"curation_source_scale": {"clip_cpu_s": 1.0},
         "units": {"side": 512, "stage_cpu_s_per_clip": {"depth_labels": 0.5, "normalized_clips": 0.5}},
         "storage": {"bytes_per_clip": {"clips": 1e6, "normalized_clips": 2e6, "tokens": 1e4}},
         "gpu_line": {"video_clips_per_s": 10.0, "depth_frames_per_s": 60.0}}
    rows, t = cp.plan(m, clips=3600, cores=2, gpus=1, mean_sequence_min=2.0)
    assert t["core_hours"] == pytest.approx(2.0)                # 3600 clips × 2 CPU s
    assert t["gpu_hours"] == pytest.approx(3600 * (1.0 + 0.2) / 3600)   # 1 s depth + 2 × 0.1 s video per clip
    assert t["wall_hours"] == pytest.approx(2.0 / 2 + 1.2 / 1)
    assert t["disk_tb"] == pytest.approx(3600 * 3.01e6 / 1e12)
    assert t["sequences"] == 60 and t["ray_tasks"] == 3 * 60 + 515 * 4 and t["partitions"] == 8
    text = cp.table(rows, t, 3600, 2, 1, 2.0)
    assert "gpu_line" in text and "| normalized_clips | CPU | 0.500 |" in text


def test_unmeasured_gpu_stages_fall_back_to_published_figures(cp):
    rows, t = cp.plan({}, clips=1000, cores=64, gpus=8, mean_sequence_min=4.0)
    video = [r for r in rows if r[0].startswith("token_shards")][0]
    assert video[2] == pytest.approx(2 * 17 * 0.0515) and "Cosmos" in video[3]
    assert t["core_hours"] == 0 and t["pretrain_gpu_hours"] == 3840
