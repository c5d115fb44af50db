"""Curation settings, frozen and saved into every clip's meta and every asset's metadata."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from egom2p.catalog import EVALUATION_DATASETS
from egom2p.presets import CLIP_FPS, CLIP_FRAMES, get_preset


@dataclass(frozen=True)
class CurationConfig:
    """How native sequences become canonical clips.

    preset:           preset name; sets the default clip resolution (2 x tokenizer resolution)
    clip_resolution:  square clip side in pixels (0 = the preset's default)
    fps:              canonical timeline rate (Hz)
    clip_frames:      frames per clip (60 = 2 s at 30 FPS)
    max_gaze_gap_s:   gaze samples further apart than this are not interpolated across (blinks, dropouts)
    max_pose_gap_s:   pose samples further apart than this leave the frames between without a camera
    depth_percentiles: (low, high) percentiles of inverse depth per sequence mapped to 0 and 1
    min_clips:        a sequence with fewer whole clips is quarantined ("shorter than one clip")
    allow_short:      evaluation mode: a sequence shorter than one clip becomes one clip padded by
                      repeating its last frame; padded frames get NaN gaze/depth and the last pose, and
                      the clip meta records ``valid_frames``
    """
    preset: str = "tiny"
    clip_resolution: int = 0
    fps: float = CLIP_FPS
    clip_frames: int = CLIP_FRAMES
    max_gaze_gap_s: float = 0.25
    max_pose_gap_s: float = 0.2
    depth_percentiles: tuple[float, float] = (1.0, 99.0)
    min_clips: int = 1
    allow_short: bool = False

    @property
    def side(self) -> int:
        return self.clip_resolution or get_preset(self.preset).clip_resolution

    def for_dataset(self, dataset: str) -> "CurationConfig":
        """This config for one dataset: an evaluation dataset (``EVALUATION_DATASETS``: ADT) always
        curates a too-short sequence as one padded clip."""
        return dataclasses.replace(self, allow_short=True) if dataset in EVALUATION_DATASETS else self

    def max_gap_s(self, resample: str) -> float:
        """Largest sample gap (s) a track is interpolated across: ``linear`` tracks (gaze-like signals) use
        ``max_gaze_gap_s``, ``pose`` tracks ``max_pose_gap_s``."""
        return {"linear": self.max_gaze_gap_s, "pose": self.max_pose_gap_s}[resample]

    def to_dict(self) -> dict:
        return {**dataclasses.asdict(self), "side": self.side}
