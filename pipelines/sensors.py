"""Sensor: a new folder under the raw data root becomes a dataset partition and gets a curation run."""

import dagster as dg

from egom2p.assets.partitions import datasets_partitions
from egom2p.assets.resources import DataRoot
from egom2p.pipelines.jobs import curate_dataset


def new_dataset_folders(data: DataRoot, instance) -> list[str]:
    existing = set(instance.get_dynamic_partitions(datasets_partitions.name))
    return [k for k in data.paths().raw_datasets() if k not in existing]


@dg.sensor(job=curate_dataset, minimum_interval_seconds=30, default_status=dg.DefaultSensorStatus.STOPPED,
           description="Registers a `datasets` partition for each new folder in data/raw and requests its curation.")
def raw_dataset_sensor(context: dg.SensorEvaluationContext, data: DataRoot) -> dg.SensorResult | dg.SkipReason:
    new = new_dataset_folders(data, context.instance)
    if not new:
        return dg.SkipReason("no new dataset folders")
    context.log.info(f"new dataset folders: {new}")
    return dg.SensorResult(
        run_requests=[dg.RunRequest(partition_key=k, run_key=f"new-dataset-{k}") for k in new],
        dynamic_partitions_requests=[datasets_partitions.build_add_request(new)])
