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

from egom2p.curation.config import CurationConfig
from egom2p.curation.depth_annotators import AnnotatorSettings, resolve_annotator_name
from egom2p.paths import DataPaths

if TYPE_CHECKING:  # torch-free at import
    from egom2p.tokenizers.training import TokenizerTrainConfig


class DataRoot(dg.ConfigurableResource):
    """The data root; empty = ``$EGOM2P_DATA`` or ``./data`` (one helper resolves it: egom2p.paths)."""
    root: str = ""

    def paths(self) -> DataPaths:
        return DataPaths.from_env(self.root or None)


class LineSettings(dg.ConfigurableResource):
    """Settings shared by every stage of the line.

    preset: ``tiny`` | ``paper`` — clip side (curation), network sizes and token shapes (tokenizers, model)
    """
    preset: str = "tiny"


class _UsesLine(dg.ConfigurableResource):
    """A settings resource that reads the line-wide ``preset`` from its nested ``line`` resource."""
    line: LineSettings

    def __init__(self, **data):
        data.setdefault("line", LineSettings())
        super().__init__(**data)

    @property
    def preset(self) -> str:
        return self.line.preset


class _RunsUnits(_UsesLine):
    """Where a stage's units run (fields shared by the curation and tokens resources).

    workers: local worker processes (0 = one per core, 1 = in the run's process, for debugging); never
        changes what is written
    executor: ``local`` (this machine's process pool) | ``ray`` (one Ray task per unit; results identical)
    ray_address: ``""`` = start a Ray instance on this machine (loopback only) | ``auto`` | ``ray://host:10001``;
        every Ray node must see the same data root path (shared filesystem)
    ray_cpus_per_unit / ray_memory_gb_per_unit: what one unit declares to Ray's scheduler
    """
    workers: int = 0
    executor: str = "local"
    ray_address: str = ""
    ray_cpus_per_unit: float = 1.0
    ray_memory_gb_per_unit: float = 2.0

    def executor_spec(self):
        from egom2p.pool import Executor
        return Executor(kind=self.executor, workers=self.workers, address=self.ray_address,
                        num_cpus=self.ray_cpus_per_unit, memory_gb=self.ray_memory_gb_per_unit)


class CurationSettings(_RunsUnits):
    """Curation settings; every field (and the line's preset) is saved into each clip's meta.json.

    preset (from ``line``): ``tiny`` | ``paper`` (sets the default clip side = 2 x tokenizer resolution)
    clip_resolution: square clip side in pixels, 0 = preset default
    allow_short: curate sequences shorter than one clip as one padded clip (always on for the evaluation
        datasets, ``EVALUATION_DATASETS``: ADT)
    depth_annotator: pseudo-depth for clips without ground truth: ``auto`` (default: ``none`` when no
        weights are configured, else ``rollingdepth`` if that package is importable, else
        ``marigold-rolling``) | ``none`` (leave missing) | ``rollingdepth`` | ``marigold-rolling``
    depth_checkpoint: local weights folder ('' = ``$EGOM2P_DEPTH_CHECKPOINT``), e.g. prs-eth/rollingdepth-v1-0
    depth_preset: RollingDepth preset fast | fast1024 | full | paper
    depth_device: auto (CUDA GPU when available) | cpu | cuda | cuda:N
    depth_processing_resolution / depth_dilations / depth_refine_steps: override the preset (0 / [] / -1 = preset)
    depth_coalign_iterations: Adam iterations of the co-alignment (paper: 2000)
    depth_cpu_threads: torch threads while annotating on CPU (0 = torch default)
    workers / executor / ray_*: where the per-sequence units run (see ``_RunsUnits``); a depth annotator is
        loaded once in each worker
    ray_gpus_per_depth_unit: GPU share a depth-annotation unit asks Ray for (e.g. 0.5; 0 = CPU only)
    max_dropped_fraction: the ``modality_coverage`` check (ERROR) fails when a modality the inventory lists
        for a sequence is lost on more than this fraction of those sequences' clips (a check threshold, not
        saved into the clips' meta)
    """
    clip_resolution: int = 0
    max_dropped_fraction: float = 0.2
    ray_gpus_per_depth_unit: float = 0.0
    allow_short: bool = False
    depth_annotator: str = "auto"
    depth_checkpoint: str = ""
    depth_preset: str = "fast"
    depth_device: str = "auto"
    depth_processing_resolution: int = 0
    depth_dilations: list[int] = []
    depth_refine_steps: int = -1
    depth_coalign_iterations: int = 2000
    depth_cpu_threads: int = 0

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
    """How ``video_tokenizer``, ``trajectory_tokenizers`` and ``token_shards`` get their tokenizers.

    preset (from ``line``): ``tiny`` | ``paper`` (network sizes and token shapes)
    video_weights: folder with ``config.json`` + ``weights.safetensors`` (ours) or Cosmos' official
        ``encoder.jit`` + ``decoder.jit`` (e.g. Cosmos-0.1-Tokenizer-DV4x8x8 at the paper preset);
        empty = train on the curated clips
    gaze_weights / camera_weights: saved trajectory tokenizer folders; empty = train
    video_steps / trajectory_steps / time_budget_s: training length when training (the demo keeps them
        short; raise them for real runs — the budget stops a run early, 0 = no budget)
    batch_size_video / batch_size_trajectory, lr, seed: training knobs
    trajectory_sampled_clips: extra gaze/camera training clips drawn straight from the synthetic motion
        model (``egom2p.synth.trajectories``, room + tabletop worlds, no rendering) on top of the curated
        train clips; 0 = curated clips only (then with augmentation). Thousands are needed for tokenizers
        that generalize (benchmarks/RESULTS.md, "Trajectory tokenizers"); the demo keeps it small
    shard_size: samples per tar; tokenize_batch: clips per encoder call
    workers / executor / ray_*: where the per-shard units run (see ``_RunsUnits``)
    device: where the encoders run when tokenizing, resolved in each worker: auto (CUDA when available, bf16
        autocast there) | cpu | cuda | cuda:N
    ray_gpus_per_video_unit: GPU share a video-tokenizer shard unit asks Ray for (e.g. 0.25; 0 = CPU only)
    """
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
    device: str = "auto"
    ray_gpus_per_video_unit: float = 0.0

    def train_config(self, kind: str) -> "TokenizerTrainConfig":
        from egom2p.tokenizers.training import TokenizerTrainConfig
        video = kind == "video"
        return TokenizerTrainConfig(steps=self.video_steps if video else self.trajectory_steps,
                                    batch_size=self.batch_size_video if video else self.batch_size_trajectory,
                                    lr=self.lr,
                                    warmup=min(20, max(1, (self.video_steps if video else self.trajectory_steps) // 5)),
                                    seed=self.seed, time_budget_s=self.time_budget_s, log_every=10)

