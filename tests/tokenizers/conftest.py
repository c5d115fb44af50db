"""A curated micro world (canonical clips at 64², the tiny tokenizer resolution), made once per session."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from egom2p.curation.clips import curate_clips
from egom2p.curation.config import CurationConfig
from egom2p.curation.depth import label_depth
from egom2p.curation.normalize import normalize_partition, upstream_quarantine
from egom2p.paths import DataPaths

CFG = CurationConfig(preset="tiny", clip_resolution=64)


def curate(paths: DataPaths, ds: str) -> None:
    curate_clips(paths.raw(ds), paths.interim_clips(ds), ds, CFG, progress=False)
    label_depth(paths.interim_clips(ds), paths.interim_depth(ds), ds, progress=False)
    q = upstream_quarantine(paths.interim_clips(ds), paths.interim_depth(ds))
    normalize_partition(paths.interim_clips(ds), paths.interim_depth(ds), paths.clips(ds), ds, CFG, q, progress=False)


@pytest.fixture(scope="session")
def curated_world(tmp_path_factory) -> Path:
    """data root with raw + curated ``egogen`` (rgb, depth, camera) and ``egoexo4d`` (rgb, gaze, camera):
    2 sequences × 2.2 s each = 2 clips per dataset."""
    from egom2p.synth.layouts import LAYOUTS
    root = tmp_path_factory.mktemp("tokworld") / "data"
    paths = DataPaths(root)
    for ds in ("egogen", "egoexo4d"):
        LAYOUTS[ds](paths.raw(ds), sequences=2, seconds=2.2, seed=5, progress=False)
        curate(paths, ds)
    return root


@pytest.fixture
def world_copy(tmp_path, curated_world) -> Path:
    """A private copy of the curated world (tests may write tokens/tokenizers into it)."""
    dst = tmp_path / "data"
    shutil.copytree(curated_world, dst)
    return dst
