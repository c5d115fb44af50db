"""Compact depth storage: 16-bit codes in a lossless FFV1 video (gray16le, Matroska ``.mkv``).

A depth array (T, H, W) float (NaN = unknown) is quantized to uint16 codes, code 0 reserved for unknown, and
the codes are stored losslessly with FFV1 (level 3, range coder, one keyframe per file, 4 slices with CRCs,
bit-exact muxing: the same array always gives the same bytes). Two quantizers, one per kind of value:

- :data:`NORMALIZED`: values in [0, 1] (canonical normalized inverse depth, an annotator's relative inverse
  depth); codes 1..65535 map linearly onto [0, 1], so 0 and 1 are stored exactly and any value is read back
  within :data:`NORMALIZED_MAX_ERROR` (half a code step plus float32 rounding). Values outside [0, 1] by more
  than :data:`RANGE_TOLERANCE` (float rounding, e.g. of a resize) are refused (ValueError): the quantizer
  cannot hold them and clipping them would hide an upstream bug; smaller overshoots are clipped first.
- :data:`METRIC`: z-depth in metres (the ``clips`` stage's interim depth); codes 1..65535 map onto
  log(z) over [:data:`METRIC_MIN_M`, :data:`METRIC_MAX_M`], a constant *relative* step, so any depth in that
  range is read back within a relative error of :data:`METRIC_MAX_RELATIVE_ERROR`. Depth outside the range is
  clamped to it; NaN, inf and z <= 0 are unknown.

Decoded arrays are float32 (T, H, W) with NaN where unknown.
"""
from __future__ import annotations

import math
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from .io import atomic_path

EXT = ".mkv"
LEVELS = 65535                      # codes 1..65535 hold values, 0 = unknown
UNKNOWN = 0

# normalized [0, 1]: step 1 / 65534; max error = half a step + float32 rounding of the decoded value (<= 2^-25)
NORMALIZED_STEP = 1.0 / (LEVELS - 1)
NORMALIZED_MAX_ERROR = 0.5 * NORMALIZED_STEP + 2.0 ** -25          # 7.66e-6
RANGE_TOLERANCE = 1e-6             # overshoot of [0, 1] taken as float rounding and clipped
# metric z-depth: log-uniform codes over [1 cm, 1 km]; relative step 1.76e-4
METRIC_MIN_M = 0.01
METRIC_MAX_M = 1000.0
METRIC_LOG_STEP = math.log(METRIC_MAX_M / METRIC_MIN_M) / (LEVELS - 1)
METRIC_MAX_RELATIVE_ERROR = math.expm1(0.5 * METRIC_LOG_STEP) + 2.0 ** -23   # 8.80e-5 (0.088 mm at 1 m)

# FFV1 settings: level 3 (slices + CRCs), range coder with the large context model, one GOP per file
# (context states carry across frames); the muxer and encoder write no version strings or random ids.
FFV1_ARGS = ("-c:v", "ffv1", "-level", "3", "-coder", "1", "-context", "1", "-g", "1000", "-slices", "4",
             "-slicecrc", "1", "-pix_fmt", "gray16le")
BITEXACT = ("-fflags", "+bitexact", "-flags", "+bitexact", "-map_metadata", "-1")
THREADS = ("-threads", "1")        # one core per codec call: stages already run one worker per core


class DepthFileError(RuntimeError):
    """An unreadable or truncated depth file."""


def _ffmpeg() -> str:
    exe = shutil.which("ffmpeg")
    if exe is None:
        raise DepthFileError("ffmpeg executable not found on PATH; install it (make setup does: apt-get install ffmpeg)")
    return exe


# ---------------------------------------------------------------------------------------------- quantizers
def quantize_normalized(x: np.ndarray) -> np.ndarray:
    """(…) float in [0, 1], NaN unknown -> uint16 codes (0 unknown, 1 + round(x · 65534)).

    Raises ValueError for inf or values outside [0, 1] by more than ``RANGE_TOLERANCE``."""
    x = np.asarray(x, np.float64)
    known = ~np.isnan(x)
    v = x[known]
    if v.size and not (np.isfinite(v).all() and v.min() >= -RANGE_TOLERANCE and v.max() <= 1 + RANGE_TOLERANCE):
        raise ValueError(f"depth outside [0,1] cannot be stored: min {v.min():.6g} max {v.max():.6g}")
    v = np.clip(v, 0.0, 1.0)
    q = np.zeros(x.shape, np.uint16)
    q[known] = (1 + np.rint(v * (LEVELS - 1))).astype(np.uint16)
    return q


def dequantize_normalized(q: np.ndarray) -> np.ndarray:
    """uint16 codes -> float32 in [0, 1], NaN for code 0."""
    x = (q.astype(np.float32) - np.float32(1)) / np.float32(LEVELS - 1)
    x[q == UNKNOWN] = np.nan
    return x


def quantize_metric(z: np.ndarray) -> np.ndarray:
    """(…) z-depth in metres -> uint16 log codes (0 unknown: NaN, inf, z <= 0); z clamped to [1 cm, 1 km]."""
    z = np.asarray(z, np.float64)
    known = np.isfinite(z) & (z > 0)
    lz = np.log(np.clip(z[known], METRIC_MIN_M, METRIC_MAX_M) / METRIC_MIN_M)
    q = np.zeros(z.shape, np.uint16)
    q[known] = (1 + np.clip(np.rint(lz / METRIC_LOG_STEP), 0, LEVELS - 1)).astype(np.uint16)
    return q


def dequantize_metric(q: np.ndarray) -> np.ndarray:
    """uint16 log codes -> float32 metres, NaN for code 0."""
    z = (METRIC_MIN_M * np.exp((q.astype(np.float64) - 1) * METRIC_LOG_STEP)).astype(np.float32)
    z[q == UNKNOWN] = np.nan
    return z


# ------------------------------------------------------------------------------------------ FFV1 container
def write_codes(path: str | os.PathLike, codes: np.ndarray, fps: float = 30.0) -> Path:
    """Write uint16 codes (T, H, W) losslessly as FFV1 gray16le in Matroska, atomically."""
    codes = np.asarray(codes)
    if codes.ndim != 3 or codes.dtype != np.uint16 or codes.shape[0] == 0 or min(codes.shape[1:]) < 2:
        raise ValueError(f"codes must be uint16 (T, H, W) with T >= 1, H, W >= 2 (FFV1 slices), "
                         f"got {codes.dtype} {codes.shape}")
    t, h, w = codes.shape
    with atomic_path(path, suffix=EXT) as tmp:
        cmd = [_ffmpeg(), "-v", "error", "-nostdin", "-y", "-f", "rawvideo", "-pix_fmt", "gray16le",
               "-s", f"{w}x{h}", "-framerate", f"{fps:g}", "-i", "pipe:", *FFV1_ARGS, *BITEXACT, *THREADS,
               "-f", "matroska", str(tmp)]
        proc = subprocess.run(cmd, input=np.ascontiguousarray(codes, "<u2").tobytes(), capture_output=True)
        if proc.returncode != 0:
            raise DepthFileError(f"FFV1 encode of {Path(path).name} failed: "
                                 f"{proc.stderr.decode(errors='replace').strip()[-300:]}")
    return Path(path)


def read_codes(path: str | os.PathLike) -> np.ndarray:
    """The uint16 codes (T, H, W) of an FFV1 depth file (frames piped as PAM, which carries the size)."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(path)
    cmd = [_ffmpeg(), "-v", "error", "-nostdin", *THREADS, "-i", str(path), "-f", "image2pipe", "-c:v", "pam",
           "-pix_fmt", "gray16be", "pipe:"]
    proc = subprocess.run(cmd, capture_output=True)
    err = proc.stderr.decode(errors="replace").strip()
    if proc.returncode != 0 or err:
        raise DepthFileError(f"decoding {path.name} failed: {err[-300:] or f'ffmpeg exit {proc.returncode}'}")
    return _parse_pam(proc.stdout, path.name)


def _parse_pam(data: bytes, name: str) -> np.ndarray:
    """Concatenated 16-bit grayscale PAM frames (identical headers) -> (T, H, W) uint16."""
    end = data.find(b"ENDHDR\n")
    if not data.startswith(b"P7\n") or end < 0:
        raise DepthFileError(f"{name}: no frames decoded")
    fields = dict(line.split(b" ", 1) for line in data[3:end].split(b"\n") if b" " in line)
    w, h = int(fields[b"WIDTH"]), int(fields[b"HEIGHT"])
    if int(fields[b"DEPTH"]) != 1 or int(fields[b"MAXVAL"]) != 65535:
        raise DepthFileError(f"{name}: not a 16-bit single-channel depth video")
    header = end + len(b"ENDHDR\n")
    frame = header + w * h * 2
    if len(data) % frame:
        raise DepthFileError(f"{name}: truncated frame data ({len(data)} bytes, {frame} per frame)")
    frames = np.frombuffer(data, np.uint8).reshape(-1, frame)[:, header:]
    return frames.copy().view(">u2").reshape(-1, h, w).astype(np.uint16)


# ------------------------------------------------------------------------------------------------ codecs
@dataclass(frozen=True)
class DepthCodec:
    """One depth file format: a quantizer pair + the FFV1 container. ``read``/``write`` are what the
    modality registry rows call (``Modality.codec`` / ``interim_codec``)."""
    name: str
    quantize: Callable[[np.ndarray], np.ndarray]      # (…) float -> uint16 codes
    dequantize: Callable[[np.ndarray], np.ndarray]    # uint16 codes -> (…) float32, NaN unknown

    def write(self, path: str | os.PathLike, array: np.ndarray) -> Path:
        """Quantize ``array`` (T, H, W) and write it atomically; returns the path."""
        a = np.asarray(array)
        if a.ndim != 3:
            raise ValueError(f"depth must be (T, H, W), got shape {a.shape}")
        return write_codes(path, self.quantize(a))

    def read(self, path: str | os.PathLike) -> np.ndarray:
        """(T, H, W) float32, NaN where unknown."""
        return self.dequantize(read_codes(path))


NORMALIZED = DepthCodec("normalized_u16", quantize_normalized, dequantize_normalized)
METRIC = DepthCodec("metric_log_u16", quantize_metric, dequantize_metric)
