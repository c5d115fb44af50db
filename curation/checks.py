"""Partition-level checks of canonical clips (run as Dagster asset checks and in tests).

Each check returns (passed, details) over every clip of a partition: one check per registry row with a
``check_name`` (the row's file check on every clip that has it: ``clip_frames`` 60 frames per video,
``depth_range`` finite in [0,1] where present, ``gaze_range`` in [0,1] or NaN, ``camera_valid`` proper
rotations and first pose identity), then ``index_matches_files``: index rows == clip folders and the
``has_<modality>`` flags == files.
"""
from __future__ import annotations

from pathlib import Path

from egom2p import modalities as M
from egom2p.catalog import read_index
from egom2p.clip import clip_files

INDEX_CHECK = "index_matches_files"


def check_names() -> tuple[str, ...]:
    """Names of the partition checks, registry order, then the index check."""
    return tuple(m.check_name for m in M.REGISTRY.values() if m.check_name) + (INDEX_CHECK,)


def _clip_dirs(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")) if folder.is_dir() else []


def check_partition(folder: Path) -> dict[str, tuple[bool, dict]]:
    folder = Path(folder)
    clips = _clip_dirs(folder)
    names = check_names()
    failures: dict[str, list[str]] = {c: [] for c in names}
    counts = {c: 0 for c in names}
    checked = [m for m in M.REGISTRY.values() if m.check_name]
    for clip in clips:
        files = clip_files(clip)
        for m in checked:
            if m.name in files:
                counts[m.check_name] += 1
                failures[m.check_name] += [f"{clip.name}: {p}" for p in m.problems(files[m.name])]
    index = read_index(folder)
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
    return {c: (not failures[c], {"checked": counts[c], "failures": len(failures[c]),
                                  "examples": failures[c][:5]}) for c in names}
