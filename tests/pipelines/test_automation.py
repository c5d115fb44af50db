"""The raw-folder sensor's logic (signatures, cursor, run requests) and the automation wiring; fast, no
curation runs: the raw folders are a few small files."""
from __future__ import annotations

import os
from pathlib import Path

import dagster as dg
import pytest

from egom2p.assets.partitions import datasets_partitions
from egom2p.assets.resources import DataRoot
from egom2p.paths import DataPaths
from egom2p.pipelines import sensors as S


def _sequence(folder: Path, name: str, frames: int = 2) -> None:
    seq = folder / name
    seq.mkdir(parents=True)
    for i in range(frames):
        (seq / f"{i}.npy").write_bytes(b"x" * (10 + i))


@pytest.fixture
def raw(tmp_path) -> DataPaths:
    paths = DataPaths(tmp_path / "data")
    _sequence(paths.raw("egogen"), "seq0")
    _sequence(paths.raw("egoexo4d"), "take0")
    return paths


def test_signature_sees_new_and_touched_files_only(raw):
    folder = raw.raw("egogen")
    sig = S.folder_signature(folder)
    assert sig == S.folder_signature(folder) and len(sig) == 64
    (folder / ".swap").write_text("editor file")             # hidden entries do not count
    (folder / ".egogen.staging-x").mkdir()
    assert S.folder_signature(folder) == sig
    f = folder / "seq0" / "0.npy"
    st = f.stat()
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))
    touched = S.folder_signature(folder)
    assert touched != sig
    _sequence(folder, "seq1")
    assert S.folder_signature(folder) not in {sig, touched}


def test_signature_follows_linked_folders(raw, tmp_path):
    elsewhere = tmp_path / "reference" / "seq9"
    _sequence(elsewhere.parent, "seq9")
    (raw.raw("egogen") / "seq9").symlink_to(elsewhere, target_is_directory=True)
    (elsewhere / "loop").symlink_to(elsewhere, target_is_directory=True)   # a cycle is walked once
    sig = S.folder_signature(raw.raw("egogen"))
    (elsewhere / "2.npy").write_bytes(b"new frame")
    assert S.folder_signature(raw.raw("egogen")) != sig


def test_cursor_round_trip():
    sigs = {"egoexo4d": "b" * 64, "egogen": "a" * 64}
    assert S.read_cursor(S.write_cursor(sigs)) == sigs
    assert S.write_cursor({"z": "1", "a": "2"}) == '{"a":"2","z":"1"}'
    assert S.read_cursor(None) == {} and S.read_cursor("") == {}
    assert S.read_cursor("not json") == {} and S.read_cursor("[1, 2]") == {}


def test_new_folder_registers_and_requests_curation(raw):
    scan = S.scan_raw(raw, registered=set(), previous={})
    assert scan.new == ["egoexo4d", "egogen"] and not scan.changed
    result = S.sensor_result(scan, {})
    assert isinstance(result, dg.SensorResult)
    assert [r.partition_key for r in result.run_requests] == ["egoexo4d", "egogen"]
    sig = S.folder_signature(raw.raw("egogen"))
    assert result.run_requests[1].run_key == f"egogen-{sig[:16]}"
    assert result.run_requests[1].tags["egom2p/trigger"] == "new-dataset"
    assert result.dynamic_partitions_requests[0].partition_keys == ["egoexo4d", "egogen"]
    assert S.read_cursor(result.cursor) == scan.signatures


def test_new_sequence_in_registered_folder_requests_curation(raw):
    before = S.scan_raw(raw, registered=set(), previous={}).signatures
    _sequence(raw.raw("egogen"), "seq1")
    scan = S.scan_raw(raw, registered={"egogen", "egoexo4d"}, previous=before)
    assert scan.changed == ["egogen"] and not scan.new
    result = S.sensor_result(scan, before)
    (request,) = result.run_requests
    assert request.partition_key == "egogen" and request.tags["egom2p/trigger"] == "changed-dataset"
    assert request.run_key == S.run_key("egogen", S.folder_signature(raw.raw("egogen")))
    assert request.run_key != S.run_key("egogen", before["egogen"])
    assert not result.dynamic_partitions_requests


def test_touched_file_requests_curation_unless_a_run_is_in_flight(raw):
    before = S.scan_raw(raw, registered=set(), previous={}).signatures
    f = raw.raw("egoexo4d") / "take0" / "1.npy"
    os.utime(f, ns=(f.stat().st_atime_ns, f.stat().st_mtime_ns + 5))
    scan = S.scan_raw(raw, registered={"egogen", "egoexo4d"}, previous=before)
    assert scan.changed == ["egoexo4d"]
    waiting = S.scan_raw(raw, registered={"egogen", "egoexo4d"}, previous=before, busy={"egoexo4d"})
    assert waiting.deferred == ["egoexo4d"] and not waiting.changed
    assert waiting.signatures == before                   # looked at again after the run
    assert isinstance(S.sensor_result(waiting, before), dg.SkipReason)


def test_nothing_changed_skips_and_first_sight_only_records(raw):
    sigs = S.scan_raw(raw, registered=set(), previous={}).signatures
    same = S.scan_raw(raw, registered={"egogen", "egoexo4d"}, previous=sigs)
    assert isinstance(S.sensor_result(same, sigs), dg.SkipReason)
    first = S.scan_raw(raw, registered={"egogen", "egoexo4d"}, previous={})
    assert first.recorded == ["egoexo4d", "egogen"]
    result = S.sensor_result(first, {})
    assert isinstance(result, dg.SensorResult) and not result.run_requests and result.skip_reason
    assert S.read_cursor(result.cursor) == sigs
    gone = S.scan_raw(raw, registered={"egogen", "egoexo4d"}, previous={**sigs, "removed": "c" * 64})
    assert gone.signatures == sigs                        # a vanished folder leaves the cursor


def test_sensor_end_to_end_on_an_instance(raw):
    instance = dg.DagsterInstance.ephemeral()
    res = {"data": DataRoot(root=str(raw.root))}
    first = S.raw_dataset_sensor(dg.build_sensor_context(instance=instance, resources=res))
    assert sorted(r.partition_key for r in first.run_requests) == ["egoexo4d", "egogen"]
    instance.add_dynamic_partitions(datasets_partitions.name, ["egogen", "egoexo4d"])
    again = S.raw_dataset_sensor(dg.build_sensor_context(instance=instance, resources=res, cursor=first.cursor))
    assert isinstance(again, dg.SkipReason)
    _sequence(raw.raw("egogen"), "seq1")
    changed = S.raw_dataset_sensor(dg.build_sensor_context(instance=instance, resources=res, cursor=first.cursor))
    assert [r.partition_key for r in changed.run_requests] == ["egogen"]


def test_interval_and_switch_come_from_the_environment(monkeypatch):
    monkeypatch.delenv(S.INTERVAL_ENV, raising=False)
    monkeypatch.delenv(S.AUTOMATION_ENV, raising=False)
    assert S.sensor_interval_s() == 30 and S.default_status() == dg.DefaultSensorStatus.RUNNING
    monkeypatch.setenv(S.INTERVAL_ENV, "2")
    monkeypatch.setenv(S.AUTOMATION_ENV, "off")
    assert S.sensor_interval_s() == 2 and S.default_status() == dg.DefaultSensorStatus.STOPPED


def test_definitions_automate_token_shards_only():
    from egom2p.pipelines.definitions import defs
    repo = defs.get_repository_def()
    sensors = {s.name: s for s in repo.sensor_defs}
    assert set(sensors) == {"raw_dataset_sensor", "line_automation"}
    auto = sensors["line_automation"]
    assert isinstance(auto, dg.AutomationConditionSensorDefinition)
    graph = repo.asset_graph
    assert auto.asset_selection.resolve(graph) == {dg.AssetKey("token_shards")}
    conditioned = {k.to_user_string() for k in graph.get_all_asset_keys() if graph.get(k).automation_condition}
    assert conditioned == {"token_shards"}                # training and curation stay manual
