"""The operators' journeys, clicked through the Dagster UI in headless Chromium (Debian's package) against
``dagster dev`` on 127.0.0.1 with a small synthetic world: what a person sees, asserted on the page, and what
the run left on disk and in the process table.

Journeys: the asset graph and a curated partition's checks and preview; launching the ``pretrain`` job from
its ready config with the token budget changed in the editor; cancelling a two-rank training run from the
run page (no trainer process left, checkpoint intact) and resuming it by re-executing; a failing run that
says why in one line; a new raw dataset picked up by the sensor (switched on in the UI) and tokenized from
the asset page, touching only its own shards.
"""
from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest
from playwright.sync_api import expect

from egom2p.model import checkpoint as ckpt
from egom2p.model.reporting import METRICS_FILE
from egom2p.pipelines.definitions import defs

from ui_browser import (edit_editor_value, editor_text, event_messages, launch_from_launchpad, open_page,
                        replace_editor_text, screenshot, trainer_processes, wait_run)
from ui_world import synthesize

pytestmark = pytest.mark.slow
LOCATION = "egom2p"
# a model small enough for a CPU journey (Launchpad config can set TrainConfig.model_overrides)
SMALL_MODEL = "{dim: 64, encoder_depth: 1, decoder_depth: 1, heads: 2}"


def _metrics(run_dir: Path) -> list[dict]:
    """Every row of metrics.jsonl in the order written (a resumed run appends the steps after its checkpoint)."""
    path = run_dir / METRICS_FILE
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()] if path.exists() else []


def _show_markdown_image(page, row_key: str):
    """Open a metadata row's "[Show Markdown]" dialog and return its first image."""
    page.locator("tr", has_text=row_key).get_by_text("Show Markdown").first.click()
    img = page.locator("[role=dialog] img").first
    img.wait_for(state="visible")
    return img


def test_asset_graph_checks_and_preview(page, shots):
    groups: dict[str, list[str]] = {}
    for spec in defs.resolve_all_asset_specs():
        groups.setdefault(spec.group_name, []).append(spec.key.to_user_string())
    for group, names in sorted(groups.items()):
        open_page(page, f"/locations/{LOCATION}/asset-groups/{group}")
        for name in names:
            page.get_by_text(name, exact=True).first.wait_for(state="visible")
        if group == "curation":
            screenshot(page, "ui-asset-graph", shots)
    # the curated partition: every check of normalized_clips passed, and the preview image shows
    from egom2p.curation.checks import check_names
    open_page(page, "/assets/normalized_clips?view=checks&partition=egogen")
    for name in check_names():
        page.get_by_text(name, exact=True).first.wait_for(state="visible")
    assert page.get_by_text("Succeeded").count() >= len(check_names())
    open_page(page, "/assets/normalized_clips?partition=egogen")
    img = _show_markdown_image(page, "preview")
    assert img.get_attribute("src").startswith("data:image/png;base64,")
    assert img.bounding_box()["width"] > 100
    screenshot(page, "ui-preview", shots)


def test_launch_training_from_ready_config(page, shots, instance, world):
    open_page(page, f"/locations/{LOCATION}/jobs/pretrain/playground")
    text = editor_text(page)
    run_name = re.search(r"run_name: (\S+)", text).group(1)
    assert re.search(r"^\s*tokens: \d+", text, re.M), text         # the ready config is loaded
    edit_editor_value(page, "tokens", "6144")                        # a token budget of our own
    edit_editor_value(page, "model_overrides", SMALL_MODEL) if "model_overrides:" in text else None
    screenshot(page, "ui-launchpad", shots)
    run_id = launch_from_launchpad(page)
    run = wait_run(instance, run_id)
    assert run.status.value == "SUCCESS", event_messages(instance, run_id)[-15:]
    page.get_by_text("Success").first.wait_for(state="visible")
    screenshot(page, "ui-run", shots)
    run_dir = world.root / "runs" / run_name
    assert "tokens: 6144" in (run_dir / "run.yaml").read_text()     # the edit reached the trainer
    # the materialization shows the loss curve and the checkpoint path
    open_page(page, "/assets/pretrained_model")
    row = page.locator("tr", has_text="checkpoint_path").first
    assert str(run_dir / "checkpoints" / "step-") in row.inner_text()
    img = _show_markdown_image(page, "loss_curve")
    assert img.get_attribute("src").startswith("data:image/png;base64,")


TOTAL_STEPS = 36


def _two_rank_config(run_name: str) -> str:
    """A two-rank torchrun run of TOTAL_STEPS steps (2 ranks x 2 samples x the preset's token budget per step)."""
    from egom2p.presets import get_preset
    spec = get_preset("tiny").model
    tokens = TOTAL_STEPS * 2 * 2 * (spec.input_budget + spec.target_budget)
    return ("ops: {pretrained_model: {config: {run_name: " + run_name + ", launcher: torchrun, processes: 2, "
            "train: {tokens: " + str(tokens) + ", batch_size: 2, workers: 0, log_every: 2, ckpt_every: 6, "
            "warmup_tokens: 512, tensorboard: false, model_overrides: " + SMALL_MODEL + "}}}}")


def test_cancel_and_resume_training(page, shots, instance, world):
    run_dir = world.root / "runs" / "cancel-me"
    open_page(page, f"/locations/{LOCATION}/jobs/pretrain/playground")
    replace_editor_text(page, _two_rank_config("cancel-me"))
    run_id = launch_from_launchpad(page)
    deadline = time.time() + 300
    while ckpt.latest(run_dir) is None:                              # wait for a first checkpoint
        assert time.time() < deadline and instance.get_run_by_id(run_id).status.value not in ("FAILURE", "SUCCESS"), \
            event_messages(instance, run_id)[-15:]
        time.sleep(0.5)
    run_yaml = run_dir / "run.yaml"
    assert len(trainer_processes(run_yaml)) >= 3                    # torchrun + 2 ranks
    page.get_by_role("button", name="Terminate").first.click()
    page.locator("[role=dialog]").get_by_role("button", name=re.compile("^Terminate")).click()
    cancelled_at = time.time()
    while trainer_processes(run_yaml) and time.time() - cancelled_at < 30:
        time.sleep(0.2)
    left = trainer_processes(run_yaml)
    assert not left, [p.cmdline() for p in left]                     # every rank and the launcher are gone
    run = wait_run(instance, run_id, timeout_s=120)
    assert run.status.value == "CANCELED"
    page.get_by_text("Canceled").first.wait_for(state="visible")
    screenshot(page, "ui-cancelled", shots)
    last = ckpt.latest(run_dir)
    state, _ = ckpt.read_state(last)                                # intact: state, weights
    step = state["step"]
    from safetensors.torch import load_file
    assert load_file(str(last / ckpt.MODEL_FILE))
    before = _metrics(run_dir)                                        # rows the cancelled run logged
    assert step in {r["step"] for r in before} and step < TOTAL_STEPS
    # resume: re-execute the same run from its page; it continues from the checkpoint
    page.get_by_role("button", name=re.compile("Re-execute all")).first.click()
    page.wait_for_url(re.compile(r".*/runs/(?!" + run_id + r")[0-9a-f-]{36}.*"))
    rerun = re.search(r"/runs/([0-9a-f-]{36})", page.url).group(1)
    run = wait_run(instance, rerun, timeout_s=600)
    messages = event_messages(instance, rerun)
    assert run.status.value == "SUCCESS", messages[-15:]
    assert any(f"resumed from {last.name}" in m for m in messages), messages[-15:]
    resumed = _metrics(run_dir)[len(before):]                         # rows the resumed run logged
    assert [r["step"] for r in resumed] == list(range(step + 2, TOTAL_STEPS + 1, 2))   # from the checkpoint on
    # steps the cancelled run had logged past its checkpoint come out the same: it resumed exactly there
    again = {r["step"]: r["loss"] for r in resumed}
    for r in before:
        if r["step"] > step:
            assert again[r["step"]] == r["loss"], (r["step"], r["loss"], again[r["step"]])


def test_failing_run_explains_itself(page, instance):
    open_page(page, f"/locations/{LOCATION}/jobs/pretrain/playground")
    replace_editor_text(page, "ops: {pretrained_model: {config: {run_name: no-data, train: {tokens: 4096, "
                              "datasets: [no_such_dataset], model_overrides: " + SMALL_MODEL + "}}}}")
    run_id = launch_from_launchpad(page)
    run = wait_run(instance, run_id)
    assert run.status.value == "FAILURE"
    reason = page.get_by_text(re.compile(r"training failed: FileNotFoundError: no token shards")).first
    reason.wait_for(state="visible")
    assert "\n" not in reason.inner_text().strip()


def test_new_dataset_is_curated_and_tokenized_from_the_asset_page(page, shots, instance, world):
    from egom2p.assets.partitions import datasets_partitions
    tokens_root = world.root / "tokens"
    egogen = {p: (p.stat().st_ino, p.stat().st_mtime_ns) for p in tokens_root.glob("*/*/egogen/*")}
    assert egogen
    open_page(page, f"/locations/{LOCATION}/sensors/raw_dataset_sensor")
    switch = page.locator("label").filter(has=page.locator("input[type=checkbox]")).first
    switch.click()                                                   # switch the sensor on
    expect(switch.locator("input")).to_be_checked()
    # the first tick records the folders already in raw/ (not re-curated); the page shows it once it ran
    page.get_by_text("Sensor has never run").wait_for(state="hidden", timeout=120_000)
    synthesize(world.root / "raw" / "egoexo4d", "egoexo4d", seed=5)
    deadline = time.time() + 300
    while "egoexo4d" not in instance.get_dynamic_partitions(datasets_partitions.name):
        assert time.time() < deadline, "the sensor did not register raw/egoexo4d"
        time.sleep(1)
    runs = []
    while not runs:
        assert time.time() < deadline, "no curation run was requested for egoexo4d"
        runs = [r for r in instance.get_runs() if r.job_name == "curate_dataset"
                and r.tags.get("dagster/partition") == "egoexo4d"]
        time.sleep(1)
    assert wait_run(instance, runs[0].run_id).status.value == "SUCCESS", event_messages(instance, runs[0].run_id)[-15:]
    switch.click()                                                   # and off again
    expect(switch.locator("input")).not_to_be_checked(timeout=30_000)
    # materialize token_shards for that partition from its asset page
    open_page(page, "/assets/token_shards")
    page.get_by_role("button", name="Materialize…").first.click()
    dialog = page.locator("[role=dialog]")
    dialog.get_by_text("Select a partition or create one").click()
    page.get_by_placeholder("Filter partitions").fill("egoexo4d")
    page.locator("label").filter(has_text="egoexo4d").filter(has_not_text="Select all").first.click()
    page.keyboard.press("Escape")                                   # close the partition list
    screenshot(page, "ui-materialize-partition", shots)
    dialog.get_by_role("button", name="Launch 1 run").click()
    deadline = time.time() + 300
    token_runs = []
    while not token_runs:
        assert time.time() < deadline, "no token_shards run was launched"
        token_runs = [r for r in instance.get_runs() if r.tags.get("dagster/partition") == "egoexo4d"
                      and r.job_name != "curate_dataset"]
        time.sleep(1)
    run = wait_run(instance, token_runs[0].run_id)
    assert run.status.value == "SUCCESS", event_messages(instance, run.run_id)[-15:]
    assert list(tokens_root.glob("*/*/egoexo4d/manifest.parquet"))   # its shards are written ...
    assert {p: (p.stat().st_ino, p.stat().st_mtime_ns) for p in tokens_root.glob("*/*/egogen/*")} == egogen  # ... only
