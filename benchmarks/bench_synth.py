"""Render speed of the synthetic world on one CPU core: frames/s at 64² and 256², pinhole and fisheye.

    .venv/bin/python benchmarks/bench_synth.py [--frames 30] [--no-write]

Renders frames along real sequence motions (room and tabletop worlds, 3 seeds each) and prints a
markdown table; unless ``--no-write``, replaces the ``## Synthetic world render speed`` section of
``benchmarks/RESULTS.md`` (appended when missing) via ``benchmarks/results.py``. BLAS/OpenMP threads
are pinned to 1 before numpy loads, and the process to one core where the OS allows it.
"""
from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from results import machine, write_section  # noqa: E402

from egom2p.cameras import square_pinhole  # noqa: E402
from egom2p.synth import aria_mps  # noqa: E402
from egom2p.synth.motion import make_motion  # noqa: E402
from egom2p.synth.render import fisheye_rays, pinhole_rays, render  # noqa: E402
from egom2p.synth.world import make_world  # noqa: E402

TITLE = "Synthetic world render speed"


def bench(kind: str, lens: str, side: int, frames: int) -> float:
    """Frames per second rendering ``frames`` frames per seed along the motion of 3 worlds."""
    rays = pinhole_rays(square_pinhole(side, 80.0)) if lens == "pinhole" else \
        fisheye_rays(aria_mps.rgb_calibration(side))
    total, n = 0.0, 0
    for seed in range(3):
        world = make_world(kind, np.random.default_rng(seed))
        traj = make_motion(world, frames / 30.0, np.random.default_rng(seed)).sample(np.arange(frames) / 30.0)
        render(world, traj.c2w[0], rays, 0.0)  # warm-up
        for t, c2w in zip(traj.times, traj.c2w):
            c2w = aria_mps.raw_rgb_poses(c2w) if lens == "fisheye" else c2w
            t0 = time.perf_counter()
            render(world, c2w, rays, float(t))
            total += time.perf_counter() - t0
            n += 1
    return n / total


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=30, help="frames per world and seed (default 30)")
    ap.add_argument("--no-write", action="store_true", help="print only; leave RESULTS.md alone")
    args = ap.parse_args(argv)
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    rows = ["| world | lens | 64² frames/s | 256² frames/s |", "|---|---|---|---|"]
    for kind in ("room", "tabletop"):
        for lens in ("pinhole", "fisheye"):
            fps = [bench(kind, lens, side, args.frames if side == 64 else max(5, args.frames // 3))
                   for side in (64, 256)]
            rows.append(f"| {kind} | {lens} | {fps[0]:.1f} | {fps[1]:.1f} |")
            print(rows[-1], flush=True)
    body = "\n".join([
        f"Command: `.venv/bin/python benchmarks/bench_synth.py --frames {args.frames}` "
        f"(one core, BLAS threads 1; renders along sequence motions, 3 worlds per row, "
        f"{args.frames} frames per world at 64², {max(5, args.frames // 3)} at 256²).",
        f"Machine: {machine()} (`nproc` = {os.cpu_count()}), numpy {np.__version__}, {time.strftime('%Y-%m-%d')}. "
        "Pinhole: 80° square; fisheye: Aria RGB FISHEYE624 (ADT factory lens) scaled to the size. "
        "Targets: ≥ 30 frames/s at 64², ≥ 5 at 256².",
        "", *rows])
    print(f"\n## {TITLE}\n\n{body}")
    if not args.no_write:
        write_section(TITLE, body)
        print("updated benchmarks/RESULTS.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
