"""Synthesize + curate a synthetic world for tokenizer training/benchmarks (used by bench_tokenizers.py)."""
from __future__ import annotations

import argparse
import time
from pathlib import Path


def curate(paths, ds: str, cfg) -> None:
    """The curation stages of one raw dataset folder, as pure functions (clips → depth → normalized)."""
    from egom2p.curation.clips import curate_clips
    from egom2p.curation.depth import label_depth
    from egom2p.curation.normalize import normalize_partition, upstream_quarantine
    curate_clips(paths.raw(ds), paths.interim_clips(ds), ds, cfg, progress=False)
    label_depth(paths.interim_clips(ds), paths.interim_depth(ds), ds, progress=False)
    q = upstream_quarantine(paths.interim_clips(ds), paths.interim_depth(ds))
    normalize_partition(paths.interim_clips(ds), paths.interim_depth(ds), paths.clips(ds), ds, cfg, q, progress=False)


def make_world(root: Path, sequences: int, seconds: float, seed: int,
               datasets=("egogen", "egoexo4d"), clip_resolution: int = 0) -> Path:
    """Render ``datasets`` into ``root/raw`` and curate them into ``root/clips`` (skips finished ones)."""
    from egom2p.curation.config import CurationConfig
    from egom2p.paths import DataPaths
    from egom2p.synth.layouts import LAYOUTS
    paths = DataPaths(Path(root).resolve())
    cfg = CurationConfig(preset="tiny", clip_resolution=clip_resolution)
    for ds in datasets:
        if (paths.clips(ds) / "index.parquet").exists():
            continue
        t = time.time()
        if not paths.raw(ds).exists():
            LAYOUTS[ds](paths.raw(ds), sequences=sequences, seconds=seconds, seed=seed, progress=False)
        curate(paths, ds, cfg)
        print(f"{ds}: {time.time() - t:.0f} s", flush=True)
    return paths.root


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--root", default="benchmarks/out/world")
    ap.add_argument("--sequences", type=int, default=10)
    ap.add_argument("--seconds", type=float, default=8.0)
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--datasets", default="egogen,egoexo4d", help="comma-separated layouts")
    a = ap.parse_args()
    make_world(Path(a.root), a.sequences, a.seconds, a.seed, datasets=tuple(a.datasets.split(",")))
