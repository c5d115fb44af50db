"""Cosmos-compatible discrete causal video tokenizer (model, TorchScript IO, clip tensors, training)."""
from .model import VideoTokenizer, VideoTokenizerConfig

__all__ = ["VideoTokenizer", "VideoTokenizerConfig"]
