"""The clip catalog: which canonical clips exist, their index rows, splits and evaluation datasets.

Every partition's clips are listed in ``<clips>/<dataset>/index.parquet`` (one row per clip: ids, split,
``has_<modality>`` flags, stats, checksums); sequences that failed are in ``quarantine.parquet``. Splits are
per *sequence*, deterministic from its id. Every reader of curated data walks clips through here.
"""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pyarrow as pa

from . import tables
from .paths import DataPaths

INDEX = "index.parquet"
QUARANTINE = "quarantine.parquet"
SPLITS = ("train", "val", "test")
HELD_OUT = ("val", "test")
# evaluation-only datasets: curated with every sequence ``test`` (a sequence shorter than a clip = one
# padded clip), evaluated and reported, never trained on, and left out of the evaluation's targets
EVALUATION_DATASETS = frozenset({"adt"})
QUARANTINE_SCHEMA = pa.schema([("dataset", pa.string()), ("sequence_id", pa.string()),
                               ("stage", pa.string()), ("error", pa.string())])


def split_of(dataset: str, sequence_id: str) -> str:
    """Deterministic per-sequence split (never per clip): 80 % train, 10 % val, 10 % test; every sequence
    of an evaluation dataset is ``test``."""
    if dataset in EVALUATION_DATASETS:
        return "test"
    h = int(hashlib.sha1(f"{dataset}/{sequence_id}".encode()).hexdigest()[:8], 16) % 100
    return "train" if h < 80 else ("val" if h < 90 else "test")


def read_index(folder: str | os.PathLike) -> list[dict]:
    """Index rows of a stage folder (canonical clips or an interim stage); [] when there is none."""
    return tables.read_rows(Path(folder) / INDEX)


def read_quarantine(folder: str | os.PathLike) -> list[dict]:
    return tables.read_rows(Path(folder) / QUARANTINE)


def write_index(folder: str | os.PathLike, rows: list[dict], schema: pa.Schema | None = None) -> Path:
    """Write the index (rows sorted by ``clip_id``) atomically."""
    return tables.write_rows(Path(folder) / INDEX, sorted(rows, key=lambda r: r["clip_id"]), schema)


def write_quarantine(folder: str | os.PathLike, rows: list[dict]) -> Path:
    return tables.write_rows(Path(folder) / QUARANTINE, rows, QUARANTINE_SCHEMA)


def has_index(folder: str | os.PathLike) -> bool:
    return (Path(folder) / INDEX).exists()


def datasets(paths: DataPaths) -> list[str]:
    """Datasets with curated clips (an index), sorted."""
    root = paths.clips_root
    return sorted(p.name for p in root.iterdir() if has_index(p)) if root.is_dir() else []


@dataclass(frozen=True)
class ClipRef:
    """One catalogued clip: its dataset, index row and canonical folder."""
    dataset: str
    row: dict
    folder: Path

    @property
    def clip_id(self) -> str:
        return self.row["clip_id"]

    @property
    def split(self) -> str:
        return self.row["split"]

    def has(self, modality: str) -> bool:
        return bool(self.row.get(f"has_{modality}"))


def iter_clips(paths: DataPaths, dataset: str | None = None, split: str | tuple[str, ...] | None = None,
               has: str | None = None) -> Iterator[ClipRef]:
    """Canonical clips in index order: one dataset (or every dataset with an index, sorted), optionally
    only the given split(s) and only clips that have modality ``has``."""
    splits = (split,) if isinstance(split, str) else split
    for ds in ([dataset] if dataset else datasets(paths)):
        for row in read_index(paths.clips(ds)):
            if splits is not None and row["split"] not in splits:
                continue
            if has is not None and not row.get(f"has_{has}"):
                continue
            yield ClipRef(ds, row, paths.clips(ds) / row["clip_id"])


def train_and_held_out(paths: DataPaths) -> tuple[list[Path], list[Path]]:
    """(train, held-out) canonical clip folders over every dataset with an index (split per sequence)."""
    train, held = [], []
    for ref in iter_clips(paths):
        (train if ref.split == "train" else held).append(ref.folder)
    return train, held
