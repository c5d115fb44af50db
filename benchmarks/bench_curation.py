"""Curation time per clip against a bare ffmpeg decode + encode of the same frames.

    python benchmarks/bench_curation.py [--sequences 2] [--seconds 10]

For each synthetic layout: the ``clips`` stage (decode, rectify, resample all modalities, encode 60-frame
mp4s, write arrays) and the ``normalize`` stage, per clip; the baseline decodes the same source frames
(ffmpeg for mp4, OpenCV for JPEG folders), resizes them to the clip size and encodes the same 60-frame clips
with the same encoder settings — the unavoidable video work. Goal: curation / baseline ≤ 1.5.
"""
from __future__ import annotations

import argparse
import itertools
import sys
import tempfile
import time
from pathlib import Path

import cv2

sys.path.insert(0, str(Path(__file__).resolve().parent))
from results import ffmpeg_version, machine, write_section  # noqa: E402

from egom2p.curation.clips import curate_clips  # noqa: E402
from egom2p.curation.config import CurationConfig  # noqa: E402
from egom2p.curation.depth import label_depth  # noqa: E402
from egom2p.curation.normalize import normalize_partition  # noqa: E402
from egom2p.paths import DataPaths  # noqa: E402
from egom2p.synth.layouts import LAYOUTS  # noqa: E402
from egom2p.video import iter_frames, write_video  # noqa: E402


def source_frames(layout: str, raw: Path):
    """Every source frame sequence of a layout, as iterators of RGB frames (the baseline's decode)."""
    if layout == "egoexo4d":
        for mp4 in sorted(raw.glob("takes/*/frame_aligned_videos/aria01_214-1.mp4")):
            yield iter_frames(mp4)
    else:
        for seq in sorted(p for p in raw.iterdir() if (p / "rgb").is_dir()):
            files = sorted((seq / "rgb").glob("*.jpg"), key=lambda p: int(p.stem))
            yield (cv2.cvtColor(cv2.imread(str(f)), cv2.COLOR_BGR2RGB) for f in files)


def baseline(layout: str, raw: Path, out: Path, side: int) -> int:
    clips = 0
    for s, frames in enumerate(source_frames(layout, raw)):
        resized = (cv2.resize(f, (side, side), interpolation=cv2.INTER_AREA) for f in frames)
        while True:
            chunk = list(itertools.islice(resized, 60))
            if len(chunk) < 60:
                break
            write_video(out / f"{s}-{clips}.mp4", chunk)
            clips += 1
    return clips


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sequences", type=int, default=2)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--no-write", action="store_true", help="print only, leave RESULTS.md alone")
    args = ap.parse_args(argv)
    cfg = CurationConfig()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        paths = DataPaths(Path(tmp) / "data")
        for layout in ("egogen", "egoexo4d"):
            raw = paths.raw(layout)
            LAYOUTS[layout](raw, sequences=args.sequences, seconds=args.seconds, seed=11, progress=False)
            t = time.perf_counter()
            res = curate_clips(raw, paths.interim_clips(layout), layout, cfg, progress=False)
            t_clips = time.perf_counter() - t
            t = time.perf_counter()
            label_depth(paths.interim_clips(layout), paths.interim_depth(layout), layout, progress=False)
            normalize_partition(paths.interim_clips(layout), paths.interim_depth(layout), paths.clips(layout),
                                layout, cfg, progress=False)
            t_norm = time.perf_counter() - t
            base_dir = Path(tmp) / "baseline" / layout
            base_dir.mkdir(parents=True)
            t = time.perf_counter()
            n_base = baseline(layout, raw, base_dir, cfg.side)
            t_base = time.perf_counter() - t
            n = len(res.rows)
            assert n == n_base, (n, n_base)
            rows.append((layout, n, 1e3 * t_clips / n, 1e3 * t_norm / n, 1e3 * (t_clips + t_norm) / n,
                         1e3 * t_base / n))
    table = ["| layout | clips | clips stage ms/clip | depth+normalize ms/clip | curation total ms/clip | "
             "bare ffmpeg decode+encode ms/clip | ratio (total / bare) |", "|---|---|---|---|---|---|---|"]
    for layout, n, a, b, tot, base in rows:
        table.append(f"| {layout} | {n} | {a:.0f} | {b:.0f} | {tot:.0f} | {base:.0f} | **{tot / base:.2f}×** |")
    body = (f"Command: `python benchmarks/bench_curation.py --sequences {args.sequences} --seconds {args.seconds:g}`  \n"
            f"Machine: {machine()}; {ffmpeg_version()}; clip side {cfg.side}px, 60 frames, libx264 CRF 17 veryfast.\n\n"
            + "\n".join(table) + "\n\nGoal: ratio ≤ 1.5×. The baseline decodes the same source frames, resizes them "
            "and encodes the same 60-frame clips; curation adds rectification (remap), timeline resampling of "
            "every modality, array writes, normalization and checksums.")
    print(body)
    if not args.no_write:
        write_section("Curation time per clip vs bare ffmpeg", body)


if __name__ == "__main__":
    main()
