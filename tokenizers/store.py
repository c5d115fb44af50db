"""Where tokenizers live under the data root, and how the pipeline resolves them.

``<root>/tokenizers/<tokenizer_id>/`` holds one tokenizer (config.json, weights.safetensors, metrics.json);
``<root>/tokenizers/current/<role>.json`` names the one the graph uses now ({tokenizer_id, path}); a role is
a registry row's ``tokenizer`` (video for rgb + depth, gaze, camera, …); ``token_shards`` reads these
pointers.
"""
from __future__ import annotations

import json
from pathlib import Path

from egom2p import io
from egom2p import modalities as M
from egom2p.paths import DataPaths

from .api import load_jit_tokenizer, load_tokenizer


def roles() -> dict[str, tuple[str, ...]]:
    """Tokenizer role -> the modalities it tokenizes (registry order)."""
    return M.roles()


def save_current(paths: DataPaths, role: str, tok, metrics: dict | None = None, source: str = "") -> Path:
    """Save ``tok`` under its id (unless it was loaded from ``source``) and point ``current/<role>.json`` at it."""
    if source:
        folder = Path(source)
    else:  # the id is a hash of config + weights, known once saved: save beside, then rename to the id
        import shutil
        import uuid
        tmp = paths.tokenizers_root / f".saving-{uuid.uuid4().hex[:8]}"
        tok.save(tmp, metrics=metrics)
        folder = paths.tokenizer(tok.tokenizer_id)
        if folder.exists():   # the same tokenizer saved before
            shutil.rmtree(tmp)
        else:
            tmp.rename(folder)
    io.write_json(paths.current_tokenizer(role),
                  {"tokenizer_id": tok.tokenizer_id, "path": str(folder), "metrics": metrics or {}})
    return folder


def load_current(paths: DataPaths, role: str, preset=None):
    """The tokenizer ``current/<role>.json`` points at (FileNotFoundError if none was made yet)."""
    pointer = paths.current_tokenizer(role)
    if not pointer.exists():
        raise FileNotFoundError(f"no {role} tokenizer yet ({pointer}); materialize the tokenizer assets first")
    return load_configured(json.loads(pointer.read_text())["path"], role, preset)


def load_configured(path: str, role: str, preset=None):
    """Load the tokenizer at ``path`` (what ``tokens.*_weights`` and the ``current`` pointers name).

    - a folder with our ``config.json`` + ``weights.safetensors``: as saved (every role);
    - video, a folder with ``encoder.jit`` + ``decoder.jit`` (Cosmos' official release, or our export): run
      through TorchScript as Cosmos ships it; clip geometry from our export's config.json, else the preset's
      (network fields from a Cosmos config.json when the folder has one);
    - video, a Cosmos checkpoint *file* (``.safetensors`` / ``.pt`` state_dict with Cosmos' key names, or a
      ``.jit``): converted on load into our modules (nothing is written; ``python -m
      egom2p.tokenizers.video.cosmos`` writes the same tokenizer, same tokenizer_id, as a folder).
    """
    folder = Path(path)
    if role == "video" and folder.is_file():
        from .video.cosmos import cosmos_clip_tokenizer
        return cosmos_clip_tokenizer(folder, preset)
    if role == "video" and (folder / "encoder.jit").exists() and not (folder / "weights.safetensors").exists():
        from .video.cosmos import jit_folder_config
        return load_jit_tokenizer(folder, jit_folder_config(folder, preset))
    return load_tokenizer(folder)


def current_ids(paths: DataPaths) -> dict[str, str]:
    """modality → tokenizer_id of the current tokenizers (what the model stage reads shards by)."""
    out = {}
    for role, names in roles().items():
        pointer = paths.current_tokenizer(role)
        if pointer.exists():
            tid = json.loads(pointer.read_text())["tokenizer_id"]
            out.update({m: tid for m in names})
    return out


def load_current_all(paths: DataPaths, preset=None, log=None) -> dict:
    """modality -> the current clip tokenizer of its role, for every role that has one (a role without a
    tokenizer yet is skipped, with a message to ``log``)."""
    out = {}
    for role, names in roles().items():
        try:
            tok = load_current(paths, role, preset)
        except FileNotFoundError as e:
            if log:
                log(str(e))
            continue
        out.update({m: tok for m in names})
    return out


def current_refs(paths: DataPaths, log=None) -> dict:
    """modality -> :class:`~egom2p.tokenizers.tokenize.TokenizerRef` of its role's current tokenizer (what
    tokenization workers load themselves); a role without a tokenizer yet is skipped, with a message."""
    from .tokenize import TokenizerRef
    out = {}
    for role, names in roles().items():
        pointer = paths.current_tokenizer(role)
        if not pointer.exists():
            if log:
                log(f"no {role} tokenizer yet ({pointer}); materialize the tokenizer assets first")
            continue
        p = json.loads(pointer.read_text())
        out.update({m: TokenizerRef(str(p["path"]), role, p["tokenizer_id"]) for m in names})
    return out
