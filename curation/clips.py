"""The ``clips`` stage: native sequences -> 30 FPS, rectified, 2-second clips in metric units.

Per clip folder ``<interim>/clips/<dataset>/<clip_id>/``::

    rgb.mp4           (60 frames, S x S, H.264 yuv420p CRF 17, 30 fps)
    depth_m.npy       float16 (60, S, S) z-depth in metres, NaN unknown        [if the dataset has depth]
    gaze_px.npy       float32 (60, 2) rectified pixels, NaN invalid              [if gaze]
    camera_world.npy  float64 (60, 4, 4) OpenCV camera-to-world, metres          [if camera]
    meta.json
"""
from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np

from egom2p import io
from egom2p.video import write_video

from .config import CurationConfig
from .datasets import dataset_settings, resolve_reader
from .partition import Log, StageResult, clip_id, discard, run_stage, split_of
from .sequence import Sequence, SequenceError
from .timeline import canonical_times, nearest_indices, resample_linear, resample_poses

FILES = {"rgb": "rgb.mp4", "depth": "depth_m.npy", "gaze": "gaze_px.npy", "camera": "camera_world.npy"}


def plan_clips(seq: Sequence, cfg: CurationConfig) -> tuple[np.ndarray, int, int]:
    """Canonical times of the clipped part, number of clips and valid frames of the last clip.

    Raises SequenceError("shorter than one clip …") unless ``cfg.allow_short``, which pads one clip.
    """
    times = canonical_times(seq.frame_times, cfg.fps)
    n = len(times) // cfg.clip_frames
    if n >= cfg.min_clips and n > 0:
        return times[: n * cfg.clip_frames], n, cfg.clip_frames
    if not cfg.allow_short or len(times) == 0:
        raise SequenceError(f"shorter than one clip: {len(times)} frames at {cfg.fps:g} FPS "
                            f"({len(times) / cfg.fps:.2f} s) < {cfg.clip_frames}")
    valid = len(times)
    pad = cfg.clip_frames - valid
    return np.concatenate([times, np.full(pad, times[-1])]), 1, valid


def curate_sequence(seq: Sequence, out: Path, cfg: CurationConfig) -> list[dict]:
    """Write every clip of one sequence under ``out``; returns one index row per clip."""
    times, n_clips, valid = plan_clips(seq, cfg)
    F = cfg.clip_frames
    src_idx = nearest_indices(seq.frame_times, times)
    camera = resample_poses(seq.camera.times, seq.camera.T_world_cam, times, cfg.max_pose_gap_s) \
        if seq.camera else None
    gaze = resample_linear(seq.gaze.times, seq.gaze.uv, times, cfg.max_gaze_gap_s) if seq.gaze else None
    if gaze is not None and valid < F:
        gaze[valid:] = np.nan
    frames = seq.read_frames(src_idx)
    depths = seq.read_depth(src_idx) if seq.read_depth else None
    split = split_of(seq.dataset, seq.sequence_id)
    rows = []
    written = []
    try:
        for k in range(n_clips):
            cid = clip_id(seq.sequence_id, k)
            folder = out / cid
            written.append(folder)
            sl = slice(k * F, (k + 1) * F)
            write_video(folder / FILES["rgb"], itertools.islice(frames, F), fps=cfg.fps)
            have = {"rgb": True, "depth": False, "gaze": False, "camera": False}
            if depths is not None:
                d = np.stack(list(itertools.islice(depths, F))).astype(np.float32)
                if valid < F:
                    d[valid:] = np.nan
                if np.isfinite(d).any():
                    io.write_npy(folder / FILES["depth"], d.astype(np.float16))
                    have["depth"] = True
            if gaze is not None:
                io.write_npy(folder / FILES["gaze"], gaze[sl].astype(np.float32))
                have["gaze"] = True
            if camera is not None and np.isfinite(camera[sl]).all():
                io.write_npy(folder / FILES["camera"], camera[sl])
                have["camera"] = True
            meta = {"dataset": seq.dataset, "sequence_id": seq.sequence_id, "clip_id": cid, "clip_index": k,
                    "start_time": float(times[sl][0]), "fps": cfg.fps, "frames": F,
                    "valid_frames": valid if n_clips == 1 else F, "split": split,
                    "intrinsics": seq.intrinsics.K.tolist(), "side": seq.intrinsics.width,
                    "modalities": have, "source_files": seq.source_files, "source": seq.meta,
                    "curation": cfg.to_dict()}
            io.write_json(folder / "meta.json", meta)
            rows.append({"clip_id": cid, "sequence_id": seq.sequence_id, "clip_index": k, "split": split,
                         "start_time": meta["start_time"], "valid_frames": meta["valid_frames"],
                         **{f"has_{m}": v for m, v in have.items()},
                         "gaze_valid_frac": float(np.isfinite(gaze[sl]).all(1).mean()) if have["gaze"] else 0.0})
    except BaseException:
        for f in written:  # a failing sequence leaves none of its clips behind
            discard(f)
        raise
    return rows


def curate_clips(raw: Path, out: Path, dataset: str, cfg: CurationConfig, log: Log | None = None,
                 progress: bool = True) -> StageResult:
    """The whole ``clips`` stage for one dataset partition (atomic swap of ``out``)."""
    reader = resolve_reader(raw)
    settings = dataset_settings(raw)
    return run_stage(out, dataset, "clips", reader.list_sequences(raw),
                     lambda staging, sid: curate_sequence(reader.open(raw, sid, cfg.side, settings), staging, cfg),
                     log, progress)
