"""The ``pretrained_model`` asset: masked multimodal pretraining launched through Dagster Pipes.

Thin: the asset writes the run's TrainConfig to ``<runs>/<run_name>/run.yaml`` and starts
``egom2p.model.train`` with python, torchrun or the deepspeed launcher (Launchpad config) via
``PipesSubprocessClient``. Rank 0 reports loss, tokens/s and the checkpoint path over Pipes; the asset
adds the loss curve. On Kubernetes the same command runs in a pod with ``dagster_k8s.PipesK8sClient``
(README, "Training at scale").
"""

import os
from pathlib import Path

import dagster as dg
import yaml

from egom2p.model.launch import LaunchSpec, train_command
from egom2p.model.train_config import TrainConfig
from egom2p.pipelines.resources import DataRoot

GROUP = "model"


class PretrainConfig(dg.Config):
    """Launchpad config of one pretraining run (defaults: a short tiny run on this CPU).

    run_name: folder under ``<data>/runs/``; a run with the same name resumes from its latest checkpoint
    preset: tiny | paper; tokens: run length (input + target tokens, all ranks)
    launcher: python | torchrun | deepspeed; processes: ranks per node; hostfile: deepspeed multi-node
    engine: torch | deepspeed (the optimizer engine; the deepspeed launcher implies deepspeed)
    zero_stage, bf16, batch_size, grad_accum, lr, workers: training knobs; time_budget_s: stop early
    """
    run_name: str = "tiny"
    preset: str = "tiny"
    tokens: int = 3_000_000
    launcher: str = "python"
    processes: int = 1
    hostfile: str = ""
    engine: str = "torch"
    zero_stage: int = 1
    bf16: bool = False
    batch_size: int = 8
    grad_accum: int = 1
    lr: float = 1e-3
    warmup_tokens: int = 200_000
    workers: int = 1
    resume: bool = True
    time_budget_s: float = 0.0
    ckpt_every: int = 100
    log_every: int = 10
    seed: int = 0

    def train_config(self, data_root: Path) -> TrainConfig:
        engine = "deepspeed" if self.launcher == "deepspeed" else self.engine
        return TrainConfig(out_dir=str(data_root / "runs" / self.run_name), data_root=str(data_root),
                           preset=self.preset, tokens=self.tokens, batch_size=self.batch_size,
                           grad_accum=self.grad_accum, lr=self.lr, warmup_tokens=self.warmup_tokens, bf16=self.bf16,
                           engine=engine, zero_stage=self.zero_stage, workers=self.workers, seed=self.seed,
                           resume=self.resume, ckpt_every=self.ckpt_every, log_every=self.log_every)


@dg.asset(group_name=GROUP, deps=[dg.AssetKey("token_shards")], kinds={"pytorch", "deepspeed"},
          description="EgoM2P masked encoder-decoder pretrained on the token shards (launched via Dagster Pipes).")
def pretrained_model(context: dg.AssetExecutionContext, config: PretrainConfig, data: DataRoot,
                     pipes_subprocess_client: dg.PipesSubprocessClient) -> dg.MaterializeResult:
    from egom2p.model.reporting import plot_loss
    from egom2p.curation.preview import markdown_image
    root = data.paths().root
    cfg = config.train_config(root)
    spec = LaunchSpec(config.launcher, config.processes, config.hostfile)
    out = Path(cfg.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    run_yaml = out / "run.yaml"
    run_yaml.write_text(yaml.safe_dump(cfg.to_dict(), sort_keys=True))
    extra = ["--time-budget-s", str(config.time_budget_s)] if config.time_budget_s else []
    command = train_command(spec, run_yaml, extra=extra)
    context.log.info("launching: " + " ".join(command))
    env = {"EGOM2P_DATA": str(root), "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", str(os.cpu_count() or 1))}
    result = pipes_subprocess_client.run(command=command, context=context, env=env, cwd=str(Path.cwd()))
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
