"""Shared fixtures. Kept under tests/ so the repo root never lands on sys.path."""
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


@pytest.fixture
def one_thread():
    """Tiny tensors: one torch thread is fastest (and the test machine's 2 cores are shared)."""
    import torch
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)
