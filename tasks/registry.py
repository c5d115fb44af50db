"""The four downstream tasks of EgoM2P: which modalities go in, which comes out, how it is decoded and scored.

Each task reads its inputs' tokens, decodes the target's tokens with the model (``generation``: the
paper's per-task decoding settings) and detokenizes them back to canonical-clip arrays on the tokenizer's
grid (video: ``frames`` frames at ``fps``, ``resolution``²; trajectories: 60 samples at 30 fps). How the
target is compared with the truth and what the trivial baseline predicts follow from the target's registry
``value`` (``targets.py``). ``main_metric`` is the number the report and the comparison against trivial
baselines use; ``lower_is_better`` says which way it points.
"""
from __future__ import annotations

from dataclasses import dataclass

from egom2p import modalities as M
from egom2p.model.generate import PAPER_GENERATION, GenerationConfig

from .targets import TARGETS, Target


@dataclass(frozen=True)
class Task:
    name: str
    inputs: tuple[str, ...]            # required conditioning modalities
    target: str
    optional_inputs: tuple[str, ...] = ()   # used when the clip has them
    main_metric: str = ""
    lower_is_better: bool = True
    first_frame_given: bool = False    # the target's first latent frame (t = 0 tokens) is conditioning
    generation: GenerationConfig = GenerationConfig()   # decoding of the target tokens

    @property
    def spec(self) -> str:
        """Training spec of its task-specific model, e.g. ``rgb->gaze`` (required inputs only, so it trains on
        every dataset that has them; the multitask model also gets the optional inputs a clip has)."""
        return ",".join(self.inputs) + "->" + self.target

    def available(self, present: dict[str, bool]) -> bool:
        return present.get(self.target, False) and all(present.get(m, False) for m in self.inputs)

    def inputs_for(self, present: dict[str, bool]) -> tuple[str, ...]:
        return self.inputs + tuple(m for m in self.optional_inputs if present.get(m, False))

    @property
    def behaviour(self) -> Target:
        """Ground truth, scoring and trivial baseline of the target's value kind."""
        return TARGETS[M.get(self.target).value]


# EgoM2P's evaluation scripts decode with ROAR, a linear token schedule, temperature 0.01, guidance 2.0 and
# top-p 0.8 (``PAPER_GENERATION``); the steps per task are theirs: gaze 5, camera 3, rgb→depth 3, depth→rgb 6.
def _paper(steps: int) -> GenerationConfig:
    return GenerationConfig(steps=steps, **PAPER_GENERATION)


TASKS: dict[str, Task] = {t.name: t for t in (
    Task("gaze_estimation", ("rgb",), "gaze", main_metric="gaze_px_error", generation=_paper(5)),
    Task("camera_tracking", ("rgb",), "camera", main_metric="ate_m", generation=_paper(3)),
    Task("depth_estimation", ("rgb",), "depth", main_metric="absrel", generation=_paper(3)),
    # conditional video generation: depth (+ gaze, camera when present) and the first frame → the video;
    # the first frame makes "copy the conditioning frame" the natural trivial baseline (scored from frame 1)
    Task("video_generation", ("depth",), "rgb", optional_inputs=("gaze", "camera"), main_metric="psnr",
         lower_is_better=False, first_frame_given=True, generation=_paper(6)),
)}


def from_video() -> list[Task]:
    """The tasks whose only required input is the video (what ``egom2p predict`` runs on an mp4)."""
    video = M.one(source="video").name
    return [t for t in TASKS.values() if t.inputs == (video,)]


def from_video() -> list[Task]:
    """The tasks whose only required input is the video (what ``egom2p predict`` runs on an mp4)."""
    video = M.one(source="video").name
    return [t for t in TASKS.values() if t.inputs == (video,)]


def get_task(name: str) -> Task:
    try:
        return TASKS[name]
    except KeyError:
        raise KeyError(f"unknown task {name!r}; tasks: {sorted(TASKS)}") from None
