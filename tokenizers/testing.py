"""Random-weight tokenizers saved as the current ones: what tests and benchmarks of the shard stage need
when the tokenizers' quality does not matter (no training, seconds instead of a minute)."""
from __future__ import annotations

from egom2p import modalities as M
from egom2p.paths import DataPaths


def save_random_tokenizers(paths: DataPaths, preset, seed: int = 0) -> dict[str, str]:
    """A random video tokenizer and one random VQ-VAE per trajectory role of the registry (identity
    feature normalizer), saved under ``paths.tokenizers_root`` and made current; returns role → id."""
    import torch

    from . import store
    from .api import TrajectoryClipTokenizer, VideoClipTokenizer
    from .trajectory.features import Normalizer
    from .trajectory.model import TrajectoryConfig, TrajectoryVQVAE
    from .video.model import VideoTokenizer, VideoTokenizerConfig
    torch.manual_seed(seed)
    ids = {}
    for role, names in store.roles().items():
        if role == "video":
            cfg = VideoTokenizerConfig.from_spec(preset.video)
            tok = VideoClipTokenizer(VideoTokenizer(cfg), cfg, "unsaved")
        else:
            cfg = TrajectoryConfig.from_spec(preset.trajectory, M.get(names[0]).name)
            tok = TrajectoryClipTokenizer(TrajectoryVQVAE(cfg), Normalizer.identity(cfg.in_channels), "unsaved")
        store.save_current(paths, role, tok)
        ids[role] = tok.tokenizer_id
    return ids
