"""Tokenize one dataset partition into WebDataset shards, shard by shard, resumably.

Per (tokenizer, modality, dataset) folder ``tokens/<tokenizer_id>/<modality>/<dataset>/`` the unit of work
is one shard (``egom2p.units``): its fingerprint is the tokenizer id, preset, stage version and its member
clips with their sequences' ``unit_fingerprint`` (so a re-curated sequence re-tokenizes only the shards
holding its clips). Shard membership is stable across runs (``plan_shards``): existing shards keep their
clips, new clips fill the last shard and then new ones, and a shard whose clips all left is removed, so
adding a sequence rewrites only the shards that hold its clips and every other shard file keeps its bytes
and inode. Only one shard's tokens are in memory at a time.

A partition's modalities are published all together or not at all: ``tokenize_dataset`` first brings every
modality's shards up to date and stages its manifest (``.pending-manifest.parquet``; readers look for
``manifest.parquet`` only), then writes one publish journal ``tokens/.publish/<dataset>.json`` atomically
(the commit point), applies it (each staged manifest renamed into place, each modality no clip has
removed) and deletes it. A run killed before the journal leaves every published manifest as it was; one
killed while applying it is rolled forward by ``recover_publish`` at the start of the next run.
"""
from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from egom2p import modalities as M
from egom2p import io
from egom2p.catalog import iter_clips
from egom2p.paths import DataPaths
from egom2p.pool import worker_threads
from egom2p.units import Unit, fingerprint, read_records, records_dir, run_units

from .shards import MANIFEST, PENDING_MANIFEST, SHARD_PATTERN, publish_manifest, token_dtype, write_shard

VERSION = "token_shards/2"
PUBLISH_DIR = ".publish"
# fault-injection points of tests (a kill between modalities / inside the flip): called with the modality
_after_modality: Callable[[str], None] | None = None
_after_flip: Callable[[str], None] | None = None


@dataclass(frozen=True)
class TokenizerRef:
    """A saved tokenizer a worker loads itself: its folder, role (video, gaze, …) and id."""
    path: str
    role: str
    tokenizer_id: str


_LOADED: dict = {}   # per process: (path, role, preset, device) -> clip tokenizer


def _load(ref, preset, device: str):
    """The clip tokenizer of a ref (loaded once per process, on ``device``), or an instance as given."""
    if not isinstance(ref, TokenizerRef):
        return ref
    key = (ref.path, ref.role, preset.name, device)
    if key not in _LOADED:
        import torch

        from .store import load_configured
        torch.set_num_threads(worker_threads())
        _LOADED[key] = load_configured(ref.path, ref.role, preset).to(device)
    return _LOADED[key]


def plan_shards(clips: list[str], previous: dict[str, list[str]], shard_size: int) -> dict[str, list[str]]:
    """Shard name -> member keys (sorted). ``clips``: keys that must be in a shard; ``previous``: last
    run's membership. Existing shards keep their surviving members; new keys fill the last shard up to
    ``shard_size`` and then new shards numbered after the highest existing one."""
    live, shards = set(clips), {}
    for name in sorted(previous):
        members = [k for k in previous[name] if k in live]
        if members:
            shards[name] = members
    assigned = {k for ms in shards.values() for k in ms}
    new = sorted(k for k in live if k not in assigned)
    if shards and new:
        last = max(shards)
        room = shard_size - len(shards[last])
        if room > 0:
            shards[last], new = shards[last] + new[:room], new[room:]
    nxt = 1 + max((int(n.split("-")[1].split(".")[0]) for n in previous), default=-1)
    for i in range(0, len(new), shard_size):
        shards[SHARD_PATTERN % nxt] = new[i:i + shard_size]
        nxt += 1
    return {name: sorted(ms) for name, ms in shards.items()}


def _shard_unit(staging: Path, unit: Unit, ctx) -> list[dict]:
    """Tokenize one shard's clips (in batches) and write the tar; returns its manifest rows."""
    name, members, modality, ref, preset, batch_size, device, vocab = unit.args
    tok = _load(ref, preset, device)
    spec = M.get(modality)
    expect = tuple(spec.token_shape(preset))
    samples, rows = [], []
    for i in range(0, len(members), batch_size):
        batch = members[i:i + batch_size]
        tokens = tok.tokenize(modality, [spec.read(Path(folder)) for _, folder, _ in batch])
        for (key, _, extra), t in zip(batch, tokens):
            if tuple(t.shape) != expect:
                raise ValueError(f"{modality} tokens {t.shape} != registry shape {expect} for preset {preset.name}")
            if t.size and (t.min() < 0 or t.max() >= vocab):
                raise ValueError(f"{key}: tokens outside [0, {vocab})")
            samples.append((key, t.astype(token_dtype(vocab))))
            rows.append({"key": key, "shard": name, "tokens": int(t.size), "shape": list(t.shape), **extra})
    write_shard(staging / name, samples)
    return rows


def _previous_membership(folder: Path, shard_size: int) -> dict[str, list[str]]:
    """Last run's shard -> member keys from the unit records (empty when the shard size changed)."""
    recs = read_records(folder)
    if any(r.get("inputs", {}).get("shard_size") != shard_size for r in recs.values()):
        return {}
    return {r["label"]: [row["key"] for row in r["rows"]] for r in recs.values() if not r["error"]}


def tokenize_modality(paths: DataPaths, dataset: str, modality: str, tokenizer, preset, shard_size: int = 256,
                      batch_size: int = 8, workers: int = 0, device: str = "cpu", log: Callable | None = None,
                      progress: bool = True, executor=None, gpus_per_unit: float = 0.0,
                      publish: bool = True) -> dict:
    """Bring ``tokens/<tokenizer_id>/<modality>/<dataset>/`` up to date with the dataset's curated clips.
    ``publish=False`` stages the manifest (``PENDING_MANIFEST``) for ``tokenize_dataset``'s journal; the
    summary's ``folder`` then says where, and a modality no clip has returns ``{"remove": folder}``."""
    spec = M.get(modality)
    folder = paths.tokens(tokenizer.tokenizer_id, modality, dataset)
    picked = list(iter_clips(paths, dataset, has=modality))
    if not picked:  # a missing modality is absent from tokens/, never an empty folder
        if not publish:
            return {"remove": str(folder)}
        if folder.exists():
            shutil.rmtree(folder)
        return {}
    if not isinstance(tokenizer, TokenizerRef):
        workers, executor = 1, None   # a loaded model stays in this process
    if executor is not None:
        executor = executor.with_defaults(num_gpus=gpus_per_unit)
    vocab = spec.vocab_size(preset)
    by_key = {c.clip_id: c for c in picked}
    records_dir(folder).mkdir(parents=True, exist_ok=True)
    plan = plan_shards(sorted(by_key), _previous_membership(folder, shard_size), shard_size)
    units = []
    for name, keys in sorted(plan.items()):
        members = tuple((k, str(by_key[k].folder), {"split": by_key[k].split, "sequence_id": by_key[k].row["sequence_id"]})
                        for k in keys)
        fp = fingerprint(VERSION, tokenizer.tokenizer_id, modality, preset.name,
                         [(k, by_key[k].row.get("unit_fingerprint")) for k in keys])
        units.append(Unit(name.split(".")[0], name, fp,
                          (name, members, modality, tokenizer, preset, batch_size, device, vocab)))
    t0 = time.time()
    report = run_units(folder, "token_shards", dataset, units, _sharding(shard_size), workers=workers,
                       protected=(MANIFEST,), log=log, progress=progress, executor=executor)
    if report.quarantine:
        raise RuntimeError(f"{dataset}/{modality}: {len(report.quarantine)} shard(s) failed: "
                           f"{report.quarantine[0]['error']}")
    meta = {"tokenizer_id": tokenizer.tokenizer_id, "modality": modality, "dataset": dataset, "preset": preset.name,
            "token_shape": list(spec.token_shape(preset)), "shard_size": shard_size}
    nbytes = publish_manifest(folder, report.rows, vocab, meta, MANIFEST if publish else PENDING_MANIFEST)
    secs = time.time() - t0
    return {"tokenizer_id": tokenizer.tokenizer_id, "folder": str(folder), "samples": len(report.rows),
            "shards": len(units), "tokens": int(sum(r["tokens"] for r in report.rows)), "bytes": nbytes,
            "seconds": secs, "clips_per_s": len(picked) / secs if secs > 0 else 0.0, **report.counts()}


class _sharding:
    """The shard work function with the shard size recorded into each unit's inputs (picklable)."""

    def __init__(self, shard_size: int):
        self.shard_size = shard_size

    def __call__(self, staging: Path, unit: Unit, ctx) -> list[dict]:
        ctx.fingerprint, ctx.inputs = unit.fingerprint, {"shard_size": self.shard_size}
        return _shard_unit(staging, unit, ctx)


def tokenize_dataset(paths: DataPaths, dataset: str, tokenizers: dict, preset, shard_size: int = 256,
                     batch_size: int = 8, log: Callable[[str], None] = print, workers: int = 0,
                     device: str = "cpu", progress: bool = True, executor=None,
                     gpus_per_unit: float = 0.0) -> dict[str, dict]:
    """Tokenize every clip of ``dataset`` for every modality in ``tokenizers`` (modality → a
    :class:`TokenizerRef`, loaded by each worker on ``device``, or a loaded clip tokenizer, used in this
    process). Clips lacking a modality are absent from its folder. Returns per modality: tokenizer id,
    folder, samples/shards/tokens/bytes, seconds, clips/s and the unit counts (run, skipped, …)."""
    recover_publish(paths, dataset, log)
    summary: dict[str, dict] = {}
    actions: list[dict] = []
    for modality, tok in tokenizers.items():
        video = M.get(modality).kind == "video"   # only the video encoder is worth a GPU share
        info = tokenize_modality(paths, dataset, modality, tok, preset, shard_size, batch_size, workers, device,
                                 log, progress, executor, gpus_per_unit if video else 0.0, publish=False)
        if "remove" in info:
            actions.append({"modality": modality, "remove": info["remove"]})
            log(f"{dataset}/{modality}: no clip has it, nothing written")
        else:
            actions.append({"modality": modality, "publish": info["folder"]})
            summary[modality] = info
            log(f"{dataset}/{modality}: {info['samples']} clips in {info['shards']} shards "
                f"({info['units_run']} written, {info['units_skipped']} unchanged) in {info['seconds']:.1f} s")
        if _after_modality is not None:
            _after_modality(modality)
    io.write_json(journal_path(paths, dataset), {"dataset": dataset, "actions": actions})   # the commit point
    recover_publish(paths, dataset, log)
    return summary


def journal_path(paths: DataPaths, dataset: str) -> Path:
    """The publish journal of a dataset's token shards (present only between commit and publish)."""
    return paths.root / "tokens" / PUBLISH_DIR / f"{dataset}.json"


def recover_publish(paths: DataPaths, dataset: str, log: Callable[[str], None] | None = None) -> bool:
    """Apply a committed publish journal (idempotent: a step already done is skipped) and delete it;
    False when there was none. Every staged manifest it lists is renamed into place, every listed folder
    of a modality no clip has is removed."""
    path = journal_path(paths, dataset)
    if not path.exists():
        return False
    for action in json.loads(path.read_text())["actions"]:
        if "publish" in action:
            pending = Path(action["publish"]) / PENDING_MANIFEST
            if pending.exists():
                os.replace(pending, Path(action["publish"]) / MANIFEST)
        elif Path(action["remove"]).exists():
            shutil.rmtree(action["remove"])
        if _after_flip is not None:
            _after_flip(action["modality"])
    path.unlink()
    if log:
        log(f"{dataset}: token shards of every modality published")
    return True
