"""Playwright helpers for the browser journeys: Debian's Chromium (never a downloaded browser), pages of the
Dagster UI, the Launchpad's config editor, runs and the trainer processes of a run."""
from __future__ import annotations

import os
import re
import shutil
import time
from pathlib import Path

import psutil

CHROMIUM_CANDIDATES = ("chromium", "chromium-browser")
SKIP_NUX = "Skip"          # the first-visit "Join the Dagster community" dialog of a fresh instance
DONE = ("SUCCESS", "FAILURE", "CANCELED")


def chromium_path() -> str:
    """Debian's Chromium binary; `make test` installs it (apt package ``chromium``)."""
    for name in CHROMIUM_CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    raise RuntimeError("chromium not found: `make test` installs Debian's chromium package "
                       "(apt-get install chromium)")


def open_page(page, url: str) -> None:
    """Go to ``url``, wait for the UI to settle and dismiss the first-visit dialog when it shows."""
    page.goto(url, wait_until="networkidle", timeout=120_000)
    skip = page.get_by_role("button", name=SKIP_NUX)
    try:
        skip.click(timeout=2_000)
    except Exception:       # shown once per browser profile
        pass


def editor_text(page) -> str:
    """The Launchpad config editor's text (CodeMirror's own model, as the user sees it)."""
    return page.evaluate("document.querySelector('.CodeMirror').CodeMirror.getValue()")


def replace_editor_text(page, text: str) -> None:
    """Select all in the config editor and paste ``text`` (what a person does with a saved config)."""
    page.locator(".CodeMirror").click()
    page.keyboard.press("Control+A")
    page.keyboard.press("Delete")
    page.keyboard.insert_text(text)


def edit_editor_value(page, key: str, value: str) -> None:
    """Put the cursor at the end of the editor line ``<key>: <old>`` and retype the value, as a person does."""
    line = page.locator(".CodeMirror-line").filter(has_text=re.compile(rf"^\s*{re.escape(key)}: ")).first
    old = line.inner_text().split(":", 1)[1].strip()
    line.click()
    page.keyboard.press("End")
    for _ in old:
        page.keyboard.press("Backspace")
    page.keyboard.type(value)


def launch_from_launchpad(page) -> str:
    """Click "Launch Run"; return the run id from the run page it opens."""
    page.get_by_role("button", name="Launch Run").click()
    page.wait_for_url(re.compile(r".*/runs/[0-9a-f-]{36}.*"), timeout=60_000)
    return re.search(r"/runs/([0-9a-f-]{36})", page.url).group(1)


def wait_run(instance, run_id: str, statuses=DONE, timeout_s: float = 600):
    """Poll the instance until the run reaches one of ``statuses`` (names of DagsterRunStatus)."""
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        run = instance.get_run_by_id(run_id)
        if run is not None and run.status.value in statuses:
            return run
        time.sleep(1.0)
    run = instance.get_run_by_id(run_id)
    raise TimeoutError(f"run {run_id} still {run.status.value if run else 'unknown'} after {timeout_s:.0f} s")


def event_messages(instance, run_id: str) -> list[str]:
    return [e.user_message for e in instance.all_logs(run_id)]


def trainer_processes(run_yaml: Path) -> list[psutil.Process]:
    """Every live process (launcher and ranks) whose command line names this run's ``run.yaml``."""
    needle, found = str(run_yaml), []
    for p in psutil.process_iter(["cmdline", "status"]):
        try:
            if p.info["status"] != psutil.STATUS_ZOMBIE and needle in " ".join(p.info["cmdline"] or ()):
                found.append(p)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return found


def screenshot(page, name: str, folder: Path) -> Path:
    """Save ``<folder>/<name>.png``; with ``EGOM2P_UPDATE_SCREENSHOTS=1`` also into docs/images/ (README)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    page.screenshot(path=str(path))
    if os.environ.get("EGOM2P_UPDATE_SCREENSHOTS") == "1":
        docs = Path(__file__).resolve().parents[2] / "docs" / "images"
        docs.mkdir(parents=True, exist_ok=True)
        from PIL import Image       # a small PNG for the docs: 256 colours, 3/4 size
        img = Image.open(path).convert("RGB")
        img = img.resize((img.width * 3 // 4, img.height * 3 // 4), Image.LANCZOS)
        img.quantize(colors=256).save(docs / path.name, optimize=True)
    return path
