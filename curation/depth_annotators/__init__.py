"""Depth annotators: pseudo-depth for clips without ground truth (the ``depth_labels`` stage).

Registry ``ANNOTATORS``: name → ``"module:Class"`` built lazily with :class:`AnnotatorSettings`
(``None`` = leave depth missing). Names:

- ``none``: depth stays missing (the model handles missing modalities);
- ``rollingdepth``: the authors' package (``rollingdepth.py``; not on PyPI);
- ``marigold-rolling``: the same algorithm on diffusers' stock ``MarigoldDepthPipeline``
  (``marigold_rolling.py`` + ``attention.py`` + ``coalign.py``);
- ``auto`` (resolved, never stored): ``none`` when no weights are configured, else ``rollingdepth`` when
  the package is importable, else ``marigold-rolling``.

The output contract (relative inverse depth in [0, 1], one affine frame per sequence) is in ``base.py``.
"""
from __future__ import annotations

import importlib
import importlib.util

from .base import (CHECKPOINT_ENV, METRIC_DEPTH, PRESETS, RELATIVE_INVERSE_DEPTH, AnnotatorSettings,
                   AnnotatorUnavailable, DepthAnnotator)

ANNOTATORS: dict[str, str | None] = {
    "none": None,
    "rollingdepth": "egom2p.curation.depth_annotators.rollingdepth:RollingDepthAnnotator",
    "marigold-rolling": "egom2p.curation.depth_annotators.marigold_rolling:MarigoldRollingAnnotator",
}


def rollingdepth_importable() -> bool:
    return importlib.util.find_spec("rollingdepth") is not None


def resolve_annotator_name(name: str, settings: AnnotatorSettings = AnnotatorSettings()) -> str:
    """``auto`` → a registered name (see module doc); other names are checked and returned."""
    if name == "auto":
        if not settings.checkpoint_path():
            return "none"
        return "rollingdepth" if rollingdepth_importable() else "marigold-rolling"
    if name not in ANNOTATORS:
        raise KeyError(f"unknown depth annotator {name!r}; known: {sorted(ANNOTATORS) + ['auto']}")
    return name


def build_annotator(name: str, settings: AnnotatorSettings = AnnotatorSettings()) -> DepthAnnotator | None:
    """The annotator ``name`` (``auto`` resolved) built with ``settings``; None for ``none``.

    Raises AnnotatorUnavailable (with the reason) when it cannot run here.
    """
    target = ANNOTATORS[resolve_annotator_name(name, settings)]
    if target is None:
        return None
    module, cls = target.split(":")
    return getattr(importlib.import_module(module), cls)(settings)


__all__ = ["ANNOTATORS", "AnnotatorSettings", "AnnotatorUnavailable", "DepthAnnotator", "METRIC_DEPTH",
           "RELATIVE_INVERSE_DEPTH", "PRESETS", "CHECKPOINT_ENV", "build_annotator", "resolve_annotator_name",
           "rollingdepth_importable"]
