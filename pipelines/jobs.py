"""Jobs: curate one dataset partition end to end (raw_inventory -> normalized_clips)."""
import dagster as dg

from egom2p.pipelines.partitions import datasets_partitions

curate_dataset = dg.define_asset_job(
    "curate_dataset", selection=dg.AssetSelection.groups("curation"), partitions_def=datasets_partitions,
    description="Curate one dataset partition: inventory, clips, depth labels, normalized canonical clips.")
