"""Learning-rate schedule shared by every trainer: linear warm-up, then a cosine decay.

Both trainers call ``lr_at``: the EgoM2P model (``egom2p.model.train``: decay to an absolute ``min_lr``)
and the tokenizers (``egom2p.tokenizers.training``: decay to a fraction of the peak, ``min_ratio``, and
optionally driven by elapsed time, ``progress``). Each form keeps its own float expression, so both
callers get the numbers they got from their former private copies, bit for bit.
"""
from __future__ import annotations

import math


def lr_at(step: int, total: int, warmup: int, lr: float, min_lr: float = 0.0, *, min_ratio: float = 0.0,
          progress: float = 0.0) -> float:
    """Learning rate of optimizer step ``step`` (0-based) of a ``total``-step run.

    Warm-up: ``lr * (step + 1) / warmup`` for ``step < warmup`` (none when ``warmup`` ≤ 0). Then a cosine
    over the remaining steps, ``frac = (step - warmup) / max(1, total - warmup)``, raised to ``progress``
    when that is further along (e.g. elapsed / budgeted seconds), capped at 1. The cosine ends at
    ``min_ratio * lr`` when ``min_ratio`` > 0, else at ``min_lr`` (an absolute rate).
    """
    if warmup > 0 and step < warmup:
        return lr * (step + 1) / warmup
    frac = min(1.0, max((step - warmup) / max(1, total - warmup), progress))
    if min_ratio:
        return lr * (min_ratio + (1.0 - min_ratio) * 0.5 * (1 + math.cos(math.pi * frac)))
    return min_lr + (lr - min_lr) * 0.5 * (1.0 + math.cos(math.pi * frac))
