"""Modality names live in the registries: production code outside the modality and task registries, the
synthetic world and the native readers spells them as string literals at most ``BUDGET`` times."""
from __future__ import annotations

import ast
from pathlib import Path

from egom2p import modalities as M

REPO = Path(__file__).resolve().parents[1]
FOLDERS = ("core", "curation", "tokenizers", "model", "tasks", "assets", "pipelines")
EXEMPT = {"core/modalities.py", "tasks/registry.py"}
BUDGET = 30


def modality_literals() -> set[str]:
    """Names, ``has_<name>`` flags and canonical clip file names of the built-in rows."""
    out = set()
    for m in M.REGISTRY.values():
        out |= {m.name, f"has_{m.name}", m.clip_file}
    return out


def count(source: str, literals: set[str]) -> int:
    return sum(isinstance(n, ast.Constant) and isinstance(n.value, str) and n.value in literals
               for n in ast.walk(ast.parse(source)))


def test_modality_names_stay_in_the_registries():
    literals = modality_literals()
    per_file = {}
    for folder in FOLDERS:
        for f in sorted((REPO / folder).rglob("*.py")):
            rel = f.relative_to(REPO).as_posix()
            if rel in EXEMPT or rel.startswith("curation/datasets/"):
                continue
            n = count(f.read_text(), literals)
            if n:
                per_file[rel] = n
    assert sum(per_file.values()) <= BUDGET, per_file


def test_the_counter_counts():
    assert count('x = "rgb"; y = f"{a}"; z = {"has_depth": 1, "gaze.npy": 2}', modality_literals()) == 3
