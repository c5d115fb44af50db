"""Trajectory tokenizers (camera, gaze) trained on motion-sampled clips → benchmarks/RESULTS.md.

    .venv/bin/python benchmarks/bench_trajectory.py [--train-clips 4000 --camera-steps 2000 --gaze-steps 800]

Training clips come straight from the synthetic motion model (``egom2p.synth.trajectories``: the arrays a
curated clip would hold, no rendering), seed 0. Evaluation, never trained on:
- *held-out curated*: the val/test clips of the benchmark world (``make_world.py``: egogen + egoexo4d,
  rendered and curated; split per sequence);
- *held-out sampled*: ``--held-clips`` motion-sampled clips of another seed.
Training length is in steps (not wall time: the CPU is shared); CPU seconds of the process are reported.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_tokenizers import OUT, split_folders  # noqa: E402
from make_world import make_world  # noqa: E402
from results import machine, write_section  # noqa: E402

TARGETS = {"camera_ate_m": ("camera ATE", 0.01, "m"), "camera_rot_deg": ("camera rotation", 0.5, "°"),
           "gaze_error_frac_width": ("gaze error (width)", 0.01, "")}


@dataclass(frozen=True)
class Recipe:
    """Training of one trajectory tokenizer on motion-sampled clips (batch, AdamW lr, steps)."""
    steps: int
    batch_size: int = 64
    lr: float = 2e-3
    warmup: int = 50
    compand_m: float = 0.0  # camera translation companding scale (m); 0 = linear features (the paper)


def sampled_clips(n: int, seed: int, kinds: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
    """``sample_trajectories(n, seed)``, cached under out/trajectory_samples/ (camera, gaze)."""
    from egom2p.synth.trajectories import SamplerConfig, sample_trajectories
    f = OUT / "trajectory_samples" / f"{'-'.join(kinds)}_seed{seed}_n{n}.npz"
    if not f.exists():
        f.parent.mkdir(parents=True, exist_ok=True)
        cam, gaze = sample_trajectories(n, seed, SamplerConfig(kinds=kinds))
        np.savez(f, camera=cam, gaze=gaze)
    d = np.load(f)
    return d["camera"], d["gaze"]


def train_modality(modality: str, arrays: np.ndarray, recipe: Recipe, log) -> tuple[object, dict]:
    """Train the tiny-preset tokenizer of ``modality`` (no augmentation: the data is plentiful)."""
    from egom2p.presets import TINY
    from egom2p.tokenizers.trajectory.codecs import feature_dims
    from egom2p.tokenizers.trajectory.model import TrajectoryConfig
    from egom2p.tokenizers.trajectory.train import train_trajectory_tokenizer
    from egom2p.tokenizers.training import TokenizerTrainConfig
    cfg = dataclasses.replace(TrajectoryConfig.from_spec(TINY.trajectory, modality, feature_dims(modality)),
                              compand_m=recipe.compand_m if modality == "camera" else 0.0)
    tcfg = TokenizerTrainConfig(steps=recipe.steps, batch_size=recipe.batch_size, lr=recipe.lr, warmup=recipe.warmup,
                                log_every=max(1, recipe.steps // 20))
    wall, cpu = time.time(), time.process_time()
    tok, hist = train_trajectory_tokenizer(list(arrays), cfg, tcfg, log, augment=False)
    return tok, {"steps": hist[-1]["step"] + 1, "batch": recipe.batch_size, "lr": recipe.lr,
                 "train_wall_s": time.time() - wall, "train_cpu_s": time.process_time() - cpu,
                 "final_mse": hist[-1]["mse"], "curve": [(h["step"], round(h["mse"], 5)) for h in hist]}


def run(modality: str, recipe: Recipe, train: np.ndarray, evals: dict[str, list[np.ndarray]], log) -> dict:
    """Train, evaluate on every set in ``evals`` (name → clip arrays), save the weights under out/."""
    from egom2p.tokenizers.trajectory.train import evaluate_trajectory
    tok, res = train_modality(modality, train, recipe, log)
    res["eval"] = {name: evaluate_trajectory(tok, arrays) for name, arrays in evals.items() if arrays}
    res["tokenizer_id"] = tok.save(OUT / "tokenizers" / tok.tokenizer_id, metrics=res["eval"])
    return res


def _cell(metrics: dict, key: str) -> str:
    v = metrics.get(key)
    if v is None:
        return "—"
    if key == "camera_rot_deg":
        return f"{v:.2f}°"
    return f"{100 * v:.2f} cm" if key == "camera_ate_m" else f"{100 * v:.2f} %"


def report(results: dict, cmd: str, info: str) -> str:
    """The RESULTS.md section: command, machine, data, a numbers-vs-targets table, codebook and speed."""
    sets = sorted(dict.fromkeys(s for r in results.values() for s in r["eval"]),  # curated, sampled…, train
                  key=lambda s: (not s.startswith("held-out curated"), s.startswith("train"), s))
    runs = [f"- {m}: `{r.get('command', cmd)}`" + (f" ({r['train_clips']} training clips, {r['threads']} torch "
                                                      f"thread{'s' if r['threads'] > 1 else ''})"
                                                      if "train_clips" in r else "")
            for m, r in results.items()]
    lines = ["Commands (each tokenizer keeps the numbers of its own latest run):", *runs,
             f"Machine: {machine()} (shared with other jobs at times, so CPU seconds are given next to wall time)",
             info,
             "Metrics (`tokenizers/trajectory/features.py`): camera ATE = RMSE over all frames of the position error "
             "of the clip's poses relative to its first frame (metres, no alignment); rotation = mean geodesic angle "
             "between reconstructed and true rotations; gaze = mean Euclidean error over valid samples in fractions "
             "of the image width.", "",
             "| metric | target | " + " | ".join(sets) + " | met (held-out) |", "|---|---|" + "---|" * (len(sets) + 1)]
    for key, (name, target, unit) in TARGETS.items():
        ev = results.get(key.split("_")[0], {}).get("eval", {})
        if not ev:
            continue
        tgt = _cell({key: target}, key)
        held = [ev[s][key] for s in sets if s.startswith("held-out") and s in ev and key in ev[s]]
        met = "yes" if held and max(held) <= target else "**no**"
        lines.append(f"| {name} | ≤ {tgt} | " + " | ".join(_cell(ev.get(s, {}), key) for s in sets) + f" | {met} |")
    lines += ["", "| tokenizer | steps × batch | train CPU s (wall s) | final train MSE | perplexity / codes used "
              "(first held-out sampled set) | dead codes | tokenize clips/s |", "|---|---|---|---|---|---|---|"]
    for m, r in results.items():
        ev = next((v for k, v in r["eval"].items() if k.startswith("held-out sampled")), next(iter(r["eval"].values())))
        lines.append(f"| {m} `{r['tokenizer_id']}` | {r['steps']} × {r['batch']} | {r['train_cpu_s']:.0f} "
                     f"({r['train_wall_s']:.0f}) | {r['final_mse']:.4g} | {ev['vq_perplexity']:.0f} / "
                     f"{ev['vq_codes_used']} of {ev['vq_codebook_size']} | {ev['vq_dead_codes']} | "
                     f"{ev[f'{m}_clips_per_s']:.0f} |")
    for m, r in results.items():
        lines.append(f"\n{m} training curve (step, masked MSE of normalized features): {r['curve']}")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--world", default=str(OUT / "world"), help="benchmark world (built by make_world.py if absent)")
    ap.add_argument("--train-clips", type=int, default=4000)
    ap.add_argument("--held-clips", type=int, default=512)
    ap.add_argument("--kinds", default="room", help="world kinds to sample, comma-separated (room,tabletop)")
    ap.add_argument("--camera-steps", type=int, default=2000)
    ap.add_argument("--gaze-steps", type=int, default=800)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--only", default="camera,gaze")
    ap.add_argument("--compand", type=float, default=0.0,
                    help="camera: translation companding scale in metres (0 = linear features, the paper)")
    ap.add_argument("--threads", type=int, default=1, help="torch threads (the CPU is shared)")
    ap.add_argument("--report", action="store_true", help="rewrite the RESULTS.md section from the stored results")
    a = ap.parse_args(argv)
    torch.set_num_threads(a.threads)
    from egom2p.tokenizers.trajectory.train import load_arrays
    log = lambda s: print(s, flush=True)  # noqa: E731
    kinds = tuple(a.kinds.split(","))
    store = OUT / "trajectory_results.json"
    results = json.loads(store.read_text()) if store.exists() else {}
    cmd = ".venv/bin/python benchmarks/bench_trajectory.py " + " ".join(argv if argv is not None else sys.argv[1:])
    only = [] if a.report else a.only.split(",")
    if only:
        _, held_folders = split_folders(make_world(Path(a.world), 10, 8.0, seed=11))
        train = dict(zip(("camera", "gaze"), sampled_clips(a.train_clips, 0, kinds)))
        # one held-out sampled set per world kind: a mixed set would hide a kind the tokenizer fails on
        held = {k: dict(zip(("camera", "gaze"), sampled_clips(a.held_clips, 1, (k,)))) for k in kinds}
    for m in only:
        log(f"== {m}")
        steps = getattr(a, f"{m}_steps")
        evals = {"held-out curated": load_arrays(held_folders, m),
                 **{"held-out sampled" + (f" {k}" if len(kinds) > 1 else ""): list(held[k][m]) for k in kinds},
                 "train sampled": list(train[m][:a.held_clips])}
        results[m] = {**run(m, Recipe(steps, a.batch, a.lr, compand_m=a.compand), train[m], evals, log), "command": cmd.strip(),
                      "train_clips": a.train_clips, "threads": a.threads, "kinds": a.kinds}
        log(json.dumps(results[m]["eval"], indent=1))
        store.write_text(json.dumps(results, indent=1))
    curated = {m: results[m]["eval"].get("held-out curated", {}).get("clips", 0) for m in results}
    info = (f"Training: motion-sampled clips (seed 0) of the world kinds in each command (default room), tiny preset "
            f"(dim 128, depth 2, heads 4), AdamW, warm-up 50 + cosine, batch {a.batch}, lr {a.lr:g}, no augmentation. "
            f"Held-out curated: val/test clips of the benchmark world (egogen + egoexo4d, 10 sequences × 8 s, "
            f"seed 11): {curated}. Held-out sampled: {a.held_clips} clips per world kind, seed 1.")
    write_section("Trajectory tokenizers (tiny, motion-sampled training)", report(results, cmd.strip(), info))
    return 0


if __name__ == "__main__":
    sys.exit(main())
