"""A token_shards run publishes every modality of its partition or none: a run killed between modalities
leaves no manifest changed, one killed while flipping them in is rolled forward by the next run; and the
next run sweeps the staging folders a killed run left."""
from __future__ import annotations

import pytest

from egom2p.paths import DataPaths
from egom2p.presets import TINY
from egom2p.tokenizers import store
from egom2p.tokenizers import tokenize as T
from egom2p.tokenizers.shards import MANIFEST, PENDING_MANIFEST
from egom2p.tokenizers.testing import save_random_tokenizers
from egom2p.units import STAGING_PREFIX, records_dir


class Killed(BaseException):
    """Stands in for the run's process dying at the hook (nothing after it runs)."""


def _run(paths: DataPaths) -> dict:
    return T.tokenize_dataset(paths, "egogen", store.current_refs(paths), TINY, shard_size=1, batch_size=2,
                              log=lambda s: None, workers=1, device="cpu", progress=False)


def _kill_at(name: str):
    def hook(modality: str) -> None:
        if modality == name:
            raise Killed(modality)
    return hook


def test_kill_between_modalities_publishes_none_then_all(world_copy, monkeypatch):
    paths = DataPaths(world_copy)
    save_random_tokenizers(paths, TINY)
    ids = store.current_ids(paths)
    folders = {m: paths.tokens(ids[m], m, "egogen") for m in ("rgb", "depth", "camera")}
    monkeypatch.setattr(T, "_after_modality", _kill_at("rgb"))
    with pytest.raises(Killed):
        _run(paths)
    # rgb's shards are written and its manifest staged, but nothing is published: no half partition
    assert (folders["rgb"] / PENDING_MANIFEST).exists() and list(folders["rgb"].glob("shard-*.tar"))
    assert not list((world_copy / "tokens").rglob(MANIFEST))

    monkeypatch.setattr(T, "_after_modality", None)
    summary = _run(paths)
    assert set(summary) == {"rgb", "depth", "camera"} and summary["rgb"]["units_run"] == 0   # rgb reused
    assert all((f / MANIFEST).exists() and not (f / PENDING_MANIFEST).exists() for f in folders.values())
    assert not T.journal_path(paths, "egogen").exists()

    # killed inside the flip (after rgb's rename): the committed journal is rolled forward next time
    for f in folders.values():
        (f / MANIFEST).unlink()
    monkeypatch.setattr(T, "_after_flip", _kill_at("rgb"))
    with pytest.raises(Killed):
        _run(paths)
    assert (folders["rgb"] / MANIFEST).exists() and not (folders["depth"] / MANIFEST).exists()
    assert T.journal_path(paths, "egogen").exists()
    monkeypatch.setattr(T, "_after_flip", None)
    assert T.recover_publish(paths, "egogen")
    assert all((f / MANIFEST).exists() for f in folders.values()) and not T.journal_path(paths, "egogen").exists()


def test_next_run_sweeps_staging_of_a_killed_run(world_copy):
    paths = DataPaths(world_copy)
    save_random_tokenizers(paths, TINY)
    _run(paths)
    ids = store.current_ids(paths)
    folder = paths.tokens(ids["depth"], "depth", "egogen")
    dead = records_dir(folder) / f"{STAGING_PREFIX}shard-000000-dead"
    dead.mkdir()
    (dead / "shard-000000.tar").write_bytes(b"half a tar")
    (folder / "shard-999999.tar").write_bytes(b"renamed in, never recorded")
    summary = _run(paths)
    assert summary["depth"]["units_run"] == 0
    assert not dead.exists() and not (folder / "shard-999999.tar").exists()
