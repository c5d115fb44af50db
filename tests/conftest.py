"""Shared fixtures. Kept under tests/ so the repo root never lands on sys.path (DESIGN.md §9)."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
REFERENCE = Path(os.environ.get("EGOM2P_REFERENCE", REPO.parent / "shared" / "reference"))


@pytest.fixture
def reference() -> Path:
    """../shared/reference (real dataset samples; never copied into the repo)."""
    if not REFERENCE.is_dir():
        pytest.skip(f"real reference samples not found at {REFERENCE} (set EGOM2P_REFERENCE)")
    return REFERENCE
