"""Loading ``.npy`` files that hold a pickled dict of arrays (ARCTIC's ``*.egocam.dist.npy``) safely.

``np.load(allow_pickle=True)`` would run arbitrary code from a dataset file. Here a restricted unpickler
resolves only the few numpy globals an array-of-dict pickle needs; anything else is refused with a clear
error, so a malicious file cannot execute code.
"""
from __future__ import annotations

import io
import os
import pickle

import numpy as np

from .sequence import SequenceError

_ALLOWED = {
    ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"),
    ("numpy", "ndarray"), ("numpy", "dtype"),
    ("numpy.core.numeric", "_frombuffer"), ("numpy._core.numeric", "_frombuffer"),
    ("builtins", "dict"), ("builtins", "list"), ("builtins", "tuple"),
    ("collections", "OrderedDict"), ("_codecs", "encode"),
}


class _ArraysOnly(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        if (module, name) not in _ALLOWED:
            raise pickle.UnpicklingError(f"refusing to unpickle {module}.{name}")
        return super().find_class(module, name)


def load_pickled_npy(path: str | os.PathLike):
    """The object stored in a ``.npy`` written with ``np.save(path, obj, allow_pickle=True)``, loaded without
    executing arbitrary code. A dict saved that way comes back as a dict; plain arrays load normally."""
    with open(path, "rb") as f:
        version = np.lib.format.read_magic(f)
        read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        shape, fortran, dtype = read_header(f)
        if dtype != object:
            f.seek(0)
            return np.load(f, allow_pickle=False)
        try:
            arr = _ArraysOnly(io.BufferedReader(f)).load()
        except (pickle.UnpicklingError, EOFError, AttributeError, ValueError) as e:
            raise SequenceError(f"{os.path.basename(path)}: unsafe or corrupt pickle ({e})") from None
    if isinstance(arr, np.ndarray) and arr.dtype == object and arr.shape == ():
        return arr.item()
    return arr
