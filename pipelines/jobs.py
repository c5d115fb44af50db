"""Jobs: curate one dataset partition end to end (raw_inventory -> normalized_clips); make the tokenizers;
tokenize one dataset partition into token shards."""
import dagster as dg


curate_dataset = dg.define_asset_job(
    "curate_dataset", selection=dg.AssetSelection.groups("curation"),
    description="Curate one dataset partition: inventory, clips, depth labels, normalized canonical clips.")


train_tokenizers = dg.define_asset_job(
    "train_tokenizers", selection=dg.AssetSelection.assets("video_tokenizer", "trajectory_tokenizers"),
    description="Load the configured tokenizer weights, else train them on the curated clips (unpartitioned).")

tokenize_dataset = dg.define_asset_job(
    "tokenize_dataset", selection=dg.AssetSelection.assets("token_shards"),
    description="Tokenize one dataset partition into WebDataset shards with the current tokenizers.")

pretrain = dg.define_asset_job(
    "pretrain", selection=dg.AssetSelection.assets("pretrained_model"),
    description="Pretrain EgoM2P on the token shards (python / torchrun / deepspeed via Dagster Pipes; Launchpad config).")

evaluate = dg.define_asset_job(
    "evaluate", selection=dg.AssetSelection.assets("task_models", "evaluation"),
    description="Train the task-specific baselines, then evaluate every method on the held-out clips (data/eval/).")
