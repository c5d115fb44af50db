"""Parquet row lists: a list of dicts written atomically, read back as a list of dicts."""
from __future__ import annotations

import os
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from . import io


def write_rows(path: str | os.PathLike, rows: list[dict], schema: pa.Schema | None = None) -> Path:
    """Write a list of dicts as Parquet atomically (an empty list writes an empty table with ``schema``)."""
    if rows:
        table = pa.Table.from_pylist(rows, schema=schema)
    else:
        table = (schema or pa.schema([])).empty_table()
    return io.write_parquet(path, table)


def read_rows(path: str | os.PathLike) -> list[dict]:
    """Rows of a Parquet file as dicts; [] when the file does not exist.

    The file is opened once and read through that handle: reading by path lets pyarrow take the size of one
    inode and the bytes of another when a writer renames a new version in between (a torn read)."""
    try:
        with open(path, "rb") as f:
            return pq.read_table(f).to_pylist()
    except FileNotFoundError:
        return []
