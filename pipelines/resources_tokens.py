"""Tokenizer settings (editable in the Launchpad): which weights to load, else how to train them."""
from __future__ import annotations

from typing import TYPE_CHECKING

import dagster as dg

if TYPE_CHECKING:  # torch-free at import: every Dagster process loads this code location
    from egom2p.tokenizers.training import TrainConfig


class TokenizerSettings(dg.ConfigurableResource):
    """How ``video_tokenizer``, ``trajectory_tokenizers`` and ``token_shards`` get their tokenizers.

    preset: ``tiny`` | ``paper`` (network sizes and token shapes)
    video_weights: folder with ``config.json`` + ``weights.safetensors`` (ours) or Cosmos' official
        ``encoder.jit`` + ``decoder.jit`` (e.g. Cosmos-0.1-Tokenizer-DV4x8x8 at the paper preset);
        empty = train on the curated clips
    gaze_weights / camera_weights: saved trajectory tokenizer folders; empty = train
    video_steps / trajectory_steps / time_budget_s: training length when training (the demo keeps them
        short; raise them for real runs — the budget stops a run early, 0 = no budget)
    batch_size_video / batch_size_trajectory, lr, seed: training knobs
    trajectory_sampled_clips: extra gaze/camera training clips drawn straight from the synthetic motion
        model (``egom2p.synth.trajectories``, room + tabletop worlds, ~30 ms each, no rendering) on top of
        the curated train clips; 0 = curated clips only (then with augmentation). Thousands are needed for
        tokenizers that generalize (benchmarks/RESULTS.md, "Trajectory tokenizers"); the demo keeps it small
    shard_size: samples per tar; tokenize_batch: clips per encoder call
    """
    preset: str = "tiny"
    video_weights: str = ""
    gaze_weights: str = ""
    camera_weights: str = ""
    video_steps: int = 40
    trajectory_steps: int = 150
    time_budget_s: float = 60.0
    batch_size_video: int = 2
    batch_size_trajectory: int = 32
    lr: float = 1e-3
    seed: int = 0
    trajectory_sampled_clips: int = 256
    shard_size: int = 256
    tokenize_batch: int = 8

    def train_config(self, kind: str) -> TrainConfig:
        from egom2p.tokenizers.training import TrainConfig
        video = kind == "video"
        return TrainConfig(steps=self.video_steps if video else self.trajectory_steps,
                           batch_size=self.batch_size_video if video else self.batch_size_trajectory,
                           lr=self.lr, warmup=min(20, max(1, (self.video_steps if video else self.trajectory_steps) // 5)),
                           seed=self.seed, time_budget_s=self.time_budget_s, log_every=10)
