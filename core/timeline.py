"""30 FPS timeline resampling.

Every modality is brought onto one canonical timeline ``t_k = t0 + k / fps``:
video takes the nearest source frame, poses interpolate (slerp for rotation, linear for translation),
gaze interpolates linearly and stays NaN across gaps. All times are seconds (float64).
"""
from __future__ import annotations

import numpy as np

from .geometry import make_pose, matrix_to_quat, quat_to_matrix, slerp


def canonical_times(frame_times: np.ndarray, fps: float) -> np.ndarray:
    """Timeline from the first source frame to the last (inclusive within half a source frame)."""
    t = np.asarray(frame_times, dtype=np.float64)
    if t.size == 0:
        return t
    # last canonical time may lie up to just under half a source frame past the last frame
    half = 0.5 * (np.median(np.diff(t)) if t.size > 1 else 1.0 / fps) - 1e-6
    n = int(np.floor((t[-1] + half - t[0]) * fps + 1e-9)) + 1
    return t[0] + np.arange(n) / fps


def nearest_indices(src_times: np.ndarray, query: np.ndarray) -> np.ndarray:
    """Index of the nearest source time for each query (ties go to the earlier sample)."""
    src = np.asarray(src_times, dtype=np.float64)
    q = np.asarray(query, dtype=np.float64)
    hi = np.clip(np.searchsorted(src, q, side="left"), 1, len(src) - 1) if len(src) > 1 else np.zeros(len(q), int)
    if len(src) == 1:
        return hi
    lo = hi - 1
    return np.where(np.abs(q - src[lo]) <= np.abs(src[hi] - q), lo, hi)


def _bracket(src: np.ndarray, q: np.ndarray, max_gap: float):
    """Left index, weight and validity of linear interpolation at q."""
    i = np.clip(np.searchsorted(src, q, side="right") - 1, 0, len(src) - 2)
    t0, t1 = src[i], src[i + 1]
    w = np.clip((q - t0) / (t1 - t0), 0.0, 1.0)
    eps = 1e-9
    inside = (q >= src[0] - eps) & (q <= src[-1] + eps)
    valid = inside & ((t1 - t0) <= max_gap + eps)
    # exact hits on a sample are valid even when a gap follows it
    exact0 = np.abs(q - t0) <= eps
    exact1 = np.abs(q - t1) <= eps
    valid |= inside & (exact0 | exact1)
    w = np.where(exact0, 0.0, np.where(exact1, 1.0, w))
    return i, w, valid


def resample_linear(src_times: np.ndarray, values: np.ndarray, query: np.ndarray, max_gap: float) -> np.ndarray:
    """Linear interpolation of (M, D) values at query times; NaN outside the samples, across gaps longer
    than ``max_gap`` seconds, and wherever a neighbouring sample is NaN."""
    src = np.asarray(src_times, dtype=np.float64)
    v = np.asarray(values, dtype=np.float64)
    q = np.asarray(query, dtype=np.float64)
    out = np.full((len(q),) + v.shape[1:], np.nan)
    if len(src) == 0:
        return out
    if len(src) == 1:
        hit = np.abs(q - src[0]) <= 1e-9
        out[hit] = v[0]
        return out
    i, w, valid = _bracket(src, q, max_gap)
    w = w.reshape((-1,) + (1,) * (v.ndim - 1))
    res = (1 - w) * v[i] + w * v[i + 1]
    # a NaN neighbour with zero weight must not poison the result
    res = np.where(w == 0, v[i], np.where(w == 1, v[i + 1], res))
    out[valid] = res[valid]
    return out


def resample_poses(src_times: np.ndarray, T: np.ndarray, query: np.ndarray, max_gap: float) -> np.ndarray:
    """Interpolate (M,4,4) rigid poses at query times: slerp rotations, lerp translations.
    Frames outside the pose range or inside a gap longer than ``max_gap`` get NaN."""
    src = np.asarray(src_times, dtype=np.float64)
    T = np.asarray(T, dtype=np.float64)
    q = np.asarray(query, dtype=np.float64)
    out = np.full((len(q), 4, 4), np.nan)
    if len(src) < 2:
        if len(src) == 1:
            out[np.abs(q - src[0]) <= 1e-9] = T[0]
        return out
    i, w, valid = _bracket(src, q, max_gap)
    q0 = matrix_to_quat(T[i, :3, :3])        # only the rows that bracket a query
    q1 = matrix_to_quat(T[i + 1, :3, :3])
    R = quat_to_matrix(slerp(q0, q1, w))
    t = (1 - w)[:, None] * T[i, :3, 3] + w[:, None] * T[i + 1, :3, 3]
    res = make_pose(R, t)
    out[valid] = res[valid]
    return out


# a track whose time span differs from the video's by this factor or more is on another clock unit
UNIT_RATIO = 100.0
_UNITS = {1e-9: "ns", 1e-6: "µs", 1e-3: "ms", 1.0: "s", 1e3: "ks"}


def _likely_unit(ratio: float) -> str:
    """The unit mix-up a span ratio of track / video suggests (1000: ms read as s, or ns read as µs)."""
    power = 10.0 ** (3 * round(np.log10(ratio) / 3))
    return f"~{power:g}×" + (" (e.g. ns where µs are expected, or ms where s are)" if power > 1
                             else " (e.g. s where µs or ns are expected)")


def track_alignment_problem(name: str, track_times: np.ndarray, video_times: np.ndarray) -> str:
    """Why a modality's track cannot be resampled onto the video timeline, or "" when it can.

    A track whose time span (or, for a one-sample span, whose position) is off from the video's by
    ``UNIT_RATIO`` or more was read in the wrong time unit (e.g. nanoseconds read as microseconds turns
    2 s into 2000 s); a track that does not overlap the video at all would resample to nothing but NaN.
    The message names the modality, both spans and the likely unit error."""
    t = np.asarray(track_times, dtype=np.float64)
    v = np.asarray(video_times, dtype=np.float64)
    if t.size == 0 or v.size == 0:
        return f"{name}: empty track" if t.size == 0 and v.size else ""
    ts, vs = float(t[-1] - t[0]), float(v[-1] - v[0])
    spans = f"track {t[0]:.6g}..{t[-1]:.6g} s (span {ts:.6g} s), video {v[0]:.6g}..{v[-1]:.6g} s (span {vs:.6g} s)"
    if ts > 0 and vs > 0:
        ratio = ts / vs
        if ratio >= UNIT_RATIO or ratio <= 1.0 / UNIT_RATIO:
            return (f"{name}: time span {ratio:.3g}× the video's, likely a timestamp unit error "
                    f"{_likely_unit(ratio)}: {spans}")
    if t[-1] < v[0] or t[0] > v[-1]:
        return f"{name}: track does not overlap the video: {spans}"
    return ""
