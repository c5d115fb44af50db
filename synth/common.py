"""Helpers shared by the native-layout writers in :mod:`egom2p.synth.layouts`.

Seeding: sequence ``k`` of layout ``name`` under ``--seed s`` draws everything (world, motion, then the
layout's own choices) from one Generator seeded by ``SeedSequence([s, crc32(name), k])``. Streams of
different layouts, seeds and sequences are therefore independent, and no two (seed, k) pairs share a
world (unlike ``seed + k`` schemes).
"""
from __future__ import annotations

import os
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from egom2p.io import write_bytes

from .motion import EgoMotion, make_motion
from .world import World, make_world

FPS = 30.0


def sequence_rng(layout: str, seed: int, k: int) -> np.random.Generator:
    """The Generator of sequence ``k`` of ``layout`` under the user's ``seed``."""
    return np.random.default_rng(np.random.SeedSequence([int(seed), zlib.crc32(layout.encode()), int(k)]))


@dataclass
class Sequence:
    """One synthetic recording: its world, continuous motion, and the Generator for further choices."""
    world: World
    motion: EgoMotion
    rng: np.random.Generator
    seconds: float


def make_sequence(layout: str, seed: int, k: int, kind: str, seconds: float) -> Sequence:
    """World of ``kind`` + motion of ``seconds`` (plus 1 s margin either side) for sequence ``k``."""
    rng = sequence_rng(layout, seed, k)
    world = make_world(kind, rng)
    return Sequence(world, make_motion(world, seconds, rng), rng, float(seconds))


def frame_count(seconds: float, fps: float = FPS) -> int:
    """Frames in ``seconds`` at ``fps`` (at least 1)."""
    return max(1, int(round(seconds * fps)))


def deterministic_uuid(rng: np.random.Generator) -> str:
    """A version-4-shaped UUID string drawn from ``rng``."""
    b = bytearray(rng.integers(0, 256, 16, dtype=np.uint8).tobytes())
    b[6] = (b[6] & 0x0F) | 0x40
    b[8] = (b[8] & 0x3F) | 0x80
    h = b.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def write_jpeg(path: str | os.PathLike, rgb: np.ndarray, quality: int = 95) -> Path:
    """Write an RGB uint8 (H, W, 3) image as JPEG atomically."""
    import cv2
    ok, buf = cv2.imencode(".jpg", np.ascontiguousarray(rgb[..., ::-1]), [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise RuntimeError(f"JPEG encoding failed for {path}")
    return write_bytes(path, buf.tobytes())


def write_text(path: str | os.PathLike, lines: list[str]) -> Path:
    """Write lines (newline-terminated) atomically."""
    return write_bytes(path, ("\n".join(lines) + "\n").encode())


def progress_bar(total: int, desc: str, enabled: bool):
    """A tqdm bar over frames (a no-op object when disabled)."""
    from tqdm import tqdm
    return tqdm(total=total, desc=desc, unit="frame", disable=not enabled, dynamic_ncols=True)
