"""Reconstruction previews for asset metadata (RGB uint8 images; markdown via curation.preview)."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from egom2p import modalities as M
from egom2p.clip import read_clip

from .video import data as V


def _depth_rgb(d: np.ndarray) -> np.ndarray:
    col = cv2.applyColorMap((np.clip(np.nan_to_num(d), 0, 1) * 255).astype(np.uint8), cv2.COLORMAP_INFERNO)
    return cv2.cvtColor(col, cv2.COLOR_BGR2RGB)


def video_preview(tok, folder: Path, frames: int = 4, height: int = 96) -> np.ndarray:
    """Rows: input and reconstruction of every video modality the clip has (rgb, then depth as a colour map)."""
    video = [m.name for m in M.rows(kind="video")]
    clip = read_clip(folder, modalities=video)
    c = tok.cfg
    picks = np.linspace(0, c.frames - 1, frames).round().astype(int)
    rows = []
    for modality in clip:
        a = clip[modality]
        recon = tok.detokenize(modality, tok.tokenize(modality, [a]))[0]
        if M.get(modality).value == "color":
            gt = V.video_to_rgb(V.rgb_to_video(a, c.frames, c.fps, c.resolution))
            pair = [gt, recon]
        else:
            gt = V.video_to_depth(V.depth_to_video(a, c.frames, c.fps, c.resolution)[0])
            pair = [np.stack([_depth_rgb(f) for f in gt]), np.stack([_depth_rgb(f) for f in recon])]
        for seq in pair:
            rows.append(np.concatenate([cv2.resize(seq[t], (height, height), interpolation=cv2.INTER_NEAREST)
                                        for t in picks], axis=1))
    return np.concatenate(rows, axis=0)


def trajectory_preview(modality: str, gt: list[np.ndarray], recon: list[np.ndarray], size: int = 160) -> np.ndarray:
    """One panel per clip: input (white) vs reconstruction (orange). Image points (gaze): image-plane path in
    [0,1]²; poses (camera): top-down x–z camera path (metres, auto-scaled); other signals: their first two
    channels (auto-scaled)."""
    value = M.get(modality).value
    panels = []
    for g, r in zip(gt, recon):
        img = np.full((size, size, 3), 30, np.uint8)
        if value == "image_point":
            pts = [np.where(np.isfinite(g), g, np.nan), r]
            lo, hi = np.zeros(2), np.ones(2)
        else:
            pts = [g[:, [0, 2], 3], r[:, [0, 2], 3]] if value == "pose" else \
                [np.asarray(a, np.float64).reshape(len(a), -1)[:, :2] for a in (g, r)]
            allp = np.concatenate(pts)
            allp = allp[np.isfinite(allp).all(1)] if value != "pose" else allp
            mid, half = allp.mean(0), max(1e-3, np.abs(allp - allp.mean(0)).max()) * 1.1
            lo, hi = mid - half, mid + half
        for p, colour in zip(pts, ((255, 255, 255), (255, 150, 40))):
            xy = (p - lo) / (hi - lo) * (size - 1)
            ok = np.isfinite(xy).all(1)
            if ok.sum() > 1:
                cv2.polylines(img, [xy[ok].round().astype(np.int32)], False, colour, 1, cv2.LINE_AA)
        panels.append(img)
    return np.concatenate(panels, axis=1) if panels else np.zeros((size, size, 3), np.uint8)
