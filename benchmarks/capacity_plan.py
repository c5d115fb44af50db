"""The capacity plan for the real corpus, made from the benchmarks' measurements (so it follows the code).

    .venv/bin/python benchmarks/capacity_plan.py [--clips 515000] [--cores 64] [--gpus 8] [--no-write]

Reads ``benchmarks/measurements/*.json`` (written by ``bench_source_scale.py``, ``bench_units.py``,
``bench_storage.py`` and, on a GPU, ``gpu_line.py``); where a GPU number was not measured here it uses the
published figure named in the table (source given). Per stage: CPU or GPU seconds per clip and bytes per
clip; for ``--clips`` clips: core-hours, GPU-hours, wall time on ``--cores`` cores + ``--gpus`` GPUs (stages
in sequence, each spread over all of its kind), disk per stage, and the orchestration counts: Dagster
partitions, runs and Ray tasks (one per sequence per curation stage, one per shard per modality).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from results import MEASUREMENTS, write_section  # noqa: E402

# the official data mix: shards of ≤ 1000 clips per pretraining dataset
SHARDS = {"holoassist": 196, "egoexo4d": 252, "egogen": 41, "hot3d_quest3": 10, "hot3d_aria": 7, "taco": 4,
          "arctic": 3, "h2o": 2}
PUBLISHED = {
    "video_tokenizer_s_per_clip": (17 * 0.0515, "Cosmos DV4x8x8 encode+decode ≈ 51.5 ms per frame on an A100 80GB "
                                   "(Cosmos-Tokenizer README), × 17 tokenizer frames per clip; encode only is less"),
    "pretrain_gpu_hours": (256 * 15, "EgoM2P README_TRAINING: 256 H100 for 15 hours"),
}
DAGSTER_PARTITION_LIMIT = 100_000


def load() -> dict[str, dict]:
    return {p.stem: json.loads(p.read_text()) for p in sorted(MEASUREMENTS.glob("*.json"))}


def plan(m: dict, clips: int, cores: int, gpus: int, mean_sequence_min: float, modalities: int = 4) -> tuple[list, dict]:
    """Rows (stage, kind, seconds per clip, source, bytes per clip) and the totals."""
    rows = []
    src = m.get("curation_source_scale", {})
    units = m.get("units", {})
    store = m.get("storage", {})
    gpu = m.get("gpu_line", {})
    per_stage_cpu = units.get("stage_cpu_s_per_clip", {})
    bytes_ = store.get("bytes_per_clip", {})
    rows.append(("clips (decode 1408² fisheye, rectify, encode 512²)", "CPU", src.get("clip_cpu_s"),
                 "bench_source_scale", bytes_.get("clips")))
    with_depth = store.get("stage_s_per_clip_with_depth", {})

    def cpu(stage: str) -> tuple[float | None, str]:
        """The stage's CPU s per clip: with the depth codec where bench_storage measured it (GT depth), else
        bench_units' (no depth), the larger of the two."""
        got = [(with_depth.get(stage), f"bench_storage ({store.get('side', '?')}², GT depth)"),
               (per_stage_cpu.get(stage), f"bench_units ({units.get('side', '?')}²)")]
        got = [g for g in got if g[0] is not None]
        return max(got) if got else (None, "not measured")

    rows.append(("depth_labels: ground truth", "CPU", *cpu("depth_labels"), bytes_.get("depth_labels")))
    depth_fps = gpu.get("depth_frames_per_s")
    rows.append(("depth_labels: annotator (clips without GT)", "GPU", 60.0 / depth_fps if depth_fps else None,
                 "gpu_line" if depth_fps else "not measured (no GPU lent; RollingDepth publishes no runtime)", None))
    rows.append(("normalized_clips", "CPU", *cpu("normalized_clips"), bytes_.get("normalized_clips")))
    vid = gpu.get("video_clips_per_s")
    vs, vsrc = (1.0 / vid, "gpu_line") if vid else PUBLISHED["video_tokenizer_s_per_clip"]
    rows.append(("token_shards: video (rgb + depth)", "GPU", 2 * vs, vsrc, bytes_.get("tokens")))
    cpu_s = sum(r[2] for r in rows if r[1] == "CPU" and r[2])
    gpu_s = sum(r[2] for r in rows if r[1] == "GPU" and r[2])
    pre_h, pre_src = PUBLISHED["pretrain_gpu_hours"]
    sequences = int(clips * 2 / (60 * mean_sequence_min))
    shards = sum(SHARDS.values())
    disk = {r[0]: r[4] * clips for r in rows if r[4]}
    totals = {"core_hours": clips * cpu_s / 3600, "gpu_hours": clips * gpu_s / 3600,
              "wall_hours": clips * cpu_s / 3600 / cores + clips * gpu_s / 3600 / gpus,
              "pretrain_gpu_hours": pre_h, "pretrain_src": pre_src,
              "pretrain_wall_hours_on_gpus": pre_h / gpus, "disk_tb": sum(disk.values()) / 1e12,
              "partitions": len(SHARDS), "runs": len(SHARDS) * 2, "sequences": sequences,
              "ray_tasks": 3 * sequences + shards * modalities, "shards": shards}
    return rows, totals


def table(rows: list, totals: dict, clips: int, cores: int, gpus: int, mean_sequence_min: float) -> str:
    fmt = lambda v, f: ("–" if v is None else format(v, f))  # noqa: E731
    lines = ["| stage | on | s per clip | source | bytes per clip | hours for the corpus |",
             "|---|---|---|---|---|---|"]
    for name, kind, s, source, b in rows:
        hours = None if s is None else clips * s / 3600
        lines.append(f"| {name} | {kind} | {fmt(s, '.3f')} | {source} | "
                     f"{fmt(b / 1e6 if b else None, '.2f')} MB | {fmt(hours, ',.0f')} {kind.lower()}-h |")
    t = totals
    return f"""Command: `.venv/bin/python benchmarks/capacity_plan.py --clips {clips} --cores {cores} --gpus {gpus}`
(made from `benchmarks/measurements/*.json`; re-run the benchmarks, then this, to refresh it).

{chr(10).join(lines)}

For **{clips:,} clips** on **{cores} cores + {gpus} GPUs**:
- data line: **{t['core_hours']:,.0f} core-hours + {t['gpu_hours']:,.0f} GPU-hours**, about
  **{t['wall_hours']:,.1f} h wall** (CPU stages spread over {cores} cores, then GPU stages over {gpus} GPUs;
  the depth annotator's GPU time is not in it until `gpu_line.py` measures it);
- pretraining: {t['pretrain_gpu_hours']:,} GPU-hours ({t['pretrain_src']}), {t['pretrain_wall_hours_on_gpus']:,.0f} h on {gpus} GPUs;
- disk: **{t['disk_tb']:.2f} TB** over the stages measured (bytes per clip × clips; raw sources not counted);
- orchestration: {t['partitions']} Dagster partitions per asset (far under Dagster's ~{DAGSTER_PARTITION_LIMIT:,}
  guidance), {t['runs']} partition runs per full pass (curation + tokenization), ≈ {t['sequences']:,} sequences at
  {mean_sequence_min:g} min mean length → ≈ {t['ray_tasks']:,} Ray tasks per full pass (3 curation units per
  sequence + {t['shards']} shards × 4 modalities).
"""


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clips", type=int, default=515_000)
    ap.add_argument("--cores", type=int, default=64)
    ap.add_argument("--gpus", type=int, default=8)
    ap.add_argument("--mean-sequence-min", type=float, default=4.0)
    ap.add_argument("--no-write", action="store_true")
    a = ap.parse_args(argv)
    rows, totals = plan(load(), a.clips, a.cores, a.gpus, a.mean_sequence_min)
    body = table(rows, totals, a.clips, a.cores, a.gpus, a.mean_sequence_min)
    print(body)
    if not a.no_write:
        write_section("Capacity plan for the real corpus", body)


if __name__ == "__main__":
    main()
