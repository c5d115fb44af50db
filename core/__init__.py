"""EgoM2P production line: the ``egom2p`` package (folder ``core/``).

Subpackages map to the repository's top-level folders: ``egom2p.synth``, ``egom2p.curation``,
``egom2p.tokenizers``, ``egom2p.model``, ``egom2p.tasks``, ``egom2p.assets``, ``egom2p.pipelines``.
"""
from .modalities import REGISTRY, Modality
from .paths import DataPaths, data_root
from .presets import CLIP_FPS, CLIP_FRAMES, PAPER, PRESETS, TINY, Preset, get_preset

__version__ = "0.1.0"
__all__ = ["REGISTRY", "Modality", "DataPaths", "data_root", "CLIP_FPS", "CLIP_FRAMES",
           "PAPER", "PRESETS", "TINY", "Preset", "get_preset", "__version__"]
