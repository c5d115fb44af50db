"""EgoM2P network: sizes, shapes, tied heads, attention structure, padding invariance, bf16."""
from __future__ import annotations

import dataclasses

import numpy as np
import torch
import torch.nn.functional as F

from egom2p.model.config import ModelConfig
from egom2p.model.egom2p import EgoM2P
from egom2p.model.masking import collate, task_masks


def test_paper_size_on_meta_device():
    cfg = ModelConfig.from_preset("paper")
    with torch.device("meta"):
        model = EgoM2P(cfg)
    core, total = model.num_params(), model.num_params(exclude_embeddings=False)
    print(f"\npaper EgoM2P: {core / 1e6:.1f} M without embeddings, {total / 1e6:.1f} M with")
    assert 190e6 < core < 210e6                                   # 4M-B: 198 M
    assert total - core == sum(m.vocab_size + 1 for m in cfg.modalities) * cfg.dim
    assert model.decoder[0].mlp.fc1.out_features == 2048          # int(2·3072/3)


def test_tiny_forward_shapes_and_losses(make_batch, one_thread):
    cfg = ModelConfig.from_preset("tiny", input_budget=48, target_budget=48)
    model = EgoM2P(cfg)
    print(f"\ntiny EgoM2P: {model.num_params() / 1e6:.2f} M without embeddings, "
          f"{model.num_params(False) / 1e6:.2f} M with")
    b = make_batch(cfg, 2, present=[[True, True, True, True], [True, False, True, False]])
    out = model(**b)
    with_targets = {n for i, n in enumerate(cfg.names)
                    if (b["dec_valid"] & (model.pos_modality[b["dec_idx"]] == i)).any()}
    assert set(out) == {"loss"} | {f"loss_{n}" for n in with_targets}
    assert all(torch.isfinite(v) and v.ndim == 0 for v in out.values())
    assert torch.allclose(out["loss"], torch.stack([out[f"loss_{n}"] for n in with_targets]).mean())
    ctx = model.encode(b["tokens"], b["enc_idx"], b["enc_valid"])
    assert ctx.x.shape == (2, 48, cfg.dim) and ctx.valid.shape == (2, 48)
    assert model.decode_logits(ctx, b["dec_idx"], b["dec_valid"], "gaze").shape == (2, 48, 256)


def test_bf16_autocast(small_cfg, make_batch, one_thread):
    model, b = EgoM2P(small_cfg), make_batch(small_cfg, 2)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = model(**b)
    assert torch.isfinite(out["loss"]) and out["loss"].dtype == torch.float32
    out["loss"].backward()
    assert all(torch.isfinite(p.grad).all() for p in model.parameters())


def test_tied_heads(small_cfg, make_batch):
    model, b = EgoM2P(small_cfg), make_batch(small_cfg, 2)
    for name in small_cfg.names:
        assert model.head_weight(name) is model.tok_emb[name].weight
    ctx = model.encode(b["tokens"], b["enc_idx"], b["enc_valid"])
    h = model.decode(ctx, b["dec_idx"], b["dec_valid"])
    logits = model.decode_logits(ctx, b["dec_idx"], b["dec_valid"], "depth")
    assert torch.allclose(logits, h @ model.tok_emb["depth"].weight.T, atol=1e-6)


def test_every_parameter_gets_a_gradient_when_modalities_are_missing(small_cfg, make_batch):
    """DDP with find_unused_parameters=False: no modality's parameters may drop out of the graph."""
    model = EgoM2P(small_cfg)
    b = make_batch(small_cfg, 2, present=[[True, False, False, False]] * 2)    # rgb only
    out = model(**b)
    assert set(out) == {"loss", "loss_rgb"}
    out["loss"].backward()
    assert all(p.grad is not None for p in model.parameters())
    model.zero_grad(set_to_none=True)
    b["dec_valid"][:] = False                                                  # no target at all
    out = model(**b)
    assert out["loss"].item() == 0.0
    out["loss"].backward()
    assert all(p.grad is not None for p in model.parameters())


def _decode(model, b):
    return model.decode(model.encode(b["tokens"], b["enc_idx"], b["enc_valid"]), b["dec_idx"], b["dec_valid"])


def test_decoder_attends_within_modality_only(small_cfg):
    model, lay = EgoM2P(small_cfg), small_cfg.layout
    rng = np.random.default_rng(0)
    tokens = torch.as_tensor(np.concatenate([rng.integers(0, v, n) for v, n in zip(lay.vocab_sizes, lay.lengths)]))
    m = task_masks(lay, {"rgb": np.arange(20)}, {"depth": np.arange(6), "gaze": np.arange(6)})
    b = collate([dict(tokens=tokens, **m)])
    with torch.no_grad():
        ref = _decode(model, b)
        b["dec_idx"][0, 0] = lay.slice("depth").start + 100         # move one depth query
        moved = _decode(model, b)
    assert not torch.allclose(ref[0, :6], moved[0, :6])               # depth rows see it
    assert torch.equal(ref[0, 6:], moved[0, 6:])                      # gaze rows do not


def test_padding_and_padded_slots_do_not_change_outputs(small_cfg):
    model, lay = EgoM2P(small_cfg), small_cfg.layout
    rng = np.random.default_rng(1)
    tokens = np.concatenate([rng.integers(0, v, n) for v, n in zip(lay.vocab_sizes, lay.lengths)])
    inputs, targets = {"rgb": np.arange(0, 320, 7), "gaze": np.arange(10)}, {"depth": np.arange(12), "camera": "all"}
    exact = collate([dict(tokens=tokens, **task_masks(lay, inputs, targets))])
    padded = collate([dict(tokens=tokens, **task_masks(lay, inputs, targets, input_budget=80, target_budget=64))])
    n_in, n_out = int(exact["enc_valid"].sum()), int(exact["dec_valid"].sum())
    with torch.no_grad():
        ref = _decode(model, exact)
        out = _decode(model, padded)
        assert torch.allclose(ref[0], out[0, :n_out], atol=1e-5)
        assert torch.allclose(model(**exact)["loss"], model(**padded)["loss"], atol=1e-5)
        # garbage in the padded slots (positions, tokens there) changes nothing valid
        padded["enc_idx"][0, n_in:] = torch.randint(0, lay.length, (80 - n_in,))
        padded["dec_idx"][0, n_out:] = torch.randint(0, lay.length, (64 - n_out,))
        padded["tokens"][0, lay.slice("depth")] = 0                    # depth is no input: targets only
        again = _decode(model, padded)
        assert torch.allclose(out[0, :n_out], again[0, :n_out], atol=1e-5)
        assert torch.isfinite(again).all()


def test_empty_sample_in_batch_is_finite(small_cfg, make_batch):
    """A sample with no modality at all (all rows padding) yields no NaN anywhere."""
    model = EgoM2P(small_cfg)
    b = make_batch(small_cfg, 2, present=[[True] * 4, [False] * 4])
    h = _decode(model, b)
    assert torch.isfinite(h).all()
    out = model(**b)
    out["loss"].backward()
    assert all(torch.isfinite(p.grad).all() for p in model.parameters())


def test_state_dict_has_no_fixed_tables(small_cfg):
    sd = EgoM2P(small_cfg).state_dict()
    assert "pos_emb" not in sd and "pos_modality" not in sd
    twin = EgoM2P(dataclasses.replace(small_cfg))
    twin.load_state_dict(sd)
