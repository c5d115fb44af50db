"""The docs' one-partition shell command (docs/README.md, everyday commands) selects the curation assets and nothing downstream.

``dagster asset materialize --select S`` resolves ``AssetSelection.from_coercible(S.split(","))`` against the
code location's asset graph (dagster/_cli/asset.py); ``raw_inventory*`` also selects every downstream asset
(tokenizer training, token shards, pretraining, evaluation)."""
from __future__ import annotations

import dagster as dg
import pytest

from egom2p.pipelines.definitions import defs

CURATION = {"raw_inventory", "clips", "depth_labels", "normalized_clips"}
README_SELECT = "group:curation"


def _cli_resolve(select: str) -> set[str]:
    """What the CLI's ``--select`` resolves to (its own parse)."""
    keys = dg.AssetSelection.from_coercible(select.split(",")).resolve(defs.resolve_asset_graph())
    return {k.to_user_string() for k in keys}


def test_readme_selection_is_exactly_curation():
    assert _cli_resolve(README_SELECT) == CURATION
    assert _cli_resolve("*normalized_clips") == CURATION


def test_downstream_star_selects_training_too():
    assert _cli_resolve("raw_inventory*") > CURATION | {"token_shards", "pretrained_model"}


@pytest.mark.parametrize("job", ["curate_dataset"])
def test_curate_dataset_job_is_exactly_curation(job):
    keys = defs.resolve_job_def(job).asset_layer.selected_asset_keys
    assert {k.to_user_string() for k in keys} == CURATION


def test_the_docs_give_that_selection():
    from pathlib import Path
    docs = (Path(__file__).resolve().parents[2] / "docs" / "README.md").read_text()
    assert f"--select '{README_SELECT}' --partition" in docs
