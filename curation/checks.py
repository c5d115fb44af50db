"""Partition-level checks of canonical clips (run as Dagster asset checks, severity ERROR, and in tests).

Each check returns (passed, details) over every clip of a partition:

- one check per registry row with a ``check_name`` (the row's file check on every clip that has it:
  ``clip_frames`` 60 frames per video, ``depth_range`` finite in [0,1] where present, ``gaze_range`` in
  [0,1] or NaN, ``camera_valid`` proper rotations and first pose identity);
- ``rgb_content``: decoded frames neither blank (max pixel 0) nor one constant colour (std ~0);
- ``arrays_match_registry``: every present array has the registry's clip shape (side from the clip's meta)
  and dtype, e.g. depth (60, S, S) float32, never (60, S, S, 3);
- ``clip_timing``: meta fps 30 and 60 frames (2 s), valid frames within them, the video 30 fps / 60 frames
  at the clip's side;
- ``modality_coverage``: per modality, the clips of sequences the inventory says have it (``has_<m>``),
  of which more than ``max_dropped_fraction`` lack it fails the check, with the recorded reasons
  (``dropped_<m>``) — a time-unit error or a blank sensor that silently loses a modality shows up here;
- ``index_matches_files``: index rows == clip folders and the ``has_<modality>`` flags == files.
"""
from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np

from egom2p import modalities as M
from egom2p.catalog import read_index
from egom2p.checks import check_rgb
from egom2p.clip import clip_files, read_meta
from egom2p.presets import CLIP_FPS, CLIP_FRAMES

INDEX_CHECK = "index_matches_files"
RGB_CHECK = "rgb_content"
REGISTRY_CHECK = "arrays_match_registry"
TIMING_CHECK = "clip_timing"
COVERAGE_CHECK = "modality_coverage"
MAX_DROPPED_FRACTION = 0.2
VIDEO = M.one(source="video")


def check_names() -> tuple[str, ...]:
    """Names of the partition checks, registry order, then the content, shape, timing, coverage and index checks."""
    return tuple(m.check_name for m in M.REGISTRY.values() if m.check_name) + (
        RGB_CHECK, REGISTRY_CHECK, TIMING_CHECK, COVERAGE_CHECK, INDEX_CHECK)


def _clip_dirs(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")) if folder.is_dir() else []


def _registry_problems(m: M.Modality, array: np.ndarray, side: int) -> list[str]:
    """Shape and dtype of one canonical array against its registry row at the clip's side."""
    if m.kind == "video":   # (60, S, S) for one channel, else (60, S, S, C)
        channels = m.sample_shape[0]
        expect = (CLIP_FRAMES, side, side) if channels == 1 else (CLIP_FRAMES, side, side, channels)
    else:
        expect = (CLIP_FRAMES, *m.sample_shape)
    problems = []
    if tuple(array.shape) != expect:
        problems.append(f"{m.name} shape {tuple(array.shape)} != registry {expect}")
    if np.dtype(array.dtype) != np.dtype(m.dtype):
        problems.append(f"{m.name} dtype {array.dtype} != registry {m.dtype}")
    return problems


def _timing_problems(clip: Path, meta: dict, side: int) -> list[str]:
    """Frame rate and duration of a clip: meta 30 fps x 60 frames, the video the same at the clip's side."""
    from egom2p.video import VideoError, probe
    problems = []
    if abs(float(meta.get("fps", 0)) - CLIP_FPS) > 1e-6 or int(meta.get("frames", 0)) != CLIP_FRAMES:
        problems.append(f"meta says {meta.get('frames')} frames at {meta.get('fps')} fps, "
                        f"not {CLIP_FRAMES} at {CLIP_FPS:g} ({CLIP_FRAMES / CLIP_FPS:g} s)")
    if not 0 < int(meta.get("valid_frames", CLIP_FRAMES)) <= CLIP_FRAMES:
        problems.append(f"valid_frames {meta.get('valid_frames')} outside 1..{CLIP_FRAMES}")
    if VIDEO.path(clip).exists():
        try:
            info = probe(VIDEO.path(clip))
        except VideoError as e:
            return problems + [str(e)]
        if abs(info.fps - CLIP_FPS) > 1e-3 or (info.frames is not None and info.frames != CLIP_FRAMES):
            problems.append(f"video {info.frames} frames at {info.fps:g} fps, not {CLIP_FRAMES} at {CLIP_FPS:g}")
        if (info.width, info.height) != (side, side):
            problems.append(f"video {info.width}x{info.height} != clip side {side}")
    return problems


def coverage(index: list[dict], inventory: list[dict] | None, max_dropped_fraction: float) -> tuple[list[str], dict]:
    """Failures and per-modality counts of ``modality_coverage``: for each modality, the clips whose
    sequence the inventory lists with it, and how many of them lack it (with the commonest reasons)."""
    has = {r["sequence_id"]: r for r in inventory or []}
    failures, counts = [], {}
    for m in M.names():
        expected = [r for r in index if has.get(r["sequence_id"], {}).get(f"has_{m}")]
        lost = [r for r in expected if not r.get(f"has_{m}")]
        counts[m] = {"expected": len(expected), "lost": len(lost)}
        if expected and len(lost) > max_dropped_fraction * len(expected):
            reasons = Counter((r.get(f"dropped_{m}") or "no reason recorded").split(":", 1)[-1].strip()[:160]
                              for r in lost)
            failures.append(f"{m}: lost on {len(lost)}/{len(expected)} clips of sequences that have it "
                            f"(> {max_dropped_fraction:g}); reasons: {dict(reasons.most_common(3))}")
    return failures, counts


def check_partition(folder: Path, inventory: list[dict] | None = None,
                    max_dropped_fraction: float = MAX_DROPPED_FRACTION) -> dict[str, tuple[bool, dict]]:
    """Every partition check over the canonical clips in ``folder`` (see the module doc). ``inventory``:
    the partition's inventory rows (``has_<modality>`` per sequence); without it coverage checks nothing."""
    folder = Path(folder)
    clips = _clip_dirs(folder)
    names = check_names()
    failures: dict[str, list[str]] = {c: [] for c in names}
    counts = {c: 0 for c in names}
    for clip in clips:
        files = clip_files(clip)
        meta = read_meta(clip) if (clip / "meta.json").exists() else {}
        side = int(meta.get("side") or 0) or None
        counts[TIMING_CHECK] += 1
        failures[TIMING_CHECK] += [f"{clip.name}: {p}" for p in _timing_problems(clip, meta, side or 0)]
        for name in files:      # each file is read (a video decoded) once, for every check that needs it
            m = M.get(name)
            if m.check_name:
                counts[m.check_name] += 1
            try:
                array = m.read(clip)
            except Exception as e:  # noqa: BLE001 - an unreadable file is these checks' finding
                if m.check_name:
                    failures[m.check_name].append(f"{clip.name}: {e}")
                failures[REGISTRY_CHECK].append(f"{clip.name}: {name} unreadable: {e}")
                continue
            if m.check_name:
                failures[m.check_name] += [f"{clip.name}: {p}" for p in m.array_problems(array)]
            counts[REGISTRY_CHECK] += 1
            if side:
                failures[REGISTRY_CHECK] += [f"{clip.name}: {p}" for p in _registry_problems(m, array, side)]
            if m is VIDEO:
                counts[RGB_CHECK] += 1
                failures[RGB_CHECK] += [f"{clip.name}: {p}" for p in check_rgb(array, side)]
    index = read_index(folder)
    counts[COVERAGE_CHECK] = len(index)
    failures[COVERAGE_CHECK], by_modality = coverage(index, inventory, max_dropped_fraction)
    counts[INDEX_CHECK] = len(index)
    on_disk = {c.name for c in clips}
    in_index = {r["clip_id"] for r in index}
    for missing in sorted(in_index - on_disk):
        failures[INDEX_CHECK].append(f"{missing}: in index, no folder")
    for extra in sorted(on_disk - in_index):
        failures[INDEX_CHECK].append(f"{extra}: folder not in index")
    for r in index:
        if r["clip_id"] in on_disk:
            files = clip_files(folder / r["clip_id"])
            for flag, m in zip(M.flags(()), M.names()):
                if bool(r.get(flag)) != (m in files):
                    failures[INDEX_CHECK].append(f"{r['clip_id']}: {flag}={r.get(flag)} but file "
                                                 f"{'present' if m in files else 'absent'}")
    out = {c: (not failures[c], {"checked": counts[c], "failures": len(failures[c]), "examples": failures[c][:5]})
           for c in names}
    out[COVERAGE_CHECK][1]["modalities"] = by_modality
    return out
