"""Partitions: one dynamic partition per raw dataset folder (the folder name is the key)."""
import dagster as dg

datasets_partitions = dg.DynamicPartitionsDefinition(name="datasets")
