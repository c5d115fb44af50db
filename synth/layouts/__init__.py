"""Native-layout writers of the synthetic world, one module per dataset.

Each writer is ``write_<name>(out_dir: Path, sequences: int, seconds: float, seed: int, progress=True)
-> list[str]`` (the sequence ids it wrote) and documents its exact file contract in its module
docstring. Shared code lives in :mod:`egom2p.synth.common` and :mod:`egom2p.synth.aria_mps`.
"""
from __future__ import annotations

from typing import Callable

from .arctic import write_arctic
from .egoexo4d import write_egoexo4d
from .egogen import write_egogen
from .h2o import write_h2o
from .holoassist import write_holoassist
from .taco import write_taco

LAYOUTS: dict[str, Callable[..., list[str]]] = {"egogen": write_egogen, "egoexo4d": write_egoexo4d,
                                                "h2o": write_h2o, "taco": write_taco, "holoassist": write_holoassist,
                                                "arctic": write_arctic}

# Aria/Meta family (HOT3D-Aria, HOT3D-Quest3, Aria Digital Twin), extracted form of their VRS files
from .adt import write_adt  # noqa: E402
from .hot3d import write_hot3d_aria, write_hot3d_quest3  # noqa: E402
LAYOUTS.update({"hot3d_aria": write_hot3d_aria, "hot3d_quest3": write_hot3d_quest3, "adt": write_adt})

__all__ = ["LAYOUTS", "write_egogen", "write_egoexo4d"]
