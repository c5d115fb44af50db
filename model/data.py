"""Training data: per-modality WebDataset token shards joined by key, mixed across datasets, masked, batched.

Shards live at ``<root>/tokens/<tokenizer_id>/<modality>/<dataset>/shard-%06d.tar`` with a
``manifest.parquet``. A modality a clip lacks is simply absent from that modality's
folder, so a sample's *present* modalities are the folders that hold its key.

Work units. From the manifests, each dataset's keys (of the wanted split) are sorted and cut into
*units* of ``unit_size`` consecutive keys; a unit knows which shard of each modality holds each key.
Shards are written in key order, so a unit touches one or two shards per modality.

Training stream (``TokenStream``, an ``IterableDataset`` yielding whole batches) is a webdataset
``DataPipeline`` per (rank, loader worker, epoch): resampled units — a dataset drawn with probability ∝
its number of clips (dataset-size-proportional mixing), then one of its units ∝ unit size — expanded
to samples, a seeded shuffle buffer, 4M masking, and ``batched`` with ``with_epoch(epoch_batches)``.
Every random draw is seeded by (seed, rank, worker, epoch), so the stream is deterministic per rank and
resumable: ``start_batch`` skips the batches a checkpoint already consumed (at most one epoch is
replayed). Ranks draw different units (seeded by rank), which is webdataset's ``resampled`` mode for
world size > 1; the finite, non-resampled pass (``iter_samples``) splits units with
``split_by_node`` / ``split_by_worker``. Reading never unpickles (``np.load(allow_pickle=False)``).
"""
from __future__ import annotations

import dataclasses
import random
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np
import pyarrow.parquet as pq
import torch
import webdataset as wds

from egom2p.paths import DataPaths
from egom2p.tokenizers.shards import MANIFEST, iter_shard

from .config import TokenLayout
from .masking import MASK_KEYS, collate, sample_masks, task_masks

ALPHAS = (0.01, 0.1, 1.0, 10.0)


@dataclass(frozen=True)
class DataConfig:
    """Where the token shards are and how batches are drawn (saved with every checkpoint)."""
    root: str
    tokenizer_ids: tuple[tuple[str, str], ...]   # (modality, tokenizer_id), e.g. from store.current_ids
    datasets: tuple[str, ...] = ()               # empty = every dataset with shards
    split: str = "train"
    batch_size: int = 8                          # per rank, per micro-step
    unit_size: int = 64                          # keys per work unit
    shuffle_buffer: int = 256
    epoch_batches: int = 64                      # batches per (worker, epoch) before reseeding
    seed: int = 0
    alphas: tuple[float, ...] = ALPHAS
    task: str = ""                               # "" = 4M all2all masking; "rgb->gaze": single-task masks

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "DataConfig":
        d = dict(d)
        d["tokenizer_ids"] = tuple(tuple(x) for x in d.get("tokenizer_ids", ()))
        for k in ("datasets", "alphas"):
            if k in d:
                d[k] = tuple(d[k])
        return cls(**{k: v for k, v in d.items() if k in {f.name for f in dataclasses.fields(cls)}})


@dataclass(frozen=True)
class Unit:
    """``keys`` of one dataset; ``shards[i][j]`` = shard path of keys[j] for modality i ('' = absent)."""
    dataset: str
    keys: tuple[str, ...]
    shards: tuple[tuple[str, ...], ...]


@dataclass(frozen=True)
class DatasetIndex:
    name: str
    units: tuple[Unit, ...]

    @property
    def size(self) -> int:
        return sum(len(u.keys) for u in self.units)


def build_index(cfg: DataConfig, layout: TokenLayout) -> list[DatasetIndex]:
    """Read the manifests of every (modality, dataset) folder → per-dataset units (sorted keys).

    Raises FileNotFoundError with the folders looked at when no shard of the wanted split exists.
    """
    tids = dict(cfg.tokenizer_ids)
    paths = DataPaths(Path(cfg.root))
    tokens_root = paths.tokens_root
    found: dict[str, dict[str, dict[str, str]]] = {}   # dataset → modality → key → shard path
    for m in layout.names:
        if m not in tids:
            continue
        base = tokens_root / tids[m] / m
        folders = sorted(p for p in base.iterdir() if (p / MANIFEST).exists()) if base.is_dir() else []
        for folder in folders:
            if cfg.datasets and folder.name not in cfg.datasets:
                continue
            t = pq.read_table(folder / MANIFEST).to_pydict()
            split = t.get("split", [cfg.split] * len(t["key"]))
            found.setdefault(folder.name, {})[m] = {k: str(folder / s) for k, s, sp in
                                                    zip(t["key"], t["shard"], split) if sp == cfg.split}
    out = []
    required = set(sum(parse_task(cfg.task), ())) if cfg.task else set()
    for ds in sorted(found):
        per_mod = found[ds]
        if not required <= set(per_mod):
            continue
        keys = sorted(set().union(*[set(v) for v in per_mod.values()]))
        units = []
        for i in range(0, len(keys), cfg.unit_size):
            chunk = tuple(keys[i:i + cfg.unit_size])
            shards = tuple(tuple(per_mod.get(m, {}).get(k, "") for k in chunk) for m in layout.names)
            units.append(Unit(ds, chunk, shards))
        if units:
            out.append(DatasetIndex(ds, tuple(units)))
    if not out:
        raise FileNotFoundError(f"no token shards of split {cfg.split!r} under {tokens_root} for "
                                f"{dict(tids)} (datasets: {list(cfg.datasets) or 'all'}); run token_shards first")
    return out


class ShardCache:
    """Small LRU of decoded shards (path → {key: tokens}) so consecutive units don't re-read a tar."""

    def __init__(self, capacity: int = 8):
        self.capacity, self._d = capacity, OrderedDict()

    def get(self, path: str) -> dict[str, np.ndarray]:
        if path in self._d:
            self._d.move_to_end(path)
            return self._d[path]
        shard = dict(iter_shard(path))
        self._d[path] = shard
        if len(self._d) > self.capacity:
            self._d.popitem(last=False)
        return shard


def unit_samples(unit: Unit, layout: TokenLayout, cache: ShardCache) -> Iterator[dict]:
    """A unit → samples {"__key__", "dataset", "tokens" (L,) int64 (missing = 0), "present" (M,) bool}."""
    for j, key in enumerate(unit.keys):
        tokens = np.zeros(layout.length, np.int64)
        present = np.zeros(len(layout.names), bool)
        for i, name in enumerate(layout.names):
            path = unit.shards[i][j]
            if not path:
                continue
            arr = cache.get(path)[key].reshape(-1)
            if arr.size != layout.lengths[i]:
                raise ValueError(f"{path}:{key}: {name} has {arr.size} tokens, the model expects {layout.lengths[i]}")
            tokens[layout.slice(name)] = arr
            present[i] = True
        yield {"__key__": key, "dataset": unit.dataset, "tokens": tokens, "present": present}


def parse_task(task: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """``"depth,gaze->rgb"`` → (("depth", "gaze"), ("rgb",))."""
    if "->" not in task:
        raise ValueError(f"task {task!r} must read 'inputs->targets', e.g. 'rgb->gaze'")
    ins, outs = (tuple(x.strip() for x in side.split(",") if x.strip()) for side in task.split("->", 1))
    if not ins or not outs or set(ins) & set(outs):
        raise ValueError(f"task {task!r} needs disjoint, non-empty inputs and targets")
    return ins, outs


def single_task_masks(task: tuple[tuple[str, ...], tuple[str, ...]], layout: TokenLayout, n_in: int, n_out: int,
                      rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Task-specific training masks: a random ``n_in`` of the input modalities' tokens in, a random
    ``n_out`` of the targets' tokens out (all of them when fewer), padded to the budgets."""
    def pick(names, budget):
        pos = np.concatenate([np.arange(layout.lengths[layout.index(m)]) + layout.offsets[layout.index(m)]
                              for m in names])
        pos = np.sort(rng.permutation(pos)[:budget])
        out = {}
        for m in names:
            sl = layout.slice(m)
            local = pos[(pos >= sl.start) & (pos < sl.stop)] - sl.start
            if local.size:
                out[m] = local
        return out
    return task_masks(layout, pick(task[0], n_in), pick(task[1], n_out), n_in, n_out)


def _seed(*parts: int) -> int:
    return int(np.random.SeedSequence([int(p) for p in parts]).generate_state(1)[0])


class TokenStream(torch.utils.data.IterableDataset):
    """Infinite stream of masked batches (dicts in the model's batch contract) for one rank.

    Use with ``DataLoader(stream, batch_size=None, num_workers=W)``: the DataLoader interleaves its
    workers in order, so global batch g comes from stream g % W; ``start_batch`` = batches this rank
    already consumed resumes exactly (with the same W).
    """

    def __init__(self, cfg: DataConfig, layout: TokenLayout, input_budget: int, target_budget: int,
                 rank: int = 0, start_batch: int = 0, index: list[DatasetIndex] | None = None):
        super().__init__()
        self.cfg, self.layout, self.rank, self.start_batch = cfg, layout, rank, start_batch
        self.budgets = (input_budget, target_budget)
        self.index = index if index is not None else build_index(cfg, layout)
        sizes = np.array([d.size for d in self.index], np.float64)
        self.dataset_p = sizes / sizes.sum()

    @property
    def datasets(self) -> dict[str, float]:
        """Dataset → sampling probability (∝ number of clips)."""
        return {d.name: float(p) for d, p in zip(self.index, self.dataset_p)}

    def _units(self, rng: np.random.Generator) -> Iterator[Unit]:
        unit_p = [np.array([len(u.keys) for u in d.units], np.float64) for d in self.index]
        unit_p = [p / p.sum() for p in unit_p]
        while True:
            d = rng.choice(len(self.index), p=self.dataset_p)
            yield self.index[d].units[rng.choice(len(unit_p[d]), p=unit_p[d])]

    def epoch_pipeline(self, worker: int, epoch: int) -> wds.DataPipeline:
        """The webdataset pipeline of one (worker, epoch): exactly ``epoch_batches`` batches."""
        c, cache = self.cfg, ShardCache()
        rng = np.random.default_rng(_seed(c.seed, self.rank, worker, epoch))
        mask_rng = np.random.default_rng(_seed(c.seed, self.rank, worker, epoch, 1))
        layout, (n_in, n_out) = self.layout, self.budgets

        def expand(units):
            for u in units:
                yield from unit_samples(u, layout, cache)

        def mask(sample):
            if task is None:
                sample.update(sample_masks(sample["present"], layout, n_in, n_out, mask_rng, c.alphas))
            else:
                sample.update(single_task_masks(task, layout, n_in, n_out, mask_rng))
            return sample

        task = parse_task(c.task) if c.task else None
        needed = [layout.index(m) for m in (task[0] + task[1])] if task else []

        return wds.DataPipeline(
            lambda: self._units(rng), expand,
            wds.shuffle(c.shuffle_buffer, initial=c.shuffle_buffer, rng=random.Random(_seed(c.seed, self.rank, worker, epoch, 2))),
            wds.select(lambda s: all(s["present"][i] for i in needed)), wds.map(mask), wds.batched(c.batch_size, collation_fn=collate_batch, partial=False),
        ).with_epoch(nbatches=c.epoch_batches)

    def __iter__(self) -> Iterator[dict]:
        info = torch.utils.data.get_worker_info()
        worker, workers = (info.id, info.num_workers) if info is not None else (0, 1)
        # Global batch g comes from stream g % W. A fresh DataLoader starts at worker 0, so after resuming
        # at batch s, worker w plays stream v = (s + w) % W, which had produced ceil((s - v) / W) batches.
        v = (self.start_batch + worker) % workers
        done = max(0, (self.start_batch - v + workers - 1) // workers)
        epoch, skip = divmod(done, self.cfg.epoch_batches)
        while True:
            for i, batch in enumerate(self.epoch_pipeline(v, epoch)):
                if i >= skip:
                    yield batch
            epoch, skip = epoch + 1, 0


def collate_batch(samples: list[dict]) -> dict:
    """Samples with tokens + masks → the batch contract (tensors), plus ``keys``/``datasets`` lists."""
    batch = collate([{k: s[k] for k in ("tokens", "present", *MASK_KEYS)} for s in samples])
    batch["keys"] = [s["__key__"] for s in samples]
    batch["datasets"] = [s["dataset"] for s in samples]
    return batch


def iter_samples(cfg: DataConfig, layout: TokenLayout, index: list[DatasetIndex] | None = None) -> Iterator[dict]:
    """One finite, ordered pass over every sample (evaluation), split across ranks and loader workers."""
    index = index if index is not None else build_index(cfg, layout)
    units = [u for d in index for u in d.units]
    cache = ShardCache()
    pipeline = wds.DataPipeline(lambda: iter(units), wds.split_by_node, wds.split_by_worker,
                                lambda src: (s for u in src for s in unit_samples(u, layout, cache)))
    yield from pipeline
