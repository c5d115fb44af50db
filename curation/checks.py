"""Partition-level checks of canonical clips (run as Dagster asset checks and in tests).

Each check returns (passed, details) over every clip of a partition:
``clip_frames`` 60 frames per rgb.mp4 · ``gaze_range`` in [0,1] or NaN · ``camera_valid`` orthonormal
rotations with det 1 and first pose identity · ``depth_range`` finite in [0,1] where present ·
``index_matches_files`` index rows == clip folders and modality flags == files.
"""
from __future__ import annotations

from pathlib import Path

from egom2p import io
from egom2p.clip import check_camera, check_depth, check_gaze, clip_files
from egom2p.presets import CLIP_FRAMES
from egom2p.video import VideoError, probe

from .partition import read_index

CHECKS = ("clip_frames", "gaze_range", "camera_valid", "depth_range", "index_matches_files")


def _clip_dirs(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")) if folder.is_dir() else []


def check_partition(folder: Path) -> dict[str, tuple[bool, dict]]:
    folder = Path(folder)
    clips = _clip_dirs(folder)
    failures: dict[str, list[str]] = {c: [] for c in CHECKS}
    counts = {c: 0 for c in CHECKS}
    for clip in clips:
        files = clip_files(clip)
        if "rgb" in files:
            counts["clip_frames"] += 1
            try:
                n = probe(files["rgb"]).frames
                if n != CLIP_FRAMES:
                    failures["clip_frames"].append(f"{clip.name}: {n} frames")
            except VideoError as e:
                failures["clip_frames"].append(f"{clip.name}: {e}")
        for name, key, fn in (("gaze_range", "gaze", check_gaze), ("camera_valid", "camera", check_camera),
                              ("depth_range", "depth", check_depth)):
            if key in files:
                counts[name] += 1
                failures[name] += [f"{clip.name}: {p}" for p in fn(io.read_npy(files[key]))]
    index = read_index(folder)
    counts["index_matches_files"] = len(index)
    on_disk = {c.name for c in clips}
    in_index = {r["clip_id"] for r in index}
    for missing in sorted(in_index - on_disk):
        failures["index_matches_files"].append(f"{missing}: in index, no folder")
    for extra in sorted(on_disk - in_index):
        failures["index_matches_files"].append(f"{extra}: folder not in index")
    for r in index:
        if r["clip_id"] in on_disk:
            files = clip_files(folder / r["clip_id"])
            for m in ("rgb", "depth", "gaze", "camera"):
                if bool(r.get(f"has_{m}")) != (m in files):
                    failures["index_matches_files"].append(f"{r['clip_id']}: has_{m}={r.get(f'has_{m}')} but file "
                                                           f"{'present' if m in files else 'absent'}")
    return {c: (not failures[c], {"checked": counts[c], "failures": len(failures[c]),
                                  "examples": failures[c][:5]}) for c in CHECKS}
