"""Canonical clip writer/reader/validation and atomic writes."""
import json

import numpy as np
import pytest

from egom2p import io
from egom2p.clip import read_clip, validate_clip, write_clip
from egom2p.video import VideoError, probe, read_video, write_video


def _clip_arrays(rng, T=60, S=16):
    rgb = (rng.random((T, S, S, 3)) * 255).astype(np.uint8)
    rgb[:] = np.linspace(0, 255, S, dtype=np.uint8)[None, None, :, None]   # smooth: survives H.264
    depth = rng.random((T, S, S)).astype(np.float32)
    depth[0, 0, 0] = np.nan
    gaze = rng.random((T, 2)).astype(np.float32)
    gaze[5] = np.nan
    cam = np.tile(np.eye(4), (T, 1, 1))
    cam[:, 0, 3] = np.linspace(0, 1, T)
    return rgb, depth, gaze, cam


def test_round_trip_and_valid(tmp_path):
    rgb, depth, gaze, cam = _clip_arrays(np.random.default_rng(0))
    folder = write_clip(tmp_path / "c0", {"dataset": "x"}, rgb=rgb, depth=depth, gaze=gaze, camera=cam)
    assert validate_clip(folder) == []
    clip = read_clip(folder)
    assert clip.rgb.shape == (60, 16, 16, 3) and clip.depth.dtype == np.float32
    assert np.abs(clip.rgb.astype(int) - rgb).mean() < 3           # CRF 17 is near-lossless
    np.testing.assert_allclose(clip.gaze, gaze)
    np.testing.assert_allclose(clip.depth, depth, atol=1e-3)
    assert list(clip) == ["rgb", "depth", "gaze", "camera"] and clip["gaze"] is clip.gaze
    info = probe(folder / "rgb.mp4")
    assert (info.width, info.height, info.frames, round(info.fps)) == (16, 16, 60, 30)


def test_validation_names_each_problem(tmp_path):
    rgb, depth, gaze, cam = _clip_arrays(np.random.default_rng(1))
    gaze[3] = [1.2, 0.5]
    cam[0, 0, 3] = 0.5
    cam[7, :3, :3] *= 2
    depth[2, 1, 1] = 1.5
    with pytest.raises(ValueError, match="depth outside"):   # the 16-bit depth codes hold [0, 1] only
        write_clip(tmp_path / "bad", {}, depth=depth)
    depth[2, 1, 1] = 0.5
    folder = write_clip(tmp_path / "bad", {}, rgb=rgb[:59], depth=depth[:, :8], gaze=gaze, camera=cam)
    problems = "\n".join(validate_clip(folder))
    for text in ("59 frames", "gaze outside [0,1]", "first camera pose is not identity", "orthonormal",
                 "depth shape"):
        assert text in problems
    missing = write_clip(tmp_path / "partial", {}, gaze=np.full((60, 2), 0.5))
    assert validate_clip(missing) == []
    partial = read_clip(missing)
    assert list(partial) == ["gaze"] and partial.rgb is None and partial.get("depth") is None
    with pytest.raises(KeyError):
        partial["camera"]


def test_atomic_write_leaves_old_file_on_failure(tmp_path):
    target = tmp_path / "a.json"
    io.write_json(target, {"v": 1})
    with pytest.raises(RuntimeError):
        with io.atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("crash mid-write")
    assert json.loads(target.read_text()) == {"v": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["a.json"]


def test_replace_dir_swaps_whole_folder(tmp_path):
    final = tmp_path / "out"
    final.mkdir()
    (final / "old.txt").write_text("old")
    staged = io.staging_dir(final)
    (staged / "new.txt").write_text("new")
    io.replace_dir(staged, final)
    assert sorted(p.name for p in final.iterdir()) == ["new.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_video_errors_are_clear(tmp_path):
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"not a video")
    with pytest.raises(VideoError, match="cannot probe"):
        read_video(bad)
    with pytest.raises(VideoError, match="even width"):
        write_video(tmp_path / "odd.mp4", np.zeros((2, 15, 16, 3), np.uint8))
    assert not (tmp_path / "odd.mp4").exists()
