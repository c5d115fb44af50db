"""``egom2p predict``: an egocentric mp4 in → depth, gaze and camera out (npy + a visualization mp4).

    egom2p predict video.mp4 --model data/runs/tiny --out predictions/ [--data data]

The video is resampled to 30 fps, center-cropped square, resized to the preset's clip side and cut into
2-second windows (60 frames; a short tail is edge-padded). Per window, the rgb tokens go through the
multitask model with the paper's per-task decoding settings:
- ``depth.npy``  (W·16, S, S) float32 relative inverse depth in [0, 1] at 8 fps (tokenizer grid);
- ``gaze.npy``   (W·60, 2) normalized image coordinates at 30 fps (x right, y down, [0, 1]);
- ``camera.npy`` (W·60, 4, 4) camera-to-world, each window relative to its own first frame;
- ``preview.mp4`` rgb | depth side by side at 8 fps with the gaze point drawn.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np
import torch

from egom2p import io
from egom2p import modalities as M
from egom2p.presets import CLIP_FPS, CLIP_FRAMES

from .registry import from_video


def load_windows(path: str | Path, side: int) -> np.ndarray:
    """mp4 → (W, 60, side, side, 3) uint8 windows at 30 fps (clear errors for unreadable input)."""
    from egom2p.video import VideoError, iter_frames, probe
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such video")
    try:
        info = probe(path)
        frames = list(iter_frames(path, info))
    except (VideoError, Exception) as e:  # noqa: BLE001 - any decoder failure is "unreadable"
        raise ValueError(f"{path}: cannot read this video ({e})") from None
    if not frames:
        raise ValueError(f"{path}: no frames decoded")
    fps = info.fps or CLIP_FPS
    n = max(1, int(round(len(frames) / fps * CLIP_FPS)))
    idx = np.minimum(np.round(np.arange(n) * fps / CLIP_FPS).astype(int), len(frames) - 1)
    h, w = frames[0].shape[:2]
    s = min(h, w)
    y0, x0 = (h - s) // 2, (w - s) // 2
    clip = np.stack([cv2.resize(frames[i][y0:y0 + s, x0:x0 + s], (side, side), interpolation=cv2.INTER_AREA)
                     for i in idx])
    pad = (-len(clip)) % CLIP_FRAMES
    clip = np.concatenate([clip, np.repeat(clip[-1:], pad, 0)]) if pad else clip
    return clip.reshape(-1, CLIP_FRAMES, side, side, 3)


def predict_windows(windows: np.ndarray, model, tokenizers: dict, log=print) -> dict[str, np.ndarray]:
    """(W, 60, S, S, 3) → the target of every task that needs only the video, e.g. {"depth": (W·16, s, s),
    "gaze": (W·60, 2), "camera": (W·60, 4, 4)}."""
    from tqdm import tqdm

    from egom2p.model.generate import generate
    lay = model.cfg.layout
    video = M.one(source="video").name
    tasks = {t.target: t for t in from_video() if t.target in lay.names and t.target in tokenizers}
    out = {m: [] for m in tasks}
    for win in tqdm(windows, desc="predict", unit="window", file=sys.stderr):
        tokens = torch.zeros(1, lay.length, dtype=torch.long)
        tokens[0, lay.slice(video)] = torch.as_tensor(tokenizers[video].tokenize(video, [win]).reshape(-1))
        for m in out:
            pred = generate(model, tokens, {video: "all"}, [(m, tasks[m].generation)])
            spec = model.cfg.spec(m)
            out[m].append(tokenizers[m].detokenize(m, pred[:, lay.slice(m)].reshape(1, *spec.token_shape).numpy())[0])
    return {m: np.concatenate(v).astype(np.float32) for m, v in out.items()}


def preview(windows: np.ndarray, result: dict, video_cfg) -> np.ndarray:
    """rgb | depth (magma) frames at the tokenizer's fps with the gaze point: (T, s, 2s, 3) uint8. The depth
    and gaze panels come from the predicted maps (``inverse_depth``) and image points (``image_point``)."""
    from egom2p.tokenizers.video import data as V
    maps = [m for m in result if M.get(m).value == "inverse_depth"]
    points = [m for m in result if M.get(m).value == "image_point"]
    frames = []
    idx = V.frame_indices(video_cfg.frames, video_cfg.fps)
    for w, win in enumerate(windows):
        rgb = V.video_to_rgb(V.rgb_to_video(win, video_cfg.frames, video_cfg.fps, video_cfg.resolution))
        for k in range(video_cfg.frames):
            left = rgb[k].copy()
            right = np.zeros_like(left)
            for m in maps[:1]:
                d = np.clip(result[m][w * video_cfg.frames + k], 0, 1)
                right = cv2.applyColorMap((d * 255).astype(np.uint8), cv2.COLORMAP_MAGMA)[..., ::-1]
            for m in points:
                g = result[m][w * CLIP_FRAMES + idx[k]]
                if np.isfinite(g).all():
                    p = (int(g[0] * left.shape[1]), int(g[1] * left.shape[0]))
                    cv2.circle(left, p, max(2, left.shape[0] // 20), (0, 255, 0), 1)
            frames.append(np.concatenate([left, right], axis=1))
    return np.stack(frames)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="egom2p predict", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("video", help="input mp4 (any size / fps)")
    ap.add_argument("--model", required=True, help="run folder with model.safetensors + config.json")
    ap.add_argument("--data", default="", help="data root holding tokenizers/current (default $EGOM2P_DATA or ./data)")
    ap.add_argument("--out", default="predictions", help="output folder")
    a = ap.parse_args(argv)
    from egom2p.model.checkpoint import load_model
    from egom2p.paths import DataPaths
    from egom2p.presets import get_preset
    from egom2p.tasks.run import load_tokenizers
    try:
        model, config = load_model(a.model)
        preset = get_preset(config["preset"])
        tokenizers, _ = load_tokenizers(DataPaths.from_env(a.data or None), preset)
        video = M.one(source="video").name
        if video not in tokenizers:
            raise FileNotFoundError("no current video tokenizer under the data root; materialize video_tokenizer")
        windows = load_windows(a.video, preset.clip_resolution)
    except (FileNotFoundError, ValueError) as e:
        print(f"egom2p predict: error: {e}", file=sys.stderr)
        return 2
    result = predict_windows(windows, model, tokenizers)
    out = Path(a.out)
    for m, arr in result.items():
        io.write_npy(out / f"{m}.npy", arr)
    from egom2p.video import write_video
    write_video(out / "preview.mp4", preview(windows, result, tokenizers[video].cfg), fps=tokenizers[video].cfg.fps)
    print(f"{len(windows)} window(s) → {', '.join(f'{m}.npy {tuple(v.shape)}' for m, v in result.items())}, "
          f"preview.mp4 in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
