"""End to end: ``depth_labels`` with the ``marigold-rolling`` annotator on a tiny offline Marigold pipeline,
inside Dagster, on a micro synthetic world (egoexo4d has no depth → pseudo-labels; egogen keeps GT)."""
from __future__ import annotations

import json

import dagster as dg
import numpy as np
import pytest

from egom2p.assets.curation import clips, depth_labels, normalized_clips, raw_inventory
from egom2p.assets.partitions import datasets_partitions
from egom2p.assets.resources import CurationSettings, DataRoot
from egom2p.clip import read_clip
from egom2p import modalities as M
from egom2p.curation.checks import check_names
from egom2p.curation.depth import REL_FILE, read_depth_label
from egom2p.catalog import read_index


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    from egom2p.synth.layouts import LAYOUTS
    root = tmp_path_factory.mktemp("depthworld") / "data"
    for name in ("egogen", "egoexo4d"):
        LAYOUTS[name](root / "raw" / name, sequences=1, seconds=2.2, seed=4, progress=False)
    return root


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    from egom2p.curation.depth_annotators.tiny import build_tiny_marigold
    return build_tiny_marigold(tmp_path_factory.mktemp("tiny") / "marigold")


def test_marigold_rolling_labels_missing_depth_inside_dagster(world, tiny):
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions(datasets_partitions.name, ["egogen", "egoexo4d"])
    curation = CurationSettings(clip_resolution=64, depth_annotator="marigold-rolling", depth_checkpoint=str(tiny),
                                depth_device="cpu", depth_processing_resolution=32, depth_dilations=[1, 10, 25],
                                depth_refine_steps=0, depth_coalign_iterations=200, depth_cpu_threads=1)
    resources = {"data": DataRoot(root=str(world)), "curation": curation}
    sources = {"egogen": "gt", "egoexo4d": "marigold-rolling"}
    for ds in ("egogen", "egoexo4d"):
        res = dg.materialize([raw_inventory, clips, depth_labels, normalized_clips], partition_key=ds,
                             resources=resources, instance=instance)
        assert res.success
        checks = res.get_asset_check_evaluations()
        names = {c.check_name for c in checks}
        assert names == {"all_sequences_readable", *check_names()}, names
        assert all(c.passed for c in checks), [(c.check_name, c.metadata) for c in checks if not c.passed]
        mats = {m.asset_key.path[-1]: m.materialization.metadata for m in res.get_asset_materialization_events()}
        meta = mats["depth_labels"]
        assert meta["annotator"].value == "marigold-rolling"
        assert meta["depth_sources"].value == {sources[ds]: 1}
        settings = meta["annotator_settings"].value
        assert settings["kind"] == "relative_inverse_depth" and settings["dilations"] == [1, 10, 25]
        assert mats["normalized_clips"]["clips_depth"].value == 1
        row = read_index(world / "clips" / ds)[0]
        assert row["has_depth"] and row["depth_source"] == sources[ds]
        clip = read_clip(world / "clips" / ds / row["clip_id"])
        assert clip.depth.shape == (60, 64, 64)
        assert clip.meta["depth_source"] == sources[ds]
        d = clip.depth[np.isfinite(clip.depth)].astype(np.float32)
        assert d.size and d.min() >= 0 and d.max() <= 1 and d.std() > 0.01
    # the pseudo-label: relative inverse depth stored as such, normalized directly (no reciprocal)
    row = read_index(world / "clips" / "egoexo4d")[0]
    interim = world / "interim" / "depth" / "egoexo4d" / row["clip_id"]
    assert (interim / REL_FILE).exists() and not M.get("depth").interim_path(interim).exists()
    label_meta = json.loads((interim / "meta.json").read_text())
    assert label_meta["depth_kind"] == "relative_inverse_depth" and label_meta["settings"]["preset"] == "fast"
    clip = read_clip(world / "clips" / "egoexo4d" / row["clip_id"])
    norm = clip.meta["depth_normalization"]
    assert norm["input"] == "relative_inverse_depth" and clip.meta["depth_annotator"]["annotator"] == "marigold-rolling"
    rel = read_depth_label((interim / REL_FILE, "relative_inverse_depth")).astype(np.float64)
    expected = np.clip((rel - norm["inv_lo"]) / (norm["inv_hi"] - norm["inv_lo"]), 0, 1)
    np.testing.assert_allclose(clip.depth.astype(np.float64), expected, atol=2e-3)
    # ground truth keeps the metric path
    gt = read_clip(world / "clips" / "egogen" / read_index(world / "clips" / "egogen")[0]["clip_id"])
    assert gt.meta["depth_normalization"]["input"] == "metric_depth" and gt.meta["depth_annotator"] is None


def test_unavailable_annotator_fails_the_asset_with_the_reason(world, monkeypatch):
    monkeypatch.delenv("EGOM2P_DEPTH_CHECKPOINT", raising=False)
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions(datasets_partitions.name, ["egoexo4d"])
    resources = {"data": DataRoot(root=str(world)),
                 "curation": CurationSettings(clip_resolution=64, depth_annotator="marigold-rolling")}
    res = dg.materialize([raw_inventory, clips, depth_labels], partition_key="egoexo4d", resources=resources,
                         instance=instance, raise_on_error=False)
    assert not res.success
    failure = [e for e in res.all_events if e.event_type_value == "STEP_FAILURE"][0]
    assert "EGOM2P_DEPTH_CHECKPOINT" in failure.step_failure_data.error.message
