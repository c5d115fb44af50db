"""Tokenizer benchmark: train the tiny tokenizers on a synthetic world, measure held-out quality,
codebook usage and throughput, run the paper-size video tokenizer once on CPU → benchmarks/RESULTS.md.

    .venv/bin/python benchmarks/bench_tokenizers.py [--video-minutes 25 --camera-steps 1500 --gaze-steps 800]
        [--video-steps N] [--tag TEXT] [--section TITLE]

``--video-steps`` trains the video tokenizer a fixed number of steps instead of a time budget (comparable
across code versions on a contended CPU); ``--tag`` stores this run's results under ``<what> (<tag>)`` beside
earlier ones (e.g. the same command on the code before a change); ``--section`` picks the RESULTS.md section.

Held-out = clips whose sequence split is val/test (splits are per sequence, so no leakage).
"""
from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_world import make_world  # noqa: E402
from results import machine, write_section  # noqa: E402

OUT = Path(__file__).resolve().parent / "out"


def split_folders(root: Path, datasets=("egogen", "egoexo4d")) -> tuple[list[Path], list[Path]]:
    from egom2p.catalog import read_index
    rows = [(ds, r) for ds in datasets if (root / "clips" / ds / "index.parquet").exists()
            for r in read_index(root / "clips" / ds)]
    train = [root / "clips" / ds / r["clip_id"] for ds, r in rows if r["split"] == "train"]
    held = [root / "clips" / ds / r["clip_id"] for ds, r in rows if r["split"] != "train"]
    return train, held


def bench_trajectory(modality: str, held, steps: int, log) -> dict:
    """Gaze/camera: trained on 4,000 motion-sampled clips (the recipe of ``bench_trajectory.py``, which
    also reports held-out sampled numbers), evaluated on the held-out curated clips."""
    from bench_trajectory import Recipe, run, sampled_clips
    from egom2p.tokenizers.trajectory.train import load_arrays
    train = dict(zip(("camera", "gaze"), sampled_clips(4000, 0, ("room",))))[modality]
    res = run(modality, Recipe(steps), train, {"held-out curated": load_arrays(held, modality)}, log)
    return {"tokenizer_id": res["tokenizer_id"], "train_s": res["train_wall_s"], "train_cpu_s": res["train_cpu_s"],
            "steps": res["steps"], "final_mse": res["final_mse"], "train_clips": f"{len(train)} motion-sampled",
            **res["eval"]["held-out curated"]}


def bench_video(train, held, minutes: float, log, steps: int = 0, seed: int = 0) -> dict:
    """The recipe of ``train_video_tokenizer.py`` (time-shift + flip augmentation, depth weighted 1/inverse depth,
    lr 2e-3, cosine over the time budget), shortened to ``minutes`` (or ``steps`` steps, cosine over the steps);
    that script runs the long, resumable version."""
    from egom2p.presets import TINY
    from egom2p.tokenizers.training import TokenizerTrainConfig
    from egom2p.tokenizers.video.dataset import VideoBank
    from egom2p.tokenizers.video.model import VideoTokenizerConfig
    from egom2p.tokenizers.video.train import VideoLoss, evaluate_video, train_video_tokenizer
    cfg = VideoTokenizerConfig.from_spec(TINY.video)
    bank = VideoBank.from_clips(train, cfg.frames, cfg.fps, cfg.resolution)
    if steps:
        tcfg = TokenizerTrainConfig(steps=steps, batch_size=4, lr=2e-3, warmup=min(200, steps // 10), log_every=20,
                                    seed=seed)
    else:
        tcfg = TokenizerTrainConfig(steps=100_000 if minutes else 50, batch_size=4, lr=2e-3,
                                    warmup=200 if minutes else 5, time_budget_s=minutes * 60, log_every=20,
                                    anneal_to_budget=True, seed=seed)
    t = time.time()
    tok, hist = train_video_tokenizer(bank, cfg, tcfg, log, loss=VideoLoss(depth_relative=True))
    secs = time.time() - t
    res = evaluate_video(tok, held)
    tid = tok.save(OUT / "tokenizers" / tok.tokenizer_id, metrics=res)
    return {"tokenizer_id": tid, "train_s": secs, "steps": hist[-1]["step"] + 1, "final_loss": hist[-1]["loss"],
            "train_videos": len(bank), **res}


def bench_paper_video() -> dict:
    """Paper DV4x8x8 config (random weights): shapes + one CPU encode/decode of (1,3,17,256,256)."""
    from egom2p.presets import PAPER
    from egom2p.tokenizers.video.model import VideoTokenizer, VideoTokenizerConfig
    cfg = VideoTokenizerConfig.from_spec(PAPER.video)
    torch.manual_seed(0)
    model = VideoTokenizer(cfg).eval()
    x = torch.rand(1, 3, 17, 256, 256) * 2 - 1
    with torch.no_grad():
        t = time.time()
        idx, _ = model.encode(x)
        enc = time.time() - t
        t = time.time()
        y = model.decode(idx)
        dec = time.time() - t
    return {"indices_shape": list(idx.shape), "index_min": int(idx.min()), "index_max": int(idx.max()),
            "recon_shape": list(y.shape), "encode_s": enc, "decode_s": dec,
            "params_M": sum(p.numel() for p in model.parameters()) / 1e6}


def video_table(results: dict) -> list[str]:
    """One row per stored video run (held-out quality, codebook use, speed), when there are several."""
    runs = {k: v for k, v in results.items() if k.startswith("video") and "rgb_psnr_db" in v}
    if len(runs) < 2:
        return []
    pct = lambda v: f"{100 * v:.1f} %" if v is not None else "—"  # noqa: E731
    rows = ["| run | steps | train s | RGB PSNR dB | depth AbsRel | metric-depth AbsRel | FSQ perplexity / codes used "
            "| rgb clips/s |", "|---|---|---|---|---|---|---|---|"]
    rows += [f"| {k} | {v['steps']} | {v['train_s']:.0f} | {v['rgb_psnr_db']:.2f} | {pct(v.get('depth_absrel'))} | "
             f"{pct(v.get('depth_absrel_metric'))} | {v['fsq_perplexity']:.0f} / {v['fsq_codes_used']} | "
             f"{v['rgb_clips_per_s']:.0f} |" for k, v in runs.items()]
    return rows + [""]


def fmt(d: dict) -> str:
    return ", ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}" for k, v in d.items())


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--world", default=str(OUT / "world"))
    ap.add_argument("--sequences", type=int, default=10)
    ap.add_argument("--seconds", type=float, default=8.0)
    ap.add_argument("--video-minutes", type=float, default=25.0)
    ap.add_argument("--camera-steps", type=int, default=1500)
    ap.add_argument("--gaze-steps", type=int, default=800)
    ap.add_argument("--video-steps", type=int, default=0, help="fixed training steps (0: --video-minutes)")
    ap.add_argument("--video-seed", type=int, default=0, help="video tokenizer init/sampling seed")
    ap.add_argument("--only", default="camera,gaze,video,paper")
    ap.add_argument("--tag", default="", help="store results as '<what> (<tag>)' beside earlier runs")
    ap.add_argument("--section", default="Tokenizers (tiny, synthetic world)", help="RESULTS.md section title")
    ap.add_argument("--results", default="tokenizer_results.json", help="results file under benchmarks/out")
    ap.add_argument("--note", default="", help="text appended to the section")
    a = ap.parse_args(argv)
    root = make_world(Path(a.world), a.sequences, a.seconds, seed=11)
    train, held = split_folders(root)
    store = OUT / a.results
    results = json.loads(store.read_text()) if store.exists() else {}
    log = lambda s: print(s, flush=True)  # noqa: E731
    for what in filter(None, a.only.split(",")):  # --only '' rewrites the section from stored results
        key = f"{what} ({a.tag})" if a.tag else what
        log(f"== {key}")
        if what in ("camera", "gaze"):
            results[key] = bench_trajectory(what, held, getattr(a, f"{what}_steps"), log)
        elif what == "video":
            results[key] = bench_video(train, held, a.video_minutes, log, a.video_steps, a.video_seed)
        elif what == "paper":
            results[key] = bench_paper_video()
        log(json.dumps(results[key], indent=1))
        store.write_text(json.dumps(results, indent=1))
    args = list(argv or sys.argv[1:])
    if "--note" in args:  # the note is printed below the numbers, not in the command
        del args[args.index("--note"):args.index("--note") + 2]
    cmd = "`.venv/bin/python benchmarks/bench_tokenizers.py " + shlex.join(args) + "`"
    body = [f"Command: {cmd}", f"Machine: {machine()} (shared with other jobs; CPU contended)",
            f"World: egogen + egoexo4d, {a.sequences} sequences × {a.seconds:g} s each, seed 11; "
            f"{len(train)} train clips, {len(held)} held-out clips (val/test sequences).", ""]
    body += video_table(results)
    for k, v in results.items():
        body.append(f"- **{k}**: {fmt(v)}")
    write_section(a.section, "\n".join(body + ["", a.note] if a.note else body))
    return 0


if __name__ == "__main__":
    sys.exit(main())
