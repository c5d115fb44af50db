"""token_shards' automation condition: an upstream change (a new current tokenizer) that lands while a
token_shards run is in flight is still handled after that run ends (Dagster's ``eager()`` absorbs it)."""
from __future__ import annotations

import dagster as dg

from egom2p.assets.tokens import eager_until_requested

PARTS = dg.StaticPartitionsDefinition(["egogen", "egoexo4d"])


def _defs(condition) -> list:
    @dg.asset
    def tokenizer() -> None: ...

    @dg.asset(deps=[tokenizer], partitions_def=PARTS, automation_condition=condition)
    def shards() -> None: ...

    return [tokenizer, shards]


def _requested_after_in_flight_run_finishes(condition) -> set[str]:
    """Everything materialized; the tokenizer changes; then the run of ``egoexo4d`` that was in flight (it read
    the old tokenizer) reports its materialization. Which partitions does the next tick request?"""
    assets = _defs(condition)
    with dg.instance_for_test() as instance:
        def materialized(key: str, partition: str | None = None) -> None:
            instance.report_runless_asset_event(dg.AssetMaterialization(key, partition=partition))
        materialized("tokenizer")
        for p in PARTS.get_partition_keys():
            materialized("shards", p)
        first = dg.evaluate_automation_conditions(defs=assets, instance=instance)
        assert first.total_requested == 0
        materialized("tokenizer")                # a new current tokenizer
        materialized("shards", "egoexo4d")       # the in-flight run ends, made with the old one
        second = dg.evaluate_automation_conditions(defs=assets, instance=instance, cursor=first.cursor)
        return set(second.get_requested_partitions(dg.AssetKey("shards")))


def test_a_change_during_a_run_is_handled_after_it():
    assert _requested_after_in_flight_run_finishes(eager_until_requested()) == {"egogen", "egoexo4d"}


def test_dagster_eager_would_miss_it():
    """The reason for the custom condition (if Dagster changes eager(), this test says so)."""
    assert _requested_after_in_flight_run_finishes(dg.AutomationCondition.eager()) == {"egogen"}
