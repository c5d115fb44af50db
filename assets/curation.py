"""Curation assets, one per stage, partitioned by dataset. Thin: the work is in egom2p.curation."""

import dagster as dg

from egom2p import modalities as M
from egom2p.assets.partitions import datasets_partitions
from egom2p.assets.resources import CurationSettings, DataRoot
from egom2p.curation.checks import check_names, check_partition
from egom2p.curation.clips import curate_clips
from egom2p.curation.depth import cached_annotator, label_depth
from egom2p.curation.depth_annotators import AnnotatorUnavailable
from egom2p.curation.inventory import build_inventory
from egom2p.curation.normalize import normalize_partition, upstream_quarantine
from egom2p.curation.partition import StageResult
from egom2p.tables import read_rows
from egom2p.curation.preview import markdown_image, partition_preview

GROUP = "curation"


def _stage_metadata(result: StageResult, folder) -> dict:
    """Clip counts per modality, the units run / skipped (already committed) / quarantined / removed, the
    quarantine table and the folder."""
    counts = {f"clips_{m}": sum(bool(r.get(f"has_{m}")) for r in result.rows) for m in M.names()}
    dropped = {f"dropped_{m}": sum(bool(r.get(f"dropped_{m}")) for r in result.rows) for m in M.names()}
    return {"dagster/row_count": len(result.rows), "sequences": result.sequences, **result.counts(),
            "stage_seconds": round(result.seconds, 2),
            "quarantined": result.quarantined, **counts, **dropped, "path": dg.MetadataValue.path(str(folder)),
            "quarantine": dg.MetadataValue.md(_quarantine_md(result.quarantine)),
            "dropped_modalities": dg.MetadataValue.md(_dropped_md(result.rows))}


def _dropped_md(rows: list[dict]) -> str:
    """One line per (modality, reason) a clip was kept without: how many clips, an example clip."""
    seen: dict[tuple[str, str], list[str]] = {}
    for r in rows:
        for m in M.names():
            if r.get(f"dropped_{m}"):
                seen.setdefault((m, r[f"dropped_{m}"]), []).append(r["clip_id"])
    if not seen:
        return "no modality dropped"
    lines = ["| modality | clips | reason | example |", "|---|---|---|---|"]
    lines += [f"| {m} | {len(c)} | {why.replace('|', '/')[:300]} | {c[0]} |" for (m, why), c in list(seen.items())[:50]]
    return "\n".join(lines)


def _quarantine_md(rows: list[dict]) -> str:
    if not rows:
        return "nothing quarantined"
    lines = ["| sequence | stage | reason |", "|---|---|---|"]
    lines += [f"| {r['sequence_id']} | {r['stage']} | {r['error'].replace('|', '/')} |" for r in rows[:50]]
    return "\n".join(lines)


@dg.asset(partitions_def=datasets_partitions, group_name=GROUP, kinds={"parquet"},
          description="Sequences found in data/raw/<dataset>, their modalities and the problems found.",
          check_specs=[dg.AssetCheckSpec("all_sequences_readable", asset="raw_inventory",
                                         description="every sequence opened without a problem (warning)")])
def raw_inventory(context: dg.AssetExecutionContext, data: DataRoot, curation: CurationSettings):
    paths, ds = data.paths(), context.partition_key
    if not paths.raw(ds).is_dir():
        raise dg.Failure(f"no raw folder {paths.raw(ds)}")
    report = build_inventory(paths.raw(ds), paths.inventory(ds), ds, curation.config(ds), context.log.info,
                             executor=curation.executor_spec())
    rows = report.rows
    bad = [r for r in rows if r["problem"]]
    yield dg.MaterializeResult(metadata={
        "dagster/row_count": len(rows), "path": dg.MetadataValue.path(str(paths.inventory(ds))), **report.counts(),
        **{f"sequences_with_{m}": sum(r[f"has_{m}"] for r in rows) for m in M.names()},
        "expected_clips": sum(r["expected_clips"] for r in rows), "problems": len(bad)})
    yield dg.AssetCheckResult(check_name="all_sequences_readable", passed=not bad,
                              severity=dg.AssetCheckSeverity.WARN,
                              metadata={"problems": dg.MetadataValue.json(
                                  {r["sequence_id"]: r["problem"] for r in bad[:20]})})


@dg.asset(partitions_def=datasets_partitions, group_name=GROUP, deps=[raw_inventory], kinds={"video"},
          description="30 FPS timeline, rectified square frames, 2 s clips (rgb.mp4 + metric arrays).")
def clips(context: dg.AssetExecutionContext, data: DataRoot, curation: CurationSettings) -> dg.MaterializeResult:
    paths, ds = data.paths(), context.partition_key
    result = curate_clips(paths.raw(ds), paths.interim_clips(ds), ds, curation.config(ds), context.log.info,
                          executor=curation.executor_spec())
    return dg.MaterializeResult(metadata={**_stage_metadata(result, paths.interim_clips(ds)),
                                          "curation_config": dg.MetadataValue.json(curation.config(ds).to_dict())})


@dg.asset(partitions_def=datasets_partitions, group_name=GROUP, deps=[clips], kinds={"numpy"},
          description="Ground-truth depth kept; missing depth annotated by the configured annotator (relative "
                      "inverse depth, RollingDepth-style) or left missing.")
def depth_labels(context: dg.AssetExecutionContext, data: DataRoot, curation: CurationSettings) -> dg.MaterializeResult:
    paths, ds = data.paths(), context.partition_key
    try:
        annotator = cached_annotator(curation.annotator_name(), curation.annotator_settings())
    except AnnotatorUnavailable as e:
        raise dg.Failure(f"depth annotator {curation.depth_annotator!r} cannot run: {e}") from None
    result = label_depth(paths.interim_clips(ds), paths.interim_depth(ds), ds, curation.annotator_name(),
                         curation.annotator_settings(), log=context.log.info, executor=curation.executor_spec(),
                         gpus_per_unit=curation.ray_gpus_per_depth_unit)
    sources: dict[str, int] = {}
    for r in result.rows:
        sources[r["depth_source"]] = sources.get(r["depth_source"], 0) + 1
    return dg.MaterializeResult(metadata={**_stage_metadata(result, paths.interim_depth(ds)),
                                          "annotator": annotator.name if annotator else "none",
                                          "annotator_settings": dg.MetadataValue.json(
                                              annotator.describe() if annotator else {}),
                                          "depth_sources": dg.MetadataValue.json(sources)})


@dg.asset(partitions_def=datasets_partitions, group_name=GROUP, deps=[depth_labels], kinds={"video", "numpy"},
          description="Canonical clips: inverse depth per sequence, gaze in [0,1], camera c2w relative to frame 0.",
          check_specs=[dg.AssetCheckSpec(c, asset="normalized_clips", description="severity ERROR: wrong data")
                       for c in check_names()])
def normalized_clips(context: dg.AssetExecutionContext, data: DataRoot, curation: CurationSettings):
    paths, ds = data.paths(), context.partition_key
    quarantined = upstream_quarantine(paths.interim_clips(ds), paths.interim_depth(ds))
    result = normalize_partition(paths.interim_clips(ds), paths.interim_depth(ds), paths.clips(ds), ds,
                                 curation.config(ds), quarantined, context.log.info,
                                 executor=curation.executor_spec())
    folders = [paths.clips(ds) / r["clip_id"] for r in sorted(result.rows, key=lambda r: r["clip_id"])]
    preview = partition_preview(folders)
    meta = _stage_metadata(result, paths.clips(ds))
    if preview is not None:
        meta["preview"] = dg.MetadataValue.md(markdown_image(preview, f"{ds} clips"))
    meta["splits"] = dg.MetadataValue.json({s: sum(r["split"] == s for r in result.rows) for s in ("train", "val", "test")})
    yield dg.MaterializeResult(metadata=meta)
    inventory = read_rows(paths.inventory(ds)) if paths.inventory(ds).exists() else None
    checks = check_partition(paths.clips(ds), inventory, curation.max_dropped_fraction)
    for name, (passed, details) in checks.items():
        extra = {"modalities": dg.MetadataValue.json(details["modalities"])} if "modalities" in details else {}
        yield dg.AssetCheckResult(check_name=name, passed=passed, severity=dg.AssetCheckSeverity.ERROR, metadata={
            "checked": details["checked"], "failures": details["failures"],
            "examples": dg.MetadataValue.json(details["examples"]), **extra})
