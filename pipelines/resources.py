"""Resources: where the data lives and how curation is configured (editable in the Launchpad)."""
from __future__ import annotations

import dagster as dg

from egom2p.curation.config import CurationConfig
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
    allow_short: curate sequences shorter than one clip as one padded clip (evaluation data)
    depth_annotator: ``none`` leaves missing depth missing (pseudo-depth annotators plug in here)
    """
    preset: str = "tiny"
    clip_resolution: int = 0
    allow_short: bool = False
    depth_annotator: str = "none"

    def config(self) -> CurationConfig:
        return CurationConfig(preset=self.preset, clip_resolution=self.clip_resolution,
                              allow_short=self.allow_short)
