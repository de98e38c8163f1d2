"""Browser fixtures: Debian's Chromium (never a downloaded one) against a live server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.live import LiveServer, LoginFn, build_database, live_server, login_with

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@pytest.fixture(scope="module")
def shell_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_database(tmp_path_factory.mktemp("e2e") / "e2e.duckdb")


@pytest.fixture(scope="module")
def server(shell_db: Path) -> Iterator[LiveServer]:
    with live_server(shell_db) as running:
        yield running


@pytest.fixture
def login(server: LiveServer) -> LoginFn:
    """login(session, user, password) with requests, as in the integration tests."""

    def do_login(session: requests.Session, user: str, password: str) -> requests.Response:
        return login_with(server.url, session, user, password)

    return do_login


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """A headless Chromium from /usr/bin/chromium, shared by the tests of a module."""
    if not CHROMIUM.exists():
        pytest.fail("Debian's chromium is not installed (/usr/bin/chromium): run make system-deps")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def artifacts() -> Path:
    """test-artifacts/ (git-ignored): screenshots for people to look at."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
