"""Depth storage (``egom2p.depthio``): 16-bit codes in FFV1, round trips within the stated error bounds,
deterministic bytes, corrupt files reported, and a curated clip's depth bytes across all stages."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from egom2p import depthio
from egom2p import modalities as M
from egom2p.clip import read_clip, read_meta, validate_clip
from egom2p.normalize import normalize_depth

DEPTH = M.get("depth")


def _normalized_maps(rng, shape=(60, 32, 32)) -> np.ndarray:
    """Random maps in [0, 1] with NaN holes, exact 0 and 1, and values half a code step off the grid."""
    x = rng.random(shape)
    x[rng.random(shape) < 0.1] = np.nan
    x[0, :4, :4] = np.nan                                     # a hole block
    x[1, 0, :3] = [0.0, 1.0, 0.5]
    x[2, 0, :4] = (np.array([0, 1, 7, 65533]) + 0.5) / (depthio.LEVELS - 1)   # worst case: mid-step
    x[3] = np.nan                                             # an all-unknown frame
    return x


def test_normalized_round_trip_is_within_the_bound(tmp_path):
    x = _normalized_maps(np.random.default_rng(0))
    DEPTH.write(tmp_path, x)
    assert DEPTH.path(tmp_path).name == "depth.mkv"
    y = DEPTH.read(tmp_path)
    assert y.shape == x.shape and y.dtype == np.float32
    assert np.array_equal(np.isnan(y), np.isnan(x))
    err = np.nanmax(np.abs(y.astype(np.float64) - x))
    assert err <= depthio.NORMALIZED_MAX_ERROR <= 1e-4
    assert err > 0.99 * 0.5 / (depthio.LEVELS - 1)            # the mid-step values do reach half a step
    assert y[1, 0, 0] == 0.0 and y[1, 0, 1] == 1.0            # the ends are exact
    assert DEPTH.problems(DEPTH.path(tmp_path), 32) == []


def test_float16_and_float32_inputs_and_overshoot(tmp_path):
    x = _normalized_maps(np.random.default_rng(1), (5, 8, 6))
    for dtype in (np.float16, np.float32):
        a = x.astype(dtype)
        depthio.NORMALIZED.write(tmp_path / "a.mkv", a)
        y = depthio.NORMALIZED.read(tmp_path / "a.mkv")
        assert np.nanmax(np.abs(y.astype(np.float64) - a.astype(np.float64))) <= depthio.NORMALIZED_MAX_ERROR
    x[0, 1, 1] = 1 + depthio.RANGE_TOLERANCE / 2             # float rounding overshoot: clipped
    depthio.NORMALIZED.write(tmp_path / "b.mkv", x)
    assert depthio.NORMALIZED.read(tmp_path / "b.mkv")[0, 1, 1] == 1.0
    for bad in (1.001, -0.01, np.inf):
        x[0, 1, 1] = bad
        with pytest.raises(ValueError, match="depth outside"):
            depthio.NORMALIZED.write(tmp_path / "c.mkv", x)
    assert not (tmp_path / "c.mkv").exists()


def test_metric_round_trip_relative_bound_and_unknowns(tmp_path):
    rng = np.random.default_rng(2)
    z = np.exp(rng.uniform(np.log(depthio.METRIC_MIN_M), np.log(depthio.METRIC_MAX_M), (4, 16, 16)))
    z[0, 0, :6] = [np.nan, np.inf, 0.0, -1.0, 1e-4, 5e3]      # unknown ×4, clamped ×2
    DEPTH.write_interim(tmp_path, z)
    assert DEPTH.interim_path(tmp_path).name == "depth_m.mkv"
    w = DEPTH.read_interim(tmp_path).astype(np.float64)
    assert np.isnan(w[0, 0, :4]).all() and np.isfinite(w[0, 0, 4:]).all() and np.isfinite(w[1:]).all()
    np.testing.assert_allclose(w[0, 0, 4:6], [depthio.METRIC_MIN_M, depthio.METRIC_MAX_M], rtol=1e-6)
    rel = np.abs(w[1:] / z[1:] - 1)
    assert rel.max() <= depthio.METRIC_MAX_RELATIVE_ERROR < 1e-4


def test_same_array_same_bytes_and_odd_sizes(tmp_path):
    x = _normalized_maps(np.random.default_rng(3), (7, 5, 9))
    a = depthio.NORMALIZED.write(tmp_path / "a.mkv", x).read_bytes()
    b = depthio.NORMALIZED.write(tmp_path / "b.mkv", x.copy()).read_bytes()
    assert a == b
    with pytest.raises(ValueError, match="H, W >= 2"):
        depthio.write_codes(tmp_path / "c.mkv", np.zeros((2, 1, 4), np.uint16))


def test_corrupt_file_is_reported(tmp_path):
    DEPTH.write(tmp_path, np.full((60, 8, 8), 0.25))
    path = DEPTH.path(tmp_path)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(depthio.DepthFileError):
        DEPTH.read(tmp_path)
    assert DEPTH.problems(path, 8)
    path.write_bytes(b"not a video")
    assert any("depth.mkv" in p for p in DEPTH.problems(path, 8))


def test_curated_clip_bytes_and_error_across_stages(tmp_path):
    """egogen at 64²: interim metric depth, the GT label (a hard link, no bytes), the canonical clip; the
    canonical depth equals the normalization of the interim depth within the bound."""
    from egom2p.curation.clips import curate_clips
    from egom2p.curation.config import CurationConfig
    from egom2p.curation.depth import label_depth
    from egom2p.curation.normalize import normalize_partition
    from egom2p.catalog import read_index
    from egom2p.paths import DataPaths
    from egom2p.synth.layouts import LAYOUTS
    paths, ds, side = DataPaths(tmp_path / "data"), "egogen", 64
    cfg = CurationConfig(preset="tiny", clip_resolution=side)
    LAYOUTS[ds](paths.raw(ds), sequences=1, seconds=4.2, seed=3, progress=False)
    curate_clips(paths.raw(ds), paths.interim_clips(ds), ds, cfg, progress=False, workers=1)
    label_depth(paths.interim_clips(ds), paths.interim_depth(ds), ds, progress=False, workers=1)
    normalize_partition(paths.interim_clips(ds), paths.interim_depth(ds), paths.clips(ds), ds, cfg,
                        progress=False, workers=1)
    rows = read_index(paths.clips(ds))
    assert len(rows) == 2 and all(r["has_depth"] for r in rows)
    for r in rows:
        interim, label, canon = (paths.interim_clips(ds) / r["clip_id"], paths.interim_depth(ds) / r["clip_id"],
                                 paths.clips(ds) / r["clip_id"])
        assert os.path.samefile(DEPTH.interim_path(interim), DEPTH.interim_path(label))   # GT: linked, not copied
        const = read_meta(canon)["depth_normalization"]
        expected = normalize_depth(DEPTH.read_interim(interim), const)
        depth = read_clip(canon, ["depth"])["depth"]
        assert depth.shape == (60, side, side) and np.array_equal(np.isnan(depth), np.isnan(expected))
        assert np.nanmax(np.abs(depth - expected)) <= depthio.NORMALIZED_MAX_ERROR
        assert validate_clip(canon) == []
    # depth bytes per clip over all stages (hard links once) vs float16 .npy in two stages before
    stored = sum(_sizes_by_inode(tmp_path / "data", (DEPTH.clip_file, DEPTH.interim_file)).values()) / len(rows)
    before = 2 * (60 * side * side * 2 + 128)
    print(f"depth bytes per clip over all stages at {side}²: {stored:.0f} (float16 .npy before: {before})")
    assert stored < before / 3, (stored, before)


def _sizes_by_inode(root: Path, names: tuple[str, ...]) -> dict[tuple[int, int], int]:
    """Unique inodes (hard links once) of the files called ``names`` under ``root`` -> size in bytes."""
    return {(s.st_dev, s.st_ino): s.st_size for s in (p.stat() for p in root.rglob("*") if p.name in names)}
