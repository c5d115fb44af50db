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

from egom2p.assets.partitions import datasets_partitions
from egom2p.assets.resources import DataRoot, TokenizerSettings
from egom2p.catalog import has_index, train_and_held_out
from egom2p.curation.preview import markdown_image
from egom2p.presets import get_preset

# torch-heavy modules (egom2p.tokenizers.*) are imported inside the assets: every Dagster process (webserver,
# daemon, each run and each step) loads this code location.

GROUP = "tokenizers"
CLIPS = dg.AssetKey("normalized_clips")


def _metadata(meta: dict) -> dict:
    """A builder's plain metadata (``egom2p.tokenizers.build``) as Dagster metadata, key for key: folders as
    paths, lists and dicts as JSON, previews as markdown images, numbers and strings as they are."""
    from egom2p.tokenizers.build import Preview
    out = {}
    for k, v in meta.items():
        if isinstance(v, Path):
            v = dg.MetadataValue.path(str(v))
        elif isinstance(v, (list, dict)):
            v = dg.MetadataValue.json(v)
        elif isinstance(v, Preview):
            v = dg.MetadataValue.md(markdown_image(v.image, v.title))
        out[k] = v
    return out


@dg.asset(group_name=GROUP, deps=[CLIPS], kinds={"pytorch", "safetensors"},
          description="Cosmos-style discrete causal video tokenizer (rgb + depth): configured weights, else trained.")
def video_tokenizer(context: dg.AssetExecutionContext, data: DataRoot, tokens: TokenizerSettings) -> dg.MaterializeResult:
    from egom2p.tokenizers.build import NothingToTrain, build_video_tokenizer
    paths, preset = data.paths(), get_preset(tokens.preset)
    train, held = train_and_held_out(paths)
    try:
        _, meta = build_video_tokenizer(paths, preset, train, held, tokens.video_weights, tokens.train_config("video"),
                                        context.log.info)
    except NothingToTrain as e:
        raise dg.Failure(str(e)) from None
    return dg.MaterializeResult(metadata=_metadata(meta))


@dg.asset(group_name=GROUP, deps=[CLIPS], kinds={"pytorch", "safetensors"},
          description="Gaze and camera trajectory VQ-VAEs (60 samples → 30 tokens): configured weights, else trained.")
def trajectory_tokenizers(context: dg.AssetExecutionContext, data: DataRoot, tokens: TokenizerSettings) -> dg.MaterializeResult:
    from egom2p.tokenizers.build import build_trajectory_tokenizers
    paths, preset = data.paths(), get_preset(tokens.preset)
    train, held = train_and_held_out(paths)
    meta: dict = {}
    sampled = {"gaze": [], "camera": []}
    if tokens.trajectory_sampled_clips > 0 and not (tokens.gaze_weights and tokens.camera_weights):
        from egom2p.synth.trajectories import SamplerConfig, sample_trajectories
        cams, gazes = sample_trajectories(tokens.trajectory_sampled_clips, tokens.seed,
                                          SamplerConfig(kinds=("room", "tabletop")))
        sampled = {"camera": list(cams), "gaze": list(gazes)}
        meta["motion_sampled_clips"] = len(cams)
    weights = {modality: getattr(tokens, f"{modality}_weights") for modality in ("gaze", "camera")}
    _, built = build_trajectory_tokenizers(paths, preset, train, held, weights, tokens.train_config("trajectory"),
                                           sampled, context.log.info, context.log.warning)
    meta.update(built)
    return dg.MaterializeResult(metadata=_metadata(meta))


def eager_until_requested() -> dg.AutomationCondition:
    """Dagster's ``eager()``, except that an upstream change counts as handled only once a run is *requested*
    after it. With ``eager()`` a change that lands while a token_shards run is in flight (a new current tokenizer
    during tokenization) is absorbed when that run finishes, although the run read the old tokenizers; here the
    partition is requested again once the run ends. A redundant run is cheap: its shard units are committed."""
    A = dg.AutomationCondition
    requested = (A.newly_requested() | A.initial_evaluation()).with_label("requested")
    return (A.in_latest_time_window() & (A.newly_missing() | A.any_deps_updated()).since(requested)
            & ~A.any_deps_missing() & ~A.any_deps_in_progress() & ~A.in_progress()).with_label("eager until requested")


@dg.asset(partitions_def=datasets_partitions, group_name=GROUP, kinds={"webdataset"},
          deps=[CLIPS, video_tokenizer, trajectory_tokenizers], automation_condition=eager_until_requested(),
          description="WebDataset token shards of one dataset: tokens/<tokenizer_id>/<modality>/<dataset>/ + manifest.")
def token_shards(context: dg.AssetExecutionContext, data: DataRoot, tokens: TokenizerSettings) -> dg.MaterializeResult:
    from egom2p.tokenizers import store
    from egom2p.tokenizers.tokenize import tokenize_dataset
    paths, ds, preset = data.paths(), context.partition_key, get_preset(tokens.preset)
    if not has_index(paths.clips(ds)):
        raise dg.Failure(f"no curated clips for {ds} ({paths.clips(ds)}); materialize normalized_clips first")
    summary = tokenize_dataset(paths, ds, store.current_refs(paths, context.log.warning), preset, tokens.shard_size,
                               tokens.tokenize_batch, context.log.info, device=tokens.device,
                               executor=tokens.executor_spec(), gpus_per_unit=tokens.ray_gpus_per_video_unit)
    units = {k: sum(s[k] for s in summary.values()) for k in ("units_total", "units_run", "units_skipped",
                                                               "units_quarantined", "units_removed")}
    meta = {"dagster/row_count": max([s["samples"] for s in summary.values()], default=0), **units,
            "device": tokens.device, "executor": tokens.executor,
            "tokenizer_ids": dg.MetadataValue.json({m: s["tokenizer_id"] for m, s in summary.items()}),
            "summary": dg.MetadataValue.json(summary)}
    for m, s in summary.items():
        meta[f"{m}_clips"] = s["samples"]
        meta[f"{m}_clips_per_s"] = round(s["clips_per_s"], 3)
    return dg.MaterializeResult(metadata=meta)
