"""Cosmos DV checkpoints → our :class:`VideoTokenizer` (same layout, key for key): config, weights, CLI.

    python -m egom2p.tokenizers.video.cosmos <checkpoint> <out folder> [--config config.json] [--preset paper]

``<checkpoint>``: a Cosmos ``CausalDiscreteVideoTokenizer`` state_dict with Cosmos' key names — a
``.safetensors`` file, a ``.pt``/``.pth`` file (read with ``torch.load(weights_only=True)``), a TorchScript
``.jit`` file, or a folder with Cosmos' ``encoder.jit`` + ``decoder.jit`` (the official releases, e.g.
``Cosmos-0.1-Tokenizer-DV4x8x8``: their parameters are the state_dict). ``<out folder>`` receives our
``config.json`` + ``weights.safetensors`` (fp32) and ``conversion.json`` (what was dropped).

The network config comes from ``--config`` (Cosmos' constructor arguments, flat or under
``constructor_kwargs``), else from a Cosmos ``config.json`` beside the checkpoint, else it is read off the
tensor shapes (widths, res blocks, patch size, z channels, attention levels) with DV4x8x8 compression and FSQ
[8,8,8,5,5,5] — the weights cannot tell the compression. Clip geometry (resolution, frames, fps) is the
preset's. Conversion renames nothing: it fuses each attention's q/k/v convs into our ``qkv`` conv and drops
the resampling convs Cosmos builds but never runs (at DV4x8x8: 8 convs, e.g. ``encoder.down.1.downsample.*``).
"""
from __future__ import annotations

import argparse
import json
import logging
import re
import sys
import warnings
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Mapping

import torch

from egom2p import io

from .layers import pointwise_conv
from .model import Decoder, Encoder, VideoTokenizer, VideoTokenizerConfig

log = logging.getLogger(__name__)

#: TorchScript buffers Cosmos registers as non-persistent (Haar filters, FSQ tables): recomputed here, skipped.
_BUFFERS = re.compile(r"(^|\.)(wavelets|_arange|patch_size_buffer|_levels|_basis|implicit_codebook)$")
#: Cosmos settings our layout implements; anything else is refused rather than converted wrongly.
_REQUIRED = {"quantizer": "FSQ", "encoder": "FACTORIZED", "decoder": "FACTORIZED", "patch_method": "haar",
             "z_factor": 1, "num_groups": 1, "legacy_mode": False}
DV_LEVELS = (8, 8, 8, 5, 5, 5)
#: Cosmos' ``TokenizerConfigs["DV"]`` (DV8x16x16); DV4x8x8 overrides spatial 8 and temporal 4.
DV_DEFAULTS = {"channels": 128, "channels_mult": [2, 4, 4], "num_res_blocks": 2, "z_channels": 16, "patch_size": 4,
               "resolution": 1024, "attn_resolutions": [32], "spatial_compression": 16, "temporal_compression": 8,
               "levels": list(DV_LEVELS), "in_channels": 3, "out_channels": 3}


@dataclass(frozen=True)
class Conversion:
    """A Cosmos state_dict in our key names. ``dropped``: Cosmos modules that never run in this config;
    ``skipped``: non-persistent buffers found in TorchScript files."""
    config: VideoTokenizerConfig
    state: dict[str, torch.Tensor]
    dropped: tuple[str, ...]
    dropped_parameters: int
    skipped: tuple[str, ...]

    def note(self) -> str:
        mods = sorted({k.rsplit(".", 2)[0] for k in self.dropped})
        t, s = self.config.temporal_compression, self.config.spatial_compression
        return (f"dropped {len(mods)} modules Cosmos keeps but never runs at {t}x{s}x{s} "
                f"({self.dropped_parameters:,} parameters): {', '.join(mods) or '-'}")


def _geometry(preset=None) -> VideoTokenizerConfig:
    from egom2p.presets import PAPER
    return VideoTokenizerConfig.from_spec((preset or PAPER).video)


def config_from_cosmos(kwargs: Mapping, geometry: VideoTokenizerConfig | None = None) -> VideoTokenizerConfig:
    """Cosmos constructor arguments (flat, or a fixture-style dict with ``constructor_kwargs``; missing ones take
    Cosmos' DV defaults, so ``{"spatial_compression": 8, "temporal_compression": 4}`` is DV4x8x8) → our
    config; resolution/frames/fps from ``geometry`` (default: the paper preset)."""
    kw = {**DV_DEFAULTS, **kwargs.get("constructor_kwargs", kwargs)}
    for key, want in _REQUIRED.items():
        if key in kw and kw[key] != want:
            raise ValueError(f"Cosmos {key}={kw[key]!r} is not supported (only {want!r})")
    levels = tuple(kw["levels"])
    if kw.get("embedding_dim", len(levels)) != len(levels) or kw["in_channels"] != kw["out_channels"]:
        raise ValueError("embedding_dim must equal len(levels) and in_channels out_channels")
    p, mult = int(kw["patch_size"]), tuple(kw["channels_mult"])
    res = int(kw["resolution"]) // p
    attn = set(kw["attn_resolutions"])
    enc = {i for i in range(len(mult)) if res // 2 ** i in attn}
    dec = {i for i in range(len(mult)) if (res // 2 ** (len(mult) - 1)) * 2 ** (len(mult) - 1 - i) in attn}
    if enc != dec:
        raise ValueError(f"attention levels differ between Cosmos' encoder {enc} and decoder {dec}")
    return replace(geometry or _geometry(), temporal_compression=int(kw["temporal_compression"]),
                   spatial_compression=int(kw["spatial_compression"]), fsq_levels=levels,
                   channels=int(kw["channels"]), channels_mult=mult, num_res_blocks=int(kw["num_res_blocks"]),
                   z_channels=int(kw["z_channels"]), patch_size=p, in_channels=int(kw["in_channels"]),
                   attn_levels=tuple(sorted(enc)))


def config_from_state(state: Mapping[str, torch.Tensor], geometry: VideoTokenizerConfig | None = None,
                      temporal_compression: int = 4, spatial_compression: int = 8) -> VideoTokenizerConfig:
    """Our config read off a Cosmos state_dict's shapes; compression and FSQ levels are not in the weights
    (default DV4x8x8 and [8,8,8,5,5,5] when the quantizer has 6 channels)."""
    conv_in = state["encoder.conv_in.0.conv3d.weight"]
    channels, in_ch = int(conv_in.shape[0]), 3
    p = round((conv_in.shape[1] / in_ch) ** (1 / 3))
    n = 1 + max(int(m.group(1)) for k in state if (m := re.match(r"encoder\.down\.(\d+)\.", k)))
    mult = tuple(int(state[f"encoder.down.{i}.block.0.conv1.0.conv3d.weight"].shape[0]) // channels for i in range(n))
    blocks = 1 + max(int(m.group(1)) for k in state if (m := re.match(r"encoder\.down\.0\.block\.(\d+)\.", k)))
    dim = int(state["quant_conv.conv3d.weight"].shape[0])
    if dim != len(DV_LEVELS):
        raise ValueError(f"the quantizer has {dim} channels: pass the FSQ levels with --config")
    attn = tuple(i for i in range(n) if any(k.startswith(f"encoder.down.{i}.attn.") for k in state))
    z = int(state["encoder.conv_out.0.conv3d.weight"].shape[0])
    return replace(geometry or _geometry(), temporal_compression=temporal_compression,
                   spatial_compression=spatial_compression, fsq_levels=DV_LEVELS, channels=channels,
                   channels_mult=mult, num_res_blocks=blocks, z_channels=z, patch_size=p, in_channels=in_ch,
                   attn_levels=attn)


def never_run(cfg: VideoTokenizerConfig) -> list[str]:
    """Key prefixes of the resampling convs Cosmos constructs but whose flag is off in ``cfg``."""
    out = []
    for level in range(len(cfg.channels_mult)):
        if level < len(cfg.channels_mult) - 1:
            s, t = cfg.encoder_resampling(level)
            out += [f"encoder.down.{level}.downsample.conv{i}." for i, on in ((1, s), (2, t), (3, s or t)) if not on]
        if level > 0:
            s, t = cfg.decoder_resampling(level)
            out += [f"decoder.up.{level}.upsample.conv{i}." for i, on in ((1, t), (2, s), (3, s or t)) if not on]
    return out


def _expected_shapes(cfg: VideoTokenizerConfig) -> dict[str, torch.Size]:
    with torch.device("meta"):  # shapes only, nothing allocated
        parts = {"encoder": Encoder(cfg), "decoder": Decoder(cfg),
                 "quant_conv": pointwise_conv(cfg.z_channels, len(cfg.fsq_levels)),
                 "post_quant_conv": pointwise_conv(len(cfg.fsq_levels), cfg.z_channels)}
    return {f"{name}.{k}": v.shape for name, m in parts.items() for k, v in m.state_dict().items()}


def convert_state(cosmos: Mapping[str, torch.Tensor], cfg: VideoTokenizerConfig) -> Conversion:
    """Cosmos keys → ours (fp32): q/k/v fused into ``qkv``, never-run modules dropped, buffers skipped.
    Raises ValueError on a missing, unknown or wrongly shaped tensor."""
    skipped = tuple(sorted(k for k in cosmos if _BUFFERS.search(k)))
    src = {k: v for k, v in cosmos.items() if k not in skipped}
    state: dict[str, torch.Tensor] = {}
    for key, value in src.items():
        m = re.match(r"(.*\.attn(?:_1|\.\d+)\.\d+)\.([qkv])\.conv3d\.(weight|bias)$", key)
        if m is None:
            state[key] = value
        elif m.group(2) == "q":
            prefix, kind = m.group(1), m.group(3)
            state[f"{prefix}.qkv.conv3d.{kind}"] = torch.cat([src[f"{prefix}.{x}.conv3d.{kind}"] for x in "qkv"])
    expected, idle = _expected_shapes(cfg), tuple(never_run(cfg))
    dropped = tuple(sorted(k for k in state if k not in expected and k.startswith(idle)))
    unknown = sorted(k for k in state if k not in expected and k not in dropped)
    missing = sorted(k for k in expected if k not in state)
    wrong = sorted(k for k in expected if k in state and state[k].shape != expected[k])
    if unknown or missing or wrong:
        raise ValueError(f"not a Cosmos DV checkpoint of this config ({cfg.channels=}, {cfg.channels_mult=}, "
                         f"{cfg.num_res_blocks=}): missing {missing[:5]}, unknown {unknown[:5]}, "
                         f"wrong shape {[(k, tuple(state[k].shape), tuple(expected[k])) for k in wrong[:5]]}")
    return Conversion(cfg, {k: state[k].float().contiguous() for k in expected}, dropped,
                      sum(state[k].numel() for k in dropped), skipped)


def read_checkpoint(path: str | Path) -> dict[str, torch.Tensor]:
    """Tensors of a Cosmos checkpoint: safetensors, a torch state_dict (``weights_only``), a TorchScript file,
    or a folder with ``encoder.jit`` + ``decoder.jit`` (or ``autoencoder.jit``)."""
    path = Path(path)
    if path.is_dir():
        files = [path / "encoder.jit", path / "decoder.jit"]
        if not all(f.exists() for f in files):
            files = [path / "autoencoder.jit"]
        return {k: v for f in files for k, v in read_checkpoint(f).items()}
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file
        return load_file(str(path))
    if path.suffix == ".jit":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch.jit.load's deprecation notice
            return dict(torch.jit.load(str(path), map_location="cpu").state_dict())
    state = torch.load(str(path), map_location="cpu", weights_only=True)
    for key in ("state_dict", "model"):
        if isinstance(state.get(key), Mapping):
            state = state[key]
    for prefix in ("module.", "network."):
        if state and all(k.startswith(prefix) for k in state):
            state = {k[len(prefix):]: v for k, v in state.items()}
    return dict(state)


def _beside_config(path: Path) -> dict | None:
    """A Cosmos config.json next to the checkpoint (ours has ``kind``; Cosmos' has its constructor args)."""
    f = (path if path.is_dir() else path.parent) / "config.json"
    if not f.exists():
        return None
    d = json.loads(f.read_text())
    return d if "constructor_kwargs" in d or "channels_mult" in d else None


def load_cosmos(path: str | Path, cosmos_config: Mapping | None = None,
                geometry: VideoTokenizerConfig | None = None) -> tuple[VideoTokenizer, Conversion]:
    """A Cosmos checkpoint as our (eval-mode, fp32) :class:`VideoTokenizer` and the conversion record."""
    state = read_checkpoint(path)
    kw = cosmos_config if cosmos_config is not None else _beside_config(Path(path))
    cfg = config_from_cosmos(kw, geometry) if kw is not None else config_from_state(state, geometry)
    conv = convert_state(state, cfg)
    model = VideoTokenizer(cfg)
    model.load_state_dict(conv.state, strict=True)
    log.info("%s: %s", path, conv.note())
    return model.eval(), conv


def cosmos_clip_tokenizer(path: str | Path, preset=None, cosmos_config: Mapping | None = None):
    """A Cosmos checkpoint converted on load into a clip tokenizer of ``preset``'s clip geometry; its
    tokenizer_id equals the one :func:`convert` writes for the same checkpoint."""
    from ..api import VIDEO_KIND, VideoClipTokenizer
    from ..artifacts import tokenizer_id
    model, conv = load_cosmos(path, cosmos_config, _geometry(preset))
    cfg, want = conv.config, _geometry(preset)
    if preset is not None and (cfg.token_grid, cfg.vocab_size) != (want.token_grid, want.vocab_size):
        raise ValueError(f"{path}: tokens {cfg.token_grid} of {cfg.vocab_size} do not fit the preset's "
                         f"{want.token_grid} of {want.vocab_size}")
    tid = tokenizer_id(VIDEO_KIND, {"config": cfg.to_dict(), "extra": {}}, model.state_dict())
    return VideoClipTokenizer(model, cfg, tid)


def jit_folder_config(folder: str | Path, preset=None) -> VideoTokenizerConfig | None:
    """Clip config for a folder of ``*.jit`` files: None when it holds our export's config.json (the loader
    reads it), the network fields of a Cosmos config.json on the preset's geometry, else the preset's."""
    folder = Path(folder)
    kw = _beside_config(folder)
    if kw is not None:
        return config_from_cosmos(kw, _geometry(preset))
    return None if (folder / "config.json").exists() else _geometry(preset)


def convert(path: str | Path, out: str | Path, cosmos_config: Mapping | None = None,
            preset=None) -> tuple[str, Conversion]:
    """Write our ``config.json`` + ``weights.safetensors`` and ``conversion.json`` (source, what was dropped)
    for a Cosmos checkpoint → (tokenizer_id, conversion)."""
    from ..api import VideoClipTokenizer
    model, conv = load_cosmos(path, cosmos_config, _geometry(preset))
    tid = VideoClipTokenizer(model, conv.config, "").save(out)
    io.write_json(Path(out) / "conversion.json", {"source": str(Path(path).resolve()), "note": conv.note(),
                                                  "dropped": list(conv.dropped), "skipped_buffers": list(conv.skipped)})
    return tid, conv


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("checkpoint", help="Cosmos .safetensors / .pt state_dict, a .jit file, or a folder of .jit files")
    ap.add_argument("out", help="folder for config.json + weights.safetensors")
    ap.add_argument("--config", help="Cosmos constructor arguments (JSON); default: config.json beside the "
                                     "checkpoint, else read off the shapes with DV4x8x8 compression")
    ap.add_argument("--preset", default="paper", help="clip geometry (resolution, frames, fps): tiny | paper")
    a = ap.parse_args(argv)
    from egom2p.presets import get_preset
    kw = json.loads(Path(a.config).read_text()) if a.config else None
    tid, conv = convert(a.checkpoint, a.out, kw, get_preset(a.preset))
    print(f"{tid}: {a.out} ({sum(v.numel() for v in conv.state.values()):,} parameters); {conv.note()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
