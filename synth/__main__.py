"""Command line: write synthetic datasets in their native layouts.

    python -m egom2p.synth --layout egogen --out data/raw/egogen --sequences 4 --seconds 10 --seed 0
    python -m egom2p.synth --layout all --out data/raw          # each layout into <out>/<name>/
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .layouts import LAYOUTS


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m egom2p.synth",
        description="Render the procedural egocentric world (exact depth, camera and gaze ground truth) "
                    "into the native on-disk layout of a dataset. Deterministic from --seed.")
    p.add_argument("--layout", required=True, choices=[*LAYOUTS, "all"],
                   help="dataset layout to write; 'all' writes every layout into <out>/<name>/")
    p.add_argument("--out", required=True, type=Path, help="output folder (created if missing)")
    p.add_argument("--sequences", type=int, default=2, help="number of sequences/takes per layout (default 2)")
    p.add_argument("--seconds", type=float, default=10.0, help="length of each sequence in seconds (default 10)")
    p.add_argument("--seed", type=int, default=0,
                   help="base seed; each layout and sequence draws its own stream from it (default 0)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.sequences < 1 or args.seconds <= 0:
        print("--sequences must be >= 1 and --seconds > 0", file=sys.stderr)
        return 2
    names = list(LAYOUTS) if args.layout == "all" else [args.layout]
    for name in names:
        out = args.out / name if args.layout == "all" else args.out
        ids = LAYOUTS[name](out, args.sequences, args.seconds, args.seed, progress=not args.quiet)
        print(f"{name}: wrote {len(ids)} sequence(s) to {out}: {', '.join(ids)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
