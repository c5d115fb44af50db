"""Task-specific baselines and the evaluation report. Thin: the work is in egom2p.model and egom2p.tasks.

``task_models``: one EgoM2P of the same architecture per task (``rgb->gaze``, ``rgb->camera``,
``rgb->depth``, ``depth->rgb``), each trained on the same shards with the token budget the pretrained
multitask run actually consumed (same budget per task, as the paper's specialists), in-process.
``evaluation``: every method on the held-out clips → ``data/eval/report.md`` + plots, as metadata.
"""
from pathlib import Path

import dagster as dg
from pydantic import Field

from egom2p.assets.resources import DataRoot
from egom2p.curation.preview import markdown_image
from egom2p.paths import DataPaths

GROUP = "evaluation"


class TaskModelsConfig(dg.Config):
    """The task-specific baselines: which pretrained run they copy and how they are trained."""
    pretrained_run: str = Field(default="tiny", description=(
        "Run folder name under ``<data>/runs/`` whose token budget and training config the specialists copy "
        "(the ``run_name`` of a finished pretrained_model run; default ``tiny``)."))
    tokens: int = Field(default=0, description=(
        "Training length of each specialist in tokens (input + target); 0 (default) = the tokens that "
        "pretrained run consumed."))
    time_budget_s: float = Field(default=0.0, description=(
        "Wall-clock cap in seconds per specialist, which then stops early with a checkpoint; 0 (default) = none."))
    parallel: int = Field(default=2, description=(
        "Specialists trained at once, each in its own process with cores / parallel threads (default 2); "
        "1 = one after another in the step's process."))


def _run_dir(root: Path, name: str) -> Path:
    d = DataPaths(root).run(name)
    if not (d / "model.safetensors").exists():
        raise dg.Failure(f"no pretrained model in {d}; materialize pretrained_model (run_name={name!r}) first")
    return d


@dg.asset(group_name=GROUP, deps=[dg.AssetKey("pretrained_model")], kinds={"pytorch"},
          description="Task-specific EgoM2P baselines: same architecture and token budget, one task each.")
def task_models(context: dg.AssetExecutionContext, config: TaskModelsConfig, data: DataRoot) -> dg.MaterializeResult:
    from egom2p.model.parallel_runs import run_many
    from egom2p.tasks.specialists import specialist_configs
    root = data.paths().root
    _run_dir(root, config.pretrained_run)
    tokens, cfgs = specialist_configs(data.paths().runs_root, config.pretrained_run, config.tokens)
    meta = {"tokens_per_task": tokens, "parallel": config.parallel}
    context.log.info(f"training {len(cfgs)} task models ({', '.join(c.task for c in cfgs.values())}) for {tokens} "
                     f"tokens each, {config.parallel} at a time")
    summaries = run_many(list(cfgs.values()), config.time_budget_s, config.parallel, log=context.log.info)
    for (name, cfg), summary in zip(cfgs.items(), summaries):
        meta[f"{name}_final_loss"] = float(summary["final_loss"])
        meta[f"{name}_steps"] = int(summary["step"])
        meta[f"{name}_path"] = dg.MetadataValue.path(cfg.out_dir)
    return dg.MaterializeResult(metadata=meta)


class EvaluationConfig(dg.Config):
    """Which run the evaluation scores and on how many held-out clips."""
    pretrained_run: str = Field(default="tiny", description=(
        "Run folder name under ``<data>/runs/`` of the multitask run to evaluate (default ``tiny``); its task "
        "models are ``<run>-<task>``, made by task_models with the same pretrained_run."))
    max_clips_per_dataset: int = Field(default=0, description=(
        "Held-out (val/test) clips scored per dataset; 0 (default) = every held-out clip."))


@dg.asset(group_name=GROUP, deps=[task_models], kinds={"pytorch"},
          description="Four tasks × methods (EgoM2P, task-specific, trivial, OpenCV VO, tokenizer oracle) on held-out clips.")
def evaluation(context: dg.AssetExecutionContext, config: EvaluationConfig, data: DataRoot) -> dg.MaterializeResult:
    import numpy as np
    from PIL import Image

    from egom2p.tasks.run import run_evaluation
    from egom2p.tasks.specialists import trained_specialists
    root = data.paths().root
    src = _run_dir(root, config.pretrained_run)
    specialists = trained_specialists(data.paths().runs_root, config.pretrained_run)
    res = run_evaluation(root, src, specialists, max_per_dataset=config.max_clips_per_dataset, log=context.log.info)
    meta = {"report": dg.MetadataValue.md(res["report"]), "report_path": dg.MetadataValue.path(res["report_path"]),
            "clips": res["clips"], "specialists_over_multitask": float(res["specialists_over_multitask"]),
            "vs_trivial": dg.MetadataValue.json(res["vs_trivial"]),
            **{k: float(v) for k, v in res["main"].items()}}
    for p in res["plots"]:
        meta[f"plot_{Path(p).stem}"] = dg.MetadataValue.md(markdown_image(np.asarray(Image.open(p).convert("RGB")), Path(p).stem))
    return dg.MaterializeResult(metadata=meta)
