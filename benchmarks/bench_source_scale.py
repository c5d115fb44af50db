"""Curation at the real Ego-Exo4D source size (1408² fisheye, ``paper`` preset: 512² clips), per clip.

    .venv/bin/python benchmarks/bench_source_scale.py [--seconds 20] [--long-minutes 10] [--no-write]
        [--old-tree DIR]   # DIR: an older commit's files, e.g. mkdir DIR && git archive dd36f3e | tar -x -C DIR

Sources (built in a temporary folder, both under a folder named ``egoexo4d`` so the reader resolves):

* short take: ``LAYOUTS["egoexo4d"](raw, sequences=1, seconds=--seconds, seed=0)`` (its mp4 is 256²), the
  mp4 re-encoded at 1408² (ffmpeg bicubic upscale, libx264 veryfast CRF 18, yuv420p, same frame count).
  The reader scales the 2880² calibration to the probed width (checked below: the opened sequence's
  ``source_camera`` is 1408 wide with the focal length x 1408/2880).
* long take (``--long-minutes``): timesync, trajectory (1 kHz), online calibration and gaze files of a
  take that long, written by the layout's own writers (``plan_take`` / ``write_take`` with the video
  rendering skipped: ``write_video`` is patched out so the render generator never runs); its video is
  the short 1408² mp4 concatenated with itself by stream copy (ffmpeg concat demuxer, no re-encode) to
  exactly the take's frame count. The pictures repeat every --seconds and do not follow the long take's
  motion; decoding, rectification and encoding cost do not depend on that, so the timing and memory
  are those of a real 10-minute take of this size.

Each measurement runs in its own subprocess (one at a time) calling the per-sequence function
``curate_sequence(reader.open(raw, sid, cfg.side, dataset_settings(raw)), out, cfg)``:

* ``ours``: the default path (prescale inside the ffmpeg decoder, fixed-point remap);
* ``cv2 prescale``: ``EGOM2P_PRESCALE=cv2`` (full-size frames through the pipe, cv2 INTER_AREA resize), the
  earlier resize path with everything else current; short take only (10 minutes of it would add ~7);
* ``before`` (with ``--old-tree``): the same worker importing ``egom2p`` from that older tree (PYTHONPATH),
  short take only;
* ``floor``: a bare ffmpeg decode of the same source at full size (``ffmpeg -i src -f null -``) plus an
  encode (``egom2p.video.write_video``: libx264 veryfast CRF 17, 30 fps) of the same number of 512² clip
  frames (the frames of the clips ``ours`` wrote, read back untimed). With more than --floor-sample clips
  (the long take) the encode is timed on that many evenly spaced clips and its mean counted for every
  clip: the long take's pictures repeat every --seconds, so the sample has the same content mix.

Reported per clip: wall seconds, CPU seconds (Python process / ffmpeg children), peak RSS (VmHWM of the
measuring process, which includes ``reader.open``; and the peak of its RSS plus its ffmpeg children's,
sampled from /proc every 50 ms during the measured part), and where the Python
thread's wall time goes (cProfile): decode = blocked reading the decoder pipe (ffmpeg decode + its
resize), resize = cv2.resize, remap = cv2.remap, encode = blocked writing to the encoder pipe, arrays =
the rest (timeline resampling, array and meta writes, process start of the encoders). The floor's
RSS includes the untimed read-back of the clips (a 60-frame clip in memory, 45 MiB).
"""
from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from unittest import mock

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from results import ffmpeg_version, machine, write_measurements, write_section  # noqa: E402

SIZE = 1408
CALIB_RESOLUTION = 2880
VIDEO_GLOB = "takes/*/frame_aligned_videos/aria01_214-1.mp4"
FFMPEG = ["ffmpeg", "-v", "error", "-nostdin", "-y"]
TITLE = "Curation at the real source size (1408², paper preset)"


# ------------------------------------------------------------------------------------------- sources

def source_video(raw: Path) -> Path:
    """The take's Aria RGB mp4 (one take per raw folder here)."""
    return next(raw.glob(VIDEO_GLOB))


def upscale(src: Path, dst: Path, size: int) -> None:
    """Re-encode ``src`` at size² (bicubic, libx264 veryfast CRF 18, yuv420p), every frame kept."""
    subprocess.run(FFMPEG + ["-i", str(src), "-vf", f"scale={size}:{size}:flags=bicubic", "-c:v", "libx264",
                             "-preset", "veryfast", "-crf", "18", "-pix_fmt", "yuv420p", str(dst)], check=True)


def make_short(raw: Path, seconds: float) -> Path:
    """The short take with its mp4 at SIZE²; returns the mp4."""
    from egom2p.synth.layouts import LAYOUTS
    LAYOUTS["egoexo4d"](raw, sequences=1, seconds=seconds, seed=0, progress=False)
    mp4 = source_video(raw)
    small = mp4.with_name("small.mp4")
    mp4.rename(small)
    upscale(small, mp4, SIZE)
    small.unlink()
    return mp4


def make_long(raw: Path, seconds: float, short_mp4: Path, short_frames: int) -> Path:
    """A take of ``seconds`` with real layout CSVs and the short mp4 concatenated (stream copy)."""
    from egom2p.io import write_json
    from egom2p.synth.layouts import egoexo4d as layout
    take = layout.plan_take(0, 0, seconds)
    n = len(take.frame_ns)
    if n % short_frames:
        raise SystemExit(f"long take ({n} frames) must be a multiple of the short video ({short_frames})")
    with mock.patch.object(layout, "write_video", lambda path, frames, **kw: None):  # no rendering
        layout.write_take(raw, take, None)
    write_json(raw / "takes.json", [layout.take_entry(take)])
    mp4 = raw / "takes" / take.take_name / layout.VIDEO_REL
    mp4.parent.mkdir(parents=True, exist_ok=True)
    listing = raw / "concat.txt"
    listing.write_text(f"file '{short_mp4.resolve()}'\n" * (n // short_frames))
    subprocess.run(FFMPEG + ["-f", "concat", "-safe", "0", "-i", str(listing), "-c", "copy", str(mp4)],
                   check=True)
    listing.unlink()
    return mp4


# ------------------------------------------------------------------------------- in the measuring process

def status_kib(pid: int | str, key: str) -> int:
    """A ``/proc/<pid>/status`` field in KiB (0 when the process is gone)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            return next((int(line.split()[1]) for line in f if line.startswith(key + ":")), 0)
    except OSError:
        return 0


class TreeRss:
    """Peak summed RSS of this process and its direct children (the ffmpeg decoder and encoders), sampled
    every ``interval`` seconds from /proc in a daemon thread; ``peak_mib`` after ``stop()``."""

    def __init__(self, interval: float = 0.05) -> None:
        self.interval, self.peak_kib, self._stop = interval, 0, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _children(self) -> list[str]:
        me, out = str(os.getpid()), []
        for pid in os.listdir("/proc"):
            if pid.isdigit():
                try:
                    with open(f"/proc/{pid}/stat") as f:
                        if f.read().rsplit(")", 1)[1].split()[1] == me:
                            out.append(pid)
                except (OSError, IndexError):
                    pass
        return out

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            total = status_kib("self", "VmRSS") + sum(status_kib(p, "VmRSS") for p in self._children())
            self.peak_kib = max(self.peak_kib, total)

    def stop(self) -> float:
        self._stop.set()
        self._thread.join()
        return self.peak_kib / 1024.0


def peaks_mib(tree: TreeRss) -> tuple[float, float]:
    """(VmHWM of this process, peak RSS of this process + its ffmpeg children) in MiB."""
    return status_kib("self", "VmHWM") / 1024.0, tree.stop()


def cpu_s() -> tuple[float, float]:
    """(user+sys CPU seconds of this process, of its waited-for children)."""
    me, ch = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime, ch.ru_utime + ch.ru_stime


def breakdown(stats: pstats.Stats, total: float) -> dict[str, float]:
    """Seconds of the Python thread's wall time per part. decode: inside the ``iter_frames`` generator
    (reading the pipe); resize / remap: the cv2 calls; encode: inside ``_encode`` less the frames it pulls
    from the source generator (``curation/frames.py`` ``read``); arrays: the rest."""
    own, cum = {}, {}
    for (file, _, name), (_, _, tottime, cumtime, _) in stats.stats.items():
        key = name if file == "~" else f"{Path(file).name}:{name}"
        own[key] = own.get(key, 0.0) + tottime
        cum[key] = cum.get(key, 0.0) + cumtime
    out = {"decode": cum.get("video.py:iter_frames", 0.0),
           "resize": own.get("<resize>", 0.0), "remap": own.get("<remap>", 0.0),
           "encode": cum.get("video.py:_encode", 0.0) - cum.get("frames.py:read", 0.0)}
    out["arrays"] = total - sum(out.values())
    return out


def worker_curate(raw: Path, out: Path) -> dict:
    from egom2p.curation.clips import curate_sequence
    from egom2p.curation.config import CurationConfig
    from egom2p.curation.datasets import dataset_settings, resolve_reader
    cfg = CurationConfig(preset="paper")
    reader = resolve_reader(raw)
    (sid,) = reader.list_sequences(raw)
    seq = reader.open(raw, sid, cfg.side, dataset_settings(raw))
    rss_open = status_kib("self", "VmHWM") / 1024.0
    cam = seq.meta["source_camera"]
    tree = TreeRss()
    c0 = cpu_s()
    t = time.perf_counter()
    prof = cProfile.Profile()
    prof.enable()
    rows = curate_sequence(seq, out, cfg)
    prof.disable()
    wall = time.perf_counter() - t
    c1 = cpu_s()
    return {"clips": len(rows), "wall": wall, "cpu_py": c1[0] - c0[0], "cpu_ffmpeg": c1[1] - c0[1],
            "rss": peaks_mib(tree), "parts": breakdown(pstats.Stats(prof), wall),
            "rss_open": rss_open, "source_camera": {"width": cam["width"], "focal": cam["params"][0]}}


def worker_floor(raw: Path, clips: Path, sample: int) -> dict:
    """Decode of the whole source plus the encode of ``clips``' frames; with more than ``sample`` clips the
    encode is timed on ``sample`` evenly spaced clips and counted per clip (their mean) for all of them."""
    from egom2p.video import read_video, write_video
    src = source_video(raw)
    tree = TreeRss()
    c = cpu_s()
    t = time.perf_counter()
    subprocess.run(FFMPEG + ["-i", str(src), "-f", "null", "-"], check=True)
    decode = time.perf_counter() - t
    cpu_decode = cpu_s()[1] - c[1]
    every = sorted(clips.glob("*/rgb.mp4"))
    chosen = sorted({every[i] for i in np.linspace(0, len(every) - 1, min(sample, len(every))).round().astype(int)})
    encode, cpu_encode = 0.0, 0.0
    with tempfile.TemporaryDirectory() as tmp:
        for mp4 in chosen:
            frames = read_video(mp4)  # untimed: the floor's encode input
            c = cpu_s()
            t = time.perf_counter()
            write_video(Path(tmp) / "clip.mp4", frames)
            encode += time.perf_counter() - t
            cpu_encode += cpu_s()[1] - c[1]
    scale = len(every) / len(chosen)
    return {"clips": len(every), "encoded": len(chosen), "wall": decode + scale * encode, "decode": decode,
            "encode": scale * encode, "cpu_ffmpeg": cpu_decode + scale * cpu_encode, "rss": peaks_mib(tree)}


# --------------------------------------------------------------------------------------------- driver

def measure(kind: str, raw: Path, out: Path, env: dict[str, str] | None = None, sample: int = 0) -> dict:
    """One measurement in a fresh subprocess; returns its JSON result."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", kind, "--raw", str(raw), "--out", str(out),
           "--sample", str(sample)]
    res = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, **(env or {})})
    if res.returncode != 0:
        raise SystemExit(f"{kind} failed:\n{res.stderr[-3000:]}")
    return json.loads(res.stdout.strip().splitlines()[-1])


def old_package(tree: Path, into: Path) -> Path:
    """A folder to put first on PYTHONPATH so ``egom2p`` imports from ``tree`` (e.g. a ``git archive`` of an
    older commit): egom2p/ holds links to tree/core/* and to the other top-level package folders."""
    pkg = into / "egom2p"
    pkg.mkdir(parents=True)
    for f in (tree / "core").iterdir():
        (pkg / f.name).symlink_to(f.resolve())
    for folder in ("synth", "curation", "tokenizers", "model", "tasks", "assets", "pipelines"):
        if (tree / folder).is_dir():
            (pkg / folder).symlink_to((tree / folder).resolve())
    return into


def clip_difference(a: Path, b: Path) -> tuple[float, float, int]:
    """Mean, 99th percentile and max |a - b| (8-bit levels) over the decoded clips of two runs."""
    from egom2p.video import read_video
    diffs = [np.abs(read_video(p).astype(np.int16) - read_video(b / p.parent.name / p.name).astype(np.int16))
             for p in sorted(a.glob("*/rgb.mp4"))]
    d = np.concatenate([x.ravel() for x in diffs])
    return float(d.mean()), float(np.percentile(d, 99)), int(d.max())


def row(label: str, path: str, r: dict, floor: dict | None) -> str:
    n = r["clips"]
    per = r["wall"] / n
    ratio = f"**{per / (floor['wall'] / floor['clips']):.2f}×**" if floor else "1.00×"
    py_rss, ff_rss = r["rss"]
    if "parts" in r:
        p = {k: 1e3 * v / n for k, v in r["parts"].items()}
        parts = f"{p['decode']:.0f} / {p['resize']:.0f} / {p['remap']:.0f} / {p['encode']:.0f} / {p['arrays']:.0f}"
        cpu = f"{r['cpu_py'] / n:.2f} / {r['cpu_ffmpeg'] / n:.2f}"
    else:
        parts = f"decode {1e3 * r['decode'] / n:.0f}, encode {1e3 * r['encode'] / n:.0f}"
        if r["encoded"] < n:
            parts += f" (encode timed on {r['encoded']} clips)"
        cpu = f"– / {r['cpu_ffmpeg'] / n:.2f}"
    return (f"| {label} | {n} | {path} | {per:.3f} | {ratio} | {cpu} | {py_rss:.0f} / {ff_rss:.0f} | {parts} |")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=20.0, help="short take length (s)")
    ap.add_argument("--long-minutes", type=float, default=10.0, help="long take length (min); 0 = skip")
    ap.add_argument("--no-write", action="store_true", help="print only, leave RESULTS.md alone")
    ap.add_argument("--old-tree", type=Path, help="also time this older source tree on the short take, e.g. "
                    "`mkdir /tmp/old && git archive <commit> | tar -x -C /tmp/old`")
    ap.add_argument("--floor-sample", type=int, default=30, help="clips of a take whose encode the floor "
                    "times (evenly spaced; the long take's pictures repeat every --seconds)")
    ap.add_argument("--sample", type=int, default=0, help=argparse.SUPPRESS)
    ap.add_argument("--worker", choices=("curate", "floor"), help=argparse.SUPPRESS)
    ap.add_argument("--raw", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        res = worker_curate(args.raw, args.out) if args.worker == "curate" else \
            worker_floor(args.raw, args.out, args.sample)
        print(json.dumps(res))
        return

    started, load0 = time.perf_counter(), os.getloadavg()
    lines, notes, pairs = [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        short_raw = tmp / "short" / "egoexo4d"
        t = time.perf_counter()
        short_mp4 = make_short(short_raw, args.seconds)
        from egom2p.video import probe
        info = probe(short_mp4)
        notes.append(f"short take: {args.seconds:g} s, {info.frames} frames {info.width}x{info.height} "
                     f"(made in {time.perf_counter() - t:.0f} s)")
        print(notes[-1], flush=True)
        takes = [("short", short_raw)]
        if args.long_minutes > 0:
            long_raw = tmp / "long" / "egoexo4d"
            t = time.perf_counter()
            make_long(long_raw, 60.0 * args.long_minutes, short_mp4, info.frames)
            notes.append(f"long take: {args.long_minutes:g} min, {probe(source_video(long_raw)).frames} frames "
                         f"(made in {time.perf_counter() - t:.0f} s)")
            print(notes[-1], flush=True)
            takes.append((f"{args.long_minutes:g} min", long_raw))
        for label, raw in takes:
            shown = len(lines)
            ours = measure("curate", raw, tmp / f"ours-{label}")
            cam = ours["source_camera"]
            notes.append(f"{label} take, ours: VmHWM {ours['rss_open']:.0f} MiB right after `reader.open` "
                         f"(trajectory, gaze, calibration parsed), {ours['rss'][0]:.0f} MiB at the end")
            assert cam["width"] == SIZE, cam  # the reader scaled the calibration to the probed size
            floor = measure("floor", raw, tmp / f"ours-{label}", sample=args.floor_sample)
            lines.append(row(label, "floor: ffmpeg decode + encode", floor, None))
            lines.append(row(label, "**ours** (prescale in ffmpeg)", ours, floor))
            pairs.append((label, ours, floor))
            if label == "short":
                before = measure("curate", raw, tmp / "before", {"EGOM2P_PRESCALE": "cv2"})
                lines.append(row(label, "cv2 prescale (`EGOM2P_PRESCALE=cv2`)", before, floor))
                if args.old_tree:
                    path = old_package(args.old_tree, tmp / "oldpkg")
                    old = measure("curate", raw, tmp / "old", {"PYTHONPATH": str(path)})
                    lines.append(row(label, f"before: {args.old_tree.name} tree", old, floor))
                    mean, p99, mx = clip_difference(tmp / f"ours-{label}", tmp / "old")
                    notes.append(f"ours vs the {args.old_tree.name} tree, decoded 512² clips: mean |diff| "
                                 f"{mean:.2f}, p99 {p99:.0f}, max {mx} levels (8-bit)")
                mean, p99, mx = clip_difference(tmp / f"ours-{label}", tmp / "before")
                notes.append(f"ours vs cv2 prescale, decoded 512² clips: mean |diff| {mean:.2f}, p99 {p99:.0f}, "
                             f"max {mx} levels (8-bit)")
                notes.append(f"source camera seen by the reader: width {cam['width']}, focal "
                             f"{cam['focal']:.2f} px (2880² calibration x {SIZE}/{CALIB_RESOLUTION})")
            print("\n".join(lines[shown:]), flush=True)
    total, load1 = time.perf_counter() - started, os.getloadavg()
    cpu_ratios = ", ".join(f"{label} {(o['cpu_py'] + o['cpu_ffmpeg']) / f['cpu_ffmpeg']:.2f}×"
                           for label, o, f in pairs)
    head = ("| take | clips | path | wall s/clip | ratio to floor | CPU s/clip (Python / ffmpeg) | "
            "peak RSS MiB (Python VmHWM / with ffmpeg children) | ms/clip: decode / resize / remap / encode / arrays |")
    cmd = (f".venv/bin/python benchmarks/bench_source_scale.py --seconds {args.seconds:g} --long-minutes "
           f"{args.long_minutes:g}" + (f" --floor-sample {args.floor_sample}" if args.floor_sample != 30 else "")
           + (f" --old-tree {args.old_tree}" if args.old_tree else ""))
    tree = f"; {args.old_tree}: `git archive` of the older commit" if args.old_tree else ""
    body = (f"Command: `{cmd}` (whole run {total:.0f} s{tree})  \n"
            f"Machine: {machine()}; {ffmpeg_version()}; 1-min load average {load0[0]:.1f} at the start, "
            f"{load1[0]:.1f} at the end (the cores are shared, so walls are upper bounds).  \n"
            "Ego-Exo4D layout, FISHEYE624 at 1408² (calibration 2880² scaled), `CurationConfig(preset=\"paper\")`: "
            "512² clips, 60 frames, libx264 veryfast CRF 17; the rectifier prescales by ≈0.84 (1408 → 1182) "
            "before the remap.\n\n" + "\n".join(["- " + n for n in notes]) + "\n\n"
            + "\n".join([head, "|---|---|---|---|---|---|---|---|"] + lines) + "\n\n"
            "CPU ratio (ours / floor, Python + ffmpeg CPU per clip): " + cpu_ratios + ".\n\n"
            "Goal: ours ≤ 1.5× the floor, peak RSS ≤ 1.5 GiB. Breakdown = the Python thread's wall time: decode "
            "is time blocked on the decoder pipe (ffmpeg decode, and in ours its area resize), encode time "
            "blocked on the encoder pipe, arrays the rest. Ours: `video_source` asks the decoder for the "
            "rectifier's prescaled size (`scale=W:H:flags=area,format=<source pix_fmt>`, then swscale's fast "
            "unscaled yuv420p → RGB), frames are read into their own arrays (`readinto`), the remap uses "
            "fixed-point CV_16SC2 maps; image-folder sources and depth keep the cv2 path.")
    print(body)
    if not args.no_write:
        write_section(TITLE, body)
        label, o, f = pairs[0]
        write_measurements("curation_source_scale", {
            "command": cmd, "preset": "paper", "source": "1408² fisheye mp4 (Ego-Exo4D layout)",
            "clip_wall_s": o["wall"] / o["clips"], "floor_wall_s": f["wall"] / f["clips"],
            "clip_cpu_s": (o["cpu_py"] + o["cpu_ffmpeg"]) / o["clips"], "floor_cpu_s": f["cpu_ffmpeg"] / f["clips"],
            "peak_rss_mib": max(p[1]["rss"][1] for p in pairs)})


if __name__ == "__main__":
    main()
