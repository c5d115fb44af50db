"""Resources (editable in the Launchpad): where the data lives, the line-wide preset, how curation runs and
how the tokenizers are made.

Torch-free at import: every Dagster process (webserver, daemon, each run and each step) loads the code
location, so tokenizer training code is imported only inside the methods that build its configs.

``LineSettings`` holds the one ``preset`` of the whole line. ``CurationSettings`` and ``TokenizerSettings``
nest it as a Dagster nested resource; the Definitions pass one ``LineSettings.configure_at_launch()`` as the
top-level ``line`` resource and into both, so the Launchpad shows ``resources.line.config.preset`` once and
curation, tokenizers and pretraining (``pretrained_model`` takes ``line`` directly) read the same value.
Built without ``line`` (tests, scripts), a settings resource gets its own ``LineSettings()`` (``tiny``).
"""
# no ``from __future__ import annotations`` here: Dagster reads the nested ``line: LineSettings`` annotation at
# class creation to accept a resource configured at launch there
from typing import TYPE_CHECKING

import dagster as dg
from pydantic import Field

from egom2p.curation.config import CurationConfig
from egom2p.curation.depth_annotators import AnnotatorSettings, resolve_annotator_name
from egom2p.paths import DataPaths

if TYPE_CHECKING:  # torch-free at import
    from egom2p.tokenizers.training import TokenizerTrainConfig


class DataRoot(dg.ConfigurableResource):
    """Where the line reads raw data and writes every artifact (clips, tokens, runs, eval)."""
    root: str = Field(default="", description=(
        "Data root folder (absolute or relative to the working directory). Empty (default) = ``$EGOM2P_DATA`` "
        "when set, else ``./data``; one helper resolves it (egom2p.paths)."))

    def paths(self) -> DataPaths:
        return DataPaths.from_env(self.root or None)


class LineSettings(dg.ConfigurableResource):
    """Settings shared by every stage of the line (curation, tokenizers, pretraining)."""
    preset: str = Field(default="tiny", description=(
        "Line-wide size preset: ``tiny`` (default; runs on a 2-core CPU) | ``paper`` (the EgoM2P paper's sizes). "
        "Sets the clip side (curation), network sizes and token shapes (tokenizers, model)."))


class _UsesLine(dg.ConfigurableResource):
    """A settings resource that reads the line-wide ``preset`` from its nested ``line`` resource."""
    line: LineSettings = Field(description=(
        "The line-wide settings (nested resource; configured once as ``resources.line``). Built without it, "
        "a settings resource gets its own ``LineSettings()`` (``tiny``)."))

    def __init__(self, **data):
        data.setdefault("line", LineSettings())
        super().__init__(**data)

    @property
    def preset(self) -> str:
        return self.line.preset


class _RunsUnits(_UsesLine):
    """Where a stage's units run (fields shared by the curation and tokens resources); never changes what is
    written."""
    workers: int = Field(default=0, description=(
        "Local worker processes for the stage's units: 0 (default) = one per core, 1 = in the run's own "
        "process (for debugging), N = N processes. Never changes what is written."))
    executor: str = Field(default="local", description=(
        "Where the units run: ``local`` (default; this machine's process pool) | ``ray`` (one Ray task per "
        "unit; results identical)."))
    ray_address: str = Field(default="", description=(
        "Ray cluster for executor ``ray``: empty (default) = start a Ray instance on this machine (loopback "
        "only) | ``auto`` | ``ray://host:10001``. Every Ray node must see the same data root path."))
    ray_cpus_per_unit: float = Field(default=1.0, description=(
        "CPUs one unit declares to Ray's scheduler (executor ``ray``; default 1.0)."))
    ray_memory_gb_per_unit: float = Field(default=2.0, description=(
        "Memory in GB one unit declares to Ray's scheduler (executor ``ray``; default 2.0)."))

    def executor_spec(self):
        from egom2p.pool import Executor
        return Executor(kind=self.executor, workers=self.workers, address=self.ray_address,
                        num_cpus=self.ray_cpus_per_unit, memory_gb=self.ray_memory_gb_per_unit)


class CurationSettings(_RunsUnits):
    """Curation settings; every field (and the line's preset, which sets the default clip side = 2 x the
    tokenizer resolution) is saved into each clip's meta.json. ``workers`` / ``executor`` / ``ray_*``: where
    the per-sequence units run; a depth annotator is loaded once in each worker."""
    clip_resolution: int = Field(default=0, description=(
        "Square clip side in pixels; 0 (default) = the preset's default (2 x the tokenizer resolution)."))
    max_dropped_fraction: float = Field(default=0.2, description=(
        "Threshold (fraction 0-1, default 0.2) of the ``modality_coverage`` check (ERROR): it fails when a "
        "modality the inventory lists for a sequence is lost on more than this fraction of those sequences' "
        "clips. A check threshold, not saved into the clips' meta."))
    ray_gpus_per_depth_unit: float = Field(default=0.0, description=(
        "GPU share a depth-annotation unit asks Ray for (executor ``ray``; e.g. 0.5); 0 (default) = CPU only."))
    allow_short: bool = Field(default=False, description=(
        "Curate sequences shorter than one clip as one padded clip (default false). Always on for the "
        "evaluation datasets (``EVALUATION_DATASETS``: ADT)."))
    depth_annotator: str = Field(default="auto", description=(
        "Pseudo-depth for clips without ground truth: ``auto`` (default: ``none`` when no weights are "
        "configured, else ``rollingdepth`` if that package is importable, else ``marigold-rolling``) | "
        "``none`` (leave missing) | ``rollingdepth`` | ``marigold-rolling``."))
    depth_checkpoint: str = Field(default="", description=(
        "Local folder of the depth annotator's weights (e.g. a download of prs-eth/rollingdepth-v1-0); "
        "empty (default) = ``$EGOM2P_DEPTH_CHECKPOINT``."))
    depth_preset: str = Field(default="fast", description=(
        "RollingDepth preset: ``fast`` (default) | ``fast1024`` | ``full`` | ``paper``."))
    depth_device: str = Field(default="auto", description=(
        "Where the depth annotator runs: ``auto`` (default; a CUDA GPU when available) | ``cpu`` | ``cuda`` | "
        "``cuda:N``."))
    depth_processing_resolution: int = Field(default=0, description=(
        "Longest edge in pixels the annotator resizes frames to; 0 (default) = the depth preset's value."))
    depth_dilations: list[int] = Field(default=[], description=(
        "Snippet dilations (frame spacing inside a snippet; must include 1), e.g. [1, 10, 25]; empty (default) = "
        "the depth preset's value."))
    depth_refine_steps: int = Field(default=-1, description=(
        "RollingDepth refinement steps; -1 (default) = the depth preset's value, 0 = no refinement."))
    depth_coalign_iterations: int = Field(default=2000, description=(
        "Adam iterations of the depth co-alignment (default 2000, as in the paper)."))
    depth_cpu_threads: int = Field(default=0, description=(
        "Torch threads while annotating depth on CPU; 0 (default) = torch's default."))

    def annotator_settings(self) -> AnnotatorSettings:
        return AnnotatorSettings(checkpoint=self.depth_checkpoint, preset=self.depth_preset, device=self.depth_device,
                                 processing_resolution=self.depth_processing_resolution,
                                 dilations=tuple(self.depth_dilations), refine_steps=self.depth_refine_steps,
                                 coalign_iterations=self.depth_coalign_iterations, cpu_threads=self.depth_cpu_threads)

    def annotator_name(self) -> str:
        """``depth_annotator`` with ``auto`` resolved."""
        return resolve_annotator_name(self.depth_annotator, self.annotator_settings())

    def config(self, dataset: str = "") -> CurationConfig:
        """The curation config of one dataset partition."""
        return CurationConfig(preset=self.preset, clip_resolution=self.clip_resolution,
                              allow_short=self.allow_short).for_dataset(dataset)


class TokenizerSettings(_RunsUnits):
    """How ``video_tokenizer``, ``trajectory_tokenizers`` and ``token_shards`` get their tokenizers (the line's
    preset sets network sizes and token shapes). ``workers`` / ``executor`` / ``ray_*``: where the per-shard
    units run."""
    video_weights: str = Field(default="", description=(
        "Video tokenizer weights: a folder with ``config.json`` + ``weights.safetensors`` (ours) or Cosmos' "
        "official ``encoder.jit`` + ``decoder.jit`` (e.g. Cosmos-0.1-Tokenizer-DV4x8x8 at the paper preset); "
        "empty (default) = train one on the curated clips."))
    gaze_weights: str = Field(default="", description=(
        "Saved gaze trajectory tokenizer folder; empty (default) = train one."))
    camera_weights: str = Field(default="", description=(
        "Saved camera trajectory tokenizer folder; empty (default) = train one."))
    video_steps: int = Field(default=40, description=(
        "Optimizer steps when training the video tokenizer (default 40: a demo length; raise it for real runs)."))
    trajectory_steps: int = Field(default=150, description=(
        "Optimizer steps when training each trajectory tokenizer (gaze, camera; default 150: a demo length)."))
    time_budget_s: float = Field(default=60.0, description=(
        "Wall-clock cap in seconds of each tokenizer training, which then stops early (default 60); 0 = none."))
    batch_size_video: int = Field(default=2, description=(
        "Clips per step when training the video tokenizer (default 2)."))
    batch_size_trajectory: int = Field(default=32, description=(
        "Clips per step when training a trajectory tokenizer (default 32)."))
    lr: float = Field(default=1e-3, description="Peak learning rate of tokenizer training (AdamW; default 1e-3).")
    seed: int = Field(default=0, description="Random seed of tokenizer training (default 0).")
    trajectory_sampled_clips: int = Field(default=256, description=(
        "Extra gaze/camera training clips drawn from the synthetic motion model (``egom2p.synth.trajectories``, "
        "room + tabletop, no rendering) on top of the curated train clips (default 256); 0 = curated clips only "
        "(then with augmentation). Thousands are needed for tokenizers that generalize (benchmarks/RESULTS.md)."))
    shard_size: int = Field(default=256, description="Samples per token-shard tar file (default 256).")
    tokenize_batch: int = Field(default=8, description="Clips per encoder call when tokenizing (default 8).")
    device: str = Field(default="auto", description=(
        "Where the encoders run when tokenizing, resolved in each worker: ``auto`` (default; CUDA when "
        "available, with bf16 autocast) | ``cpu`` | ``cuda`` | ``cuda:N``."))
    ray_gpus_per_video_unit: float = Field(default=0.0, description=(
        "GPU share a video-tokenizer shard unit asks Ray for (executor ``ray``; e.g. 0.25); 0 (default) = CPU only."))

    def train_config(self, kind: str) -> "TokenizerTrainConfig":
        from egom2p.tokenizers.training import TokenizerTrainConfig
        video = kind == "video"
        return TokenizerTrainConfig(steps=self.video_steps if video else self.trajectory_steps,
                                    batch_size=self.batch_size_video if video else self.batch_size_trajectory,
                                    lr=self.lr,
                                    warmup=min(20, max(1, (self.video_steps if video else self.trajectory_steps) // 5)),
                                    seed=self.seed, time_budget_s=self.time_budget_s, log_every=10)

