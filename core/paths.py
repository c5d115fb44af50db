"""The one data-root helper: every path the pipeline reads or writes goes through here.

The root is ``$EGOM2P_DATA`` (default ``./data``). Layout (DESIGN.md §4–5)::

    <root>/raw/<dataset>/                        native layout, folder name = partition key
    <root>/inventory/<dataset>/inventory.parquet  raw_inventory
    <root>/interim/clips/<dataset>/<clip_id>/     clips (rectified, 30 FPS, metric units)
    <root>/interim/depth/<dataset>/<clip_id>/     depth_labels (GT metric depth, or relative inverse depth from an annotator)
    <root>/clips/<dataset>/<clip_id>/             normalized_clips = the canonical clip
    <root>/clips/<dataset>/index.parquet, quarantine.parquet
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

ENV_VAR = "EGOM2P_DATA"


def data_root(root: str | os.PathLike | None = None) -> Path:
    """Resolve the data root: explicit argument, else ``$EGOM2P_DATA``, else ``./data``."""
    return Path(root or os.environ.get(ENV_VAR) or "data").resolve()


@dataclass(frozen=True)
class DataPaths:
    root: Path

    @classmethod
    def from_env(cls, root: str | os.PathLike | None = None) -> "DataPaths":
        return cls(data_root(root))

    @property
    def raw_root(self) -> Path:
        return self.root / "raw"

    def raw(self, dataset: str) -> Path:
        return self.raw_root / dataset

    def inventory(self, dataset: str) -> Path:
        return self.root / "inventory" / dataset / "inventory.parquet"

    def interim_clips(self, dataset: str) -> Path:
        return self.root / "interim" / "clips" / dataset

    def interim_depth(self, dataset: str) -> Path:
        return self.root / "interim" / "depth" / dataset

    def clips(self, dataset: str) -> Path:
        return self.root / "clips" / dataset

    def quarantine(self, dataset: str) -> Path:
        return self.clips(dataset) / "quarantine.parquet"

    def tokens(self, tokenizer_id: str, modality: str, dataset: str) -> Path:
        return self.root / "tokens" / tokenizer_id / modality / dataset

    def raw_datasets(self) -> list[str]:
        """Folder names under the raw root (partition keys), sorted; hidden folders are ignored."""
        if not self.raw_root.is_dir():
            return []
        return sorted(p.name for p in self.raw_root.iterdir() if p.is_dir() and not p.name.startswith("."))
