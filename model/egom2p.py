"""EgoM2P: the 4M-style masked multimodal encoder-decoder.

Tokens of all modalities live in one flat sequence per sample (``TokenLayout``, L positions). A
position's embedding is its modality's token embedding + a fixed sin-cos positional vector (3D for
video grids, 1D for trajectories) + a learned modality embedding shared by encoder and decoder.

- encoder: the ``enc_idx`` tokens, key padding from ``enc_valid``; ``encoder_norm``;
- context: ``decoder_proj_context(encoder output) + positional/modality embedding`` (4M);
- decoder: queries = one learned mask token + positional/modality embedding of ``dec_idx``;
  self-attention only within the same modality (4M ``decoder_sep_mask``) and never to padding;
  cross-attention to the valid encoder tokens; ``decoder_norm``;
- heads: tied to the input embeddings, logits of a target of modality m = h · E_mᵀ;
- loss: cross-entropy averaged per modality, then over the modalities with ≥ 1 target (``loss_type: mod``).

Every parameter takes part in every forward pass (each modality's embedding table embeds the encoder
tokens under a ``where``), so DDP/DeepSpeed never see unused parameters, whatever the batch holds.

Generation (MaskGIT / ROAR) calls ``encode`` once per step with the conditioning and already decoded
tokens as inputs, then ``decode_logits`` for the still-masked positions of one target modality::

    m = task_masks(cfg.layout, {"rgb": "all"}, ["depth"])        # or with decoded depth indices as inputs
    ctx = model.encode(tokens, enc_idx, enc_valid)                # tensors of shape (B, N) / (B, L)
    logits = model.decode_logits(ctx, dec_idx, dec_valid, "depth")  # (B, T, vocab_depth)
"""
from __future__ import annotations

import math
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from .config import ModelConfig
from .layers import Block, DecoderBlock, layer_norm
from .posenc import layout_posenc


class EncoderContext(NamedTuple):
    """What the decoder cross-attends to. x (B, N, dim); valid (B, N) bool (False = padding)."""
    x: torch.Tensor
    valid: torch.Tensor


class EgoM2P(nn.Module):
    """The network for one ``ModelConfig``; see the module docstring."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        d, names, lengths = cfg.dim, cfg.names, cfg.layout.lengths
        self.tok_emb = nn.ModuleDict({m.name: nn.Embedding(m.vocab_size, d) for m in cfg.modalities})
        self.mod_emb = nn.ParameterDict({n: nn.Parameter(torch.empty(d)) for n in names})
        self.mask_token = nn.Parameter(torch.empty(d))
        # fixed tables, rebuilt from the config: not part of the state dict
        self.register_buffer("pos_emb", layout_posenc(cfg.modalities, d), persistent=False)       # (L, dim)
        self.register_buffer("pos_modality", torch.repeat_interleave(
            torch.arange(len(names)), torch.tensor(lengths), output_size=sum(lengths)), persistent=False)                  # (L,)
        block = dict(dim=d, heads=cfg.heads, mlp_ratio=cfg.mlp_ratio, eps=cfg.norm_eps)
        self.encoder = nn.ModuleList(Block(**block) for _ in range(cfg.encoder_depth))
        self.encoder_norm = layer_norm(d, cfg.norm_eps)
        self.decoder_proj_context = nn.Linear(d, d, bias=False)
        self.decoder = nn.ModuleList(DecoderBlock(**block) for _ in range(cfg.decoder_depth))
        self.decoder_norm = layer_norm(d, cfg.norm_eps)
        self.init_weights()

    # --- initialization and bookkeeping -------------------------------------------------------------

    def init_weights(self) -> None:
        """4M: xavier-uniform linears (the fused kv projection per half), LayerNorm weights 1, std-0.02
        normal token embeddings (plain normal: truncating 2 × 64,000-row tables costs seconds on CPU),
        std-0.02 truncated-normal modality embeddings and mask token."""
        for name, mod in self.named_modules():
            if isinstance(mod, nn.Linear):
                fan_out = mod.weight.shape[0] // (2 if name.endswith(".kv") else 1)
                bound = math.sqrt(6.0 / (fan_out + mod.weight.shape[1]))
                nn.init.uniform_(mod.weight, -bound, bound)
            elif isinstance(mod, nn.LayerNorm):
                nn.init.ones_(mod.weight)
            elif isinstance(mod, nn.Embedding):
                nn.init.normal_(mod.weight, std=0.02)
        for p in (*self.mod_emb.values(), self.mask_token):
            nn.init.trunc_normal_(p, std=0.02, a=-0.04, b=0.04)

    def num_params(self, exclude_embeddings: bool = True) -> int:
        """Parameter count; ``exclude_embeddings`` leaves out the token embeddings (= the tied heads) and
        the modality embeddings, as 4M's model-zoo sizes do (4M-B: 198 M)."""
        skip = {id(p) for p in (*self.tok_emb.parameters(), *self.mod_emb.values())} if exclude_embeddings else set()
        return sum(p.numel() for p in self.parameters() if id(p) not in skip)

    def head_weight(self, name: str) -> nn.Parameter:
        """(vocab_m, dim) output projection of modality ``name``: the token embedding itself (tied)."""
        return self.tok_emb[name].weight

    # --- embeddings ---------------------------------------------------------------------------------

    def _pos_mod(self, idx: torch.Tensor) -> torch.Tensor:
        """idx (B, N) flat positions → (B, N, dim) positional + modality embedding."""
        mod = torch.stack(list(self.mod_emb.values()))                     # (n_mod, dim)
        return self.pos_emb[idx] + mod[self.pos_modality[idx]]

    def _embed_tokens(self, ids: torch.Tensor, mod: torch.Tensor) -> torch.Tensor:
        """ids (B, N) token ids, mod (B, N) modality indices → (B, N, dim); each table embeds its own
        modality's tokens (ids of others are clamped into range and discarded by the ``where``)."""
        out = None
        for i, emb in enumerate(self.tok_emb.values()):
            e = emb(ids.clamp(0, emb.num_embeddings - 1))
            e = torch.where((mod == i).unsqueeze(-1), e, 0.0)
            out = e if out is None else out + e
        return out

    # --- encoder / decoder --------------------------------------------------------------------------

    def encode(self, tokens: torch.Tensor, enc_idx: torch.Tensor, enc_valid: torch.Tensor) -> EncoderContext:
        """tokens (B, L) int64, enc_idx (B, N) int64, enc_valid (B, N) bool → the decoder's context."""
        pos = self._pos_mod(enc_idx)
        x = self._embed_tokens(tokens.gather(1, enc_idx), self.pos_modality[enc_idx]) + pos
        mask = enc_valid[:, None, None, :]                                 # (B, 1, 1, N) key padding
        for blk in self.encoder:
            x = blk(x, mask)
        return EncoderContext(self.decoder_proj_context(self.encoder_norm(x)) + pos, enc_valid)

    def decode(self, context: EncoderContext, dec_idx: torch.Tensor, dec_valid: torch.Tensor) -> torch.Tensor:
        """dec_idx (B, T) int64, dec_valid (B, T) bool → (B, T, dim) normalized decoder states. Padding rows
        (``dec_valid`` False) are finite and meaningless; no valid row depends on them."""
        mod = self.pos_modality[dec_idx]
        x = self.mask_token + self._pos_mod(dec_idx)
        self_mask = ((mod[:, :, None] == mod[:, None, :]) & dec_valid[:, None, :]).unsqueeze(1)  # (B,1,T,T)
        cross_mask = context.valid[:, None, None, :]                                             # (B,1,1,N)
        for blk in self.decoder:
            x = blk(x, context.x, self_mask, cross_mask)
        return self.decoder_norm(x)

    def decode_logits(self, context: EncoderContext, dec_idx: torch.Tensor, dec_valid: torch.Tensor,
                      modality: str) -> torch.Tensor:
        """Logits (B, T, vocab_modality) for decoder positions that all belong to ``modality`` (positions of
        other modalities get that modality's logits too: meaningless). Repeated calls with a fixed
        ``context`` are independent, so a MaskGIT/ROAR sampler may decode any subset per step."""
        return F.linear(self.decode(context, dec_idx, dec_valid), self.head_weight(modality))

    def forward(self, tokens: torch.Tensor, enc_idx: torch.Tensor, enc_valid: torch.Tensor,
                dec_idx: torch.Tensor, dec_valid: torch.Tensor) -> dict[str, torch.Tensor]:
        """The batch contract (``masking``) → ``{"loss", "loss_<name>" for each modality with targets}``.

        tokens (B, L) int64; enc_idx/enc_valid (B, N); dec_idx/dec_valid (B, T). Per-modality mean
        cross-entropy (float32 logits) over its valid targets in the batch, averaged over those modalities.
        """
        h = self.decode(self.encode(tokens, enc_idx, enc_valid), dec_idx, dec_valid)
        target, mod = tokens.gather(1, dec_idx), self.pos_modality[dec_idx]
        out: dict[str, torch.Tensor] = {}
        for i, name in enumerate(self.cfg.names):
            sel = dec_valid & (mod == i)
            if bool(sel.any()):
                logits = F.linear(h[sel], self.head_weight(name)).float()
                out[f"loss_{name}"] = F.cross_entropy(logits, target[sel])
        # no target at all: a zero that still depends on every parameter (h depends on all of them)
        loss = torch.stack(list(out.values())).mean() if out else h.float().sum() * 0.0
        return {"loss": loss, **out}
