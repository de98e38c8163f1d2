"""Shared fixtures: a fresh database file per test, and a tiny factory for its data."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from pipelines.db import Database
from pipelines.imports import ImportResult, run_import
from pipelines.migrations import Migration
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


# A migration 2 for the tests that show how a later migration reaches every store.
NOTES_MIGRATION = Migration(
    2, "notes", "CREATE TABLE IF NOT EXISTS notes (id INTEGER PRIMARY KEY, "
                "body VARCHAR NOT NULL);\n"
                "ALTER TABLE holidays ADD COLUMN IF NOT EXISTS note VARCHAR;")


@pytest.fixture
def add_migration(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[Migration], None]]:
    """Add a migration after the real ones for one test. What is derived from the
    migrations and cached (the ClickHouse schema, the renderer's macros) is forgotten
    before and after, so no other test sees the extra migration."""
    from pipelines import migrations
    from pipelines.clickhouse import render, schema

    real = migrations.migrations()
    caches = (schema.statements, schema.migration_statements, schema.primary_keys,
              schema.table_columns, schema.sorting_keys, render.table_macros)

    def add(migration: Migration) -> None:
        for cached in caches:
            cached.cache_clear()
        patched = (*real, migration)
        monkeypatch.setattr(migrations, "migrations", lambda: patched)
        monkeypatch.setattr("pipelines.upgrade.migrations", lambda: patched)

    yield add
    monkeypatch.undo()
    for cached in caches:
        cached.cache_clear()
