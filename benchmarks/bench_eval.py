"""Evaluation benchmark: tokenize the benchmark world, pretrain the tiny multitask EgoM2P for a time budget,
train the four task-specific models on the same token budget, evaluate everything on held-out clips.

    .venv/bin/python benchmarks/bench_eval.py --tokens 1400000 [--budget-s S] \
        [--video-checkpoint benchmarks/out/video_run/checkpoint.pt] [--gaze DIR] [--camera DIR]

World: ``benchmarks/out/world`` (``make_world.py``: egogen + egoexo4d, 10 sequences × 8 s each).
Tokenizers: the long-trained ones from the tokenizer benchmarks (video from the resumable run's checkpoint,
gaze/camera folders from ``bench_trajectory.py``). Writes the report to ``benchmarks/out/eval_world/eval``
and a section of ``benchmarks/RESULTS.md``.
"""
from __future__ import annotations

import argparse
import dataclasses
import shutil
import sys
import time
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from results import machine, write_section  # noqa: E402

OUT = HERE / "out"


def video_from_checkpoint(path: Path):
    from egom2p.tokenizers.api import VideoClipTokenizer
    from egom2p.tokenizers.artifacts import tokenizer_id
    from egom2p.tokenizers.video.model import VideoTokenizer, VideoTokenizerConfig
    import json
    ck = torch.load(path, weights_only=True, map_location="cpu")
    cfg = VideoTokenizerConfig.from_dict(json.loads((path.parent / "recipe.json").read_text())["model"])
    model = VideoTokenizer(cfg)
    model.load_state_dict(ck["model"])
    return VideoClipTokenizer(model.eval(), cfg, tokenizer_id("video", {"config": cfg.to_dict(), "extra": {}},
                                                              model.state_dict()))


def add_reference_adt(paths) -> list[str]:
    """Link + curate the real ADT sample (``../shared/reference/adt``) into the world as the evaluation-only
    ``adt`` dataset; [] when absent or projectaria-tools is missing."""
    import importlib.util
    from egom2p.curation.config import CurationConfig
    from egom2p.pipelines.demo import default_reference, link_reference_adt
    from make_world import curate
    if importlib.util.find_spec("projectaria_tools") is None:
        return []
    linked = link_reference_adt(paths, default_reference())
    if linked and not (paths.clips("adt") / "index.parquet").exists():
        curate(paths, "adt", CurationConfig(preset="tiny").for_dataset("adt"))
    return linked


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--budget-s", type=float, default=0.0, help="pretraining wall-clock cap (0 = none)")
    ap.add_argument("--tokens", type=int, default=1_400_000,
                    help="pretraining length in tokens (the cosine schedule ends there; each task model gets the same)")
    ap.add_argument("--video-checkpoint", default=str(OUT / "video_run" / "checkpoint.pt"))
    ap.add_argument("--gaze", default=str(OUT / "tokenizers" / "trajectory-4e8722715262"))
    ap.add_argument("--camera", default=str(OUT / "tokenizers" / "trajectory-e7e347db7a7a"))
    ap.add_argument("--max-clips", type=int, default=8, help="held-out clips per dataset")
    ap.add_argument("--eval-only", action="store_true", help="reuse the trained runs, evaluate again")
    ap.add_argument("--no-reference", action="store_true", help="leave out the real ADT sample")
    a = ap.parse_args()
    torch.set_num_threads(2)
    from egom2p.model.parallel_runs import run_many
    from egom2p.model.reporting import read_metrics
    from egom2p.model.train import run
    from egom2p.model.train_config import TrainConfig
    from egom2p.paths import DataPaths
    from egom2p.presets import TINY
    from egom2p.tasks.registry import TASKS
    from egom2p.tasks.run import run_evaluation
    from egom2p.tokenizers import store
    from egom2p.tokenizers.api import load_tokenizer
    from egom2p.tokenizers.tokenize import tokenize_dataset
    root = OUT / "eval_world"
    paths = DataPaths(root)
    if not (root / "clips").exists():
        root.mkdir(parents=True, exist_ok=True)
        shutil.copytree(OUT / "world" / "clips", root / "clips")
    adt = [] if a.no_reference else add_reference_adt(paths)
    t0 = time.time()
    video = video_from_checkpoint(Path(a.video_checkpoint))
    toks = {"rgb": video, "depth": video}
    store.save_current(paths, "video", video)
    for role, folder in (("gaze", a.gaze), ("camera", a.camera)):
        tok = load_tokenizer(folder)
        store.save_current(paths, role, tok, source=folder)
        toks[role] = tok
    datasets = sorted(p.name for p in (root / "clips").iterdir() if (p / "index.parquet").exists())
    for ds in datasets:
        tokenize_dataset(paths, ds, toks, TINY)
    tok_s = time.time() - t0
    base = TrainConfig(out_dir=str(root / "runs" / "bench"), data_root=str(root), tokens=a.tokens, batch_size=8,
                       lr=1e-3, warmup_tokens=200_000, workers=1, log_every=10, ckpt_every=200, resume=False,
                       tensorboard=False)
    if not a.eval_only:
        run(base, a.budget_s)
    rows = read_metrics(base.out_dir)
    tokens, steps, train_s = rows[-1]["tokens"], rows[-1]["step"], rows[-1]["seconds"]
    cfgs = {name: dataclasses.replace(base, task=task.spec, tokens=int(tokens), out_dir=str(root / "runs" / f"bench-{name}"),
                                      warmup_tokens=min(base.warmup_tokens, int(tokens) // 10))
            for name, task in TASKS.items()}
    if not a.eval_only:
        run_many(list(cfgs.values()), parallel=2)
    specialists = {name: cfg.out_dir for name, cfg in cfgs.items()}
    res = run_evaluation(root, base.out_dir, specialists, max_per_dataset=a.max_clips)
    cmd = f"--tokens {a.tokens}" + (f" --budget-s {a.budget_s:.0f}" if a.budget_s else "")
    body = [f"Command: `.venv/bin/python benchmarks/bench_eval.py {cmd}` — machine: {machine()} "
            "(shared with other jobs while it ran)."
            + (" Evaluation re-run on those trained runs with `--eval-only`." if a.eval_only else ""), "",
            f"World `benchmarks/out/world` (egogen + egoexo4d, 10 sequences × 8 s). Tokenizers: video from "
            f"`{a.video_checkpoint}`, gaze `{a.gaze}`, camera `{a.camera}`. Tokenization {tok_s:.0f} s.",
            f"Multitask tiny EgoM2P: {steps} steps, {tokens / 1e6:.2f} M tokens in {train_s:.0f} s "
            f"({tokens / train_s:.0f} tokens/s), final loss {rows[-1]['loss']:.3f}; each task-specific model: "
            "the same tokens (its own warm-up + cosine schedule of the same length).",
            f"Real ADT sample ({', '.join(adt)}): linked from the reference folder, 3 real frames padded to one clip, "
            "never trained on, scored on its real frames (reported, not targeted)." if adt else "", "",
            res["report"].split("\n", 1)[1].replace("\n## ", "\n### ")]
    write_section("Evaluation (tiny, held-out synthetic clips)", "\n".join(body))
    print(res["report"])


if __name__ == "__main__":
    main()
