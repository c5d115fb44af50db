"""Token shards as resumable units: stable shard membership, only shards holding new or re-curated clips
are rewritten (every other shard keeps its bytes and inode), bytes independent of the worker count."""
from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from egom2p.catalog import read_index
from egom2p.paths import DataPaths
from egom2p.presets import TINY
from egom2p.tokenizers import store
from egom2p.tokenizers.api import resolve_device
from egom2p.tokenizers.shards import read_manifest, read_token_folder
from egom2p.tokenizers.tokenize import plan_shards, tokenize_dataset

from .conftest import curate

N_SEQ = 5


def test_plan_shards_keeps_membership_and_fills_the_last_shard():
    assert plan_shards(list("edcba"), {}, 2) == {"shard-000000.tar": ["a", "b"], "shard-000001.tar": ["c", "d"],
                                                 "shard-000002.tar": ["e"]}
    prev = {"shard-000000.tar": ["a", "b"], "shard-000001.tar": ["c", "d"], "shard-000002.tar": ["e"]}
    # 'c' left, 'f' and 'g' arrived: shard 1 shrinks, 'f' fills shard 2, 'g' opens shard 3
    assert plan_shards(list("abdefg"), prev, 2) == {"shard-000000.tar": ["a", "b"], "shard-000001.tar": ["d"],
                                                    "shard-000002.tar": ["e", "f"], "shard-000003.tar": ["g"]}
    # a shard whose members all left disappears; numbering never reuses a name
    assert plan_shards(list("abz"), prev, 2) == {"shard-000000.tar": ["a", "b"], "shard-000003.tar": ["z"]}


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> tuple[Path, Path]:
    """(data root with 4 of 5 EgoGen sequences curated + random-weight tiny tokenizers, folder holding all 5
    raw sequences)."""
    from egom2p.synth.layouts import LAYOUTS
    from egom2p.tokenizers.testing import save_random_tokenizers
    base = tmp_path_factory.mktemp("tokunits")
    LAYOUTS["egogen"](base / "all", sequences=N_SEQ, seconds=2.2, seed=2, progress=False)
    paths = DataPaths(base / "data")
    for p in sorted((base / "all").iterdir())[:N_SEQ - 1]:
        shutil.copytree(p, paths.raw("egogen") / p.name, copy_function=shutil.copy2)
    curate(paths, "egogen")
    save_random_tokenizers(paths, TINY)
    return paths.root, base / "all"


def snapshot(folder: Path) -> dict[str, tuple[int, str]]:
    return {p.name: (p.stat().st_ino, hashlib.sha256(p.read_bytes()).hexdigest())
            for p in sorted(folder.glob("shard-*.tar"))}


def tokenize(paths: DataPaths, workers: int = 1) -> dict:
    return tokenize_dataset(paths, "egogen", store.current_refs(paths), TINY, shard_size=3, batch_size=2,
                            log=lambda s: None, workers=workers, device="cpu", progress=False)


def test_incremental_tokenization_rewrites_only_affected_shards(world, tmp_path):
    src, all_raw = world
    root = tmp_path / "data"
    shutil.copytree(src, root, copy_function=shutil.copy2)
    paths = DataPaths(root)
    ids = store.current_ids(paths)
    first = tokenize(paths)
    assert {m: (s["samples"], s["shards"], s["units_run"]) for m, s in first.items()} == \
        {m: (4, 2, 2) for m in ("rgb", "depth", "camera")}
    rgb = paths.tokens(ids["rgb"], "rgb", "egogen")
    before = snapshot(rgb)
    rows, meta = read_manifest(rgb)
    assert [r["shard"] for r in rows] == ["shard-000000.tar"] * 3 + ["shard-000001.tar"] and meta["shard_size"] == 3
    assert all(t.shape == (5, 8, 8) and t.dtype == np.uint16 for t in read_token_folder(rgb).values())

    again = tokenize(paths)
    assert all((s["units_run"], s["units_skipped"]) == (0, 2) for s in again.values())
    assert snapshot(rgb) == before

    # a fifth sequence is curated: its clip fills shard 1; shard 0 keeps its bytes and inode
    new = sorted(all_raw.iterdir())[-1]
    shutil.copytree(new, paths.raw("egogen") / new.name, copy_function=shutil.copy2)
    curate(paths, "egogen")
    grown = tokenize(paths)
    assert all((s["samples"], s["units_run"], s["units_skipped"]) == (5, 1, 1) for s in grown.values())
    after = snapshot(rgb)
    assert after["shard-000000.tar"] == before["shard-000000.tar"]
    assert after["shard-000001.tar"] != before["shard-000001.tar"]
    assert new.name in {k.rsplit("-", 1)[0] for k in read_token_folder(rgb)}

    # a re-curated sequence (touched source file): only the shard holding its clip is rewritten
    first_seq = sorted(paths.raw("egogen").iterdir())[0]
    f = sorted((first_seq / "smplx_params").iterdir())[0]
    os.utime(f, ns=(f.stat().st_atime_ns, f.stat().st_mtime_ns + 10**9))
    curate(paths, "egogen")
    touched = tokenize(paths)
    assert touched["camera"]["units_run"] == 1 and touched["camera"]["units_skipped"] == 1
    key = [r["clip_id"] for r in read_index(paths.clips("egogen")) if r["sequence_id"] == first_seq.name][0]
    shard = {r["key"]: r["shard"] for r in read_manifest(rgb)[0]}[key]
    other = ({"shard-000000.tar", "shard-000001.tar"} - {shard}).pop()
    assert snapshot(rgb)[other] == after[other]


def test_token_bytes_do_not_depend_on_worker_count(world, tmp_path):
    src, _ = world
    outs = []
    for workers in (1, 2):
        root = tmp_path / f"w{workers}"
        shutil.copytree(src, root, copy_function=shutil.copy2)
        tokenize(DataPaths(root), workers)
        outs.append({str(p.relative_to(root / "tokens")): hashlib.sha256(p.read_bytes()).hexdigest()
                     for p in sorted((root / "tokens").rglob("*")) if p.is_file() and ".units" not in p.parts})
    assert len(outs[0]) == 3 * 3 and outs[0] == outs[1]      # 3 modalities × (2 shards + manifest)


def test_device_auto_is_cpu_without_a_gpu():
    import torch
    assert resolve_device("auto") == ("cuda" if torch.cuda.is_available() else "cpu")
    assert resolve_device("cpu") == "cpu"
