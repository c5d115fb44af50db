"""The ``clips`` stage: native sequences -> 30 FPS, rectified, 2-second clips in metric units.

Per clip folder ``<interim>/clips/<dataset>/<clip_id>/`` one file per modality the sequence has, named by
the registry row's ``interim_file``, plus ``meta.json``; with the built-in rows::

    rgb.mp4           (60 frames, S x S, H.264 yuv420p CRF 17, 30 fps)
    depth_m.mkv       (60, S, S) z-depth in metres, NaN unknown: 16-bit log codes in FFV1, relative error
                      <= egom2p.depthio.METRIC_MAX_RELATIVE_ERROR (8.8e-5)   [if the dataset has depth]
    gaze_px.npy       float32 (60, 2) rectified pixels, NaN invalid              [if gaze]
    camera_world.npy  float64 (60, 4, 4) OpenCV camera-to-world, metres          [if camera]

A modality the reader provides but a clip does not keep is recorded with its reason in ``meta.json``
(``dropped``: modality -> reason) and in the index (``dropped_<modality>``; "" when kept or never provided):
a track on another time unit than the video or not overlapping it (``timeline.track_alignment_problem``),
a track with no finite sample on the video timeline, gaze never inside the frame, depth with no positive
finite value, a pose track with a non-finite pose in the clip. The sequence itself is kept.
"""
from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np

from egom2p import io
from egom2p import modalities as M
from egom2p.catalog import split_of
from egom2p.clip import META_FILE
from egom2p.normalize import valid_fraction
from egom2p.timeline import (canonical_times, nearest_indices, resample_linear, resample_poses,
                             track_alignment_problem)
from egom2p.video import write_video

from .config import CurationConfig
from .datasets import dataset_settings, resolve_reader
from .partition import (Log, StageResult, Unit, clip_id, dropped_columns, run_stage, source_current,
                        source_fingerprint, source_scope, unit_key)
from .sequence import Sequence, SequenceError

RESAMPLERS = {"linear": resample_linear, "pose": resample_poses}
# bump when the bytes this stage writes for the same input and config change
VERSION = "clips/5"


def _valid(m: M.Modality, a: np.ndarray) -> np.ndarray:
    """Elementwise validity of an interim array: finite, and for metric depth also positive (a depth
    of 0 or below is a sensor's "unknown", never a distance)."""
    ok = np.isfinite(a)
    if m.value == "inverse_depth":
        with np.errstate(invalid="ignore"):
            ok &= a > 0
    return ok


def _keeps(m: M.Modality, a: np.ndarray) -> bool:
    """Whether a clip keeps a modality's array under the row's ``keep`` rule."""
    if m.keep == "always":
        return True
    ok = _valid(m, a)
    return bool(ok.any()) if m.keep == "any_finite" else bool(ok.all())


def _drop_reason(m: M.Modality, a: np.ndarray) -> str:
    """Why a clip does not keep an array under the row's ``keep`` rule."""
    ok = _valid(m, a)
    if m.keep == "any_finite":
        finite = np.isfinite(a)
        what = "all NaN" if not finite.any() else "no positive finite value (zero or negative)" \
            if m.value == "inverse_depth" else "no finite value"
        return f"{m.name}: {what} in the clip ({a.size} values)"
    bad = int((~ok.reshape(len(a), -1).all(axis=1)).sum())
    return f"{m.name}: {bad} of {len(a)} frames not finite (the clip keeps it only when every frame is valid)"


def _track_problem(m: M.Modality, track, resampled: np.ndarray, padded: int, side: int) -> str:
    """Why a whole sequence loses a resampled track ("" when it keeps it): no finite sample on the video
    timeline (its last ``padded`` frames are padding), or gaze (image points) never inside the frame."""
    head = resampled[:len(resampled) - padded]
    finite = np.isfinite(head).all(axis=tuple(range(1, head.ndim)))
    if not finite.any():
        n = int(np.isfinite(np.asarray(track.values, np.float64)).all(
            axis=tuple(range(1, np.ndim(track.values)))).sum()) if len(track.times) else 0
        return (f"{m.name}: no finite sample on the video timeline ({len(track.times)} source samples, "
                f"{n} finite)")
    if m.value == "image_point":
        p = head[finite]
        inside = ((p >= -0.5) & (p <= side - 0.5)).all(axis=1)
        if not inside.any():
            return (f"{m.name}: no sample inside the {side}x{side} frame (values {p.min():.4g}..{p.max():.4g} px: "
                    f"wrong units, or a degenerate projection such as zero vergence depth)")
    return ""


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
    """Write every clip of one sequence under ``out``; returns one index row per clip.

    Each registry row is brought onto the clip timeline by its ``source``: the frames are encoded, frame-
    aligned arrays (depth) are read at the nearest source frames, tracks are resampled (``resample``);
    padded frames of a short clip follow the row's ``pad`` and a clip keeps the modality by its ``keep``.
    """
    times, n_clips, valid = plan_clips(seq, cfg)
    F = cfg.clip_frames
    src_idx = nearest_indices(seq.frame_times, times)
    tracks, lost = {}, {}   # lost: modality -> why the whole sequence goes without it
    for m in M.rows(source="track"):
        track = seq.track(m.name)
        if track is None:
            continue
        lost[m.name] = track_alignment_problem(m.name, track.times, seq.frame_times)
        if lost[m.name]:
            continue
        res = RESAMPLERS[m.resample](track.times, track.values, times, cfg.max_gap_s(m.resample))
        lost[m.name] = _track_problem(m, track, res, F - valid, seq.intrinsics.width)
        if lost[m.name]:
            continue
        tracks[m.name] = res
        if m.pad == "nan" and valid < F:
            tracks[m.name][valid:] = np.nan
    frames = seq.read_frames(src_idx)
    aligned = {m.name: seq.frame_source(m.name)(src_idx) for m in M.rows(source="frames")
               if seq.frame_source(m.name) is not None}
    split = split_of(seq.dataset, seq.sequence_id)
    rows = []
    for k in range(n_clips):
        cid = clip_id(seq.sequence_id, k)
        folder = out / cid
        sl = slice(k * F, (k + 1) * F)
        have, stats = {}, {}
        dropped = {name: why for name, why in lost.items() if why}
        for m in M.REGISTRY.values():
            if m.source == "video":
                write_video(folder / m.interim_file, itertools.islice(frames, F), fps=cfg.fps)
                have[m.name] = True
                continue
            if m.source == "frames":
                a = None if m.name not in aligned else \
                    np.stack(list(itertools.islice(aligned[m.name], F))).astype(np.float32)
                if a is not None and m.pad == "nan" and valid < F:
                    a[valid:] = np.nan
            else:
                a = tracks[m.name][sl] if m.name in tracks else None
            have[m.name] = a is not None and _keeps(m, a)
            if a is not None and not have[m.name]:
                dropped[m.name] = _drop_reason(m, a)
            if have[m.name]:
                m.write_interim(folder, a)  # the row's codec (depth: FFV1 log codes), else .npy
            if m.valid_fraction:
                stats[f"{m.name}_valid_frac"] = valid_fraction(a) if have[m.name] else 0.0
        meta = {"dataset": seq.dataset, "sequence_id": seq.sequence_id, "clip_id": cid, "clip_index": k,
                "start_time": float(times[sl][0]), "fps": cfg.fps, "frames": F,
                "valid_frames": valid if n_clips == 1 else F, "split": split,
                "intrinsics": seq.intrinsics.K.tolist(), "side": seq.intrinsics.width,
                "modalities": have, "dropped": dropped, "source_files": seq.source_files, "source": seq.meta,
                "curation": cfg.to_dict()}
        io.write_json(folder / META_FILE, meta)
        rows.append({"clip_id": cid, "sequence_id": seq.sequence_id, "clip_index": k, "split": split,
                     "start_time": meta["start_time"], "valid_frames": meta["valid_frames"],
                     **M.flags(have), **stats, **dropped_columns(dropped)})
    return rows


def open_sequence(raw: Path, sequence_id: str, cfg: CurationConfig, ctx, *version) -> Sequence:
    """Open one sequence for a raw-reading stage and set the unit's inputs (the source scope) and
    fingerprint (scope signature + ``version`` + config + reader)."""
    reader = resolve_reader(raw)
    seq = reader.open(raw, sequence_id, cfg.side, dataset_settings(raw))
    ctx.inputs = {"scope": source_scope(raw, sequence_id, seq.source_files)}
    ctx.fingerprint = source_fingerprint(raw, ctx.inputs["scope"], *version, cfg.to_dict(), reader.name)
    return seq


def _clips_unit(staging: Path, unit, ctx) -> list[dict]:
    raw, sequence_id, cfg = unit.args
    return curate_sequence(open_sequence(raw, sequence_id, cfg, ctx, VERSION), staging, cfg)


def curate_clips(raw: Path, out: Path, dataset: str, cfg: CurationConfig, log: Log | None = None,
                 progress: bool = True, workers: int = 0, executor=None) -> StageResult:
    """The ``clips`` stage of one dataset partition: one unit per sequence, only new or changed sequences
    run (``workers`` processes, 0 = one per core), then the index is published."""
    raw = Path(raw)
    reader = resolve_reader(raw)
    units = [Unit(unit_key(s), s, None, (raw, s, cfg)) for s in reader.list_sequences(raw)]
    return run_stage(out, dataset, "clips", units, _clips_unit, workers=workers, log=log, progress=progress,
                     executor=executor,
                     current=source_current(raw, VERSION, cfg.to_dict(), reader.name))
