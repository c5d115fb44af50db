"""The layering of the production folders, checked on their source (an AST walk; nothing is imported).

Folders and their packages: ``core/`` is ``egom2p`` (every ``egom2p.<module>`` that is not a stage package),
the stages ``synth/``, ``curation/``, ``tokenizers/``, ``model/``, ``tasks/`` are ``egom2p.<folder>``; above them
``assets/`` (Dagster assets) and ``pipelines/`` (Definitions, jobs, sensors, demo). A violation is an import of

- ``dagster`` (or any ``dagster_*`` package), ``egom2p.assets`` or ``egom2p.pipelines`` by a pure folder
  (core, synth, curation, tokenizers, model, tasks);
- ``egom2p.pipelines`` by assets;
- ``egom2p.model`` or ``egom2p.tasks`` by tokenizers;
- ``egom2p.curation`` by synth;
- ``egom2p.tokenizers``, ``.model``, ``.tasks`` or ``.synth`` by curation;
- any stage package (``egom2p.synth``, ``.curation``, ``.tokenizers``, ``.model``, ``.tasks``, ``.assets``,
  ``.pipelines``) by core;
- ``egom2p.tasks`` by model.

Imports inside functions (lazy imports) and under ``if TYPE_CHECKING`` count; relative imports resolve to
their package (``from ..training import x`` in ``tokenizers/video/train.py`` is ``egom2p.tokenizers.training``).

The one allowed exception: the training entry point (``model/train.py``, which reports through
``model/reporting.py``) sends its metrics to Dagster over Pipes with ``dagster_pipes`` — the small,
dependency-free Pipes client, not ``dagster`` — so a training process launched by the ``pretrained_model``
asset (python, torchrun, deepspeed, a Kubernetes pod) reports to the run that launched it.
"""
from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
STAGES = ("synth", "curation", "tokenizers", "model", "tasks", "assets", "pipelines")
FOLDERS = ("core",) + STAGES
PURE = ("core", "synth", "curation", "tokenizers", "model", "tasks")
DAGSTER = "dagster"  # the layer name of ``dagster`` and every ``dagster_*`` package

# layer -> layers it must not import
FORBIDDEN: dict[str, set[str]] = {folder: {DAGSTER, "assets", "pipelines"} for folder in PURE}
FORBIDDEN["assets"] = {"pipelines"}
FORBIDDEN["pipelines"] = set()
FORBIDDEN["tokenizers"] |= {"model", "tasks"}
FORBIDDEN["synth"] |= {"curation"}
FORBIDDEN["curation"] |= {"tokenizers", "model", "tasks", "synth"}
FORBIDDEN["core"] |= set(STAGES)
FORBIDDEN["model"] |= {"tasks"}

# (file, imported top-level package) pairs allowed despite FORBIDDEN: the training entry point's Pipes client
ALLOWED = {("model/train.py", "dagster_pipes"), ("model/reporting.py", "dagster_pipes")}


def layer_of(module: str) -> str | None:
    """The layer an absolute module name belongs to (core, a stage, dagster), None for anything else."""
    parts = module.split(".")
    if parts[0] == "egom2p":
        return parts[1] if len(parts) > 1 and parts[1] in STAGES else "core"
    if parts[0] == "dagster" or parts[0].startswith("dagster_"):
        return DAGSTER
    return None


def package_of(relpath: str) -> list[str]:
    """Package (as parts) that a file's relative imports resolve against, e.g. tokenizers/video/train.py →
    [egom2p, tokenizers, video]; core/io.py → [egom2p]."""
    folder, *rest = Path(relpath).parts
    return ["egom2p"] + ([] if folder == "core" else [folder]) + list(rest[:-1])


def imported_modules(tree: ast.AST, relpath: str) -> list[tuple[int, str]]:
    """(line, absolute module name) of every import in ``tree``; ``from m import a`` yields ``m.a`` (``a`` may
    be a submodule: ``from egom2p import synth``) — a module's layer is decided by its first two parts."""
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                package = package_of(relpath)
                base = package[:len(package) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            out += [(node.lineno, module if a.name == "*" else f"{module}.{a.name}") for a in node.names]
    return out


def violations_in_source(source: str, relpath: str) -> list[str]:
    """Layering violations of one file (``relpath`` relative to the repository root, e.g. ``model/train.py``)."""
    layer = Path(relpath).parts[0]
    found = []
    for line, module in imported_modules(ast.parse(source, relpath), relpath):
        target = layer_of(module)
        if target is None or target == layer or target not in FORBIDDEN.get(layer, set()):
            continue
        if (relpath, module.split(".")[0]) in ALLOWED:
            continue
        found.append(f"{relpath}:{line}: {layer} imports {module} ({target})")
    return found


def layering_violations(root: Path = REPO) -> list[str]:
    found = []
    for folder in FOLDERS:
        for path in sorted((root / folder).rglob("*.py")):
            rel = path.relative_to(root).as_posix()
            found += violations_in_source(path.read_text(), rel)
    return found


def test_production_folders_respect_the_layering():
    found = layering_violations()
    assert not found, "layering violations:\n" + "\n".join(found)


def test_the_check_reports_forbidden_imports():
    """Self-check: fake sources with forbidden imports (top level, lazy, relative, ``from egom2p import``)
    are reported; allowed ones are not."""
    lazy_dagster = "def f():\n    import dagster as dg\n    return dg\n"
    assert violations_in_source(lazy_dagster, "tokenizers/fake.py") == [
        "tokenizers/fake.py:2: tokenizers imports dagster (dagster)"]
    assert violations_in_source("from ...model.train import run\n", "tokenizers/video/fake.py") == [
        "tokenizers/video/fake.py:1: tokenizers imports egom2p.model.train.run (model)"]
    assert violations_in_source("from egom2p import synth\n", "core/fake.py") == [
        "core/fake.py:1: core imports egom2p.synth (synth)"]
    assert violations_in_source("from egom2p.pipelines.resources import DataRoot\n", "assets/fake.py")
    assert violations_in_source("from egom2p.synth.trajectories import sample_trajectories\n", "curation/fake.py")
    assert violations_in_source("import egom2p.tasks.metrics\n", "model/fake.py")
    assert violations_in_source("from dagster_pipes import open_dagster_pipes\n", "tasks/fake.py")
    # allowed: within a layer, downward, assets on anything but pipelines, the Pipes client of training
    assert not violations_in_source("from . import io\nfrom .modalities import REGISTRY\n", "core/fake.py")
    assert not violations_in_source("from egom2p.tokenizers import store\nimport torch\n", "model/fake.py")
    assert not violations_in_source("import dagster as dg\nfrom egom2p.tasks.run import x\n", "assets/fake.py")
    assert not violations_in_source("from dagster_pipes import open_dagster_pipes\n", "model/reporting.py")
