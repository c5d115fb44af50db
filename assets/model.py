"""The ``pretrained_model`` asset: masked multimodal pretraining launched through Dagster Pipes.

Thin: the asset writes the run's TrainConfig to ``<runs>/<run_name>/run.yaml`` and starts
``egom2p.model.train`` with python, torchrun or the deepspeed launcher (Launchpad config) via
``PipesSubprocessClient``. Rank 0 reports loss, tokens/s and the checkpoint path over Pipes; the asset
adds the loss curve. On Kubernetes the same command runs in a pod with ``dagster_k8s.PipesK8sClient``
(docs/ml-engineer.md, "Training at scale").
"""

import os
from pathlib import Path
from typing import Any

import dagster as dg
import yaml
from dagster._core.errors import DagsterPipesExecutionError
from pydantic import Field

from egom2p.assets.resources import DataRoot, LineSettings
from egom2p.model.launch import LaunchSpec, train_command
from egom2p.model.train_config import FAILURE_FILE, TrainConfig
from egom2p.paths import DataPaths

GROUP = "model"

# where the asset's training defaults differ from TrainConfig's (a short tiny run on this CPU)
TRAIN_DEFAULTS = {"tokens": 3_000_000, "warmup_tokens": 200_000}
# TrainConfig fields the asset sets itself: the run folder, the data root and the line-wide preset
SET_BY_ASSET = {"out_dir": "run_name (<data>/runs/<run_name>)", "data_root": "the data resource",
                "preset": "the line resource (resources.line.config.preset)"}


class PretrainConfig(dg.Config):
    """Launchpad config of one pretraining run (defaults: a short tiny run on this CPU; the size preset comes
    from the line resource, ``resources.line.config.preset``)."""
    run_name: str = Field(default="tiny", description=(
        "Run folder name under ``<data>/runs/`` (default ``tiny``); a run with the same name resumes from its "
        "latest checkpoint (unless train.resume is false)."))
    launcher: str = Field(default="python", description=(
        "How training starts: ``python`` (default; one process) | ``torchrun`` (DDP) | ``deepspeed`` (implies "
        "train.engine ``deepspeed``)."))
    processes: int = Field(default=1, description=(
        "Ranks per node, one per GPU on a GPU machine (default 1; launcher ``python`` runs exactly 1)."))
    hostfile: str = Field(default="", description=(
        "DeepSpeed multi-node hostfile (lines ``host slots=N``; launcher ``deepspeed`` only); empty (default) "
        "= this machine only."))
    time_budget_s: float = Field(default=0.0, description=(
        "Wall-clock cap in seconds: training stops early with a checkpoint after it; 0 (default) = none."))
    train: dict[str, Any] = Field(default={}, description=(
        "Any ``TrainConfig`` field (egom2p/model/train_config.py) on top of the asset's defaults, e.g. "
        "``{tokens: 3000000, warmup_tokens: 200000, batch_size: 8, grad_accum: 1, lr: 0.001, engine: torch, "
        "zero_stage: 1, bf16: false, workers: 1, resume: true, ckpt_every: 100, log_every: 10, seed: 0}`` "
        "(those are the defaults; tokens count input + target tokens over all ranks, batch_size is per rank). "
        "``out_dir``, ``data_root`` and ``preset`` come from run_name, the data resource and the line resource."))

    def train_config(self, data_root: Path, preset: str) -> TrainConfig:
        """The run's TrainConfig: the asset's defaults, then ``train``, validated by ``TrainConfig.from_dict``
        (an unknown key or a bad value raises ValueError naming it)."""
        fixed = sorted(set(self.train) & set(SET_BY_ASSET))
        if fixed:
            raise ValueError(f"pretrained_model config train.{fixed[0]} cannot be set here: it comes from "
                             f"{SET_BY_ASSET[fixed[0]]}")
        d = {**TRAIN_DEFAULTS, **self.train, "out_dir": str(DataPaths(data_root).run(self.run_name)),
             "data_root": str(data_root), "preset": preset}
        if self.launcher == "deepspeed":
            d["engine"] = "deepspeed"
        return TrainConfig.from_dict(d)


@dg.asset(group_name=GROUP, deps=[dg.AssetKey("token_shards")], kinds={"pytorch", "deepspeed"},
          description="EgoM2P masked encoder-decoder pretrained on the token shards (launched via Dagster Pipes).")
def pretrained_model(context: dg.AssetExecutionContext, config: PretrainConfig, data: DataRoot, line: LineSettings,
                     pipes_subprocess_client: dg.PipesSubprocessClient) -> dg.MaterializeResult:
    from egom2p.model.reporting import plot_loss
    from egom2p.curation.preview import markdown_image
    root = data.paths().root
    try:
        cfg = config.train_config(root, line.preset)
    except ValueError as e:
        raise dg.Failure(f"invalid pretrained_model config: {e}") from None
    spec = LaunchSpec(config.launcher, config.processes, config.hostfile)
    out = Path(cfg.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    run_yaml = out / "run.yaml"
    run_yaml.write_text(yaml.safe_dump(cfg.to_dict(), sort_keys=True))
    extra = ["--time-budget-s", str(config.time_budget_s)] if config.time_budget_s else []
    command = train_command(spec, run_yaml, extra=extra)
    context.log.info("launching: " + " ".join(command))
    env = {"EGOM2P_DATA": str(root), "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", str(os.cpu_count() or 1))}
    failure = out / FAILURE_FILE
    failure.unlink(missing_ok=True)     # a reason left by an earlier attempt of this run_name
    try:
        result = pipes_subprocess_client.run(command=command, context=context, env=env, cwd=str(Path.cwd()))
    except DagsterPipesExecutionError as e:
        reason = failure.read_text().strip() if failure.exists() else str(e)
        context.log.error(f"training failed: {reason}")
        raise dg.Failure(description=f"training failed: {reason}",
                         metadata={"reason": reason, "run_folder": dg.MetadataValue.path(str(out)),
                                   "command": " ".join(command)}) from None
    reported = result.get_materialize_result()
    meta = dict(reported.metadata or {})
    meta["command"] = dg.MetadataValue.text(" ".join(command))
    meta["config"] = dg.MetadataValue.json(cfg.to_dict())
    plot = plot_loss(out)
    if plot is not None:
        import numpy as np
        from PIL import Image
        meta["loss_curve"] = dg.MetadataValue.md(markdown_image(np.asarray(Image.open(plot).convert("RGB")), "loss"))
    return dg.MaterializeResult(metadata=meta)
