"""The code location: ``Definitions`` of the EgoM2P pipeline (workspace.yaml points here).

Sensors (``egom2p.pipelines.sensors``, RUNNING by default, ``EGOM2P_AUTOMATION=0`` turns them off):
``raw_dataset_sensor`` curates new and changed raw folders, ``line_automation`` re-tokenizes datasets whose
curated clips or current tokenizers changed. Runs they launch take the resource defaults below (``tiny``
preset, ``CurationSettings()``); ``$EGOM2P_DATA`` selects the data root.
"""
import dagster as dg

from egom2p.assets import curation, evaluation, model, tokens
from egom2p.assets.pipes import ProcessGroupPipesClient
from egom2p.assets.resources import CurationSettings, DataRoot, LineSettings, TokenizerSettings
from egom2p.pipelines.jobs import (curate_dataset, evaluate, pretrain, pretrain_paper_8gpu, tokenize_dataset,
                                   train_tokenizers)
from egom2p.pipelines.sensors import line_automation, raw_dataset_sensor

# one line-wide preset, configured at launch (resources.line.config.preset) and shared by the nested resources
line = LineSettings.configure_at_launch()

defs = dg.Definitions(
    assets=dg.load_assets_from_modules([curation, tokens, model, evaluation]),
    asset_checks=[],
    jobs=[curate_dataset, train_tokenizers, tokenize_dataset, pretrain, pretrain_paper_8gpu, evaluate],
    sensors=[raw_dataset_sensor, line_automation],
    resources={"data": DataRoot(), "line": line, "curation": CurationSettings(line=line),
               "tokens": TokenizerSettings(line=line), "pipes_subprocess_client": ProcessGroupPipesClient()},
    executor=dg.multiprocess_executor.configured({"max_concurrent": 2}),
)
