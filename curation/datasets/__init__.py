"""Dataset readers, one module per dataset, and the rule that picks one for a raw folder.

A raw folder's reader is the one named in its optional ``dataset.json`` (``{"reader": "egoexo4d"}``),
else the reader whose name starts the folder name (``egoexo4d-site2`` -> ``egoexo4d``)."""
from __future__ import annotations

import json
import os
from pathlib import Path

from ..sequence import Reader
from . import arctic, egoexo4d, egogen, h2o, holoassist, taco

READERS: dict[str, Reader] = {r.READER.name: r.READER for r in (egogen, egoexo4d, h2o, taco, holoassist, arctic)}
# Aria/Meta family (HOT3D-Aria, HOT3D-Quest3, Aria Digital Twin)
from . import adt, hot3d_aria, hot3d_quest3  # noqa: E402
READERS.update({r.READER.name: r.READER for r in (hot3d_aria, hot3d_quest3, adt)})


class UnknownDatasetError(ValueError):
    pass


def dataset_settings(folder: str | os.PathLike) -> dict:
    """The optional ``dataset.json`` of a raw folder ({} when absent)."""
    p = Path(folder) / "dataset.json"
    if not p.exists():
        return {}
    try:
        return json.loads(p.read_text())
    except json.JSONDecodeError as e:
        raise UnknownDatasetError(f"{p}: invalid JSON ({e})") from None


def resolve_reader(folder: str | os.PathLike) -> Reader:
    """The reader for a raw dataset folder (see module docstring)."""
    folder = Path(folder)
    name = dataset_settings(folder).get("reader")
    if name is None:
        # longest matching prefix wins, so 'hot3d_quest3' beats 'hot3d' once both exist
        matches = [r for r in READERS if folder.name.lower().startswith(r)]
        name = max(matches, key=len) if matches else None
    if name not in READERS:
        raise UnknownDatasetError(
            f"no reader for raw folder {folder.name!r}: name it after a reader ({', '.join(sorted(READERS))}) "
            f"or add dataset.json with {{\"reader\": \"<name>\"}}")
    return READERS[name]
