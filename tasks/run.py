"""One evaluation run: load the models and tokenizers, evaluate every method, write ``data/eval/``.

Writes ``report.md`` (tables + speed), ``results.parquet`` (one row per task × method × clip) and one PNG
per task; returns a summary for Dagster metadata and the demo.
"""
from __future__ import annotations

import itertools
from pathlib import Path
from typing import Callable

import pyarrow as pa

from egom2p import io
from egom2p import modalities as M
from egom2p.catalog import iter_clips
from egom2p.paths import DataPaths

from . import baselines
from .evaluate import EvalClip, ModelMethod, OracleMethod, TrivialMethod, VOMethod, evaluate, held_out_clips
from .registry import TASKS
from .report import aggregate, markdown, plot_examples, ratio_vs_trivial, targeted


def load_tokenizers(paths: DataPaths, preset) -> tuple[dict, dict[str, str]]:
    """modality → current clip tokenizer, modality → tokenizer id."""
    from egom2p.tokenizers import store
    return store.load_current_all(paths, preset), store.current_ids(paths)


def mean_train_inverse_depth(paths: DataPaths, limit: int = 16) -> float:
    """Mean normalized inverse depth over (up to ``limit``) training clips: the mean-depth baseline."""
    depth = M.one(value="inverse_depth")
    refs = itertools.islice(iter_clips(paths, split="train", has=depth.name), limit)
    depths = [depth.read(ref.folder) for ref in refs]
    return baselines.fit_mean_depth(depths)[0] if depths else 0.5


def speed(agg: dict) -> dict[str, float]:
    """s/clip for all four tasks: the multitask model vs the sum of the specialists (task models + VO)."""
    multi = sum(v["seconds"] for k, v in agg.items() if k[1] == "EgoM2P")
    special = sum(v["seconds"] for k, v in agg.items() if k[1] in ("task-specific", "OpenCV VO"))
    return {"multitask_s_per_clip": multi, "specialists_s_per_clip": special,
            "specialists_over_multitask": special / multi if multi else float("nan")}


def run_evaluation(root: str | Path, model_dir: str | Path, task_model_dirs: dict[str, str | Path] | None = None,
                   out_dir: str | Path | None = None, max_per_dataset: int = 0, batch_size: int = 4,
                   log: Callable[[str], None] = print) -> dict:
    from egom2p.model.checkpoint import load_model
    from egom2p.presets import get_preset
    paths = DataPaths(Path(root))
    out = Path(out_dir or paths.eval_dir)
    model, config = load_model(model_dir)
    preset = get_preset(config["preset"])
    tokenizers, ids = load_tokenizers(paths, preset)
    clips: list[EvalClip] = held_out_clips(paths.root, model.cfg, ids, max_per_dataset=max_per_dataset)
    if not clips:
        raise FileNotFoundError(f"no held-out (val/test) clips with token shards under {paths.root}")
    video_cfg = tokenizers[M.one(source="video").name].cfg
    methods = [ModelMethod("EgoM2P", {t: model for t in TASKS}, tokenizers, multitask=True)]
    if task_model_dirs:
        methods.append(ModelMethod("task-specific", {t: load_model(d)[0] for t, d in task_model_dirs.items()},
                                   tokenizers, multitask=False))
    methods += [TrivialMethod(video_cfg, mean_train_inverse_depth(paths)), VOMethod(), OracleMethod(model.cfg, tokenizers)]
    log(f"evaluating {len(clips)} held-out clips of {sorted({c.dataset for c in clips})} with "
        f"{[m.name for m in methods]}")
    rows, examples = evaluate(clips, methods, video_cfg, batch_size, log)
    agg, target = aggregate(rows), aggregate(targeted(rows))
    sp = speed(agg)
    text = markdown(rows, "EgoM2P evaluation (held-out clips)")
    text += (f"\nSpeed, all four tasks on one clip: EgoM2P {sp['multitask_s_per_clip']:.2f} s vs specialists "
             f"(task-specific models + OpenCV VO) {sp['specialists_s_per_clip']:.2f} s → "
             f"{sp['specialists_over_multitask']:.2f}×.\n")
    plots = plot_examples(examples, out)
    io.write_bytes(out / "report.md", text.encode())
    cols = sorted({k for r in rows for k in r})
    io.write_parquet(out / "results.parquet", pa.Table.from_pylist([{c: r.get(c) for c in cols} for r in rows]))
    return {"report_path": str(out / "report.md"), "clips": len(clips), "rows": len(rows), "report": text,
            "plots": [str(p) for p in plots], **sp,
            "vs_trivial": {m: ratio_vs_trivial(target, m) for m in ("EgoM2P", "task-specific")},
            "main": {f"{t}/{m}": v[TASKS[t].main_metric] for (t, m), v in agg.items()}}


__all__ = ["run_evaluation", "load_tokenizers", "speed"]
