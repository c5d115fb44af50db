"""Preview images for asset metadata: a frame strip with the gaze dot, depth colormap beneath."""
from __future__ import annotations

import base64
from pathlib import Path

import cv2
import numpy as np

from egom2p.clip import read_clip


def clip_strip(folder: Path, frames: int = 4, height: int = 96) -> np.ndarray:
    """(rows*height, frames*height, 3) uint8 RGB: row 1 rgb (+ gaze dot), row 2 depth (if present)."""
    clip = read_clip(folder)
    T = clip.rgb.shape[0]
    picks = np.linspace(0, T - 1, frames).round().astype(int)
    top, bottom = [], []
    for t in picks:
        img = cv2.resize(clip.rgb[t], (height, height), interpolation=cv2.INTER_AREA).copy()
        if clip.gaze is not None and np.isfinite(clip.gaze[t]).all():
            x, y = (clip.gaze[t] * height).astype(int)
            cv2.circle(img, (int(x), int(y)), max(3, height // 24), (255, 40, 40), -1)
            cv2.circle(img, (int(x), int(y)), max(4, height // 20), (255, 255, 255), 1)
        top.append(img)
        if clip.depth is not None:
            d = np.nan_to_num(clip.depth[t].astype(np.float32), nan=0.0)
            d = cv2.resize(d, (height, height), interpolation=cv2.INTER_NEAREST)
            col = cv2.applyColorMap((d * 255).astype(np.uint8), cv2.COLORMAP_INFERNO)
            bottom.append(cv2.cvtColor(col, cv2.COLOR_BGR2RGB))
    rows = [np.concatenate(top, 1)] + ([np.concatenate(bottom, 1)] if bottom else [])
    return np.concatenate(rows, 0)


def partition_preview(clip_folders: list[Path], max_clips: int = 3, frames: int = 4, height: int = 96) -> np.ndarray | None:
    """Strips of up to ``max_clips`` clips stacked vertically (None when there is no clip)."""
    strips = [clip_strip(f, frames, height) for f in clip_folders[:max_clips]]
    if not strips:
        return None
    width = max(s.shape[1] for s in strips)
    strips = [np.pad(s, ((0, 4), (0, width - s.shape[1]), (0, 0)), constant_values=255) for s in strips]
    return np.concatenate(strips, 0)


def png_bytes(image: np.ndarray) -> bytes:
    ok, buf = cv2.imencode(".png", cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    if not ok:
        raise RuntimeError("PNG encoding failed")
    return buf.tobytes()


def markdown_image(image: np.ndarray, alt: str = "preview") -> str:
    """Markdown with an inline base64 PNG (how Dagster metadata shows images)."""
    return f"![{alt}](data:image/png;base64,{base64.b64encode(png_bytes(image)).decode()})"
