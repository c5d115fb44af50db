"""Depth annotators: preset mapping, registry, cross-frame attention, the tiny offline Marigold pipeline
through ``marigold-rolling``, the ``rollingdepth`` package path (skips without it) and the label contract."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from egom2p.curation.depth_annotators import (AnnotatorSettings, AnnotatorUnavailable, build_annotator,
                                              resolve_annotator_name, rollingdepth_importable)
from egom2p.curation.depth_annotators.base import CHECKPOINT_ENV, resolve
from egom2p.curation.depth_annotators.rollingdepth import forward_kwargs


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    from egom2p.curation.depth_annotators.tiny import build_tiny_marigold
    return build_tiny_marigold(tmp_path_factory.mktemp("tiny") / "marigold", rollingdepth_layout=True)


def fast_settings(checkpoint, **kw) -> AnnotatorSettings:
    base = dict(checkpoint=str(checkpoint), device="cpu", processing_resolution=32, dilations=(1, 4),
                refine_steps=0, coalign_iterations=100, batch_snippets=4, cpu_threads=1)
    return AnnotatorSettings(**{**base, **kw})


# ------------------------------------------------------------------------------------- presets, registry
@pytest.mark.parametrize("preset, res, dilations, refine, cap", [
    ("fast", 768, [1, 25], 0, True), ("fast1024", 1024, [1, 25], 0, True),
    ("full", 1024, [1, 10, 25], 10, True), ("paper", 768, [1, 10, 25], 10, False)])
def test_presets_map_to_rollingdepth_arguments(preset, res, dilations, refine, cap):
    cfg = resolve(AnnotatorSettings(preset=preset, device="cpu"))
    kw = forward_kwargs(cfg)
    assert cfg.processing_resolution == res and cfg.dtype == "fp32"  # fp16 only on a GPU unless asked
    assert kw["dilations"] == dilations and kw["refine_step"] == refine and kw["cap_dilation"] is cap
    assert kw["snippet_lengths"] == [3] and kw["init_infer_steps"] == [1] and kw["strides"] == [1]
    assert kw["refine_snippet_len"] == 3 and kw["refine_start_dilation"] == 6
    assert kw["coalign_kwargs"] == {"factor": 10, "border": 2, "num_iterations": 2000, "lr": 1e-3,
                                    "depth_loss_weight": 1.0, "lmda2": 0.1, "lmda3": 10.0}


def test_explicit_settings_override_the_preset():
    cfg = resolve(AnnotatorSettings(preset="paper", device="cpu", dtype="fp16", processing_resolution=256,
                                    dilations=(1, 5), refine_steps=0, coalign_iterations=50))
    kw = forward_kwargs(cfg)
    assert (cfg.dtype, cfg.processing_resolution, kw["dilations"], kw["refine_step"]) == ("fp16", 256, [1, 5], 0)
    assert kw["coalign_kwargs"]["num_iterations"] == 50 and kw["cap_dilation"] is False
    with pytest.raises(ValueError, match="preset"):
        resolve(AnnotatorSettings(preset="slow"))
    with pytest.raises(ValueError, match="include 1"):
        resolve(AnnotatorSettings(dilations=(10, 25), device="cpu"))


def test_cuda_request_without_gpu_says_so():
    if torch.cuda.is_available():
        pytest.skip("a CUDA GPU is present")
    with pytest.raises(AnnotatorUnavailable, match="no CUDA GPU"):
        resolve(AnnotatorSettings(device="cuda"))


def test_auto_is_none_without_weights(monkeypatch, tiny):
    monkeypatch.delenv(CHECKPOINT_ENV, raising=False)
    assert resolve_annotator_name("auto") == "none" and build_annotator("auto") is None
    monkeypatch.setenv(CHECKPOINT_ENV, str(tiny))
    expected = "rollingdepth" if rollingdepth_importable() else "marigold-rolling"
    assert resolve_annotator_name("auto") == expected
    with pytest.raises(KeyError, match="unknown depth annotator"):
        resolve_annotator_name("depth-anything")


def test_missing_weights_and_wrong_models_say_why(monkeypatch, tmp_path):
    from egom2p.curation.depth_annotators.tiny import build_tiny_marigold
    monkeypatch.delenv(CHECKPOINT_ENV, raising=False)
    with pytest.raises(AnnotatorUnavailable, match=CHECKPOINT_ENV):
        build_annotator("marigold-rolling", AnnotatorSettings(device="cpu"))
    with pytest.raises(AnnotatorUnavailable, match="model_index.json"):
        build_annotator("marigold-rolling", AnnotatorSettings(checkpoint=str(tmp_path), device="cpu"))
    depth_model = build_tiny_marigold(tmp_path / "depth", prediction_type="depth")
    with pytest.raises(AnnotatorUnavailable, match="disparity"):
        build_annotator("marigold-rolling", fast_settings(depth_model))


# --------------------------------------------------------------------------------- cross-frame attention
def test_cross_frame_attention_couples_the_frames_of_a_snippet(tiny):
    from diffusers import UNet2DConditionModel
    from egom2p.curation.depth_annotators.attention import enable_cross_frame_attention
    from egom2p.curation.depth_annotators.rollingdepth import NumViewUNet
    unet = UNet2DConditionModel.from_pretrained(tiny / "unet").eval()
    gen = torch.Generator().manual_seed(0)
    x, text = torch.randn(3, 8, 16, 16, generator=gen), torch.randn(3, 2, 32, generator=gen)
    with torch.no_grad():
        stock = unet(x, 999, encoder_hidden_states=text).sample
        enable_cross_frame_attention(unet)
        single = unet(x, 999, encoder_hidden_states=text, cross_attention_kwargs={"num_view": 1}).sample
        joint = unet(x, 999, encoder_hidden_states=text, cross_attention_kwargs={"num_view": 3}).sample
        x2 = x.clone()
        x2[2] += 1.0
        joint2 = unet(x2, 999, encoder_hidden_states=text, cross_attention_kwargs={"num_view": 3}).sample
        single2 = unet(x2, 999, encoder_hidden_states=text, cross_attention_kwargs={"num_view": 1}).sample
        adapted = NumViewUNet(unet)(x, 999, encoder_hidden_states=text, num_view=3).sample
    torch.testing.assert_close(single, stock, rtol=0, atol=1e-6)       # num_view=1 is the stock processor
    assert (joint - stock).abs().max() > 1e-4                          # frames attend to each other
    assert (joint2[0] - joint[0]).abs().max() > 1e-4                   # frame 2 changes frame 0 …
    torch.testing.assert_close(single2[0], single[0], rtol=0, atol=0)  # … only when coupled
    torch.testing.assert_close(adapted, joint, rtol=0, atol=0)          # RollingDepth's num_view call


# ------------------------------------------------------------------------------ marigold-rolling (tiny)
def test_marigold_rolling_runs_the_tiny_offline_pipeline(tiny):
    frames = np.random.default_rng(0).integers(0, 256, (20, 32, 32, 3), dtype=np.uint8)
    plain = build_annotator("marigold-rolling", fast_settings(tiny))
    a = plain.predict(frames)
    assert a.shape == (20, 32, 32) and a.dtype == np.float32
    assert a.min() == 0.0 and a.max() == 1.0                          # co-aligned video min–max normalised
    np.testing.assert_array_equal(plain.predict(frames), a)           # seeded: deterministic
    refined = build_annotator("marigold-rolling", fast_settings(tiny, refine_steps=2)).predict(frames)
    assert refined.shape == a.shape and 0 <= refined.min() and refined.max() <= 1
    assert np.abs(refined - a).mean() > 1e-3                          # refinement changes the result
    desc = plain.describe()
    assert desc["kind"] == "relative_inverse_depth" and desc["dilations"] == (1, 4)
    assert desc["coalign"]["iterations"] == 100 and desc["checkpoint"] == str(tiny)


# ---------------------------------------------------------------------------------- rollingdepth package
def test_rollingdepth_without_package_says_how_to_install(tiny):
    if rollingdepth_importable():
        pytest.skip("rollingdepth is installed")
    with pytest.raises(AnnotatorUnavailable, match="not on PyPI"):
        build_annotator("rollingdepth", fast_settings(tiny))


@pytest.mark.skipif(not rollingdepth_importable(),
                    reason="`rollingdepth` package not importable (not on PyPI: clone prs-eth/RollingDepth onto "
                           "PYTHONPATH to run this test)")
def test_rollingdepth_package_runs_on_the_tiny_checkpoint(tiny):
    frames = np.random.default_rng(1).integers(0, 256, (16, 32, 32, 3), dtype=np.uint8)
    out = build_annotator("rollingdepth", fast_settings(tiny)).predict(frames)
    assert out.shape == (16, 32, 32) and np.isfinite(out).all() and 0 <= out.min() and out.max() <= 1
    assert out.std() > 0


# ------------------------------------------------------------------------------------ the label contract
class RampAnnotator:
    """A stand-in annotator: frame k of the i-th clip of a call is filled with (i·60 + k) / 1000."""
    name, kind = "ramp", "relative_inverse_depth"

    def __init__(self):
        self.calls = []

    def describe(self) -> dict:
        return {"annotator": self.name, "kind": self.kind}

    def __call__(self, rgb_paths):
        self.calls.append([p.parent.name for p in rgb_paths])
        return [np.broadcast_to(((i * 60 + np.arange(60)) / 1000.0)[:, None, None], (60, 4, 4)).copy()
                for i in range(len(rgb_paths))]


def test_label_depth_annotates_runs_without_gt_and_normalizes_them_directly(tmp_path):
    from egom2p import io
    from egom2p import modalities as M
    from egom2p.curation.config import CurationConfig
    from egom2p.curation.depth import REL_FILE, label_depth, read_depth_label
    from egom2p.curation.normalize import normalize_partition
    from egom2p.catalog import INDEX, read_index
    from egom2p.tables import write_rows
    clips_dir = tmp_path / "clips"
    rows = []
    for k, valid in enumerate([60, 60, 60, 60, 45]):   # clip 2 has GT; clip 4 is padded after frame 45
        cid = f"seq-{k:04d}"
        (clips_dir / cid).mkdir(parents=True)
        (clips_dir / cid / "rgb.mp4").write_bytes(b"")
        io.write_json(clips_dir / cid / "meta.json", {"side": 4})
        if k == 2:
            M.get("depth").write_interim(clips_dir / cid, np.full((60, 4, 4), 2.0, np.float32))
        rows.append({"clip_id": cid, "sequence_id": "seq", "clip_index": k, "split": "train", "start_time": 2.0 * k,
                     "valid_frames": valid, "has_rgb": True, "has_depth": k == 2, "has_gaze": False,
                     "has_camera": False, "gaze_valid_frac": 0.0})
    write_rows(clips_dir / INDEX, rows)
    ann = RampAnnotator()
    result = label_depth(clips_dir, tmp_path / "depth", "ds", ann, progress=False)
    assert result.quarantined == 0
    assert ann.calls == [["seq-0000", "seq-0001"], ["seq-0003", "seq-0004"]]   # runs around the GT clip
    by_id = {r["clip_id"]: r for r in read_index(tmp_path / "depth")}
    assert [by_id[f"seq-{k:04d}"]["depth_source"] for k in range(5)] == ["ramp", "ramp", "gt", "ramp", "ramp"]
    lab = read_depth_label((tmp_path / "depth" / "seq-0004" / REL_FILE, "relative_inverse_depth"))
    assert np.isnan(lab[45:]).all() and np.allclose(lab[:45, 0, 0], (60 + np.arange(45)) / 1000, atol=1e-3)
    assert not (tmp_path / "depth" / "seq-0002" / REL_FILE).exists()
    # normalization: relative labels use their own per-sequence percentile range, no reciprocal
    cfg = CurationConfig(depth_percentiles=(0.0, 100.0))
    normalize_partition(clips_dir, tmp_path / "depth", tmp_path / "out", "ds", cfg, progress=False)
    d1 = M.get("depth").read(tmp_path / "out" / "seq-0001").astype(np.float64)
    np.testing.assert_allclose(d1[:, 0, 0], (60 + np.arange(60)) / 119, atol=1e-3)  # range 0 … 0.119
    meta = json.loads((tmp_path / "out" / "seq-0001" / "meta.json").read_text())
    assert meta["depth_source"] == "ramp" and meta["depth_normalization"]["input"] == "relative_inverse_depth"
    gt_meta = json.loads((tmp_path / "out" / "seq-0002" / "meta.json").read_text())
    assert gt_meta["depth_normalization"]["input"] == "metric_depth"


def test_rollingdepth_annotator_drives_the_package_api_with_stock_diffusers(tiny, monkeypatch):
    """A stand-in ``rollingdepth`` module with the package's API (``from_pretrained``, ``forward`` calling the
    UNet with ``num_view``) checks the argument mapping, the num_view adapter and the output conversion."""
    import sys
    import types

    from diffusers import DiffusionPipeline
    seen = {}

    class StandInPipeline(DiffusionPipeline):
        def __init__(self, unet, vae, scheduler, text_encoder, tokenizer):
            super().__init__()
            self.register_modules(unet=unet, vae=vae, scheduler=scheduler, text_encoder=text_encoder,
                                  tokenizer=tokenizer)

        def forward(self, input_frames, generator, **kwargs):
            seen.update(kwargs, shape=tuple(input_frames.shape))
            latent = torch.zeros(3, 8, 8, 8)
            seen["unet"] = self.unet(latent, torch.full((3,), 999), encoder_hidden_states=torch.zeros(3, 2, 32),
                                     num_view=3).sample.shape  # the patched-diffusers call
            return types.SimpleNamespace(depth_pred=input_frames[0].mean(1, keepdim=True))  # (N,1,H,W) in [-1,1]

    module = types.ModuleType("rollingdepth")
    module.RollingDepthPipeline = StandInPipeline
    monkeypatch.setitem(sys.modules, "rollingdepth", module)
    ann = build_annotator("rollingdepth", fast_settings(tiny, preset="full", processing_resolution=16, dilations=(),
                                                        refine_steps=-1, coalign_iterations=2000))
    ramp = np.linspace(0, 255, 32)
    frames = np.broadcast_to(ramp[None, None, :, None], (12, 32, 32, 3)).astype(np.uint8)
    out = ann.predict(frames)
    assert seen["shape"] == (1, 12, 3, 16, 16)                         # longest edge → processing resolution
    assert seen["dilations"] == [1, 10, 25] and seen["refine_step"] == 10 and seen["cap_dilation"] is True
    assert seen["coalign_kwargs"]["num_iterations"] == 2000 and seen["unet"] == (3, 4, 8, 8)
    assert out.shape == (12, 32, 32)
    np.testing.assert_allclose(out[0, 0], frames[0, 0, :, 0] / 255.0, atol=0.06)  # [-1,1] → [0,1], resized back
    assert ann.describe()["forward_kwargs"]["dilations"] == [1, 10, 25]
