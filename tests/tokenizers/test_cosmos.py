"""Our video tokenizer is Cosmos DV layer for layer.

A fixture made with Cosmos-Tokenizer's own code (random weights, channels 12, DV4x8x8; read from
``../shared/reference/cosmos_dv_tiny``, skipped when absent) converts into our modules and reproduces its
indices exactly and its reconstructions within 1e-4; its TorchScript files run through our JIT path; the
checkpoint loads through ``tokens.video_weights``; converted weights fine-tune. One torch thread: the
fixture's numbers are single-threaded (oneDNN blocking moves reconstructions by ≤ 4.1e-6 at more threads).
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
import torch

from egom2p.presets import TINY
from egom2p.tokenizers.api import load_jit_tokenizer
from egom2p.tokenizers.store import load_configured
from egom2p.tokenizers.video import cosmos
from egom2p.tokenizers.video.model import VideoTokenizer, VideoTokenizerConfig

REPO = Path(__file__).resolve().parents[2]
REFERENCE = Path(os.environ.get("EGOM2P_REFERENCE", REPO / ".." / "shared" / "reference"))
FIXTURE = REFERENCE / "cosmos_dv_tiny"
GEOMETRY = VideoTokenizerConfig.from_spec(TINY.video)  # 64², 16 (+1 causal) frames: the fixture's clip
NEVER_RUN = ["decoder.up.1.upsample.conv1", "decoder.up.1.upsample.conv2", "decoder.up.1.upsample.conv3",
             "decoder.up.2.upsample.conv1", "encoder.down.0.downsample.conv2", "encoder.down.1.downsample.conv1",
             "encoder.down.1.downsample.conv2", "encoder.down.1.downsample.conv3"]


def maxabs(a, b) -> float:
    return float((torch.as_tensor(a).double() - torch.as_tensor(b).double()).abs().max())


@pytest.fixture(scope="module")
def ref() -> dict[str, torch.Tensor]:
    if not (FIXTURE / "reference.npz").exists():
        pytest.skip(f"Cosmos DV fixture not found at {FIXTURE} (set EGOM2P_REFERENCE)")
    return {k: torch.from_numpy(v) for k, v in np.load(FIXTURE / "reference.npz").items()}


@pytest.fixture(scope="module")
def converted(ref):
    model, conv = cosmos.load_cosmos(FIXTURE / "model.safetensors", geometry=GEOMETRY)
    return model, conv


@pytest.fixture(autouse=True)
def _one_thread(one_thread):
    yield


def test_converted_weights_reproduce_cosmos_indices_and_reconstructions(ref, converted):
    model, conv = converted
    cfg = conv.config
    widths = (cfg.channels, cfg.channels_mult, cfg.num_res_blocks, cfg.z_channels, cfg.attn_levels)
    assert widths == (12, (2, 4, 4), 2, 16, ())
    assert sorted({k.rsplit(".", 2)[0] for k in conv.dropped}) == NEVER_RUN and conv.dropped_parameters == 68_904
    assert sum(p.numel() for p in model.parameters()) == 1_175_982 - 68_904
    with torch.no_grad():
        assert maxabs(model.quant_conv(model.encoder(ref["input"])), ref["latent_prequant"]) < 1e-5
        idx, codes = model.encode(ref["input"])
        assert torch.equal(idx, ref["indices"].long()) and torch.equal(codes, ref["codes"])
        assert maxabs(model.decode(ref["indices"]), ref["reconstruction"]) < 1e-4
        # probes over the whole codebook: FSQ on a wide latent, the decoder on uniform indices
        probe_codes, probe_idx = model.fsq(ref["fsq_probe_latent"])
        assert torch.equal(probe_idx.long(), ref["fsq_probe_indices"].long())
        assert torch.equal(probe_codes, ref["fsq_probe_codes"])
        assert torch.equal(model.fsq.indices_to_codes(ref["decode_probe_indices"].long()), ref["decode_probe_codes"])
        assert maxabs(model.decode(ref["decode_probe_indices"]), ref["decode_probe_reconstruction"]) < 1e-4


def test_fixture_torchscript_runs_through_our_jit_path(ref, converted):
    tok = load_jit_tokenizer(FIXTURE, GEOMETRY)
    idx, codes = tok.model.encode(ref["input"])
    assert torch.equal(idx, ref["indices"].long()) and torch.equal(codes, ref["codes"])
    assert maxabs(tok.model.decode(ref["indices"]), ref["reconstruction"]) < 1e-4  # ~1e-5 off CPUs unlike the fixture's
    assert maxabs(tok.model.decode(ref["decode_probe_indices"]), ref["decode_probe_reconstruction"]) < 1e-4
    # the pipeline's loader reads the folder's Cosmos config.json for the network, the preset for the clip
    piped = load_configured(str(FIXTURE), "video", TINY)
    assert piped.tokenizer_id.startswith("video-jit-") and piped.cfg.channels == 12 and piped.cfg.resolution == 64
    with torch.no_grad():  # the converted modules agree with Cosmos' own TorchScript
        assert torch.equal(converted[0].encode(ref["input"])[0], idx)
        assert maxabs(converted[0].decode(idx), tok.model.decode(idx)) < 1e-4


def test_checkpoint_loads_through_video_weights_and_the_converter_cli(ref, tmp_path, capsys):
    tok = load_configured(str(FIXTURE / "model.safetensors"), "video", TINY)  # converted on load
    assert isinstance(tok.model, VideoTokenizer) and tok.tokenizer_id.startswith("video-")
    assert cosmos.main([str(FIXTURE / "model.safetensors"), str(tmp_path / "ours"), "--preset", "tiny"]) == 0
    assert tok.tokenizer_id in capsys.readouterr().out
    note = json.loads((tmp_path / "ours" / "conversion.json").read_text())
    assert "68,904 parameters" in note["note"] and len(note["dropped"]) == 16
    again = load_configured(str(tmp_path / "ours"), "video", TINY)  # our folder: same tokenizer, same id
    assert again.tokenizer_id == tok.tokenizer_id
    clip = ref["input"][:, :, :16].numpy()  # the clip tokenizer pads 16 frames to the causal 17 itself
    assert np.array_equal(again.encode_videos(clip), tok.encode_videos(clip))
    # the TorchScript files hold the same parameters: converting them gives the same tokenizer
    tid, conv = cosmos.convert(FIXTURE, tmp_path / "from_jit", preset=TINY)
    assert tid == tok.tokenizer_id and len(conv.skipped) == 11  # Haar/FSQ buffers of the .jit files


def test_converter_refuses_what_it_cannot_map(ref):
    state = cosmos.read_checkpoint(FIXTURE / "model.safetensors")
    with pytest.raises(ValueError, match="missing"):
        cosmos.convert_state(state, VideoTokenizerConfig(channels=12, num_res_blocks=3))
    with pytest.raises(ValueError, match="unknown"):  # only the never-run convs may be left over
        cosmos.convert_state({**state, "encoder.down.1.extra.conv3d.weight": torch.zeros(1)},
                             cosmos.config_from_state(state, GEOMETRY))
    with pytest.raises(ValueError, match="not supported"):
        cosmos.config_from_cosmos({"channels": 12, "channels_mult": [2, 4, 4], "num_res_blocks": 2,
                                   "z_channels": 16, "quantizer": "LFQ"})


def test_a_fine_tuning_step_from_converted_weights(ref):
    model, _ = cosmos.load_cosmos(FIXTURE / "model.safetensors", geometry=GEOMETRY)
    model.train()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    recon, _ = model(ref["input"])
    loss = (recon - ref["input"]).abs().mean()
    loss.backward()
    assert torch.isfinite(loss) and model.encoder.conv_in[0].conv3d.weight.grad.abs().sum() > 0  # straight through
    opt.step()
    changed = [k for k, v in model.state_dict().items() if not torch.equal(v, before[k])]
    assert len(changed) == len(before)


@pytest.mark.parametrize("tc, sc, enc, dec", [
    (4, 8, [(True, False), (False, False), (False, False)], [(False, False), (False, False), (True, False)]),
    (8, 8, [(True, True), (False, False), (False, False)], [(False, False), (True, True), (False, False)]),
    (8, 16, [(True, True), (True, False), (False, False)], [(False, False), (True, True), (True, False)]),
])
def test_resampling_placement_follows_cosmos_dv(tc, sc, enc, dec):
    """Cosmos' rule for DV4x8x8, DV8x8x8 and DV8x16x16 (patch 4, three levels), and each round trip's shape."""
    cfg = VideoTokenizerConfig(resolution=32, temporal_compression=tc, spatial_compression=sc, channels=4,
                               channels_mult=(1, 2, 2), num_res_blocks=1, z_channels=4)
    assert [cfg.encoder_resampling(i) for i in range(3)] == enc and [cfg.decoder_resampling(i) for i in range(3)] == dec
    torch.manual_seed(0)
    model = VideoTokenizer(cfg).eval()
    with torch.no_grad():
        idx, _ = model.encode(torch.rand(1, 3, 17, 32, 32) * 2 - 1)
        assert idx.shape == (1, 1 + 16 // tc, 32 // sc, 32 // sc)
        assert model.decode(idx).shape == (1, 3, 17, 32, 32)
    prefixes = cosmos.never_run(cfg)
    assert all(p.startswith(("encoder.down.", "decoder.up.")) for p in prefixes)
    assert not any(k.startswith(tuple(prefixes)) for k in model.state_dict())
