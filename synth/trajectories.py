"""Canonical-clip camera and gaze trajectories straight from the motion model, without rendering.

Trajectory tokenizers need thousands of clips; rendering and curating them costs minutes per hundred.
The camera and gaze arrays of a curated synthetic clip are, however, a pure function of the sequence's
:class:`~egom2p.synth.motion.EgoMotion`, and this module computes that function directly:

- **camera** (60, 4, 4) float32: every layout's *rectified* camera is the motion's upright OpenCV head
  camera (EgoGen: the centre-cropped pinhole, same axes; Ego-Exo4D: ``T_world_device · T_device_rgb ·
  upright`` = the head pose), sampled at the clip's 30 fps frame times and made relative to the clip's
  first frame, ``T_0⁻¹ · T_i`` (``egom2p.normalize.relative_poses``); translation in metres.
- **gaze** (60, 2) float32 in [0, 1], NaN invalid: the fixated world point at the eye tracker's sample
  times (``gaze_hz``; Aria MPS: 10 Hz, samples in blinks missing) projected into the head camera *at the
  sample time* through the rectified square pinhole of ``hfov_deg`` (Ego-Exo4D reader default 90°).
  A pinhole of side S has f = S / (2 tan(hfov/2)) and c = (S-1)/2, and curation normalizes pixels as
  (u + 0.5) / S, so the normalized coordinate is ``0.5 + 0.5 · (x/z) / tan(hfov/2)`` at any S. Samples
  in blinks are missing (dropped, as the eye tracker's files omit them); the others are interpolated
  linearly to the frame times over the whole sequence as curation does (``egom2p.timeline.resample_linear``:
  NaN outside the samples, across gaps longer than ``max_gaze_gap_s`` and next to a NaN sample), then NaN
  off the frame (``egom2p.normalize.normalize_gaze``).

Sequences of ``seconds`` are cut into back-to-back clips from t = 0, as the ``clips`` stage cuts them.
Only numpy and the synthetic world are needed (no video, no ray casting per frame).
"""
from __future__ import annotations

import dataclasses
import warnings
from dataclasses import dataclass

import numpy as np

from egom2p.geometry import invert_pose, transform_points
from egom2p.normalize import normalize_gaze, relative_poses
from egom2p.presets import CLIP_FPS, CLIP_FRAMES
from egom2p.timeline import resample_linear

from .motion import EgoMotion, make_motion
from .world import make_world


@dataclass(frozen=True)
class SamplerConfig:
    """How motion-sampled clips are drawn.

    kinds:          world kinds ("room", "tabletop"), one drawn uniformly per sequence
    seconds:        sequence length (s); each yields floor(seconds·fps / clip_frames) clips
    fps, clip_frames: canonical timeline rate (Hz) and frames per clip
    gaze_hz:        eye-tracker sample rate (Hz); 0 = one sample per frame (no interpolation)
    hfov_deg:       horizontal field of view of the rectified square pinhole (degrees)
    max_gaze_gap_s: gaze is not interpolated across sample gaps longer than this (s)
    """
    kinds: tuple[str, ...] = ("room",)
    seconds: float = 8.0
    fps: float = CLIP_FPS
    clip_frames: int = CLIP_FRAMES
    gaze_hz: float = 10.0
    hfov_deg: float = 90.0
    max_gaze_gap_s: float = 0.25

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def project_gaze(c2w: np.ndarray, points: np.ndarray, hfov_deg: float) -> np.ndarray:
    """World points (K, 3) seen by cameras c2w (K, 4, 4) → (K, 2) normalized image coordinates of the
    square pinhole with ``hfov_deg`` (may lie outside [0, 1]); NaN where invalid or behind the camera."""
    p = transform_points(invert_pose(c2w), points)
    with np.errstate(invalid="ignore", divide="ignore"):
        uv = 0.5 + 0.5 * p[:, :2] / p[:, 2:3] / np.tan(np.deg2rad(hfov_deg) / 2.0)
    uv[~(p[:, 2] > 0)] = np.nan
    return uv


def timeline_arrays(motion: EgoMotion, times: np.ndarray, gaze_times: np.ndarray | None,
                    cfg: SamplerConfig) -> tuple[np.ndarray, np.ndarray]:
    """Head camera-to-world (N, 4, 4) at frame ``times`` (N,) s and normalized gaze (N, 2) from eye-tracker
    samples at ``gaze_times`` (K,) s (None = one sample per frame, no interpolation)."""
    g_times = times if gaze_times is None else np.asarray(gaze_times, np.float64)
    points, valid = motion.gaze(g_times)
    uv = project_gaze(motion.head(g_times), np.where(valid[:, None], points, 0.0), cfg.hfov_deg)
    if gaze_times is None:
        uv[~valid] = np.nan
    else:                                 # blink samples are missing: dropped before the interpolation
        uv = resample_linear(g_times[valid], uv[valid], times, cfg.max_gaze_gap_s)
    # normalized coordinates are the pixels (centred on 0) of a 1-pixel image: off the frame -> NaN
    return motion.head(times), normalize_gaze(uv - 0.5, 1)


def motion_clips(motion: EgoMotion, cfg: SamplerConfig, gaze_phase: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """All back-to-back clips of one motion → camera (k, F, 4, 4) relative to each clip's first frame and
    gaze (k, F, 2), float32. Frames at ``i / fps`` s from 0; gaze samples at ``gaze_phase + j / gaze_hz`` s
    up to the last frame (``gaze_hz`` 0: at the frames)."""
    F = cfg.clip_frames
    k = int(round(motion.duration * cfg.fps)) // F
    times = np.arange(k * F) / cfg.fps
    if k == 0:
        return np.zeros((0, F, 4, 4), np.float32), np.zeros((0, F, 2), np.float32)
    g_times = None
    if cfg.gaze_hz > 0:
        g_times = gaze_phase + np.arange(int(np.floor((times[-1] - gaze_phase) * cfg.gaze_hz)) + 1) / cfg.gaze_hz
    c2w, gaze = timeline_arrays(motion, times, g_times, cfg)
    cams = np.stack([relative_poses(c) for c in c2w.reshape(k, F, 4, 4)])
    return cams.astype(np.float32), gaze.reshape(k, F, 2).astype(np.float32)


def sampled_sequence(seed: int, j: int, cfg: SamplerConfig) -> tuple[EgoMotion, float, np.random.Generator]:
    """Sequence ``j`` of ``seed``: its motion (random world of ``cfg.kinds``, ``cfg.seconds`` long), the eye
    tracker's sample phase (s) and the generator, left where the draw ended (further draws are independent)."""
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), j]))
    world = make_world(str(cfg.kinds[int(rng.integers(len(cfg.kinds)))]), rng)
    phase = float(rng.uniform(0.0, 1.0 / cfg.gaze_hz)) if cfg.gaze_hz > 0 else 0.0
    return make_motion(world, cfg.seconds, rng), phase, rng


def sample_trajectories(n: int, seed: int, cfg: SamplerConfig = SamplerConfig()) -> tuple[np.ndarray, np.ndarray]:
    """``n`` clips from fresh random worlds and motions → camera (n, 60, 4, 4) OpenCV c2w relative to
    frame 0 (metres) and gaze (n, 60, 2) normalized image coordinates (NaN invalid), float32.

    Sequence j draws from ``SeedSequence([seed, j])``: deterministic, and disjoint from the layouts'
    ``SeedSequence([seed, crc32(layout), k])`` streams; different seeds give independent sets."""
    cams, gazes, have, j = [], [], 0, 0
    while have < n:
        motion, phase, _ = sampled_sequence(seed, j, cfg)
        c, g = motion_clips(motion, cfg, phase)
        cams.append(c)
        gazes.append(g)
        have += len(c)
        j += 1
    return np.concatenate(cams)[:n], np.concatenate(gazes)[:n]


def gaze_predictability(n_sequences: int, seed: int, redraws: int = 16,
                        cfg: SamplerConfig = SamplerConfig()) -> dict[str, float]:
    """How well *any* predictor that sees the scene can estimate synthetic gaze (the task's ceiling).

    Gaze fixations are drawn at random among the visible salient targets (:mod:`.motion`), so the video
    determines the gaze only up to that draw. For each sequence the true gaze (draw 0) is compared with:
    ``center`` (0.5, 0.5); ``mean`` the per-frame mean of ``redraws`` other draws on the same world and head
    track (≈ the conditional mean, the best a deterministic L2 predictor can do); ``sample`` one other draw
    (what a perfect *generative* model that outputs a sample scores). Errors are mean Euclidean distances in
    fractions of the image width over valid true frames. Returns the three errors and the ratios
    ``center / mean`` and ``center / sample`` (× better than the centre baseline)."""
    errs: dict[str, list[np.ndarray]] = {"center": [], "mean": [], "sample": []}
    for j in range(n_sequences):
        motion, phase, rng = sampled_sequence(seed, j, cfg)
        truth = motion_clips(motion, cfg, phase)[1]
        draws = np.stack([motion_clips(motion.redrawn_gaze(rng), cfg, phase)[1] for _ in range(redraws + 1)])
        ok = np.isfinite(truth).all(-1)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN frames (blinks in every draw)
            mean = np.nanmean(draws[1:], axis=0)
        mean = np.where(np.isfinite(mean), mean, 0.5)           # no draw valid there: fall back to the centre
        sample = np.where(np.isfinite(draws[0]), draws[0], 0.5)
        for name, pred in (("center", np.full_like(truth, 0.5)), ("mean", mean), ("sample", sample)):
            errs[name].append(np.linalg.norm(pred - truth, axis=-1)[ok])
    out = {f"{k}_error": float(np.concatenate(v).mean()) for k, v in errs.items()}
    out["frames"] = float(sum(len(v) for v in errs["center"]))
    out["center_over_mean"] = out["center_error"] / out["mean_error"]
    out["center_over_sample"] = out["center_error"] / out["sample_error"]
    return out
