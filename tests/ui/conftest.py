"""Fixtures of the browser journeys: a built world, ``dagster dev`` serving it, Debian's Chromium.

The helpers (``ui_world``, ``ui_browser``) sit beside this file; pytest imports test modules by path
(``--import-mode=importlib``), so this folder is put on ``sys.path`` for them."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from ui_browser import chromium_path  # noqa: E402
from ui_world import build_world, dagster_dev, instance_of  # noqa: E402


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    return build_world(tmp_path_factory.mktemp("ui"))


@pytest.fixture(scope="module")
def server(world):
    with dagster_dev(world) as url:
        yield url


@pytest.fixture(scope="module")
def instance(world):
    with instance_of(world) as inst:
        yield inst


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium_path(), args=["--no-sandbox"])
        yield b
        b.close()


@pytest.fixture
def page(browser, server):
    context = browser.new_context(viewport={"width": 1280, "height": 800}, base_url=server)
    pg = context.new_page()
    pg.set_default_timeout(60_000)
    yield pg
    context.close()


@pytest.fixture(scope="module")
def shots(tmp_path_factory) -> Path:
    """Where each journey saves its screenshot (copied to docs/images with EGOM2P_UPDATE_SCREENSHOTS=1)."""
    return tmp_path_factory.mktemp("screenshots")
