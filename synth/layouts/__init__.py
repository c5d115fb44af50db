"""Native-layout writers of the synthetic world, one module per dataset.

Each writer is ``write_<name>(out_dir: Path, sequences: int, seconds: float, seed: int, progress=True)
-> list[str]`` (the sequence ids it wrote) and documents its exact file contract in its module
docstring. Shared code lives in :mod:`egom2p.synth.common` and :mod:`egom2p.synth.aria_mps`.
"""
from __future__ import annotations

from typing import Callable

from .egoexo4d import write_egoexo4d
from .egogen import write_egogen
from .h2o import write_h2o
from .taco import write_taco

LAYOUTS: dict[str, Callable[..., list[str]]] = {"egogen": write_egogen, "egoexo4d": write_egoexo4d,
                                                "h2o": write_h2o, "taco": write_taco}

__all__ = ["LAYOUTS", "write_egogen", "write_egoexo4d"]
