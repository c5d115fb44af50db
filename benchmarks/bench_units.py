"""Resumable units on this machine: worker speed-up, Ray overhead, re-run cost after kill -9, incremental growth.

    .venv/bin/python benchmarks/bench_units.py [--sequences 20] [--seconds 4.5] [--side 256]

World: ``--sequences`` + 1 Ego-Exo4D-layout takes (mp4 fisheye source, rgb + gaze + camera), curated at
``--side``² clips. Measured, each in this one run:

1. ``clips`` stage, fresh, with 1 worker (in the run's process) and with 2 worker processes: seconds and
   the speed-up; the same for ``token_shards`` (tiny tokenizers, rgb + gaze + camera shards of 4 clips);
   the ``clips`` stage as Ray tasks on a local Ray instance against the local pool of 2;
2. ``clips`` killed with SIGKILL once half the units are committed, then re-run: seconds and units re-run
   against a fresh run;
3. one more take dropped into the curated folder of ``--sequences``: the three curation stages and the
   token shards re-run, seconds and units run against a fresh run.
"""
from __future__ import annotations

import argparse
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from results import machine, write_measurements, write_section  # noqa: E402

KILL = """
import sys
from pathlib import Path
from egom2p.curation.clips import curate_clips
from egom2p.curation.config import CurationConfig
if __name__ == "__main__":
    curate_clips(Path(sys.argv[1]), Path(sys.argv[2]), "egoexo4d", CurationConfig(clip_resolution=int(sys.argv[3])),
                 progress=False, workers=2)
"""


def tree_digest(folder: Path) -> dict[str, str]:
    import hashlib
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file() and ".units" not in p.parts}


def cpu_seconds() -> float:
    """CPU seconds of this process and its reaped children (ffmpeg decoders/encoders, pool workers)."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def curate(paths, cfg, workers: int = 0) -> dict:
    """The three curation stages of ``egoexo4d``; per stage its report, plus wall and CPU seconds (CPU is
    exact with ``workers=1``: everything runs in this process and its reaped ffmpeg children)."""
    from egom2p.curation.clips import curate_clips
    from egom2p.curation.depth import label_depth
    from egom2p.curation.normalize import normalize_partition, upstream_quarantine
    ds, out, t0 = "egoexo4d", {"cpu": {}}, time.time()

    def timed(name, fn):
        c = cpu_seconds()
        out[name] = fn()
        out["cpu"][name] = cpu_seconds() - c

    timed("clips", lambda: curate_clips(paths.raw(ds), paths.interim_clips(ds), ds, cfg, progress=False,
                                        workers=workers))
    timed("depth_labels", lambda: label_depth(paths.interim_clips(ds), paths.interim_depth(ds), ds, progress=False,
                                              workers=workers))
    q = upstream_quarantine(paths.interim_clips(ds), paths.interim_depth(ds))
    timed("normalized_clips", lambda: normalize_partition(paths.interim_clips(ds), paths.interim_depth(ds),
                                                          paths.clips(ds), ds, cfg, q, progress=False, workers=workers))
    out["seconds"] = time.time() - t0
    return out


def tokenize(paths, workers: int) -> tuple[float, int]:
    from egom2p.presets import TINY
    from egom2p.tokenizers import store
    from egom2p.tokenizers.tokenize import tokenize_dataset
    t = time.time()
    s = tokenize_dataset(paths, "egoexo4d", store.current_refs(paths), TINY, shard_size=4, batch_size=4,
                         log=lambda m: None, workers=workers, device="cpu", progress=False)
    return time.time() - t, sum(v["units_run"] for v in s.values())


def make_tokenizers(paths) -> None:
    from egom2p.catalog import train_and_held_out
    from egom2p.presets import TINY
    from egom2p.tokenizers.build import build_trajectory_tokenizers, build_video_tokenizer
    from egom2p.tokenizers.training import TokenizerTrainConfig
    train, held = train_and_held_out(paths)
    cfg = TokenizerTrainConfig(steps=5, batch_size=2, lr=1e-3, warmup=1, seed=0, time_budget_s=20, log_every=10)
    build_video_tokenizer(paths, TINY, train, held, "", cfg, lambda s: None)
    build_trajectory_tokenizers(paths, TINY, train, held, {"gaze": "", "camera": ""}, cfg, {"gaze": [], "camera": []},
                                lambda s: None, lambda s: None)


def fresh_copy(src: Path, dst: Path, skip: set[str] = frozenset()) -> None:
    shutil.copytree(src, dst, copy_function=shutil.copy2,
                    ignore=lambda d, names: [n for n in names if Path(d) == src / "takes" and n in skip])


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sequences", type=int, default=20)
    ap.add_argument("--seconds", type=float, default=4.5)
    ap.add_argument("--side", type=int, default=256)
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args(argv)
    from egom2p.curation.config import CurationConfig
    from egom2p.paths import DataPaths
    from egom2p.pool import imap_unordered, shutdown
    from egom2p.synth.layouts import LAYOUTS
    cfg = CurationConfig(clip_resolution=args.side)
    tmp = Path(tempfile.mkdtemp(prefix="bench_units-"))
    try:
        src = tmp / "src"
        takes = LAYOUTS["egoexo4d"](src, sequences=args.sequences + 1, seconds=args.seconds, seed=0, progress=False)
        last = takes[-1]
        lines = []
        # 1. speed-up, curation then tokenization
        times, busy = {}, {}
        for w in (1, 2):
            paths = DataPaths(tmp / f"w{w}")
            fresh_copy(src, paths.raw("egoexo4d"))
            list(imap_unordered(abs, range(4 * w), w))    # the pool's processes are started before the clock
            cpu0 = cpu_seconds()
            t = time.time()
            from egom2p.curation.clips import curate_clips
            curate_clips(paths.raw("egoexo4d"), paths.interim_clips("egoexo4d"), "egoexo4d", cfg, progress=False, workers=w)
            times[w] = time.time() - t
            shutdown()   # pool workers' CPU time is counted once they are reaped
            busy[w] = (cpu_seconds() - cpu0) / times[w]
        lines.append(f"| clips stage, {args.sequences + 1} takes | {times[1]:.1f} s ({busy[1]:.2f} cores busy) | "
                     f"{times[2]:.1f} s ({busy[2]:.2f} cores busy) | {times[1] / times[2]:.2f}× |")
        # the same clips stage as Ray tasks on a local Ray instance (2 CPUs), started and warmed before the clock
        from egom2p import raypool
        from egom2p.curation.clips import curate_clips
        from egom2p.pool import Executor
        ray_ex = Executor(kind="ray", num_cpus=1)
        raypool.connect("")
        list(imap_unordered(abs, range(8), executor=ray_ex))
        paths = DataPaths(tmp / "ray")
        fresh_copy(src, paths.raw("egoexo4d"))
        t = time.time()
        curate_clips(paths.raw("egoexo4d"), paths.interim_clips("egoexo4d"), "egoexo4d", cfg, progress=False,
                     executor=ray_ex)
        ray_s = time.time() - t
        same = tree_digest(paths.interim_clips("egoexo4d")) == tree_digest(DataPaths(tmp / "w2").interim_clips("egoexo4d"))
        ray_line = (f"`clips` stage as Ray tasks on a local Ray instance (2 CPUs, warm): **{ray_s:.1f} s against "
                    f"{times[2]:.1f} s** for the local pool of 2 workers (overhead {100 * (ray_s / times[2] - 1):+.0f} %); "
                    f"output byte-identical to the local executor's: {same}.")
        paths = DataPaths(tmp / "w1")
        curate(paths, cfg, 1)
        make_tokenizers(paths)
        tok = {}
        for w in (1, 2):
            for _ in range(2):   # the second fresh run is timed: workers warm (torch imported, tokenizers loaded)
                shutil.rmtree(paths.tokens_root, ignore_errors=True)
                tok[w] = tokenize(paths, w)
        lines.append(f"| token_shards, {tok[1][1]} shards (rgb, gaze, camera; warm pool) | {tok[1][0]:.1f} s | "
                     f"{tok[2][0]:.1f} s | {tok[1][0] / tok[2][0]:.2f}× |")
        raypool.shutdown()
        # 2. kill -9 at 50 %
        paths = DataPaths(tmp / "kill")
        fresh_copy(src, paths.raw("egoexo4d"), skip={last})
        n = args.sequences
        proc = subprocess.Popen([sys.executable, "-c", KILL, str(paths.raw("egoexo4d")), str(paths.interim_clips("egoexo4d")),
                                 str(args.side)], start_new_session=True)
        t0 = time.time()
        rec = paths.interim_clips("egoexo4d") / ".units"
        while len(list(rec.glob("*.json"))) < n // 2 and proc.poll() is None:
            time.sleep(0.02)
        killed_after = time.time() - t0
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        committed = len(list(rec.glob("*.json")))
        from egom2p.curation.clips import curate_clips
        t = time.time()
        r = curate_clips(paths.raw("egoexo4d"), paths.interim_clips("egoexo4d"), "egoexo4d", cfg, progress=False, workers=2)
        rerun = time.time() - t
        fresh = DataPaths(tmp / "fresh")
        fresh_copy(src, fresh.raw("egoexo4d"), skip={last})
        full = curate(fresh, cfg, 1)      # in-process: exact CPU seconds per stage
        fresh_s = full["clips"].seconds
        n_clips = len(full["normalized_clips"].rows)
        # 3. one more take into the curated folder of n (all stages + tokens)
        make_tokenizers(fresh)
        tokenize(fresh, 2)
        fresh_copy(src / "takes" / last, fresh.raw("egoexo4d") / "takes" / last)
        shutil.copy2(src / "takes.json", fresh.raw("egoexo4d") / "takes.json")
        for cap in (src / "captures").iterdir():
            if not (fresh.raw("egoexo4d") / "captures" / cap.name).exists():
                shutil.copytree(cap, fresh.raw("egoexo4d") / "captures" / cap.name, copy_function=shutil.copy2)
        grown = curate(fresh, cfg, 2)
        tok_s, tok_units = tokenize(fresh, 2)
        body = f"""Command: `.venv/bin/python benchmarks/bench_units.py --sequences {args.sequences} --seconds {args.seconds} --side {args.side}`
Machine: {machine()}. CPU seconds per clip at {args.side}² (one worker, in-process): clips
{full['cpu']['clips'] / n_clips:.2f}, depth_labels {full['cpu']['depth_labels'] / n_clips:.3f}, normalized_clips
{full['cpu']['normalized_clips'] / n_clips:.2f}. World: Ego-Exo4D-layout takes of {args.seconds} s (mp4 fisheye source, rgb + gaze + camera),
{args.side}² clips, tiny tokenizers. Speed-ups compare fresh runs in this one process.

| work | 1 worker (in-process) | 2 workers | speed-up |
|---|---|---|---|
{chr(10).join(lines)}

{ray_line}

Re-run after `kill -9` of the `clips` stage (2 workers) once {n // 2} of {n} units had committed
({killed_after:.1f} s in): **{committed} units were committed, the re-run ran {r.run} and skipped {r.skipped}, in
{rerun:.1f} s** against {fresh_s:.1f} s for a fresh run of the {n} takes.

One take added to the curated folder of {n}: clips / depth_labels / normalized_clips ran
{grown['clips'].run} / {grown['depth_labels'].run} / {grown['normalized_clips'].run} unit(s) and skipped
{grown['clips'].skipped} / {grown['depth_labels'].skipped} / {grown['normalized_clips'].skipped} in
**{grown['seconds']:.1f} s** against {full['seconds']:.1f} s for curating the {n} takes fresh; token shards re-ran
{tok_units} shard unit(s) (only the shards holding the new clip) in {tok_s:.1f} s.
"""
        print(body)
        measured = {"command": f"benchmarks/bench_units.py --sequences {n} --seconds {args.seconds} --side {args.side}",
                    "side": args.side, "clips": n_clips,
                    "stage_cpu_s_per_clip": {k: v / n_clips for k, v in full["cpu"].items()},
                    "clips_speedup_2_workers": times[1] / times[2], "busy_cores": busy,
                    "tokens_speedup_2_workers": tok[1][0] / tok[2][0], "ray_overhead": ray_s / times[2] - 1,
                    "kill_rerun_s": rerun, "kill_fresh_s": fresh_s, "grow_one_s": grown["seconds"],
                    "grow_fresh_s": full["seconds"]}
        if not args.no_write:
            write_measurements("units", measured)
            write_section("Resumable units: worker speed-up, Ray overhead, kill -9, incremental growth (issues 18, 15)", body)
    finally:
        shutdown()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
