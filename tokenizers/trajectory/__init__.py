"""Gaze and camera trajectory VQ-VAEs (60 samples → 30 tokens, 256 cosine-VQ codes)."""
from .model import TrajectoryConfig, TrajectoryVQVAE

__all__ = ["TrajectoryConfig", "TrajectoryVQVAE"]
