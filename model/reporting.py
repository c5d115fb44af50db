"""Rank-0 reporting for training runs: metrics.jsonl, TensorBoard, progress bar, Dagster Pipes, loss plot.

Only global rank 0 opens Dagster Pipes: the launchers (torchrun, deepspeed) copy the environment into
every rank, so every rank would otherwise write to the same message channel.
Outside Dagster (no ``DAGSTER_PIPES_CONTEXT`` in the environment) nothing is opened.
"""
from __future__ import annotations

import contextlib
import json
import os
import sys
from pathlib import Path

METRICS_FILE = "metrics.jsonl"


@contextlib.contextmanager
def pipes_session(is_main: bool):
    """Yield a ``PipesContext`` on rank 0 under Dagster Pipes, else None."""
    if not is_main or "DAGSTER_PIPES_CONTEXT" not in os.environ:
        yield None
        return
    from dagster_pipes import open_dagster_pipes
    with open_dagster_pipes() as pipes:
        yield pipes


class Reporter:
    """Collects logged points; on rank 0 writes them to metrics.jsonl / TensorBoard / tqdm / Pipes."""

    def __init__(self, out_dir: Path, is_main: bool, total_steps: int, start_step: int, tensorboard: bool, pipes=None):
        self.out_dir, self.is_main, self.pipes = Path(out_dir), is_main, pipes
        self.writer = self.bar = None
        if not is_main:
            return
        self.out_dir.mkdir(parents=True, exist_ok=True)
        if tensorboard:
            from torch.utils.tensorboard import SummaryWriter
            self.writer = SummaryWriter(str(self.out_dir / "tensorboard"))
        from tqdm import tqdm
        self.bar = tqdm(total=total_steps, initial=start_step, desc="train", unit="step", dynamic_ncols=True,
                        file=sys.stderr, disable=None)

    def log(self, row: dict) -> None:
        """One logged point: {"step", "loss", "loss_<m>", "lr", "tokens", "tokens_per_s", …}."""
        if not self.is_main:
            return
        with open(self.out_dir / METRICS_FILE, "a") as f:
            f.write(json.dumps(row, sort_keys=True) + "\n")
        if self.writer is not None:
            for k, v in row.items():
                if k != "step" and isinstance(v, (int, float)):
                    self.writer.add_scalar(f"train/{k}", v, row["step"])
        if self.bar is not None:
            self.bar.set_postfix(loss=f"{row['loss']:.3f}", tok_s=f"{row['tokens_per_s']:.0f}", refresh=False)
        if self.pipes is not None:
            self.pipes.log.info(f"step {row['step']}: loss {row['loss']:.4f}, {row['tokens_per_s']:.0f} tokens/s")

    def advance(self, n: int = 1) -> None:
        if self.bar is not None:
            self.bar.update(n)

    def message(self, text: str) -> None:
        if not self.is_main:
            return
        if self.bar is not None:
            self.bar.write(text, file=sys.stderr)
        else:
            print(text, file=sys.stderr, flush=True)
        if self.pipes is not None:
            self.pipes.log.info(text)

    def close(self, summary: dict | None = None) -> None:
        if not self.is_main:
            return
        if self.bar is not None:
            self.bar.close()
        if self.writer is not None:
            self.writer.close()
        if summary is not None and self.pipes is not None:
            self.pipes.report_asset_materialization(metadata=pipes_metadata(summary))


def pipes_metadata(summary: dict) -> dict:
    """Summary → Pipes metadata (numbers as floats/ints, paths as path values)."""
    out = {}
    for k, v in summary.items():
        if isinstance(v, bool) or v is None:
            out[k] = {"raw_value": str(v), "type": "text"}
        elif isinstance(v, int):
            out[k] = {"raw_value": v, "type": "int"}
        elif isinstance(v, float):
            out[k] = {"raw_value": v, "type": "float"}
        elif k.endswith(("_path", "_dir")):
            out[k] = {"raw_value": str(v), "type": "path"}
        else:
            out[k] = {"raw_value": json.dumps(v) if not isinstance(v, str) else v, "type": "text"}
    return out


def read_metrics(out_dir: str | Path) -> list[dict]:
    """Logged points of a run, last value per step (a resumed run re-logs the steps after its checkpoint)."""
    path = Path(out_dir) / METRICS_FILE
    if not path.exists():
        return []
    by_step = {}
    for line in path.read_text().splitlines():
        if line.strip():
            row = json.loads(line)
            by_step[row["step"]] = row
    return [by_step[s] for s in sorted(by_step)]


def plot_loss(out_dir: str | Path, path: str | Path | None = None) -> Path | None:
    """Loss curve (total and per modality vs tokens) → PNG; None when nothing was logged."""
    rows = read_metrics(out_dir)
    if not rows:
        return None
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    path = Path(path or Path(out_dir) / "loss.png")
    fig, ax = plt.subplots(figsize=(6, 3.6), dpi=110)
    x = [r["tokens"] / 1e6 for r in rows]
    ax.plot(x, [r["loss"] for r in rows], color="black", lw=2, label="loss")
    for k in sorted({k for r in rows for k in r if k.startswith("loss_")}):
        ax.plot(x, [r.get(k, float("nan")) for r in rows], lw=1, label=k[5:])
    ax.set_xlabel("tokens (M)")
    ax.set_ylabel("cross-entropy")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path
