"""Micro synthetic layouts, rendered once per session and copied per test."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def micro_layouts(tmp_path_factory) -> dict[str, Path]:
    """{layout: path} for egogen, egoexo4d, h2o, taco, holoassist, arctic: 2 sequences x 2.3 s each (one clip per sequence)."""
    from egom2p.synth.layouts import LAYOUTS
    root = tmp_path_factory.mktemp("micro")
    out = {}
    for name in ("egogen", "egoexo4d", "h2o", "taco", "holoassist", "arctic"):
        LAYOUTS[name](root / name, sequences=2, seconds=2.3, seed=7, progress=False)
        out[name] = root / name
    return out


@pytest.fixture
def raw_copy(tmp_path, micro_layouts):
    """Copy a micro layout into tmp_path/data/raw/<name> and return that folder."""
    def make(name: str, folder_name: str | None = None) -> Path:
        dst = tmp_path / "data" / "raw" / (folder_name or name)
        shutil.copytree(micro_layouts[name], dst)
        return dst
    return make


ARIA_FAMILY = {"hot3d_aria": 2, "hot3d_quest3": 1, "adt": 1}   # sequences per layout


@pytest.fixture(scope="session")
def aria_layouts(tmp_path_factory) -> dict[str, Path]:
    """{"hot3d_aria", "hot3d_quest3", "adt"}: micro layouts of 2.1 s (one clip per sequence), seed 7."""
    from egom2p.synth.layouts import LAYOUTS
    root = tmp_path_factory.mktemp("aria_micro")
    for name, n in ARIA_FAMILY.items():
        LAYOUTS[name](root / name, sequences=n, seconds=2.1, seed=7, progress=False)
    return {name: root / name for name in ARIA_FAMILY}
