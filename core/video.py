"""Video IO through ffmpeg (ffmpeg-python builds the command lines; no shell is involved).

Frames are uint8 RGB arrays (T, H, W, 3). The canonical encoding is H.264, yuv420p, CRF 17, 30 fps.
Decoding can resize inside ffmpeg (``iter_frames(size=...)``, area averaging), so a large source crosses the
pipe already shrunk and the resize runs in ffmpeg's own threads.

Timing: decoded frame k is always stored frame k (``-vsync passthrough``: ffmpeg never duplicates or drops
frames to reach a constant rate), and ``packet_times`` reads the container's presentation timestamps
without decoding, so a caller that assumes a constant rate can check it (``timing_problem``). A stream
whose frame size changes mid-stream is refused (ffmpeg would silently rescale to the first size).
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np

from .io import atomic_path

CRF = 17


class VideoError(RuntimeError):
    """An unreadable, truncated or otherwise unusable video."""


def require_ffmpeg() -> str:
    exe = shutil.which("ffmpeg")
    if exe is None:
        raise VideoError("ffmpeg executable not found on PATH; install it (make setup does: apt-get install ffmpeg)")
    return exe


@dataclass(frozen=True)
class VideoInfo:
    width: int
    height: int
    fps: float
    frames: int | None  # from the container; None when it does not say
    pix_fmt: str | None = None  # decoded pixel format (e.g. "yuv420p"); None when the stream does not say


def probe(path: str | os.PathLike) -> VideoInfo:
    import ffmpeg
    try:
        info = ffmpeg.probe(str(path))
    except ffmpeg.Error as e:  # unreadable container
        raise VideoError(f"cannot probe {path}: {e.stderr.decode(errors='replace').strip()[-300:]}") from None
    streams = [s for s in info.get("streams", []) if s.get("codec_type") == "video"]
    if not streams:
        raise VideoError(f"no video stream in {path}")
    s = streams[0]
    num, den = (s.get("avg_frame_rate") or s.get("r_frame_rate") or "0/1").split("/")
    fps = float(num) / float(den) if float(den) else 0.0
    n = s.get("nb_frames")
    return VideoInfo(int(s["width"]), int(s["height"]), fps, int(n) if n not in (None, "N/A") else None,
                     s.get("pix_fmt"))


def packet_times(path: str | os.PathLike) -> np.ndarray:
    """Presentation times (s, float64, sorted) of every packet of the first video stream, one per stored
    frame; read from the container by ffprobe without decoding (about as cheap as ``probe``). NaN where a
    packet has no timestamp (e.g. a raw elementary stream)."""
    exe = shutil.which("ffprobe")
    if exe is None:
        raise VideoError("ffprobe executable not found on PATH; install ffmpeg")
    r = subprocess.run([exe, "-v", "error", "-select_streams", "v:0", "-show_entries", "packet=pts_time",
                        "-of", "csv=p=0", str(path)], capture_output=True, text=True)
    if r.returncode != 0:
        raise VideoError(f"cannot read packets of {Path(path).name}: {r.stderr.strip()[-300:]}")
    vals = [v.strip().rstrip(",") for v in r.stdout.splitlines() if v.strip()]
    t = np.array([float(v) if v not in ("N/A", "") else np.nan for v in vals], dtype=np.float64)
    return np.sort(t)  # decode order -> presentation order (B-frames); NaN sort last


def timing_problem(times: np.ndarray, name: str, n_expected: int | None = None, tolerance: float = 0.5) -> str:
    """Why a stream's packet times (``packet_times``) are not frames at one constant rate, or "" when they
    are: fewer frames than ``n_expected``, two frames at the same time, or an interval that differs from
    the median interval by more than ``tolerance`` of it (a variable-frame-rate jump or a dropped frame).
    Streams without timestamps are only checked for their frame count."""
    t = np.asarray(times, dtype=np.float64)
    if n_expected is not None and len(t) < n_expected:
        return f"video truncated: {name} has {len(t)} frames (packets), {n_expected} expected"
    if len(t) < 2 or not np.isfinite(t).all():
        return ""
    dt = np.diff(t)
    dup = np.nonzero(dt <= 0)[0]
    if dup.size:
        i = int(dup[0])
        return (f"{name}: duplicated frame timestamp {t[i]:.6f} s (frames {i} and {i + 1}; "
                f"{dup.size} duplicates)")
    med = float(np.median(dt))
    off = np.nonzero(np.abs(dt - med) > tolerance * med)[0]
    if off.size:
        i = int(off[np.argmax(np.abs(dt[off] - med))])
        return (f"{name}: not a constant frame rate: gap of {dt[i]:.4f} s between frames {i} and {i + 1} "
                f"({t[i]:.4f} -> {t[i + 1]:.4f} s), expected {med:.4f} s ({1 / med:.3g} fps; "
                f"{off.size} irregular intervals)")
    return ""


PIX_FMTS = {"rgb24": (3, np.uint8), "gray16le": (1, np.dtype("<u2"))}


def scale_filter(size: tuple[int, int], src_pix_fmt: str | None) -> str:
    """ffmpeg ``-vf`` that area-resizes to ``size`` = (width, height) pixels.

    The scaler keeps the decoder's pixel format (``format=`` pins it), so the resize runs on the small chroma
    planes and the conversion to the pipe format afterwards is swscale's fast unscaled path (even sizes);
    one scaler that resizes and converts to RGB at once is about 3x slower at 1408².
    """
    w, h = size
    vf = f"scale={w}:{h}:flags=area"
    return f"{vf},format={src_pix_fmt}" if src_pix_fmt else vf


def iter_frames(path: str | os.PathLike, info: VideoInfo | None = None, pix_fmt: str = "rgb24",
                size: tuple[int, int] | None = None) -> Iterator[np.ndarray]:
    """Stream decoded frames; raises VideoError when ffmpeg reports a decode error.

    ``rgb24``: (H, W, 3) uint8 · ``gray16le``: (H, W) uint16 (16-bit depth videos, e.g. FFV1).
    ``size``: (width, height) to resize to inside ffmpeg with area averaging (``scale_filter``); frames are
    then (height, width[, 3]). None or the source size: no resize. Every yielded array is its own buffer.

    Frames come one per stored frame (``-vsync passthrough``), whatever the timestamps. ffmpeg logs at
    level ``verbose`` with level tags; a thread collects the log (a chatty stream cannot fill the pipe),
    ``[error]``/``[fatal]`` lines raise VideoError, and a second filter-graph input size (the decoder's
    frames changed size mid-stream) raises VideoError naming both sizes, also when the consumer stops
    early (the frames it got may already be rescaled ones).
    """
    import ffmpeg
    require_ffmpeg()
    info = info or probe(path)
    channels, dtype = PIX_FMTS[pix_fmt]
    w, h = size or (info.width, info.height)
    out_args = dict(format="rawvideo", pix_fmt=pix_fmt, vsync="passthrough")
    if (w, h) != (info.width, info.height):
        out_args["vf"] = scale_filter((w, h), info.pix_fmt)
    proc = (ffmpeg.input(str(path)).output("pipe:", **out_args)
            .global_args("-v", "level+verbose", "-hide_banner", "-nostats", "-nostdin")
            .run_async(pipe_stdout=True, pipe_stderr=True))
    log: list[str] = []
    reader = threading.Thread(target=lambda: log.extend(proc.stderr.read().decode(errors="replace").splitlines()),
                              daemon=True)
    reader.start()
    shape = (h, w, channels) if channels > 1 else (h, w)
    size_bytes = w * h * channels * np.dtype(dtype).itemsize
    complete = False
    try:
        while True:
            frame = np.empty(shape, dtype)  # read straight into a writable array of its own
            if proc.stdout.readinto(memoryview(frame).cast("B")) < size_bytes:
                break
            yield frame
        complete = True
    finally:
        if not complete:  # the consumer stopped early (or failed): stop ffmpeg quietly
            proc.kill()
        proc.stdout.close()
        rc = proc.wait()
        reader.join()
        proc.stderr.close()
        sizes = graph_input_sizes(log)
        if len(sizes) > 1:
            raise VideoError(f"resolution changes mid-stream: {Path(path).name} "
                             + " -> ".join(f"{a}x{b}" for a, b in sizes))
    err = "\n".join(line for line in log if line.startswith(ERROR_TAGS) or "] [error]" in line
                    or "] [fatal]" in line).strip()
    if rc != 0 or err:
        raise VideoError(f"decoding {Path(path).name} failed: {err[-300:] or f'ffmpeg exit {rc}'}")


ERROR_TAGS = ("[error]", "[fatal]", "[panic]")
_GRAPH_INPUT = re.compile(r"\bw:(\d+) h:(\d+) pixfmt:\S+ tb:")  # the buffer source's line, one per graph


def graph_input_sizes(log: list[str]) -> list[tuple[int, int]]:
    """Distinct (width, height) of the decoded frames, in order, from ffmpeg's verbose log: one filter graph
    is (re)configured per input frame size."""
    sizes: list[tuple[int, int]] = []
    for line in log:
        m = _GRAPH_INPUT.search(line)
        if m and (not sizes or sizes[-1] != (int(m[1]), int(m[2]))):
            sizes.append((int(m[1]), int(m[2])))
    return sizes


def read_video(path: str | os.PathLike) -> np.ndarray:
    """All frames of a video, (T, H, W, 3) uint8."""
    frames = list(iter_frames(path))
    if not frames:
        raise VideoError(f"{path}: no frames decoded")
    return np.stack(frames)


def write_video(path: str | os.PathLike, frames: Iterable[np.ndarray] | np.ndarray, fps: float = 30.0,
                crf: int = CRF) -> Path:
    """Encode RGB uint8 frames (H, W, 3) to H.264 yuv420p mp4 atomically. Returns the path."""
    return _encode(path, frames, fps, "rgb24", dict(vcodec="libx264", pix_fmt="yuv420p", crf=crf,
                                                    preset="veryfast", movflags="+faststart",
                                                    **{"x264-params": "log-level=error"}))


def write_video_gray16(path: str | os.PathLike, frames: Iterable[np.ndarray] | np.ndarray, fps: float = 30.0) -> Path:
    """Encode uint16 frames (H, W) losslessly (FFV1, gray16le), e.g. a depth video (.avi/.mkv)."""
    return _encode(path, frames, fps, "gray16le", dict(vcodec="ffv1", pix_fmt="gray16le"))


def _encode(path, frames, fps: float, pix_fmt: str, output_args: dict) -> Path:
    import ffmpeg
    require_ffmpeg()
    channels, dtype = PIX_FMTS[pix_fmt]
    it = iter(frames)
    first = next(it, None)
    if first is None:
        raise VideoError("write_video: no frames")
    h, w = first.shape[:2]
    if pix_fmt == "rgb24" and (h % 2 or w % 2):
        raise VideoError(f"yuv420p needs even width and height, got {w}x{h}")
    shape = (h, w, channels) if channels > 1 else (h, w)
    with atomic_path(path) as tmp:
        proc = (ffmpeg.input("pipe:", format="rawvideo", pix_fmt=pix_fmt, s=f"{w}x{h}", framerate=fps)
                .output(str(tmp), r=fps, **output_args)
                .global_args("-v", "error", "-nostdin", "-y").run_async(pipe_stdin=True, pipe_stderr=True))
        try:
            for frame in _chain(first, it):
                if frame.shape != shape or frame.dtype != dtype:
                    raise VideoError(f"frame shape/dtype {frame.shape}/{frame.dtype} != {shape}/{np.dtype(dtype)}")
                proc.stdin.write(np.ascontiguousarray(frame, dtype=dtype).tobytes())
        except BaseException:
            proc.kill()
            proc.wait()
            raise
        finally:
            if proc.stdin and not proc.stdin.closed:
                try:
                    proc.stdin.close()
                except BrokenPipeError:
                    pass
        err = proc.stderr.read().decode(errors="replace").strip()
        if proc.wait() != 0:
            raise VideoError(f"ffmpeg encode failed: {err[-300:]}")
    return Path(path)


def _chain(first, rest):
    yield first
    yield from rest
