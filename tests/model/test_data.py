"""Token-shard loader: key join across modality folders, presence, size-proportional mixing, determinism,
resume per rank and worker, finite split pass."""
from __future__ import annotations

import itertools
from collections import Counter

import numpy as np
import pytest
import torch

from egom2p.model.config import ModelConfig
from egom2p.model.data import DataConfig, TokenStream, build_index, iter_samples
from egom2p.model.testing import write_synthetic_shards
from egom2p.tokenizers.shards import read_token_folder

DATASETS = {"big": ("rgb", "depth", "gaze", "camera"), "small": ("rgb", "camera")}


@pytest.fixture(scope="module")
def shards(tmp_path_factory):
    root = tmp_path_factory.mktemp("tokens")
    cfg = ModelConfig.from_preset("tiny", input_budget=48, target_budget=48)
    # big has 3x the clips of small → sampled 3x as often
    write_synthetic_shards(root, cfg, {"big": DATASETS["big"]}, clips=96, shard_size=20, seed=1)
    ids = write_synthetic_shards(root, cfg, {"small": DATASETS["small"]}, clips=32, shard_size=20, seed=2)
    dcfg = DataConfig(root=str(root), tokenizer_ids=tuple(ids.items()), batch_size=4, unit_size=8,
                      shuffle_buffer=16, epoch_batches=5, seed=3)
    return root, cfg, dcfg, ids


def _batches(stream, n, workers=0):
    loader = torch.utils.data.DataLoader(stream, batch_size=None, num_workers=workers)
    return list(itertools.islice(iter(loader), n))


def test_samples_join_modalities_by_key(shards):
    root, cfg, dcfg, ids = shards
    lay = cfg.layout
    truth = {m: {**read_token_folder(root / "tokens" / ids[m] / m / "big"),
                 **(read_token_folder(root / "tokens" / ids[m] / m / "small") if m in DATASETS["small"] else {})}
             for m in lay.names}
    samples = list(iter_samples(dcfg, lay))
    assert len(samples) == 84 + 28  # train split only (1/8 of each dataset is val)
    assert len({s["__key__"] for s in samples}) == len(samples)
    for s in samples:
        for i, m in enumerate(lay.names):
            has = s["__key__"] in truth[m]
            assert s["present"][i] == has
            expect = truth[m][s["__key__"]].reshape(-1) if has else np.zeros(lay.lengths[i])
            np.testing.assert_array_equal(s["tokens"][lay.slice(m)], expect)
        assert s["present"].tolist() == [m in DATASETS[s["dataset"]] for m in lay.names]


def test_batches_follow_the_contract_and_never_mask_missing_modalities(shards):
    _, cfg, dcfg, _ = shards
    lay = cfg.layout
    for b in _batches(TokenStream(dcfg, lay, 48, 48), 12):
        assert b["tokens"].shape == (4, lay.length) and b["enc_idx"].shape == (4, 48) and b["dec_idx"].shape == (4, 48)
        for i in range(4):
            chosen = torch.cat([b["enc_idx"][i][b["enc_valid"][i]], b["dec_idx"][i][b["dec_valid"][i]]])
            assert int(b["enc_valid"][i].sum()) == 48 and int(b["dec_valid"][i].sum()) == 48
            for j, m in enumerate(lay.names):
                sl = lay.slice(m)
                inside = ((chosen >= sl.start) & (chosen < sl.stop)).any()
                if not b["present"][i, j]:
                    assert not inside, f"{m} is missing in {b['keys'][i]} but was selected"


def test_dataset_mixing_is_size_proportional(shards):
    _, cfg, dcfg, _ = shards
    stream = TokenStream(dcfg, cfg.layout, 48, 48)
    assert stream.datasets == pytest.approx({"big": 0.75, "small": 0.25})
    counts = Counter(d for b in _batches(stream, 150) for d in b["datasets"])
    assert counts["big"] / sum(counts.values()) == pytest.approx(0.75, abs=0.06)


def test_stream_is_deterministic_and_resumes_exactly_with_workers(shards):
    _, cfg, dcfg, _ = shards
    lay = cfg.layout
    full = _batches(TokenStream(dcfg, lay, 48, 48), 13, workers=2)
    again = _batches(TokenStream(dcfg, lay, 48, 48), 13, workers=2)
    resumed = _batches(TokenStream(dcfg, lay, 48, 48, start_batch=7), 6, workers=2)  # crosses an epoch (5)
    for a, b in zip(full, again):
        assert a["keys"] == b["keys"] and torch.equal(a["enc_idx"], b["enc_idx"])
    for a, b in zip(full[7:], resumed):
        assert a["keys"] == b["keys"]
        for k in ("tokens", "enc_idx", "enc_valid", "dec_idx", "dec_valid"):
            assert torch.equal(a[k], b[k]), k


def test_ranks_draw_different_batches(shards):
    _, cfg, dcfg, _ = shards
    r0 = _batches(TokenStream(dcfg, cfg.layout, 48, 48, rank=0), 4)
    r1 = _batches(TokenStream(dcfg, cfg.layout, 48, 48, rank=1), 4)
    assert [b["keys"] for b in r0] != [b["keys"] for b in r1]


def test_finite_pass_splits_across_ranks(shards, monkeypatch):
    _, cfg, dcfg, _ = shards
    everything = {s["__key__"] for s in iter_samples(dcfg, cfg.layout)}
    parts = []
    for rank in (0, 1):
        monkeypatch.setenv("RANK", str(rank))
        monkeypatch.setenv("WORLD_SIZE", "2")
        parts.append({s["__key__"] for s in iter_samples(dcfg, cfg.layout)})
    assert parts[0] and parts[1] and not parts[0] & parts[1] and parts[0] | parts[1] == everything


def test_val_split_and_missing_shards_are_clear(shards, tmp_path):
    root, cfg, dcfg, _ = shards
    val = [s["__key__"] for s in iter_samples(DataConfig(**{**dcfg.to_dict(), "split": "val",
                                                            "tokenizer_ids": dcfg.tokenizer_ids}), cfg.layout)]
    assert len(val) == 12 + 4
    with pytest.raises(FileNotFoundError, match="run token_shards first"):
        build_index(DataConfig(root=str(tmp_path), tokenizer_ids=dcfg.tokenizer_ids), cfg.layout)


def test_task_specific_stream_masks_only_the_task(shards):
    _, cfg, dcfg, _ = shards
    lay = cfg.layout
    task = DataConfig(**{**dcfg.to_dict(), "tokenizer_ids": dcfg.tokenizer_ids, "task": "rgb->depth"})
    stream = TokenStream(task, lay, 48, 48)
    assert stream.datasets == {"big": 1.0}  # "small" has no depth
    rgb, depth = lay.slice("rgb"), lay.slice("depth")
    for b in _batches(stream, 4):
        enc, dec = b["enc_idx"][b["enc_valid"]], b["dec_idx"][b["dec_valid"]]
        assert enc.numel() == 4 * 48 and dec.numel() == 4 * 48
        assert ((enc >= rgb.start) & (enc < rgb.stop)).all() and ((dec >= depth.start) & (dec < depth.stop)).all()
    with pytest.raises(ValueError, match="inputs->targets"):
        from egom2p.model.data import parse_task
        parse_task("rgb")
