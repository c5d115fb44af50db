"""Resources: where the data lives and how curation is configured (editable in the Launchpad)."""
from __future__ import annotations

import dagster as dg

from egom2p.curation.config import CurationConfig
from egom2p.curation.depth_annotators import AnnotatorSettings, resolve_annotator_name
from egom2p.paths import DataPaths


class DataRoot(dg.ConfigurableResource):
    """The data root; empty = ``$EGOM2P_DATA`` or ``./data`` (one helper resolves it: egom2p.paths)."""
    root: str = ""

    def paths(self) -> DataPaths:
        return DataPaths.from_env(self.root or None)


class CurationSettings(dg.ConfigurableResource):
    """Curation settings; every field is saved into each clip's meta.json.

    preset: ``tiny`` | ``paper`` (sets the default clip side = 2 x tokenizer resolution)
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
    """
    preset: str = "tiny"
    clip_resolution: int = 0
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
