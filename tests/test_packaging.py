"""The egom2p.<folder> mapping survives a wheel build (nested subpackages included), not only -e."""
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
NESTED = ["egom2p/__init__.py", "egom2p/clip.py", "egom2p/curation/datasets/egogen.py",
          "egom2p/curation/datasets/egoexo4d.py", "egom2p/synth/layouts/egoexo4d.py",
          "egom2p/pipelines/definitions.py", "egom2p/assets/curation.py", "egom2p/tokenizers/__init__.py",
          "egom2p/model/__init__.py", "egom2p/tasks/__init__.py"]


@pytest.mark.slow
def test_wheel_contains_every_subpackage_and_imports(tmp_path):
    out = subprocess.run([sys.executable, "-m", "pip", "wheel", str(REPO), "--no-deps", "--no-build-isolation",
                          "-q", "-w", str(tmp_path / "dist")], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-2000:]
    wheel = next((tmp_path / "dist").glob("egom2p-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    missing = [n for n in NESTED if n not in names]
    assert not missing, missing
    assert not [n for n in names if n.startswith(("tests/", "core/", "curation/"))], "folders leaked un-mapped"
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    code = ("import egom2p, egom2p.curation.datasets.egogen, egom2p.synth.layouts, egom2p.pipelines.definitions;"
            "print(egom2p.__file__); print(egom2p.curation.datasets.egogen.__file__);"
            "print(egom2p.synth.layouts.__file__)")
    env = {**os.environ, "PYTHONPATH": str(site), "PYTHONNOUSERSITE": "1"}
    # -S -I would drop the venv's dependencies; instead put the wheel first and run outside the repo
    res = subprocess.run([sys.executable, "-c", f"import sys; sys.path.insert(0, {str(site)!r}); {code}"],
                         capture_output=True, text=True, cwd=tmp_path, env=env)
    assert res.returncode == 0, res.stderr[-2000:]
    files = res.stdout.split()
    assert len(files) == 3 and all(f.startswith(str(site)) for f in files), res.stdout


def test_code_location_loads_without_torch():
    """Every Dagster process (webserver, daemon, each run and each step) imports the code location; torch +
    vector-quantize-pytorch would add ~3.5 s to each (the demo spawns ~60), so assets import them lazily."""
    code = ("import sys, egom2p.pipelines.definitions as d; "
            "assert d.defs.get_job_def('curate_dataset'); "
            "heavy = sorted(m for m in ('torch', 'vector_quantize_pytorch', 'einx') if m in sys.modules); "
            "print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd="/")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]", f"the code location imports {out.stdout.strip()} at load time"
