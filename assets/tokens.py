"""Tokenizer and token-shard assets. Thin: the work is in egom2p.tokenizers.

``video_tokenizer`` / ``trajectory_tokenizers`` (unpartitioned): load the configured weights, else train on
the curated clips of every dataset (trajectories: plus ``trajectory_sampled_clips`` clips drawn from the
synthetic motion model); evaluate on held-out (val/test) clips; save under
``tokenizers/<tokenizer_id>/`` and point ``tokenizers/current/<role>.json`` at it.
``token_shards`` (partitioned by dataset): tokenize only that dataset's clips into
``tokens/<tokenizer_id>/<modality>/<dataset>/``.
"""

from pathlib import Path

import dagster as dg

from egom2p.curation.preview import markdown_image
from egom2p.pipelines.partitions import datasets_partitions
from egom2p.pipelines.resources import DataRoot
from egom2p.pipelines.resources_tokens import TokenizerSettings
from egom2p.presets import get_preset

# torch-heavy modules are imported inside the assets: every Dagster process (webserver, daemon, each run and
# each step) loads this code location, and torch + vector-quantize-pytorch cost ~3.5 s per process.

GROUP = "tokenizers"
CLIPS = dg.AssetKey("normalized_clips")


def clip_splits(paths) -> tuple[list[Path], list[Path]]:
    """(train, held-out) canonical clip folders over every dataset that has an index (split per sequence)."""
    from egom2p.curation.partition import read_index
    train, held = [], []
    root = paths.root / "clips"
    for ds in sorted(p.name for p in root.iterdir()) if root.is_dir() else []:
        if not (root / ds / "index.parquet").exists():
            continue
        for r in read_index(root / ds):
            (train if r["split"] == "train" else held).append(root / ds / r["clip_id"])
    return train, held


def _numbers(metrics: dict) -> dict:
    return {k: float(v) for k, v in metrics.items() if isinstance(v, (int, float)) and v is not None}


@dg.asset(group_name=GROUP, deps=[CLIPS], kinds={"pytorch", "safetensors"},
          description="Cosmos-style discrete causal video tokenizer (rgb + depth): configured weights, else trained.")
def video_tokenizer(context: dg.AssetExecutionContext, data: DataRoot, tokens: TokenizerSettings) -> dg.MaterializeResult:
    from egom2p.tokenizers import store
    from egom2p.tokenizers.preview import video_preview
    from egom2p.tokenizers.video.model import VideoTokenizerConfig
    from egom2p.tokenizers.video.train import evaluate_video, load_videos, train_video_tokenizer
    paths, preset = data.paths(), get_preset(tokens.preset)
    train, held = clip_splits(paths)
    history: list[dict] = []
    if tokens.video_weights:
        tok = store.load_configured(tokens.video_weights, "video", preset)
    else:
        cfg = VideoTokenizerConfig.from_spec(preset.video)
        videos, _ = load_videos(train or held, cfg)
        if not len(videos):
            raise dg.Failure("no curated rgb/depth clips to train the video tokenizer on")
        tok, history = train_video_tokenizer(videos, cfg, tokens.train_config("video"), context.log.info)
    evaluated = held or train
    metrics = {**evaluate_video(tok, evaluated), "evaluated_on": "held-out" if held else "train"}
    folder = store.save_current(paths, "video", tok, metrics, source=tokens.video_weights)
    meta = {"tokenizer_id": tok.tokenizer_id, "path": dg.MetadataValue.path(str(folder)),
            "config": dg.MetadataValue.json(tok.cfg.to_dict()), **_numbers(metrics),
            "loss_history": dg.MetadataValue.json(history[-20:])}
    with_depth = [f for f in evaluated if (f / "depth.npy").exists()] + list(evaluated)
    if with_depth:
        meta["reconstruction"] = dg.MetadataValue.md(markdown_image(video_preview(tok, with_depth[0]),
                                                                    "input / reconstruction"))
    return dg.MaterializeResult(metadata=meta)


@dg.asset(group_name=GROUP, deps=[CLIPS], kinds={"pytorch", "safetensors"},
          description="Gaze and camera trajectory VQ-VAEs (60 samples → 30 tokens): configured weights, else trained.")
def trajectory_tokenizers(context: dg.AssetExecutionContext, data: DataRoot, tokens: TokenizerSettings) -> dg.MaterializeResult:
    from egom2p.tokenizers import store
    from egom2p.tokenizers.preview import trajectory_preview
    from egom2p.tokenizers.trajectory.features import FEATURE_DIMS
    from egom2p.tokenizers.trajectory.model import TrajectoryConfig
    from egom2p.tokenizers.trajectory.train import evaluate_trajectory, load_arrays, train_trajectory_tokenizer
    paths, preset = data.paths(), get_preset(tokens.preset)
    train, held = clip_splits(paths)
    meta: dict = {}
    sampled = {"gaze": [], "camera": []}
    if tokens.trajectory_sampled_clips > 0 and not (tokens.gaze_weights and tokens.camera_weights):
        from egom2p.synth.trajectories import SamplerConfig, sample_trajectories
        cams, gazes = sample_trajectories(tokens.trajectory_sampled_clips, tokens.seed,
                                          SamplerConfig(kinds=("room", "tabletop")))
        sampled = {"camera": list(cams), "gaze": list(gazes)}
        meta["motion_sampled_clips"] = len(cams)
    for modality in ("gaze", "camera"):
        weights = getattr(tokens, f"{modality}_weights")
        train_arrays, held_arrays = load_arrays(train, modality), load_arrays(held, modality)
        if weights:
            tok = store.load_configured(weights, modality, preset)
        elif train_arrays or held_arrays:
            cfg = TrajectoryConfig.from_spec(preset.trajectory, modality, FEATURE_DIMS[modality])
            tok, history = train_trajectory_tokenizer((train_arrays or held_arrays) + sampled[modality], cfg,
                                                      tokens.train_config("trajectory"), context.log.info,
                                                      augment=not sampled[modality])
            meta[f"{modality}_loss_history"] = dg.MetadataValue.json(history[-10:])
        else:
            context.log.warning(f"no curated clip has {modality}; no {modality} tokenizer made")
            continue
        arrays = held_arrays or train_arrays
        metrics = {**evaluate_trajectory(tok, arrays), "evaluated_on": "held-out" if held_arrays else "train"}
        folder = store.save_current(paths, modality, tok, metrics, source=weights)
        meta.update({f"{modality}_tokenizer_id": tok.tokenizer_id, f"{modality}_path": dg.MetadataValue.path(str(folder)),
                     **{f"{modality}_{k}": v for k, v in _numbers(metrics).items()}})
        if arrays:
            recon = tok.detokenize(modality, tok.tokenize(modality, arrays[:4]))
            meta[f"{modality}_reconstruction"] = dg.MetadataValue.md(
                markdown_image(trajectory_preview(modality, arrays[:4], recon), f"{modality} input / reconstruction"))
    meta["config"] = dg.MetadataValue.json({"preset": preset.name, **preset.to_dict()["trajectory"]})
    return dg.MaterializeResult(metadata=meta)


@dg.asset(partitions_def=datasets_partitions, group_name=GROUP, kinds={"webdataset"},
          deps=[CLIPS, video_tokenizer, trajectory_tokenizers],
          description="WebDataset token shards of one dataset: tokens/<tokenizer_id>/<modality>/<dataset>/ + manifest.")
def token_shards(context: dg.AssetExecutionContext, data: DataRoot, tokens: TokenizerSettings) -> dg.MaterializeResult:
    from egom2p.tokenizers import store
    from egom2p.tokenizers.tokenize import tokenize_dataset
    paths, ds, preset = data.paths(), context.partition_key, get_preset(tokens.preset)
    if not (paths.clips(ds) / "index.parquet").exists():
        raise dg.Failure(f"no curated clips for {ds} ({paths.clips(ds)}); materialize normalized_clips first")
    toks = {}
    for role in store.ROLES:
        try:
            tok = store.load_current(paths, role, preset)
        except FileNotFoundError as e:
            context.log.warning(str(e))
            continue
        toks.update({m: tok for m in store.ROLE_MODALITIES[role]})
    summary = tokenize_dataset(paths, ds, toks, preset, tokens.shard_size, tokens.tokenize_batch, context.log.info)
    meta = {"dagster/row_count": max([s["samples"] for s in summary.values()], default=0),
            "tokenizer_ids": dg.MetadataValue.json({m: s["tokenizer_id"] for m, s in summary.items()}),
            "summary": dg.MetadataValue.json(summary)}
    for m, s in summary.items():
        meta[f"{m}_clips"] = s["samples"]
        meta[f"{m}_clips_per_s"] = round(s["clips_per_s"], 3)
    return dg.MaterializeResult(metadata=meta)
