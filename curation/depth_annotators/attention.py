"""Cross-frame self-attention for stock diffusers: the frames of a snippet attend to each other.

RollingDepth threads a ``num_view`` argument through a patched diffusers 0.30. Here the same effect comes
from a processor registered on the stock ``UNet2DConditionModel`` and fed through
``cross_attention_kwargs={"num_view": n}``: for *self*-attention the tokens of the n frames of a snippet
are concatenated, ``(b·n, L, C) → (b, n·L, C)``, attended jointly, and split back. Cross-attention (to the
empty-prompt embedding) is left per frame. No new weights; ``num_view=1`` is exactly the stock processor.
"""
from __future__ import annotations

import torch
from diffusers.models.attention_processor import AttnProcessor2_0


class CrossFrameAttnProcessor(AttnProcessor2_0):
    """``AttnProcessor2_0`` whose self-attention spans the ``num_view`` consecutive batch items of a snippet.

    hidden_states: (b·n, L, C) tokens (frames of one snippet contiguous in the batch) → same shape.
    """

    def __call__(self, attn, hidden_states: torch.Tensor, encoder_hidden_states: torch.Tensor | None = None,
                 attention_mask: torch.Tensor | None = None, temb: torch.Tensor | None = None,
                 num_view: int = 1, **kwargs) -> torch.Tensor:
        if num_view <= 1 or encoder_hidden_states is not None or hidden_states.ndim != 3:
            return super().__call__(attn, hidden_states, encoder_hidden_states, attention_mask, temb, **kwargs)
        bn, length, channels = hidden_states.shape
        if bn % num_view:
            raise ValueError(f"batch {bn} is not a multiple of num_view={num_view}")
        if attention_mask is not None:
            raise ValueError("cross-frame attention does not support an attention mask")
        joint = hidden_states.reshape(bn // num_view, num_view * length, channels)
        out = super().__call__(attn, joint, None, None, temb, **kwargs)
        return out.reshape(bn, length, channels)


def enable_cross_frame_attention(unet) -> None:
    """Register :class:`CrossFrameAttnProcessor` on every attention layer of a stock UNet."""
    unet.set_attn_processor(CrossFrameAttnProcessor())
