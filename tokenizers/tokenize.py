"""Tokenize one dataset partition into WebDataset shards, one folder per (tokenizer, modality, dataset).

Only the given dataset's canonical clips are read and only its folders under ``tokens/`` are written, so
a new dataset partition tokenizes just that dataset; a new tokenizer writes under a new ``tokenizer_id``.
"""
from __future__ import annotations

import time
from typing import Callable

import numpy as np

from egom2p import modalities as M
from egom2p.catalog import iter_clips
from egom2p.paths import DataPaths

from .shards import write_token_folder


def tokenize_dataset(paths: DataPaths, dataset: str, tokenizers: dict, preset, shard_size: int = 256,
                     batch_size: int = 8, log: Callable[[str], None] = print) -> dict[str, dict]:
    """Tokenize every clip of ``dataset`` for every modality in ``tokenizers`` (modality → clip tokenizer).

    Each modality's folder ``tokens/<tokenizer_id>/<modality>/<dataset>/`` holds the clips that have the
    modality (``has_<m>`` in the index); clips lacking it are absent there. Returns, per modality, the
    tokenizer id, folder, sample/shard/token counts, bytes and throughput (clips/s).
    """
    summary: dict[str, dict] = {}
    for modality, tok in tokenizers.items():
        spec = M.get(modality)
        expect = tuple(spec.token_shape(preset))
        picked = list(iter_clips(paths, dataset, has=modality))
        if not picked:  # a missing modality is absent from tokens/, never an empty folder
            log(f"{dataset}/{modality}: no clip has it, nothing written")
            continue
        t0 = time.time()
        samples: dict[str, np.ndarray] = {}
        for i in range(0, len(picked), batch_size):
            batch = picked[i:i + batch_size]
            tokens = tok.tokenize(modality, [spec.read(c.folder) for c in batch])
            for c, t in zip(batch, tokens):
                if tuple(t.shape) != expect:
                    raise ValueError(f"{modality} tokens {t.shape} != registry shape {expect} for preset {preset.name}")
                samples[c.clip_id] = t
        secs = time.time() - t0
        folder = paths.tokens(tok.tokenizer_id, modality, dataset)
        meta = {"tokenizer_id": tok.tokenizer_id, "modality": modality, "dataset": dataset, "preset": preset.name,
                "token_shape": list(expect), "tokenizer_config": tok.cfg.to_dict()}
        extra = {c.clip_id: {"split": c.split, "sequence_id": c.row["sequence_id"]} for c in picked}
        info = write_token_folder(folder, samples, spec.vocab_size(preset), shard_size, extra, meta)
        summary[modality] = {"tokenizer_id": tok.tokenizer_id, "folder": str(folder), **info, "seconds": secs,
                             "clips_per_s": len(picked) / secs if secs > 0 and picked else 0.0}
        log(f"{dataset}/{modality}: {info['samples']} clips → {info['shards']} shards in {secs:.1f} s")
    return summary
