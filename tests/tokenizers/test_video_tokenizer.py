"""Video tokenizer: Haar patcher, causality, FSQ indices, paper/tiny shapes, TorchScript round trip, training."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from egom2p.presets import PAPER, TINY
from egom2p.tokenizers.api import load_tokenizer
from egom2p.tokenizers.store import load_configured
from egom2p.tokenizers.training import TokenizerTrainConfig, load_curve
from egom2p.tokenizers.video import data as V
from egom2p.tokenizers.video.jit import JitVideoTokenizer, export_jit
from egom2p.tokenizers.video.layers import HaarPatcher
from egom2p.tokenizers.video.model import Decoder, Encoder, VideoTokenizer, VideoTokenizerConfig
from egom2p.tokenizers.video.dataset import Augment, VideoBank
from egom2p.tokenizers.video.train import VideoLoss, train_video_tokenizer

SMALL = VideoTokenizerConfig(resolution=32, frames=8, channels=8, channels_mult=(1, 2), num_res_blocks=1)


def test_haar_patcher_has_cosmos_scale_and_channel_order_and_inverts():
    torch.manual_seed(0)
    x = torch.randn(2, 3, 9, 16, 16)
    p = HaarPatcher(4)
    y = p(x)
    assert y.shape == (2, 192, 3, 4, 4)
    torch.testing.assert_close(p.inverse(y), x, atol=1e-5, rtol=0)
    # Cosmos' scale: orthonormal Haar ÷ 2√2 per level, so energy ÷ 8² over two levels (frame 0 counted 4×)
    expect = ((x ** 2).sum() + 3 * (x[:, :, :1] ** 2).sum()) / 64
    torch.testing.assert_close((y ** 2).sum(), expect, rtol=1e-4, atol=0)
    # the lowest band is the block mean: a constant clip lands there with its own value
    yc = HaarPatcher(4)(torch.full((1, 1, 5, 8, 8), 0.5))
    assert torch.allclose(yc[:, 1:], torch.zeros(()), atol=1e-6) and torch.allclose(yc[:, 0], torch.tensor(0.5))
    # band-major channels, band = 4·t + 2·h + w within a level, the second level's band most significant
    w, h = torch.arange(8), torch.arange(8)[:, None]
    for pattern, channel in (((-1.0) ** w, 1), ((-1.0) ** h * torch.ones(8, 8), 2), ((-1.0) ** (w // 2), 8)):
        yp = HaarPatcher(4)(pattern.expand(1, 1, 5, 8, 8))
        assert torch.allclose(yp[0, channel], torch.tensor(1.0)), channel
        assert torch.allclose(yp[0, [c for c in range(64) if c != channel]], torch.zeros(()), atol=1e-6)


def test_paper_config_reproduces_dv4x8x8_shapes_and_size():
    cfg = VideoTokenizerConfig.from_spec(PAPER.video)
    assert cfg.input_frames == 17 and cfg.token_grid == (5, 32, 32) == PAPER.video.token_grid
    assert cfg.vocab_size == 64000
    with torch.device("meta"):  # shapes without allocating the 105 M parameters
        enc, dec = Encoder(cfg), Decoder(cfg)
        z = enc(torch.empty(1, 3, 17, 256, 256))
        out = dec(z)
    assert tuple(z.shape) == (1, cfg.z_channels, 5, 32, 32) and tuple(out.shape) == (1, 3, 17, 256, 256)
    n_enc = sum(p.numel() for p in enc.parameters()) / 1e6
    n_dec = sum(p.numel() for p in dec.parameters()) / 1e6
    # same as diffusers' port of Cosmos 4x8x8 at default widths (42.7 M / 62.0 M)
    assert round(n_enc, 1) == 42.7 and round(n_dec, 1) == 62.0
    # Cosmos' placement: the encoder halves H, W after level 0; the decoder doubles them right after its deepest
    # level (up[2]), so its second 512-wide level (up[1]) runs at 64², not 32²
    assert [lvl.downsample is not None for lvl in enc.down] == [True, False, False]
    assert [lvl.upsample is not None for lvl in dec.up] == [False, False, True]


def test_tiny_shapes_indices_and_fsq_grid():
    cfg = VideoTokenizerConfig.from_spec(TINY.video)
    torch.manual_seed(0)
    model = VideoTokenizer(cfg).eval()
    x = torch.rand(1, 3, 17, 64, 64) * 2 - 1
    with torch.no_grad():
        idx, codes = model.encode(x)
        assert idx.shape == (1, *TINY.video.token_grid) and idx.dtype == torch.int64
        assert 0 <= idx.min() and idx.max() < 64000
        # codes sit on the FSQ grid and the indices are Cosmos' mixed radix (basis 1, 8, 64, 512, 2560, 12800)
        levels = torch.tensor(cfg.fsq_levels).view(1, 6, 1, 1, 1)
        half = levels // 2
        digits = (codes * half + half).round().long()
        basis = torch.tensor([1, 8, 64, 512, 2560, 12800]).view(1, 6, 1, 1, 1)
        assert torch.equal((digits * basis).sum(1), idx)
        torch.testing.assert_close(model.fsq.indices_to_codes(idx), codes)
        y = model.decode(idx)
    assert y.shape == (1, 3, 17, 64, 64)
    # unit-scale init: the convs beside the Haar patcher absorb its ×8 gain, so a fresh network reconstructs at
    # the scale of its input (std ≈ 0.2 here; ≈ 1.8 with PyTorch's default init, a 4–8× larger first loss)
    assert y.std() < 0.5


def test_encoder_is_causal():
    torch.manual_seed(0)
    model = VideoTokenizer(SMALL).eval()
    x = torch.rand(1, 3, 9, 32, 32) * 2 - 1
    x2 = x.clone()
    x2[:, :, 5:] = torch.rand_like(x2[:, :, 5:])  # change frames 5..8 (latent frames 2..)
    with torch.no_grad():
        a, b = model.encoder(x), model.encoder(x2)  # continuous latent: no rounding flips at code borders
    torch.testing.assert_close(a[:, :, :2], b[:, :, :2], atol=1e-4, rtol=0)
    assert not torch.allclose(a[:, :, 2:], b[:, :, 2:])


def test_torchscript_export_loads_back_through_the_cosmos_path(tmp_path):
    torch.manual_seed(0)
    model = VideoTokenizer(SMALL).eval()
    x = V.pad_time(torch.rand(1, 3, 8, 32, 32) * 2 - 1, 9)  # 8 frames edge-padded to the causal 9
    export_jit(model, tmp_path / "jit", x)
    jit = JitVideoTokenizer(tmp_path / "jit")
    i_ref, _ = model.encode(x)
    i_jit, _ = jit.encode(x)
    assert torch.equal(i_ref, i_jit)
    with torch.no_grad():
        torch.testing.assert_close(jit.decode(i_jit), model.decode(i_ref), atol=1e-5, rtol=0)
    # the pipeline's loader: a folder with only encoder.jit/decoder.jit is a Cosmos checkpoint
    tok = load_configured(str(tmp_path / "jit"), "video", None)
    assert tok.tokenizer_id.startswith("video-jit-")
    assert np.array_equal(tok.encode_videos(x[:, :, :8].numpy()), i_ref.numpy())


def test_clip_tensors_subsample_resize_and_depth_channel_mean():
    assert list(V.frame_indices(16, 8.0)) == [0, 4, 8, 11, 15, 19, 22, 26, 30, 34, 38, 41, 45, 49, 52, 56]
    rgb = np.random.default_rng(0).integers(0, 256, (60, 128, 128, 3), dtype=np.uint8)
    v = V.rgb_to_video(rgb, 16, 8.0, 64)
    assert v.shape == (3, 16, 64, 64) and v.min() >= -1 and v.max() <= 1
    depth = np.full((60, 64, 64), 0.25, np.float16)
    depth[:, :4] = np.nan
    dv, valid = V.depth_to_video(depth, 16, 8.0, 64)
    assert not valid[:, :4].any() and valid[:, 8:].all()
    np.testing.assert_allclose(V.video_to_depth(dv)[:, 8:], 0.25, atol=1e-6)
    assert V.abs_rel(V.video_to_depth(dv), np.full((16, 64, 64), 0.25), valid) < 1e-6
    padded = V.pad_time(torch.from_numpy(dv[None]), 17)
    assert padded.shape[2] == 17 and torch.equal(padded[:, :, 16], padded[:, :, 15])


def _waves(n: int = 4, frames: int = 8) -> np.ndarray:
    """Smooth moving waves (n, 3, frames, 32, 32) in [-1, 1]: learnable in a few steps."""
    yy, xx = np.mgrid[0:32, 0:32] / 32.0
    return np.stack([np.stack([np.stack([np.sin(2 * np.pi * (xx + 0.05 * t + k * 0.1)) * c for t in range(frames)])
                               for c in (1.0, 0.5, -0.5)]) for k in range(n)]).astype(np.float32)


def test_training_reduces_the_loss_and_saves_loadable_weights(tmp_path):
    vids = _waves()
    tok, hist = train_video_tokenizer(vids, SMALL,
                                      TokenizerTrainConfig(steps=25, batch_size=2, lr=3e-3, warmup=3, log_every=1),
                                      log=lambda s: None)
    first, last = np.mean([h["loss"] for h in hist[:3]]), np.mean([h["loss"] for h in hist[-3:]])
    assert last < 0.85 * first, (first, last)
    tid = tok.save(tmp_path / "tok")
    again = load_tokenizer(tmp_path / "tok")
    assert again.tokenizer_id == tid == tok.tokenizer_id
    assert np.array_equal(again.encode_videos(vids[:2]), tok.encode_videos(vids[:2]))


def test_resumed_training_equals_an_uninterrupted_run(tmp_path):
    vids, quiet = _waves(n=2, frames=4), (lambda s: None)
    tiny = VideoTokenizerConfig(resolution=32, frames=4, channels=8, channels_mult=(1, 2), num_res_blocks=1)
    cfg = TokenizerTrainConfig(steps=4, batch_size=2, lr=3e-3, warmup=2, log_every=1, checkpoint_every=2)
    full, _ = train_video_tokenizer(vids, tiny, cfg, quiet)
    ckpt = tmp_path / "run" / "checkpoint.pt"
    evals = []
    train_video_tokenizer(vids, tiny, cfg, quiet, checkpoint=ckpt, stop_after=3,
                          on_checkpoint=lambda tok, steps: evals.append(steps) or {"n": steps})
    assert load_curve(ckpt)[0] == 3 and evals == [2, 3]
    resumed, hist = train_video_tokenizer(vids, tiny, cfg, quiet, checkpoint=ckpt)
    steps, seconds, curve = load_curve(ckpt)
    assert steps == 4 and seconds > 0 and [c["n"] for c in curve] == [2, 3]
    assert [h["step"] for h in hist] == list(range(4))  # history spans both invocations
    assert resumed.tokenizer_id == full.tokenizer_id  # same weights, bit for bit
    with pytest.raises(ValueError, match="another recipe"):
        train_video_tokenizer(vids, tiny, TokenizerTrainConfig(steps=4, batch_size=2, lr=1e-3), quiet, checkpoint=ckpt)


def test_video_bank_time_shifts_flips_and_depth_weighted_loss():
    src = np.arange(60, dtype=np.float32)[None, :, None, None] * np.ones((3, 60, 4, 4), np.float32) / 60.0
    src[:, :, :, 0] = -1.0  # mark the left column
    bank = VideoBank(src[None], np.array([False]), V.frame_indices(16, 8.0))
    assert bank.max_offset == 3
    rng = np.random.default_rng(0)
    seen = set()
    for _ in range(40):
        x, is_depth = bank.sample(rng, 1, Augment())
        t = (x[0, 1, :, 1, 1] * 60).round().long().numpy()
        offset = t[0]
        seen.add((int(offset), bool(x[0, 0, 0, 0, 3] == -1)))
        assert np.array_equal(t, V.frame_indices(16, 8.0) + offset) and not is_depth.any()
    assert {o for o, _ in seen} == {0, 1, 2, 3} and {f for _, f in seen} == {False, True}
    x, _ = bank.sample(rng, 1, Augment(time_offset=False, hflip=False))
    assert torch.equal(x[0], torch.from_numpy(src[:, V.frame_indices(16, 8.0)]).half().float())
    # depth pixels are weighted by 1/inverse depth: the same error costs more where the target is far
    loss = VideoLoss(l1=1.0, mse=0.0, depth_relative=True, depth_scale=0.25, depth_floor=0.0625)
    target = torch.full((2, 3, 1, 1, 2), -1.0)
    target[..., 1] = 0.0  # inverse depth g = 0 (floored to 0.0625) and g = 0.5
    recon = target + 0.1
    out = loss(recon, target, torch.tensor([True, False]))
    expect = (0.1 * 4.0 + 0.1 * 0.5) / 4 + 0.1 / 2  # depth clip weighted (4, 0.5), rgb clip unweighted
    assert abs(float(out["loss"]) - expect) < 1e-6 and abs(float(out["l1"]) - 0.1) < 1e-6


def test_depth_absrel_metric_depth():
    gt = np.array([0.05, 0.5, 1.0, 0.0])
    valid = np.ones(4, bool)
    pred = gt * 1.1
    assert abs(V.abs_rel(pred, gt, valid) - 0.1) < 1e-9  # includes gt = 1 (≥ 0.05), excludes 0
    # metric: inverse depth 0.25 + d·0.5 (4 m … 1.33 m); pixels at the clipped ends (0, 1) are excluded
    inv_g, inv_p = 0.25 + gt[:2] * 0.5, 0.25 + pred[:2] * 0.5
    expect = np.mean(np.abs(1 / inv_p - 1 / inv_g) * inv_g)
    assert abs(V.abs_rel_metric(pred, gt, valid, 0.25, 0.75) - expect) < 1e-9


def test_cosine_can_follow_the_time_budget():
    by_steps = TokenizerTrainConfig(steps=1000, lr=1.0, warmup=10, time_budget_s=100.0)
    by_time = TokenizerTrainConfig(steps=1000, lr=1.0, warmup=10, time_budget_s=100.0, anneal_to_budget=True)
    assert by_time.lr_at(5, 99.0) == by_steps.lr_at(5) == 0.6  # warm-up counts steps either way
    assert by_steps.lr_at(20, 100.0) > 0.99 and abs(by_time.lr_at(20, 100.0) - 0.05) < 1e-9
    assert abs(by_time.lr_at(20, 50.0) - 0.525) < 1e-2 and by_time.lr_at(999, 1.0) == by_steps.lr_at(999)


def test_video_bank_from_curated_clips(curated_world):
    """Every rgb/depth stream of the curated clips, all 60 frames at the tokenizer side, on the ``fps`` grid."""
    from egom2p.catalog import read_index
    from egom2p.clip import read_clip
    folders = [curated_world / "clips" / "egogen" / r["clip_id"] for r in read_index(curated_world / "clips" / "egogen")]
    cfg = VideoTokenizerConfig.from_spec(TINY.video)
    bank = VideoBank.from_clips(folders, cfg.frames, cfg.fps, cfg.resolution)
    assert bank.videos.shape == (2 * len(folders), 3, 60, cfg.resolution, cfg.resolution)
    assert bank.videos.dtype == torch.float16 and bank.is_depth.tolist() == [False, True] * len(folders)
    np.testing.assert_array_equal(bank.base, V.frame_indices(cfg.frames, cfg.fps))
    clip = read_clip(folders[0], modalities=("rgb",))
    np.testing.assert_allclose(bank.videos[0].float().numpy(), V.rgb_frames(clip.rgb, cfg.resolution), atol=1e-2)
