"""Evaluation report: markdown tables (task × method × metric, overall and per dataset) and PNG plots."""
from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import numpy as np

from egom2p.catalog import EVALUATION_DATASETS

from .registry import TASKS

METRICS = {"gaze_estimation": ("gaze_px_error", "gaze_angular_error_deg", "gaze_mse"),
           "camera_tracking": ("ate_m", "rte_m", "rre_deg"),
           "depth_estimation": ("absrel", "delta1"),
           "video_generation": ("psnr", "ssim")}


def aggregate(rows: list[dict], by_dataset: bool = False) -> dict[tuple, dict[str, float]]:
    """(task, method[, dataset]) → mean of each metric over clips (NaN-aware) + clip count + s/clip."""
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for r in rows:
        groups[(r["task"], r["method"]) + ((r["dataset"],) if by_dataset else ())].append(r)
    out = {}
    for k, rs in groups.items():
        names = METRICS[k[0]] + ("seconds",)
        out[k] = {n: float(np.nanmean([r.get(n, np.nan) for r in rs])) for n in names}
        out[k]["clips"] = len(rs)
    return out


def targeted(rows: list[dict]) -> list[dict]:
    """The rows the evaluation's targets are about: every dataset but the evaluation-only ones (ADT)."""
    return [r for r in rows if r["dataset"] not in EVALUATION_DATASETS]


def ratio_vs_trivial(agg: dict[tuple, dict], method: str) -> dict[str, float]:
    """task → how many times better than the trivial baseline ``method`` is on the main metric."""
    out = {}
    for name, task in TASKS.items():
        a, b = agg.get((name, method)), agg.get((name, "trivial"))
        if not a or not b:
            continue
        m = task.main_metric
        out[name] = (b[m] / a[m]) if task.lower_is_better else (a[m] / b[m])
    return out


def markdown(rows: list[dict], title: str = "Evaluation") -> str:
    agg, per_ds = aggregate(rows), aggregate(rows, by_dataset=True)
    lines = [f"# {title}", "", f"{len({r['key'] for r in rows})} held-out clips.", ""]
    for name in TASKS:
        keys = sorted(k for k in agg if k[0] == name)
        if not keys:
            continue
        ms = METRICS[name]
        arrow = "↓" if TASKS[name].lower_is_better else "↑"
        lines += [f"## {name} (main: {TASKS[name].main_metric} {arrow})", "",
                  "| method | dataset | clips | " + " | ".join(ms) + " | s/clip |",
                  "|---|---|---|" + "---|" * len(ms) + "---|"]
        for k in keys:
            v = agg[k]
            lines.append(f"| {k[1]} | **all** | {v['clips']} | " + " | ".join(f"{v[m]:.4g}" for m in ms)
                         + f" | {v['seconds']:.3f} |")
            for kd in sorted(x for x in per_ds if x[:2] == k):
                v = per_ds[kd]
                lines.append(f"| {k[1]} | {kd[2]} | {v['clips']} | " + " | ".join(f"{v[m]:.4g}" for m in ms)
                             + f" | {v['seconds']:.3f} |")
        lines.append("")
    target = aggregate(targeted(rows))
    left_out = sorted({r["dataset"] for r in rows} & EVALUATION_DATASETS)
    if left_out:
        lines.append(f"Ratios below: held-out clips of the training datasets; {', '.join(left_out)} (evaluation "
                     "only) is reported above, not targeted.")
    for method, note in (("EgoM2P", ""), ("task-specific", ""),
                         ("tokenizer oracle", " — the ceiling of any model that predicts these tokens")):
        r = ratio_vs_trivial(target, method)
        if r:
            lines.append(f"{method} vs trivial (main metric, × better): "
                         + ", ".join(f"{t} {x:.2f}×" for t, x in r.items()) + note)
    return "\n".join(lines) + "\n"


def plot_examples(examples: list[dict], out_dir: str | Path) -> list[Path]:
    """One PNG per task: depth maps side by side, gaze x/y over frames, camera paths top-down (x–z),
    video frames side by side. Returns the written paths."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for task in TASKS:
        ex = [e for e in examples if e["task"] == task]
        if not ex:
            continue
        fig, axes = plt.subplots(1, len(ex) + 1, figsize=(2.6 * (len(ex) + 1), 2.6), dpi=100, squeeze=False)
        axes = axes[0]
        gt = ex[0]["gt"]
        _draw(task, axes[0], gt, gt, "ground truth")
        for ax, e in zip(axes[1:], ex):
            _draw(task, ax, np.asarray(e["pred"]), gt, e["method"])
        fig.suptitle(f"{task} · {ex[0]['key']}", fontsize=8)
        fig.tight_layout()
        path = out_dir / f"{task}.png"
        fig.savefig(path)
        plt.close(fig)
        paths.append(path)
    return paths


def _draw(task: str, ax, x: np.ndarray, gt: np.ndarray, label: str) -> None:
    ax.set_title(label, fontsize=7)
    if task == "depth_estimation":
        ax.imshow(np.nan_to_num(x[len(x) // 2]), cmap="magma", vmin=0, vmax=1)
        ax.axis("off")
    elif task == "video_generation":
        ax.imshow(x[len(x) // 2])
        ax.axis("off")
    elif task == "gaze_estimation":
        ax.plot(gt[:, 0], color="0.7", lw=2)
        ax.plot(gt[:, 1], color="0.7", lw=2, ls="--")
        ax.plot(x[:, 0], lw=1, label="x")
        ax.plot(x[:, 1], lw=1, ls="--", label="y")
        ax.set_ylim(0, 1)
        ax.set_xlabel("frame", fontsize=6)
        ax.tick_params(labelsize=6)
    else:
        from egom2p.metrics import align_trajectory
        aligned, _ = align_trajectory(x, gt) if x is not gt else (x, None)
        ax.plot(gt[:, 0, 3], gt[:, 2, 3], color="0.7", lw=2)
        ax.plot(aligned[:, 0, 3], aligned[:, 2, 3], lw=1)
        ax.set_aspect("equal", "datalim")
        ax.set_xlabel("x (m)", fontsize=6)
        ax.tick_params(labelsize=6)
