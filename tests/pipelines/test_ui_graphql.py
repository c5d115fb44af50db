"""The UI starts on 127.0.0.1, its GraphQL endpoint shows every asset and check, and it stops cleanly."""
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

QUERY = """{ assetNodes { assetKey { path } groupName partitionDefinition { type }
  assetChecksOrError { __typename ... on AssetChecks { checks { name } } } } }"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _post(url: str, query: str) -> dict:
    req = urllib.request.Request(url, data=json.dumps({"query": query}).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.loads(r.read())


@pytest.mark.slow
def test_ui_serves_the_asset_graph(tmp_path):
    port = _free_port()
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path), "EGOM2P_DATA": str(tmp_path / "data")}
    exe = Path(sys.executable).with_name("dagster-webserver")
    proc = subprocess.Popen([str(exe), "-m", "egom2p.pipelines.definitions", "-h", "127.0.0.1", "-p", str(port)],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.time() + 180
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/server_info", timeout=2)
                break
            except OSError:
                if proc.poll() is not None or time.time() > deadline:
                    raise AssertionError(f"webserver did not start:\n{proc.stdout.read().decode()[-3000:]}")
                time.sleep(1)
        data = _post(f"http://127.0.0.1:{port}/graphql", QUERY)["data"]["assetNodes"]
        nodes = {"/".join(n["assetKey"]["path"]): n for n in data}
        assert {"raw_inventory", "clips", "depth_labels", "normalized_clips"} <= set(nodes)
        assert nodes["clips"]["partitionDefinition"]["type"] == "DYNAMIC"
        checks = {c["name"] for c in nodes["normalized_clips"]["assetChecksOrError"]["checks"]}
        assert checks == {"clip_frames", "gaze_range", "camera_valid", "depth_range", "rgb_content",
                          "arrays_match_registry", "clip_timing", "modality_coverage", "index_matches_files"}
        assert {c["name"] for c in nodes["raw_inventory"]["assetChecksOrError"]["checks"]} == {"all_sequences_readable"}
        # bound to loopback only
        out = subprocess.run(["ss", "-ltnp"], capture_output=True, text=True).stdout if os.path.exists("/usr/bin/ss") else ""
        assert f"0.0.0.0:{port}" not in out
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            rc = proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            raise AssertionError("webserver ignored SIGTERM")
    assert rc in (0, -signal.SIGTERM), rc


def test_dagster_definitions_validate(tmp_path):
    repo = Path(__file__).resolve().parents[2]
    exe = Path(sys.executable).with_name("dagster")
    out = subprocess.run([str(exe), "definitions", "validate", "-w", str(repo / "workspace.yaml")], cwd=repo,
                         env={**os.environ, "DAGSTER_HOME": str(tmp_path)}, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    assert "Validation successful" in out.stdout + out.stderr
