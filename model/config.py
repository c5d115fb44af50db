"""Model config and token layout.

``ModelConfig`` is the frozen, JSON-serializable description of one EgoM2P network: sizes from the
preset's ``ModelSpec`` plus, per modality, everything the model needs from the registry (token grid,
vocabulary, positional-encoding kind). It is saved as ``config.json`` beside every checkpoint.

``TokenLayout`` flattens the modalities of one sample into a single sequence of ``length`` positions:
modality ``m`` occupies ``[offset[m], offset[m] + n_tokens[m])`` in registry order. Masks, encoder and
decoder indices all index into this flat sequence.
"""
from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass
from functools import cached_property

from egom2p import modalities as M
from egom2p.presets import Preset, get_preset


@dataclass(frozen=True)
class ModalitySpec:
    """What the model knows about one modality (copied from its registry row for one preset)."""
    name: str
    token_shape: tuple[int, ...]   # (t, h, w) for video, (n,) for trajectories
    vocab_size: int
    pos_enc: str                   # "sincos3d" | "sincos1d"

    @property
    def n_tokens(self) -> int:
        return math.prod(self.token_shape)


@dataclass(frozen=True)
class ModelConfig:
    """One EgoM2P network. ``modalities`` is ordered; the flat token sequence follows this order."""
    modalities: tuple[ModalitySpec, ...]
    dim: int = 256
    encoder_depth: int = 4
    decoder_depth: int = 4
    heads: int = 4
    mlp_ratio: float = 4.0
    input_budget: int = 256
    target_budget: int = 256
    norm_eps: float = 1e-6
    preset: str = "tiny"

    @classmethod
    def from_preset(cls, preset: Preset | str | None = None, modalities: tuple[str, ...] | None = None,
                    **overrides) -> "ModelConfig":
        """Sizes from ``preset.model``, modality rows from the registry (all registered, in order, by default)."""
        p = preset if isinstance(preset, Preset) else get_preset(preset)
        names = tuple(modalities) if modalities is not None else tuple(M.REGISTRY)
        specs = tuple(ModalitySpec(n, tuple(M.get(n).token_shape(p)), int(M.get(n).vocab_size(p)), M.get(n).pos_enc)
                      for n in names)
        s = p.model
        base = dict(dim=s.dim, encoder_depth=s.encoder_depth, decoder_depth=s.decoder_depth, heads=s.heads,
                    mlp_ratio=s.mlp_ratio, input_budget=s.input_budget, target_budget=s.target_budget, preset=p.name)
        return cls(modalities=specs, **{**base, **overrides})

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "ModelConfig":
        d = dict(d)
        mods = tuple(ModalitySpec(m["name"], tuple(m["token_shape"]), int(m["vocab_size"]), m["pos_enc"])
                     for m in d.pop("modalities"))
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(modalities=mods, **{k: v for k, v in d.items() if k in names})

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(m.name for m in self.modalities)

    def spec(self, name: str) -> ModalitySpec:
        for m in self.modalities:
            if m.name == name:
                return m
        raise KeyError(f"modality {name!r} not in this model ({self.names})")

    @cached_property
    def layout(self) -> "TokenLayout":
        return TokenLayout.of(self)


@dataclass(frozen=True)
class TokenLayout:
    """Flat per-sample token sequence: modality i at ``[offsets[i], offsets[i] + lengths[i])``."""
    names: tuple[str, ...]
    lengths: tuple[int, ...]
    offsets: tuple[int, ...]
    vocab_sizes: tuple[int, ...]

    @classmethod
    def of(cls, cfg: ModelConfig) -> "TokenLayout":
        lengths = tuple(m.n_tokens for m in cfg.modalities)
        offsets = tuple(sum(lengths[:i]) for i in range(len(lengths)))
        return cls(cfg.names, lengths, offsets, tuple(m.vocab_size for m in cfg.modalities))

    @property
    def length(self) -> int:
        return sum(self.lengths)

    def index(self, name: str) -> int:
        return self.names.index(name)

    def slice(self, name: str) -> slice:
        i = self.index(name)
        return slice(self.offsets[i], self.offsets[i] + self.lengths[i])
