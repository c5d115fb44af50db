"""Token shards: deterministic byte-identical tars, manifests, no pickles; the Dagster assets tokenize only
the new dataset's partition and a new tokenizer writes under a new id."""
from __future__ import annotations

import io
import tarfile
from pathlib import Path

import dagster as dg
import numpy as np
import pytest
import webdataset as wds

from egom2p.assets.partitions import datasets_partitions
from egom2p.assets.resources import DataRoot, TokenizerSettings
from egom2p.catalog import read_index
from egom2p.paths import DataPaths
from egom2p.pipelines.definitions import defs
from egom2p.tokenizers import shards as S
from egom2p.tokenizers.store import current_ids

FAST = TokenizerSettings(video_steps=2, trajectory_steps=3, batch_size_video=1, batch_size_trajectory=4,
                         time_budget_s=0, trajectory_sampled_clips=8)


def _samples(n: int, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {f"seq_{i % 3}-{i:04d}": rng.integers(0, 64000, (5, 8, 8)) for i in range(n)}


def test_shards_are_deterministic_readable_and_never_pickled(tmp_path):
    samples = _samples(7)
    a = S.write_token_folder(tmp_path / "a", samples, 64000, shard_size=3, meta={"tokenizer_id": "video-x"})
    b = S.write_token_folder(tmp_path / "b", dict(reversed(list(samples.items()))), 64000, shard_size=3,
                             meta={"tokenizer_id": "video-x"})
    assert a == b and a["samples"] == 7 and a["shards"] == 3
    names = sorted(p.name for p in (tmp_path / "a").glob("*.tar"))
    assert names == ["shard-000000.tar", "shard-000001.tar", "shard-000002.tar"]
    for n in names:
        assert (tmp_path / "a" / n).read_bytes() == (tmp_path / "b" / n).read_bytes()
    back = S.read_token_folder(tmp_path / "a")
    assert back.keys() == samples.keys()
    for k, v in samples.items():
        assert back[k].dtype == np.uint16 and np.array_equal(back[k], v)
    rows, meta = S.read_manifest(tmp_path / "a")
    assert [r["key"] for r in rows] == sorted(samples) and meta["vocab_size"] == 64000 and meta["tokenizer_id"] == "video-x"
    assert {r["shard"] for r in rows} == set(names) and all(r["tokens"] == 320 for r in rows)
    # WebDataset reads the same keys and member names
    ds = wds.WebDataset(str(tmp_path / "a" / "shard-000000.tar"), shardshuffle=False)
    assert [s["__key__"] for s in ds] == sorted(samples)[:3]
    # a member holding a pickled object array is refused, not unpickled
    with tarfile.open(tmp_path / "evil.tar", "w") as tar:
        buf = io.BytesIO()
        np.save(buf, np.array([{"x": 1}], dtype=object), allow_pickle=True)
        info = tarfile.TarInfo("k.tok.npy")
        info.size = len(buf.getvalue())
        tar.addfile(info, io.BytesIO(buf.getvalue()))
    with pytest.raises(ValueError, match="pickle"):
        list(S.iter_shard(tmp_path / "evil.tar"))


def test_bad_keys_and_tokens_are_refused(tmp_path):
    with pytest.raises(ValueError, match="must not contain"):
        S.write_token_folder(tmp_path / "x", {"a.b": np.zeros(3, int)}, 256)
    with pytest.raises(ValueError, match="outside"):
        S.write_token_folder(tmp_path / "y", {"a": np.array([256])}, 256)
    assert not (tmp_path / "x").exists() and not (tmp_path / "y").exists()
    assert not list(tmp_path.glob(".*staging*"))


def _materialize(keys, root: Path, settings: TokenizerSettings, instance, partition: str | None = None):
    assets = [defs.get_assets_def(k) for k in keys]
    res = dg.materialize(assets, partition_key=partition, instance=instance,
                         resources={"data": DataRoot(root=str(root)), "tokens": settings})
    assert res.success
    return {m.asset_key.path[-1]: m.materialization.metadata for m in res.get_asset_materialization_events()}


def _snapshot(folder: Path) -> dict[str, tuple[int, int, bytes]]:
    return {str(p.relative_to(folder)): (p.stat().st_ino, p.stat().st_mtime_ns, p.read_bytes())
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_new_dataset_partition_tokenizes_only_that_dataset(world_copy):
    root, paths = world_copy, DataPaths(world_copy)
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions(datasets_partitions.name, ["egogen"])
    meta = _materialize(["video_tokenizer", "trajectory_tokenizers"], root, FAST, instance)
    assert meta["video_tokenizer"]["tokenizer_id"].value.startswith("video-")
    assert "data:image/png;base64," in meta["video_tokenizer"]["reconstruction"].value
    assert "data:image/png;base64," in meta["trajectory_tokenizers"]["camera_reconstruction"].value
    assert meta["trajectory_tokenizers"]["motion_sampled_clips"].value == 8  # curated + motion-sampled training
    ids = current_ids(paths)
    assert set(ids) == {"rgb", "depth", "gaze", "camera"} and ids["rgb"] == ids["depth"]

    _materialize(["token_shards"], root, FAST, instance, "egogen")
    gen = {m: paths.tokens(ids[m], m, "egogen") for m in ("rgb", "depth", "camera")}
    for m, folder in gen.items():
        rows, _ = S.read_manifest(folder)
        assert [r["key"] for r in rows] == sorted(r["clip_id"] for r in read_index(paths.clips("egogen")))
    assert not paths.tokens(ids["gaze"], "gaze", "egogen").exists()  # egogen has no gaze: absent, not empty
    tokens = S.read_token_folder(gen["rgb"])
    assert all(t.shape == (5, 8, 8) and t.dtype == np.uint16 for t in tokens.values())
    assert all(t.shape == (30,) for t in S.read_token_folder(gen["camera"]).values())
    before = _snapshot(paths.root / "tokens")

    # a new dataset lands: only its partition is tokenized, egogen's files are untouched (same inode, mtime)
    instance.add_dynamic_partitions(datasets_partitions.name, ["egoexo4d"])
    _materialize(["token_shards"], root, FAST, instance, "egoexo4d")
    after = _snapshot(paths.root / "tokens")
    assert {k: v for k, v in after.items() if k in before} == before
    new = {k for k in after if k not in before}
    assert new and all("/egoexo4d/" in k for k in new)
    assert {k.split("/")[1] for k in new} == {"rgb", "gaze", "camera"}

    # re-materializing the same partition with the same tokenizers gives byte-identical shards
    _materialize(["token_shards"], root, FAST, instance, "egoexo4d")
    again = _snapshot(paths.root / "tokens")
    assert {k: v[2] for k, v in again.items() if k.endswith(".tar")} == {k: v[2] for k, v in after.items() if k.endswith(".tar")}

    # a new tokenizer (other seed → other weights) writes under a new id and never touches the old shards
    _materialize(["trajectory_tokenizers"], root, TokenizerSettings(**{**FAST.model_dump(), "seed": 1}), instance)
    new_ids = current_ids(paths)
    assert new_ids["camera"] != ids["camera"] and new_ids["rgb"] == ids["rgb"]
    _materialize(["token_shards"], root, FAST, instance, "egoexo4d")
    assert paths.tokens(new_ids["camera"], "camera", "egoexo4d").is_dir()
    assert paths.tokens(ids["camera"], "camera", "egoexo4d").is_dir()
