"""Reference codecs at a tokenizer's bit budget: is a reconstruction target reachable at that budget at all?

A tokenizer's clip carries at most :func:`video_token_bits` / :func:`trajectory_token_bits` bits (tokens ×
log2 vocabulary). Classical codecs coding the same clips with that many bits show what the budget allows:

- video and depth: ffmpeg's H.264 (libx264), HEVC (libx265) and AV1 (libaom), PSNR-tuned, 4:4:4 colour
  (10-bit grey for depth); only the coded payload counts (the IVF container and the encoder-settings SEI
  that x264/x265 write are removed), so the codecs are measured at their best.
- camera: the DCT along time of the translation (m) and rotation vector (rad) of each pose relative to the
  clip's first frame, uniform scalar quantization, and an ideal entropy coder per coefficient (the plug-in
  empirical entropy over the clip set, which is optimistic for the codec on a finite set).

Neither is a proof that a learned tokenizer cannot do better; a budget at which AV1 or an ideal transform coder
misses a target by a wide margin says the target asks the tokenizer to beat them.
"""
from __future__ import annotations

import math
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from egom2p.presets import TrajectoryTokenizerSpec, VideoTokenizerSpec

CODECS = {  # name → (ffmpeg encoder, extra arguments, quality option, elementary-stream extension)
    "h264": ("libx264", ["-preset", "veryslow", "-tune", "psnr"], "-crf", "h264"),
    "hevc": ("libx265", ["-preset", "veryslow", "-tune", "psnr", "-x265-params", "log-level=none"], "-crf", "hevc"),
    "av1": ("libaom-av1", ["-b:v", "0", "-cpu-used", "4", "-tune", "psnr"], "-crf", "ivf"),
}
_SEI_TYPES = {"h264": "6", "hevc": "39|40"}  # NAL unit types of SEI messages (encoder settings text)
_IVF_FILE, _IVF_FRAME = 32, 12               # IVF header bytes: per file, per frame


def video_token_bits(spec: VideoTokenizerSpec) -> float:
    """Bits per clip of the video tokenizer: t·h·w latent positions × log2(∏ FSQ levels)."""
    t = 1 + (spec.frames + (-spec.frames) % spec.temporal_compression) // spec.temporal_compression
    hw = (spec.resolution // spec.spatial_compression) ** 2
    return t * hw * math.log2(math.prod(spec.fsq_levels))


def trajectory_token_bits(spec: TrajectoryTokenizerSpec, frames: int = 60) -> float:
    """Bits per clip of a trajectory tokenizer: frames / temporal compression tokens × log2(codebook)."""
    return frames // spec.temporal_compression * math.log2(spec.codebook_size)


def codec_roundtrip(frames: np.ndarray, codec: str, quality: int, fps: float = 8.0) -> tuple[int, np.ndarray]:
    """Encode and decode one clip with ffmpeg → (payload bits, reconstruction of the same shape and dtype).

    ``frames``: (T, H, W, 3) uint8 RGB, or (T, H, W) float in [0, 1] (depth, coded as 10-bit grey).
    ``quality``: the encoder's CRF (higher = fewer bits)."""
    if codec not in CODECS:
        raise KeyError(f"unknown codec {codec!r}; known: {sorted(CODECS)}")
    encoder, extra, qopt, ext = CODECS[codec]
    grey = frames.ndim == 3
    if grey:
        raw, pix, enc_pix = np.round(np.clip(frames, 0, 1) * 1023).astype("<u2"), "gray10le", "gray10le"
    elif frames.ndim == 4 and frames.shape[-1] == 3 and frames.dtype == np.uint8:
        raw, pix, enc_pix = frames, "rgb24", "yuv444p"
    else:
        raise ValueError(f"frames must be (T,H,W,3) uint8 or (T,H,W) float, got {frames.shape} {frames.dtype}")
    T, H, W = frames.shape[:3]
    with tempfile.TemporaryDirectory() as d:
        src, out = Path(d) / "in.raw", Path(d) / f"out.{ext}"
        src.write_bytes(np.ascontiguousarray(raw).tobytes())
        _ffmpeg(["-f", "rawvideo", "-pix_fmt", pix, "-s", f"{W}x{H}", "-r", f"{fps:g}", "-i", str(src),
                 "-c:v", encoder, "-pix_fmt", enc_pix, qopt, str(quality), *extra, str(out)])
        bits = out.stat().st_size * 8
        if codec in _SEI_TYPES:
            bare = Path(d) / f"bare.{ext}"
            _ffmpeg(["-i", str(out), "-c", "copy", "-bsf:v", f"filter_units=remove_types={_SEI_TYPES[codec]}", str(bare)])
            bits = bare.stat().st_size * 8
        else:
            bits -= (_IVF_FILE + _IVF_FRAME * T) * 8
        # grey: take the luma plane as coded (a 4:0:0 H.264 stream decodes as yuv420p10le, and a plain pixel-
        # format conversion to grey would rescale its range)
        planes = ["-vf", "extractplanes=y"] if grey else []
        dec = _ffmpeg(["-i", str(out), *planes, "-f", "rawvideo", "-pix_fmt", pix, "-"])
    rec = np.frombuffer(dec, raw.dtype).reshape(raw.shape)
    return bits, (rec.astype(np.float32) / 1023.0 if grey else rec.copy())


def _ffmpeg(args: list[str]) -> bytes:
    p = subprocess.run(["ffmpeg", "-v", "error", "-y", *args], capture_output=True)
    if p.returncode:
        raise RuntimeError(f"ffmpeg {' '.join(args[:12])} … failed: {p.stderr.decode(errors='replace')[-500:]}")
    return p.stdout


def _by_log_bits(bits, values) -> tuple[np.ndarray, np.ndarray]:
    """(log2 bits, values) sorted by bits."""
    b, v = np.log2(np.asarray(bits, np.float64)), np.asarray(values, np.float64)
    order = np.argsort(b)
    return b[order], v[order]


def at_budget(bits: list[float], values: list[float], budget: float) -> float:
    """``values`` measured at ``bits`` (any order) → the value at ``budget``, linear in log2(bits) between the
    two nearest points; NaN outside the measured range (no extrapolation)."""
    b, v = _by_log_bits(bits, values)
    x = math.log2(budget)
    return float(np.interp(x, b, v)) if b[0] <= x <= b[-1] else float("nan")


def bits_for(values: list[float], bits: list[float], target: float) -> float:
    """The inverse of :func:`at_budget` for ``values`` that grow with bits: the bits at which they reach
    ``target``, linear in log2(bits); NaN if the measured range never reaches it."""
    b, v = _by_log_bits(bits, values)
    if not (v.min() <= target <= v.max()):
        return float("nan")
    return float(2 ** np.interp(target, np.maximum.accumulate(v), b))


def empirical_entropy_bits(symbols: np.ndarray) -> float:
    """(N, K) integer symbols → Σ_k H(column k) in bits: an ideal adaptive coder's cost per row."""
    total = 0.0
    for col in np.asarray(symbols).reshape(len(symbols), -1).T:
        _, counts = np.unique(col, return_counts=True)
        p = counts / counts.sum()
        total -= float((p * np.log2(p)).sum())
    return total


def camera_transform_code(cameras: np.ndarray, step_m: float, step_deg: float) -> dict:
    """DCT transform code of (N, F, 4, 4) clips relative to their first frame → {bits (mean per clip),
    ate_m, rot_deg} (the tokenizer metrics of ``trajectory.features.camera_errors``) at quantizer steps
    ``step_m`` (translation, m) and ``step_deg`` (rotation vector, degrees) on orthonormal DCT coefficients."""
    from scipy.fft import dct, idct
    from scipy.spatial.transform import Rotation

    from .trajectory.features import camera_errors
    cams = np.asarray(cameras, np.float64)
    N, F = cams.shape[:2]
    rotvec = Rotation.from_matrix(cams[..., :3, :3].reshape(-1, 3, 3)).as_rotvec().reshape(N, F, 3)
    parts, recon = [], []
    for signal, step in ((cams[..., :3, 3], step_m), (rotvec, math.radians(step_deg))):
        q = np.round(dct(signal, axis=1, norm="ortho") / step)
        parts.append(q.reshape(N, -1))
        recon.append(idct(q * step, axis=1, norm="ortho"))
    T = np.tile(np.eye(4), (N, F, 1, 1))
    T[..., :3, 3] = recon[0]
    T[..., :3, :3] = Rotation.from_rotvec(recon[1].reshape(-1, 3)).as_matrix().reshape(N, F, 3, 3)
    ate, rot = camera_errors(T, cams)
    return {"bits": empirical_entropy_bits(np.concatenate(parts, axis=1)), "ate_m": ate, "rot_deg": rot}
