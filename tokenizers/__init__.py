"""EgoM2P tokenizers: canonical clips → discrete tokens → WebDataset shards.

- ``egom2p.tokenizers.video``: Cosmos-style discrete causal video tokenizer (``VideoTokenizer``,
  ``VideoTokenizerConfig``), TorchScript export/load (``video.jit``), clip tensors (``video.data``),
  training/evaluation (``video.train``). rgb and depth share it (depth = 3-channel video).
- ``egom2p.tokenizers.trajectory``: gaze / camera VQ-VAEs (``TrajectoryVQVAE``, ``TrajectoryConfig``),
  features and metrics (``trajectory.features``), training/evaluation (``trajectory.train``).
- ``api``: clip-level ``VideoClipTokenizer`` / ``TrajectoryClipTokenizer`` (``tokenize`` / ``detokenize``),
  ``load_tokenizer``, ``load_jit_tokenizer`` (Cosmos' official ``encoder.jit`` / ``decoder.jit``).
- ``artifacts``: ``config.json`` + ``weights.safetensors`` and the ``tokenizer_id`` hash.
- ``store``: ``data/tokenizers/<id>/`` and the ``current/<role>.json`` pointers the pipeline uses.
- ``shards``: deterministic WebDataset shards + ``manifest.parquet``; ``tokenize``: one dataset → shards.

Nothing here is importable as top-level ``tokenizers`` (that name belongs to Hugging Face).
"""
