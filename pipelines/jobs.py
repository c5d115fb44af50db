"""Jobs: curate one dataset partition end to end (raw_inventory -> normalized_clips); make the tokenizers;
tokenize one dataset partition into token shards.

Executors: a job whose steps form a chain runs them in its run's own process (``in_process_executor``): the
parallelism is across runs (one per partition, ``max_concurrent_runs: 2`` in dagster.yaml = the 2 cores),
and a process per step would only re-import the code location and add nothing (the demo measured ~35 s of
process start-up per curation run with four step processes). ``train_tokenizers``, whose two assets are
independent, keeps the default multiprocess executor (``definitions.py``) and trains both at once.

The ``line_automation`` sensor (``sensors.py``) launches ``token_shards`` runs outside these jobs: they run as
Dagster's implicit asset job, with the Definitions' default executor (one step process per run).

Ready configs: Dagster keeps one default run config per job (the Launchpad opens with it), so each named
starting config is a job with that config: ``pretrain`` (tiny quick), ``pretrain_paper_8gpu`` (the paper's
recipe on one 8-GPU node with DeepSpeed ZeRO-1), ``evaluate`` and ``train_tokenizers`` (tiny, every field a
person would change written out). A config given at launch (Launchpad, ``dagster job launch --config-json``,
the demo) replaces the default per top-level entry below ``ops`` / ``resources``: an op or resource it names
takes its fields from the launch config (omitted fields: the class defaults), one it omits keeps the ready
config's. ``curate_dataset`` and ``tokenize_dataset`` are launched per partition by sensors and backfills and
have no ready config.
"""
import dagster as dg

from egom2p.assets.resources import TokenizerSettings

CHAIN = dg.in_process_executor

# ``pretrain``: a short tiny run (≈ 29 optimizer steps of 8 samples × 512 tokens) that ends in 1–2 minutes on a
# laptop CPU; the time budget caps it at 150 s on a slower machine (it then stops with a checkpoint).
PRETRAIN_TINY_QUICK = {
    "ops": {"pretrained_model": {"config": {
        "run_name": "tiny-quick", "launcher": "python", "processes": 1, "hostfile": "", "time_budget_s": 150.0,
        "train": {"tokens": 120_000, "warmup_tokens": 12_000, "batch_size": 8, "grad_accum": 1, "lr": 1e-3,
                  "engine": "torch", "bf16": False, "workers": 1, "resume": False, "ckpt_every": 10,
                  "log_every": 5, "seed": 0}}}},
    "resources": {"line": {"config": {"preset": "tiny"}}},
}

# ``pretrain_paper_8gpu``: the released EgoM2P recipe (official training config
# ego-b_mod4_500b_clariden_2048_camcv_depthdenoise.yaml: 500 B tokens, 10 B warm-up tokens, blr 1e-4 with
# lr = blr × global_batch / 256, min lr 0, weight decay 0.05, grad clip 1, bf16, batch 4 per GPU on 64 nodes ×
# 4 GPUs = 1024 (the file's comment says "32 x 64 = 2048"; the values give 1024)) on one node of 8 GPUs:
# 4 per GPU × grad_accum 32 × 8 ranks keeps the global batch of 1024, so lr = 4e-4.
# The paper ran DDP; DeepSpeed ZeRO-1 (optimizer state sharded over the 8 ranks) is this line's choice.
PAPER_GLOBAL_BATCH, PAPER_BLR = 1024, 1e-4
PAPER_GPUS, PAPER_BATCH_PER_GPU = 8, 4
PRETRAIN_PAPER_8GPU = {
    "ops": {"pretrained_model": {"config": {
        "run_name": "paper-8gpu", "launcher": "deepspeed", "processes": PAPER_GPUS, "hostfile": "",
        "time_budget_s": 0.0,
        "train": {"engine": "deepspeed", "zero_stage": 1, "bf16": True,
                  "tokens": 500_000_000_000, "warmup_tokens": 10_000_000_000,
                  "batch_size": PAPER_BATCH_PER_GPU,
                  "grad_accum": PAPER_GLOBAL_BATCH // (PAPER_GPUS * PAPER_BATCH_PER_GPU),
                  "lr": PAPER_BLR * PAPER_GLOBAL_BATCH / 256, "min_lr": 0.0, "weight_decay": 0.05, "grad_clip": 1.0,
                  "workers": 4, "resume": True, "ckpt_every": 250, "keep_checkpoints": 2, "log_every": 10,
                  "seed": 0}}}},
    "resources": {"line": {"config": {"preset": "paper"}}},
}

# ``evaluate``: the task models and the evaluation of the ``pretrain`` ready config's run
EVALUATE_TINY = {"ops": {
    "task_models": {"config": {"pretrained_run": "tiny-quick", "tokens": 0, "time_budget_s": 0.0, "parallel": 2}},
    "evaluation": {"config": {"pretrained_run": "tiny-quick", "max_clips_per_dataset": 0}},
}}

# ``train_tokenizers``: the tokens resource's training fields at their (tiny, demo-length) defaults
TOKENIZER_TRAINING_FIELDS = ("video_weights", "gaze_weights", "camera_weights", "video_steps", "trajectory_steps",
                             "time_budget_s", "batch_size_video", "batch_size_trajectory", "lr", "seed",
                             "trajectory_sampled_clips")
TRAIN_TOKENIZERS_TINY = {"resources": {
    "line": {"config": {"preset": "tiny"}},
    "tokens": {"config": {k: TokenizerSettings.model_fields[k].default for k in TOKENIZER_TRAINING_FIELDS}},
}}


curate_dataset = dg.define_asset_job(
    "curate_dataset", executor_def=CHAIN, selection=dg.AssetSelection.groups("curation"),
    description="Curate one dataset partition: inventory, clips, depth labels, normalized canonical clips.")


train_tokenizers = dg.define_asset_job(
    "train_tokenizers", selection=dg.AssetSelection.assets("video_tokenizer", "trajectory_tokenizers"),
    config=TRAIN_TOKENIZERS_TINY,
    description="Load the configured tokenizer weights, else train them on the curated clips (unpartitioned). "
                "Ready config: tiny preset, demo-length training (video 40 steps, trajectories 150 steps, 60 s "
                "budget each). Set resources.tokens.config.video_weights / gaze_weights / camera_weights to load "
                "saved tokenizers instead, raise the steps and time_budget_s (0 = none) for real tokenizers, "
                "resources.line.config.preset: paper for the paper's sizes.")

tokenize_dataset = dg.define_asset_job(
    "tokenize_dataset", executor_def=CHAIN, selection=dg.AssetSelection.assets("token_shards"),
    description="Tokenize one dataset partition into WebDataset shards with the current tokenizers.")

pretrain = dg.define_asset_job(
    "pretrain", executor_def=CHAIN, selection=dg.AssetSelection.assets("pretrained_model"),
    config=PRETRAIN_TINY_QUICK,
    description="Pretrain EgoM2P on the token shards (python / torchrun / deepspeed via Dagster Pipes). Ready config "
                "\"tiny quick\": run tiny-quick, tiny preset, 120,000 tokens (≈ 29 steps of 8 × 512 tokens, 1–2 "
                "minutes on a laptop CPU, capped at 150 s), a fresh run each launch (train.resume: false). Change "
                "ops.pretrained_model.config.train (any TrainConfig field: tokens, batch_size, lr, ...), run_name "
                "(a new folder under <data>/runs) or launcher/processes; pretrain_paper_8gpu holds the paper recipe.")

pretrain_paper_8gpu = dg.define_asset_job(
    "pretrain_paper_8gpu", executor_def=CHAIN, selection=dg.AssetSelection.assets("pretrained_model"),
    config=PRETRAIN_PAPER_8GPU,
    description="Pretrain EgoM2P at the paper preset on one node of 8 GPUs. Ready config \"paper on 8 GPUs\": run "
                "paper-8gpu, deepspeed launcher, 8 ranks, DeepSpeed ZeRO-1, bf16. From the official EgoM2P training "
                "config: 500 B tokens, 10 B warm-up tokens, global batch 1024 (there 4 per GPU on 256 GPUs; here 4 "
                "per GPU × grad_accum 32 × 8), lr 4e-4 (blr 1e-4 × 1024 / 256), min lr 0, weight decay 0.05, grad "
                "clip 1 — about 480 h on 8 H100s (the paper: 256 H100 × 15 h). Chosen here, not in the paper: "
                "ZeRO-1 (the paper ran DDP), 4 loader workers per rank, a checkpoint every 250 steps "
                "(train.resume: true continues from it). Change processes for another GPU count (keep processes × "
                "batch_size × grad_accum = 1024, or scale lr with the global batch), hostfile for several nodes, "
                "train.tokens for a shorter run.")

evaluate = dg.define_asset_job(
    "evaluate", executor_def=CHAIN, selection=dg.AssetSelection.assets("task_models", "evaluation"),
    config=EVALUATE_TINY,
    description="Train the task-specific baselines, then evaluate every method on the held-out clips (data/eval/). "
                "Ready config: the run of the pretrain job's ready config (pretrained_run tiny-quick), specialists "
                "with the tokens that run consumed (tokens 0), 2 at a time, every held-out clip. Set both "
                "pretrained_run fields to another run folder to evaluate it, max_clips_per_dataset to score fewer "
                "clips, task_models tokens / time_budget_s to shorten the specialists.")
