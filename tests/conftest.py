"""Shared fixtures: a fresh database file per test, and a tiny factory for its data."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from pipelines.db import Database
from pipelines.imports import ImportResult, run_import
from pipelines.upgrade import upgrade


class Factory:
    """Load small CSV texts through the real import path (so tests exercise it too)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def load(self, kind: str, csv_text: str, *, expect_ok: bool = True) -> ImportResult:
        result = run_import(self.db, kind, csv_text.encode("utf-8"), f"{kind}.csv", "tests")
        if expect_ok and not result.ok:
            raise AssertionError(f"{kind} import failed: {result.as_json()['problems']}")
        return result

    def org(self) -> None:
        """HQ -> regions R1, R2 -> branches B11, B12 (R1) and B21 (R2)."""
        self.load("departments", "code,name,parent_code\nHQ,总部,\nR1,华东大区,HQ\n"
                  "R2,华北大区,HQ\nB11,上海分公司,R1\nB12,杭州分公司,R1\nB21,北京分公司,R2\n")


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database(tmp_path / "test.duckdb")
    upgrade(database)
    yield database
    database.close()


@pytest.fixture
def factory(db: Database) -> Factory:
    return Factory(db)


@pytest.fixture(scope="session")
def chdb_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The one folder chDB may use in this test process (it runs one embedded server per
    process, on one folder): each test keeps its archive in its own database there."""
    return tmp_path_factory.mktemp("chdb")


def chdb_url(folder: Path, database: str) -> str:
    return f"chdb:{folder}?database={database}"
