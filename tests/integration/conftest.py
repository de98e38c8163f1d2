"""Integration fixtures: one live server per module on a tiny database, and a login helper."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.live import LiveServer, LoginFn, build_database, live_server, login_with


@pytest.fixture(scope="module")
def shell_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny database (org, employees, customers, tests.live.USERS), closed again."""
    return build_database(tmp_path_factory.mktemp("live") / "live.duckdb")


@pytest.fixture(scope="module")
def server(shell_db: Path) -> Iterator[LiveServer]:
    """`visitlens serve` running on shell_db for the tests of one module."""
    with live_server(shell_db) as running:
        yield running


@pytest.fixture
def login(server: LiveServer) -> LoginFn:
    """login(session, user, password): fetch /login, post it with its CSRF token."""

    def do_login(session: requests.Session, user: str, password: str) -> requests.Response:
        return login_with(server.url, session, user, password)

    return do_login
