"""Integration fixtures: one live server per module on a tiny database, and a login helper."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from pipelines.db import Database
from pipelines.upgrade import upgrade
from tests.conftest import Factory
from tests.datasets import CUSTOMERS, EMPLOYEES
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


@pytest.fixture(scope="module")
def world_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The database of `world`, built once through the import path, then closed."""
    path = tmp_path_factory.mktemp("world") / "world.duckdb"
    with Database(path) as database:
        upgrade(database)
        factory = Factory(database)
        factory.org()
        factory.load("employees", EMPLOYEES)
        factory.load("customers", CUSTOMERS)
        database.checkpoint()
    return path


@pytest.fixture
def world(world_file: Path, tmp_path: Path) -> Iterator[Database]:
    """A fresh copy of: departments HQ/R1/R2/B11/B12/B21, employees E001-E003 (E003
    inactive), customers C001 (located), C002 (no location) and C003 (E001 and E002)."""
    path = tmp_path / "world.duckdb"
    shutil.copyfile(world_file, path)
    with Database(path) as database:
        yield database
