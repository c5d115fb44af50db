"""The one data-root helper: every path the pipeline reads or writes goes through here.

The root is ``$EGOM2P_DATA`` (default ``./data``). Layout::

    <root>/raw/<dataset>/                        native layout, folder name = partition key
    <root>/inventory/<dataset>/inventory.parquet  raw_inventory
    <root>/interim/clips/<dataset>/<clip_id>/     clips (rectified, 30 FPS, metric units)
    <root>/interim/depth/<dataset>/<clip_id>/     depth_labels (GT metric depth, or relative inverse depth from an annotator)
    <root>/clips/<dataset>/<clip_id>/             normalized_clips = the canonical clip
    <root>/clips/<dataset>/index.parquet, quarantine.parquet
    <root>/tokenizers/<tokenizer_id>/             one tokenizer; tokenizers/current/<role>.json names the current ones
    <root>/tokens/<tokenizer_id>/<modality>/<dataset>/   token shards + manifest.parquet
    <root>/runs/<run_name>/                        a training run (config, metrics, checkpoints, weights)
    <root>/eval/                                   the evaluation report, results and plots
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

    @property
    def clips_root(self) -> Path:
        return self.root / "clips"

    def clips(self, dataset: str) -> Path:
        return self.clips_root / dataset

    def quarantine(self, dataset: str) -> Path:
        return self.clips(dataset) / "quarantine.parquet"

    @property
    def tokens_root(self) -> Path:
        return self.root / "tokens"

    def tokens(self, tokenizer_id: str, modality: str, dataset: str) -> Path:
        return self.tokens_root / tokenizer_id / modality / dataset

    @property
    def tokenizers_root(self) -> Path:
        return self.root / "tokenizers"

    def tokenizer(self, tokenizer_id: str) -> Path:
        return self.tokenizers_root / tokenizer_id

    def current_tokenizer(self, role: str) -> Path:
        """Pointer file naming the tokenizer the graph uses for ``role`` (video, gaze, camera, ...)."""
        return self.tokenizers_root / "current" / f"{role}.json"

    @property
    def runs_root(self) -> Path:
        return self.root / "runs"

    def run(self, name: str) -> Path:
        return self.runs_root / name

    @property
    def eval_dir(self) -> Path:
        return self.root / "eval"

    def raw_datasets(self) -> list[str]:
        """Folder names under the raw root (partition keys), sorted; hidden folders are ignored."""
        if not self.raw_root.is_dir():
            return []
        return sorted(p.name for p in self.raw_root.iterdir() if p.is_dir() and not p.name.startswith("."))
