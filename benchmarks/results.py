"""Write a named section of benchmarks/RESULTS.md (replaced in place on re-runs)."""
from __future__ import annotations

import os
import platform
import re
import subprocess
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"


def machine() -> str:
    cpu = platform.processor() or ""
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} cores, {cpu}, Python {platform.python_version()}"


def ffmpeg_version() -> str:
    try:
        return subprocess.run(["ffmpeg", "-version"], capture_output=True, text=True).stdout.split("\n")[0]
    except OSError:
        return "ffmpeg not found"


def write_section(title: str, body: str) -> None:
    """Replace (or append) the ``## title`` section of RESULTS.md."""
    text = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n\nEach section: the command, the machine, the numbers.\n"
    section = f"## {title}\n\n{body.strip()}\n"
    pattern = re.compile(rf"^## {re.escape(title)}\n.*?(?=^## |\Z)", re.S | re.M)
    text = pattern.sub(section + "\n", text) if pattern.search(text) else text.rstrip() + "\n\n" + section
    RESULTS.write_text(text)


MEASUREMENTS = Path(__file__).resolve().parent / "measurements"


def write_measurements(name: str, data: dict) -> Path:
    """Machine-readable numbers of one benchmark (``benchmarks/measurements/<name>.json``), read by
    ``capacity_plan.py`` so the plan follows the code."""
    import json
    MEASUREMENTS.mkdir(exist_ok=True)
    path = MEASUREMENTS / f"{name}.json"
    path.write_text(json.dumps({"machine": machine(), **data}, indent=2, sort_keys=True) + "\n")
    return path
