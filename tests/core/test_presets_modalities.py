import dataclasses

import numpy as np
import pytest

from egom2p import modalities as M
from egom2p.presets import PAPER, TINY, get_preset


def test_token_counts_match_the_paper_and_tiny():
    assert M.get("rgb").tokens_per_clip(PAPER) == 5120
    assert PAPER.video.token_grid == (5, 32, 32)
    assert PAPER.video.vocab_size == 64000
    assert M.get("depth").tokens_per_clip("paper") == 5120
    assert M.get("gaze").tokens_per_clip(PAPER) == 30
    assert M.get("camera").tokens_per_clip(TINY) == 30
    assert M.get("rgb").tokens_per_clip(TINY) == 320
    assert M.get("gaze").vocab_size(TINY) == 256


def test_clip_shapes_follow_preset():
    assert TINY.clip_resolution == 128 and PAPER.clip_resolution == 512
    assert M.get("rgb").clip_shape(TINY) == (60, 128, 128, 3)
    assert M.get("depth").clip_shape(TINY) == (60, 128, 128)
    assert M.get("camera").clip_shape(PAPER) == (60, 4, 4)


def test_presets_are_frozen_and_serializable():
    with pytest.raises(dataclasses.FrozenInstanceError):
        TINY.name = "x"
    d = TINY.to_dict()
    assert d["model"]["input_budget"] == 256 and d["clip_resolution"] == 128
    with pytest.raises(KeyError, match="known presets"):
        get_preset("huge")


def test_registry_rows_are_checked_and_removable():
    """Registry look-ups and validation of a row; the end-to-end fifth modality is tests/test_fifth_modality.py."""
    toy = M.trajectory_row("imu", "vector", (6,), resample="linear")
    M.register(toy)
    try:
        assert M.get("imu").tokens_per_clip(TINY) == 30
        assert M.get("imu").clip_shape(TINY) == (60, 6)
        assert M.names()[-1] == "imu" and M.roles()["imu"] == ("imu",) and M.flags(["imu"])["has_imu"]
        assert M.get("imu").check(np.zeros((60, 6))) == [] and M.get("imu").check(np.zeros((60, 5)))
        with pytest.raises(ValueError, match="already registered"):
            M.register(toy)
    finally:
        M.unregister("imu")
    with pytest.raises(KeyError, match="registered"):
        M.get("imu")
    with pytest.raises(ValueError, match="resample"):
        M.register(M.trajectory_row("bad", "vector", (3,), resample="cubic"))
    with pytest.raises(ValueError, match="needs resample"):
        M.register(M.trajectory_row("bad", "vector", (3,)))
    assert "bad" not in M.REGISTRY
    assert M.one(source="video").name == "rgb" and [m.name for m in M.rows(kind="trajectory")] == ["gaze", "camera"]
