"""Tokenizer benchmark: train the tiny tokenizers on a synthetic world, measure held-out quality,
codebook usage and throughput, run the paper-size video tokenizer once on CPU → benchmarks/RESULTS.md.

    .venv/bin/python benchmarks/bench_tokenizers.py [--video-minutes 25 --camera-steps 1500 --gaze-steps 800]

Held-out = clips whose sequence split is val/test (splits are per sequence, so no leakage).
"""
from __future__ import annotations

import argparse
import json
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


def bench_video(train, held, minutes: float, log) -> dict:
    """The recipe of ``train_video_tokenizer.py`` (time-shift + flip augmentation, depth weighted 1/inverse depth,
    lr 2e-3, cosine over the time budget), shortened to ``minutes``; that script runs the long, resumable version."""
    from egom2p.presets import TINY
    from egom2p.tokenizers.training import TokenizerTrainConfig
    from egom2p.tokenizers.video.dataset import VideoBank
    from egom2p.tokenizers.video.model import VideoTokenizerConfig
    from egom2p.tokenizers.video.train import VideoLoss, evaluate_video, train_video_tokenizer
    cfg = VideoTokenizerConfig.from_spec(TINY.video)
    bank = VideoBank.from_clips(train, cfg.frames, cfg.fps, cfg.resolution)
    tcfg = TokenizerTrainConfig(steps=100_000 if minutes else 50, batch_size=4, lr=2e-3, warmup=200 if minutes else 5,
                                time_budget_s=minutes * 60, log_every=20, anneal_to_budget=True)
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
    ap.add_argument("--only", default="camera,gaze,video,paper")
    a = ap.parse_args(argv)
    root = make_world(Path(a.world), a.sequences, a.seconds, seed=11)
    train, held = split_folders(root)
    store = OUT / "tokenizer_results.json"
    results = json.loads(store.read_text()) if store.exists() else {}
    log = lambda s: print(s, flush=True)  # noqa: E731
    for what in a.only.split(","):
        log(f"== {what}")
        if what in ("camera", "gaze"):
            results[what] = bench_trajectory(what, held, getattr(a, f"{what}_steps"), log)
        elif what == "video":
            results[what] = bench_video(train, held, a.video_minutes, log)
        elif what == "paper":
            results[what] = bench_paper_video()
        log(json.dumps(results[what], indent=1))
        store.write_text(json.dumps(results, indent=1))
    cmd = "`.venv/bin/python benchmarks/bench_tokenizers.py " + " ".join(argv or sys.argv[1:]) + "`"
    body = [f"Command: {cmd}", f"Machine: {machine()} (shared with other jobs; CPU contended)",
            f"World: egogen + egoexo4d, {a.sequences} sequences × {a.seconds:g} s each, seed 11; "
            f"{len(train)} train clips, {len(held)} held-out clips (val/test sequences).", ""]
    for k, v in results.items():
        body.append(f"- **{k}**: {fmt(v)}")
    write_section("Tokenizers (tiny, synthetic world)", "\n".join(body))
    return 0


if __name__ == "__main__":
    sys.exit(main())
