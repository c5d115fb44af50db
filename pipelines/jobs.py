"""Jobs: curate one dataset partition end to end (raw_inventory -> normalized_clips); make the tokenizers;
tokenize one dataset partition into token shards.

Executors: a job whose steps form a chain runs them in its run's own process (``in_process_executor``): the
parallelism is across runs (one per partition, ``max_concurrent_runs: 2`` in dagster.yaml = the 2 cores),
and a process per step would only re-import the code location and add nothing (the demo measured ~35 s of
process start-up per curation run with four step processes). ``train_tokenizers``, whose two assets are
independent, keeps the default multiprocess executor (``definitions.py``) and trains both at once.

The ``line_automation`` sensor (``sensors.py``) launches ``token_shards`` runs outside these jobs: they run as
Dagster's implicit asset job, with the Definitions' default executor (one step process per run).
"""
import dagster as dg

CHAIN = dg.in_process_executor


curate_dataset = dg.define_asset_job(
    "curate_dataset", executor_def=CHAIN, selection=dg.AssetSelection.groups("curation"),
    description="Curate one dataset partition: inventory, clips, depth labels, normalized canonical clips.")


train_tokenizers = dg.define_asset_job(
    "train_tokenizers", selection=dg.AssetSelection.assets("video_tokenizer", "trajectory_tokenizers"),
    description="Load the configured tokenizer weights, else train them on the curated clips (unpartitioned).")

tokenize_dataset = dg.define_asset_job(
    "tokenize_dataset", executor_def=CHAIN, selection=dg.AssetSelection.assets("token_shards"),
    description="Tokenize one dataset partition into WebDataset shards with the current tokenizers.")

pretrain = dg.define_asset_job(
    "pretrain", executor_def=CHAIN, selection=dg.AssetSelection.assets("pretrained_model"),
    description="Pretrain EgoM2P on the token shards (python / torchrun / deepspeed via Dagster Pipes; Launchpad config).")

evaluate = dg.define_asset_job(
    "evaluate", executor_def=CHAIN, selection=dg.AssetSelection.assets("task_models", "evaluation"),
    description="Train the task-specific baselines, then evaluate every method on the held-out clips (data/eval/).")
