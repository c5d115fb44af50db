import dataclasses

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


def test_adding_a_modality_is_one_registry_row():
    toy = M.Modality("imu", "trajectory", "imu.npy", (6,), 30.0, "sincos1d",
                     lambda p: (15,), lambda p: 128)
    M.register(toy)
    try:
        assert M.get("imu").tokens_per_clip(TINY) == 15
        assert M.get("imu").clip_shape(TINY) == (60, 6)
        with pytest.raises(ValueError, match="already registered"):
            M.register(toy)
    finally:
        M.unregister("imu")
    with pytest.raises(KeyError, match="registered"):
        M.get("imu")
