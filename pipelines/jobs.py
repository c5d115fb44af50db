"""Jobs: curate one dataset partition end to end (raw_inventory -> normalized_clips)."""
import dagster as dg


curate_dataset = dg.define_asset_job(
    "curate_dataset", selection=dg.AssetSelection.groups("curation"),
    description="Curate one dataset partition: inventory, clips, depth labels, normalized canonical clips.")
