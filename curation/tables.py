"""CSV columns of native dataset files, read with clear errors."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute  # noqa: F401  (registers pa.compute)
import pyarrow.csv as pacsv

from .sequence import SequenceError


def read_csv(path: str | os.PathLike, required: list[str], optional: list[str] = ()) -> dict[str, np.ndarray]:
    """Read the named numeric columns of a CSV as float64 arrays (extra columns are ignored).

    Raises SequenceError naming the file and the problem: missing file, unreadable CSV, missing
    column(s), non-numeric column. Empty cells become NaN. (float64 keeps µs timestamps exact; ns ones
    to ~0.1 µs, far below a frame.)
    """
    path = Path(path)
    if not path.exists():
        raise SequenceError(f"missing file {path.name}")
    try:
        table = pacsv.read_csv(path, convert_options=pacsv.ConvertOptions(strings_can_be_null=True))
    except (pa.ArrowInvalid, OSError) as e:
        raise SequenceError(f"{path.name}: unreadable CSV ({str(e).splitlines()[0]})") from None
    missing = [c for c in required if c not in table.column_names]
    if missing:
        raise SequenceError(f"{path.name}: missing column(s) {', '.join(missing)}")
    out = {}
    for c in [*required, *[o for o in optional if o in table.column_names]]:
        try:
            col = pa.compute.cast(table.column(c), pa.float64())
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            raise SequenceError(f"{path.name}: column {c} is not numeric") from None
        out[c] = col.to_numpy(zero_copy_only=False).astype(np.float64)
    return out
