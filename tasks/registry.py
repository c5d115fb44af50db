"""The four downstream tasks (PAPER.md §1.9–1.10): which modalities go in, which comes out, how it is scored.

Each task reads its inputs' tokens, decodes the target's tokens with the model and detokenizes them back
to canonical-clip arrays on the tokenizer's grid (video: ``frames`` frames at ``fps``, ``resolution``²;
trajectories: 60 samples at 30 fps). ``main_metric`` is the number the report and the ≥ 3× comparison
against trivial baselines use; ``lower_is_better`` says which way it points.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Task:
    name: str
    inputs: tuple[str, ...]            # required conditioning modalities
    target: str
    optional_inputs: tuple[str, ...] = ()   # used when the clip has them
    main_metric: str = ""
    lower_is_better: bool = True
    first_frame_given: bool = False    # the target's first latent frame (t = 0 tokens) is conditioning


    @property
    def spec(self) -> str:
        """Training spec of its task-specific model, e.g. ``rgb->gaze`` (required inputs only, so it trains on
        every dataset that has them; the multitask model also gets the optional inputs a clip has)."""
        return ",".join(self.inputs) + "->" + self.target

    def available(self, present: dict[str, bool]) -> bool:
        return present.get(self.target, False) and all(present.get(m, False) for m in self.inputs)

    def inputs_for(self, present: dict[str, bool]) -> tuple[str, ...]:
        return self.inputs + tuple(m for m in self.optional_inputs if present.get(m, False))


TASKS: dict[str, Task] = {t.name: t for t in (
    Task("gaze_estimation", ("rgb",), "gaze", main_metric="gaze_px_error"),
    Task("camera_tracking", ("rgb",), "camera", main_metric="ate_m"),
    Task("depth_estimation", ("rgb",), "depth", main_metric="absrel"),
    # conditional video generation: depth (+ gaze, camera when present) and the first frame → the video;
    # the first frame makes "copy the conditioning frame" the natural trivial baseline (scored from frame 1)
    Task("video_generation", ("depth",), "rgb", optional_inputs=("gaze", "camera"), main_metric="psnr",
         lower_is_better=False, first_frame_given=True),
)}


def get_task(name: str) -> Task:
    try:
        return TASKS[name]
    except KeyError:
        raise KeyError(f"unknown task {name!r}; tasks: {sorted(TASKS)}") from None
