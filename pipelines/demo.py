"""``make demo``: the whole graph on the embedded synthetic world, with a printed summary.

1. synthesizes each demo dataset's native layout into ``$EGOM2P_DATA/raw/<dataset>`` (skipped when the
   folder already holds the same synthesis settings) and links the real ADT sample (``../shared/reference/adt``, when present) as the ``adt`` partition —
   an evaluation dataset: every sequence is ``test``, a sequence shorter than a clip is one padded clip;
2. registers one ``datasets`` partition per raw folder (the sensor's logic);
3. starts the Dagster daemon and launches a **backfill** of ``curate_dataset`` over all dataset
   partitions — one queued run per partition (two at a time), its chained steps in the run's process — and
   follows it;
4. launches the ``train_tokenizers`` run (video + trajectory tokenizers: the configured weights, else a
   short training on the curated clips — ``--video-steps`` / ``--trajectory-steps`` / ``--train-budget-s``
   make it longer) and follows it;
5. launches a **backfill** of ``tokenize_dataset`` (``token_shards``) over all dataset partitions — or, with
   ``--automation``, launches nothing and waits until the ``line_automation`` sensor has re-tokenized every
   partition with the new tokenizers (the line running by itself);
6. launches the ``pretrain`` run (``pretrained_model``: the tiny EgoM2P trained through Dagster Pipes for
   ``--pretrain-tokens`` tokens) and follows it;
7. launches the ``evaluate`` run (``task_models``: one task-specific model per task with the same token
   budget; ``evaluation``: every method on the held-out clips) and follows it;
8. prints what was made: clips per modality, quarantined sequences, asset-check results, units of work
   per stage (run / skipped / quarantined / total, from each partition's latest materialization), token
   shards, the pretraining loss and the evaluation table (``data/eval/report.md``).

Automation: the code location's sensors (``raw_dataset_sensor``, ``line_automation``) default to RUNNING.
By default the demo switches them off (``EGOM2P_AUTOMATION=0`` in the environment of its daemon and CLI
calls): the demo drives every stage with explicit backfills and runs, so its progress is one followable
sequence, and no sensor run races a backfill run over the same partition's folders. ``--automation``
leaves them on and lets ``line_automation`` make the token shards (step 5); the raw folders registered in
step 2 are only recorded by ``raw_dataset_sensor`` on its first look (no second curation).

Everything lands in the Dagster instance at ``$DAGSTER_HOME``; ``make ui`` shows it.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from egom2p.procs import stop_group

# the eight pretraining layouts; ADT (an evaluation set) is added from the real sample when present
DEMO_DATASETS = ("egogen", "egoexo4d", "holoassist", "hot3d_aria", "hot3d_quest3", "h2o", "taco", "arctic")


def synthesize(paths, datasets, sequences: int, seconds: float, seed: int) -> None:
    from egom2p import io
    from egom2p.synth.layouts import LAYOUTS
    for k, name in enumerate(datasets):
        raw = paths.raw(name)
        settings = {"layout": name, "sequences": sequences, "seconds": seconds, "seed": seed}
        marker = raw / ".synth.json"
        if marker.exists() and json.loads(marker.read_text()) == settings:
            print(f"  {name}: already synthesized ({sequences} x {seconds:g} s)")
            continue
        t = time.time()
        staging = io.staging_dir(raw)
        try:
            LAYOUTS[name](staging, sequences=sequences, seconds=seconds, seed=seed, progress=True)
            io.write_json(staging / ".synth.json", settings)
            io.replace_dir(staging, raw)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        print(f"  {name}: {sequences} sequences x {seconds:g} s in {time.time() - t:.1f} s")


def default_reference() -> Path:
    """``$EGOM2P_REFERENCE``, else ``../shared/reference`` next to the checkout (real dataset samples)."""
    return Path(os.environ.get("EGOM2P_REFERENCE", Path(__file__).resolve().parents[1].parent / "shared" / "reference"))


def link_reference_adt(paths, reference: Path) -> list[str]:
    """``data/raw/adt`` → a symlink to the real ADT sample folder ``reference/adt`` (its licence forbids
    copies; ADT is an evaluation dataset: split ``test``, short sequences curated as padded clips). The whole
    dataset folder is linked: readers resolve every path under the partition folder as linked, and refuse a
    sequence folder that is itself a link leaving it. Returns the sequence names ([] when the reference is absent)."""
    src = reference / "adt"
    seqs = sorted(p.name for p in src.iterdir() if (p / "video.vrs").exists()) if src.is_dir() else []
    if not seqs:
        return []
    raw, target = paths.raw("adt"), src.resolve()
    if raw.is_symlink() and raw.resolve() == target:
        return seqs
    if raw.is_symlink():
        raw.unlink()
    elif raw.exists():
        shutil.rmtree(raw)                # a synthesized adt folder (or per-sequence links) from an earlier demo
    raw.parent.mkdir(parents=True, exist_ok=True)
    raw.symlink_to(target, target_is_directory=True)
    return seqs


def register_partitions(instance, data) -> list[str]:
    from egom2p.assets.partitions import datasets_partitions
    from egom2p.pipelines.sensors import new_dataset_folders
    new = new_dataset_folders(data, instance)
    if new:
        instance.add_dynamic_partitions(datasets_partitions.name, new)
    return new


@contextlib.contextmanager
def dagster_daemon():
    """Run ``dagster-daemon`` (it drains the run queue and launches each run in its own process)."""
    exe = str(Path(sys.executable).with_name("dagster-daemon"))
    log = open(Path(os.environ["DAGSTER_HOME"]) / "daemon.log", "ab")
    proc = subprocess.Popen([exe, "run", "-m", "egom2p.pipelines.definitions"], stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    try:
        yield proc
    finally:
        stop_group(proc, 60, signals=(signal.SIGTERM, signal.SIGKILL))
        log.close()


def launch_backfill(partitions: list[str], job: str = "curate_dataset") -> str:
    cmd = [str(Path(sys.executable).with_name("dagster")), "job", "backfill", "-m", "egom2p.pipelines.definitions",
           "-j", job, "--partitions", ",".join(partitions), "--noprompt"]
    out = subprocess.run(cmd, capture_output=True, text=True, check=False)
    m = re.search(r"Launched backfill job `([^`]+)`", out.stdout)
    if out.returncode != 0 or not m:
        raise RuntimeError(f"backfill launch failed:\n{out.stdout[-2000:]}\n{out.stderr[-2000:]}")
    return m.group(1)


def launch_run(job: str, run_config: dict) -> str:
    """Queue one (unpartitioned) run of ``job`` through the instance's run coordinator; return its id."""
    import uuid
    run_id = str(uuid.uuid4())
    cmd = [str(Path(sys.executable).with_name("dagster")), "job", "launch", "-m", "egom2p.pipelines.definitions",
           "-j", job, "--run-id", run_id, "--config-json", json.dumps(run_config)]
    out = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"launch of {job} failed:\n{out.stdout[-2000:]}\n{out.stderr[-2000:]}")
    return run_id


def follow_run(instance, run_id: str, timeout_s: float = 3600):
    from dagster import DagsterRunStatus
    done = {DagsterRunStatus.SUCCESS, DagsterRunStatus.FAILURE, DagsterRunStatus.CANCELED}
    start, last = time.time(), None
    while time.time() - start < timeout_s:
        run = instance.get_run_by_id(run_id)
        if run is not None and run.status != last:
            last = run.status
            print(f"  [{time.time() - start:6.1f} s] run {run_id[:8]} {run.job_name}: {run.status.value}")
        if run is not None and run.status in done:
            return run
        time.sleep(1.0)
    raise TimeoutError(f"run {run_id} did not finish within {timeout_s} s")


def token_summary(paths, datasets: list[str]) -> str:
    from egom2p.tokenizers.shards import MANIFEST, read_manifest
    from egom2p.tokenizers.store import current_ids
    ids = current_ids(paths)
    lines = ["| dataset | modality | tokenizer_id | clips | shards |", "|---|---|---|---|---|"]
    for ds in datasets:
        for m, tid in ids.items():
            folder = paths.tokens(tid, m, ds)
            if (folder / MANIFEST).exists():
                rows, _ = read_manifest(folder)
                lines.append(f"| {ds} | {m} | {tid} | {len(rows)} | {len({r['shard'] for r in rows})} |")
    return "\n".join(lines)


def follow_backfill(instance, backfill_id: str, expected: int, timeout_s: float = 1800) -> list:
    from dagster import DagsterRunStatus, RunsFilter
    done = {DagsterRunStatus.SUCCESS, DagsterRunStatus.FAILURE, DagsterRunStatus.CANCELED}
    seen: dict[str, str] = {}
    start = time.time()
    while time.time() - start < timeout_s:
        runs = instance.get_runs(filters=RunsFilter(tags={"dagster/backfill": backfill_id}))
        for r in runs:
            state = r.status.value
            if seen.get(r.run_id) != state:
                seen[r.run_id] = state
                print(f"  [{time.time() - start:6.1f} s] run {r.run_id[:8]} {r.tags.get('dagster/partition')}: {state}")
        if len(runs) >= expected and all(r.status in done for r in runs):
            return runs
        time.sleep(1.0)
    raise TimeoutError(f"backfill {backfill_id} did not finish within {timeout_s} s")


def pretrain_config(tokens: int, budget_s: float = 0.0) -> dict:
    """Launchpad config of the demo's pretraining run: ``tokens`` long (warm-up 10 %, the cosine schedule
    ends there; the task models get the same tokens), ``budget_s`` a wall-clock cap (0 = none); a fresh
    run folder each time (resume=false)."""
    return {"ops": {"pretrained_model": {"config": {
        "run_name": "demo", "time_budget_s": budget_s,
        "train": {"tokens": tokens, "warmup_tokens": tokens // 10, "resume": False, "ckpt_every": 50, "workers": 1}}}}}


EVAL_CONFIG = {"ops": {"task_models": {"config": {"pretrained_run": "demo"}},
                       "evaluation": {"config": {"pretrained_run": "demo", "max_clips_per_dataset": 4}}}}


def held_out_count(paths, datasets: list[str]) -> int:
    """Curated clips of val/test sequences over ``datasets`` (what the evaluation can score)."""
    from egom2p.catalog import HELD_OUT, iter_clips
    return sum(1 for ds in datasets for _ in iter_clips(paths, ds, split=HELD_OUT))


def pretrain_summary(paths) -> str:
    from egom2p.model.reporting import read_metrics
    rows = read_metrics(paths.run("demo"))
    if not rows:
        return ""
    first, last = rows[0], rows[-1]
    return (f"\npretraining (data/runs/demo): {last['step']} steps, {last['tokens'] / 1e6:.2f} M tokens, "
            f"loss {first['loss']:.3f} (step {first['step']}) → {last['loss']:.3f}, {last['tokens_per_s']:.0f} tokens/s; "
            f"weights {paths.run('demo') / 'model.safetensors'}")


STAGES = ("raw_inventory", "clips", "depth_labels", "normalized_clips", "token_shards")
UNITS = ("run", "skipped", "quarantined", "total")


def units_summary(instance, datasets: list[str]) -> str:
    """Per stage, the ``units_<run|skipped|quarantined|total>`` metadata of each partition's latest
    materialization, summed over ``datasets``; ``-`` where no partition reports the key."""
    import dagster as dg
    lines = ["| stage | units run | skipped | quarantined | total |", "|---|---|---|---|---|"]
    for stage in STAGES:
        sums: dict[str, int | None] = dict.fromkeys(UNITS)
        for ds in datasets:
            flt = dg.AssetRecordsFilter(asset_key=dg.AssetKey(stage), asset_partitions=[ds])
            records = instance.fetch_materializations(flt, limit=1).records
            meta = records[0].asset_materialization.metadata if records and records[0].asset_materialization else {}
            for u in UNITS:
                v = meta.get(f"units_{u}")
                if isinstance(getattr(v, "value", v), (int, float)):
                    sums[u] = (sums[u] or 0) + int(getattr(v, "value", v))
        lines.append(f"| {stage} | " + " | ".join("-" if sums[u] is None else str(sums[u]) for u in UNITS) + " |")
    return "\n".join(lines)


def follow_automation(instance, datasets: list[str], after: float, timeout_s: float = 1800) -> list:
    """Wait for ``line_automation``'s token_shards run of every partition created after ``after`` (a Unix
    time: the end of the tokenizer run) to finish; its latest run per partition."""
    from datetime import datetime, timezone

    from dagster import DagsterRunStatus, RunsFilter
    done = {DagsterRunStatus.SUCCESS, DagsterRunStatus.FAILURE, DagsterRunStatus.CANCELED}
    flt = RunsFilter(tags={"dagster/sensor_name": "line_automation"},
                     created_after=datetime.fromtimestamp(after, tz=timezone.utc))
    seen: dict[str, str] = {}
    start = time.time()
    while time.time() - start < timeout_s:
        latest = {}
        for r in instance.get_runs(filters=flt):           # newest first
            latest.setdefault(r.tags.get("dagster/partition"), r)
            if seen.get(r.run_id) != r.status.value:
                seen[r.run_id] = r.status.value
                print(f"  [{time.time() - start:6.1f} s] run {r.run_id[:8]} token_shards[{r.tags.get('dagster/partition')}]"
                      f" (automation): {r.status.value}")
        if all(ds in latest and latest[ds].status in done for ds in datasets):
            return [latest[ds] for ds in datasets]
        time.sleep(1.0)
    raise TimeoutError(f"the automation did not tokenize {datasets} within {timeout_s} s")


def summary(paths, datasets: list[str], instance) -> str:
    from egom2p import modalities as M
    from egom2p.catalog import SPLITS, read_index, read_quarantine
    from egom2p.curation.checks import check_partition
    names = M.names()
    lines = [f"| dataset | clips | {' | '.join(names)} | train/val/test | quarantined | checks |",
             "|---|---|" + "---|" * len(names) + "---|---|---|"]
    for ds in datasets:
        rows = read_index(paths.clips(ds))
        q = read_quarantine(paths.clips(ds))
        checks = check_partition(paths.clips(ds))
        ok = sum(p for p, _ in checks.values())
        splits = "/".join(str(sum(r["split"] == s for r in rows)) for s in SPLITS)
        lines.append(f"| {ds} | {len(rows)} | " + " | ".join(str(sum(bool(r[flag]) for r in rows)) for flag in M.flags(()))
                     + f" | {splits} | {len(q)} | {ok}/{len(checks)} passed |")
        for r in q:
            lines.append(f"|   ↳ quarantined {r['sequence_id']} |" + " |" * (len(names) + 2)
                         + f" {r['stage']}: {r['error']} | |")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--datasets", default="", help="comma-separated layouts (default: the eight pretraining "
                    "datasets + adt when the real ADT sample is found); `adt` links the real sample when present, "
                    "else synthesizes the ADT layout")
    ap.add_argument("--sequences", type=int, default=2, help="sequences per dataset")
    ap.add_argument("--seconds", type=float, default=4.5, help="seconds per sequence")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--video-steps", type=int, default=40, help="video tokenizer training steps (demo: short)")
    ap.add_argument("--trajectory-steps", type=int, default=150, help="gaze/camera VQ-VAE training steps")
    ap.add_argument("--train-budget-s", type=float, default=60.0, help="wall-clock cap per tokenizer training, 0 = none")
    ap.add_argument("--no-tokenize", action="store_true", help="stop after curation")
    ap.add_argument("--automation", action="store_true", help="keep the sensors on and let the line_automation "
                    "sensor make the token shards after the tokenizers (default: sensors off, explicit backfill)")
    ap.add_argument("--no-eval", action="store_true", help="skip the task models and the evaluation")
    ap.add_argument("--reference", type=Path, default=None,
                    help="real dataset samples (default $EGOM2P_REFERENCE, else ../shared/reference): the ADT "
                         "sample there is linked as the `adt` partition and evaluated (reported, not trained on)")
    ap.add_argument("--no-reference", action="store_true", help="never link the real ADT sample")
    ap.add_argument("--pretrain-tokens", type=int, default=120_000,
                    help="length of the tiny pretraining run in tokens (≈ 30 steps of 8 × 512), 0 = skip "
                         "pretraining and evaluation")
    ap.add_argument("--pretrain-budget-s", type=float, default=0.0, help="wall-clock cap of that run, 0 = none")
    args = ap.parse_args(argv)
    import dagster as dg

    from egom2p.assets.resources import DataRoot
    os.environ.setdefault("DAGSTER_HOME", str(Path(".dagster_home").resolve()))
    # read by the code location each daemon and CLI process loads (egom2p.pipelines.sensors)
    os.environ["EGOM2P_AUTOMATION"] = "1" if args.automation else "0"
    if args.automation:
        os.environ.setdefault("EGOM2P_SENSOR_INTERVAL_S", "5")
    Path(os.environ["DAGSTER_HOME"]).mkdir(parents=True, exist_ok=True)
    data = DataRoot()
    paths = data.paths()
    reference = None if args.no_reference else (args.reference or default_reference())
    has_adt = reference is not None and (reference / "adt").is_dir()
    datasets = [d for d in args.datasets.split(",") if d] or [*DEMO_DATASETS] + (["adt"] if has_adt else [])
    t0 = time.time()
    print(f"EgoM2P demo — data root {paths.root}, Dagster home {os.environ['DAGSTER_HOME']}")
    print("1/7 synthesizing native layouts")
    linked = link_reference_adt(paths, reference) if "adt" in datasets and reference is not None else []
    if linked:
        print(f"  adt: the real sample(s) {linked} linked from {reference / 'adt'} (evaluation only)")
    synthesize(paths, [d for d in datasets if d != "adt" or not linked], args.sequences, args.seconds, args.seed)
    instance = dg.DagsterInstance.get()
    new = register_partitions(instance, data)
    print(f"2/7 partitions registered: {new or 'none new'}; all: {instance.get_dynamic_partitions('datasets')}")
    print(f"3/7 backfill curate_dataset over {datasets}")
    token_runs = []
    with dagster_daemon():
        backfill = launch_backfill(datasets)
        runs = follow_backfill(instance, backfill, len(datasets))
        curated = all(r.status.value == "SUCCESS" for r in runs)
        if curated and not args.no_tokenize:
            print("4/7 train_tokenizers (configured weights, else a short training on the curated clips)")
            tokens_cfg = {"video_steps": args.video_steps, "trajectory_steps": args.trajectory_steps,
                          "time_budget_s": args.train_budget_s}
            token_runs.append(follow_run(instance, launch_run("train_tokenizers",
                                                              {"resources": {"tokens": {"config": tokens_cfg}}})))
            if token_runs[-1].status.value == "SUCCESS" and args.automation:
                print(f"5/7 token_shards over {datasets}: launched by the line_automation sensor, nobody else")
                ended = instance.get_run_record_by_id(token_runs[-1].run_id).end_time
                token_runs += follow_automation(instance, datasets, ended)
            elif token_runs[-1].status.value == "SUCCESS":
                print(f"5/7 backfill tokenize_dataset over {datasets}")
                token_runs += follow_backfill(instance, launch_backfill(datasets, "tokenize_dataset"), len(datasets))
            if args.pretrain_tokens > 0 and all(r.status.value == "SUCCESS" for r in token_runs):
                print(f"6/7 pretrain: tiny EgoM2P for {args.pretrain_tokens:,} tokens through Dagster Pipes")
                token_runs.append(follow_run(instance, launch_run(
                    "pretrain", pretrain_config(args.pretrain_tokens, args.pretrain_budget_s))))
                if token_runs[-1].status.value == "SUCCESS" and not args.no_eval:
                    if not held_out_count(paths, datasets):
                        print("7/7 evaluate skipped: no held-out (val/test) sequence in this world — splits are "
                              "per sequence (80/10/10); synthesize more, e.g. --sequences 6")
                    else:
                        print("7/7 evaluate: task-specific models (same token budget each), then every method on "
                              "held-out clips")
                        token_runs.append(follow_run(instance, launch_run("evaluate", EVAL_CONFIG)))
    print(f"\nbackfill {backfill}: " + ", ".join(f"{r.tags.get('dagster/partition')}={r.status.value}" for r in runs))
    print(summary(paths, datasets, instance))
    print("\nunits of work per stage (latest materialization of each partition, summed):")
    print(units_summary(instance, datasets))
    if token_runs:
        print("\ntokenizers + token shards: " + ", ".join(
            f"{'token_shards' if r.tags.get('dagster/sensor_name') else r.job_name}"
            f"{'[' + r.tags['dagster/partition'] + ']' if 'dagster/partition' in r.tags else ''}={r.status.value}"
            for r in token_runs))
        print(token_summary(paths, datasets))
        print(pretrain_summary(paths))
        report = paths.eval_dir / "report.md"
        if report.exists():
            print("\n" + report.read_text())
    print(f"\ndemo finished in {time.time() - t0:.1f} s. Browse it: make ui  (http://127.0.0.1:3000)")
    return 0 if all(r.status.value == "SUCCESS" for r in runs + token_runs) else 1


if __name__ == "__main__":
    sys.exit(main())
