"""The two stores side by side (pipelines/store.py): neither derives from the other, each
says what its transactions guarantee and keeps it, and a ClickHouse store is migrated to
the schema DuckDB has, recording the same versions."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from pipelines import migrations
from pipelines.clickhouse.database import ClickHouseCursor, ClickHouseDatabase
from pipelines.db import Database
from pipelines.engines import open_store
from pipelines.migrations import Migration
from pipelines.store import Store
from pipelines.upgrade import upgrade
from tests.conftest import NOTES_MIGRATION, chdb_url

pytest.importorskip("chdb")


def test_engines_are_siblings() -> None:
    assert not issubclass(ClickHouseDatabase, Database)
    assert not issubclass(Database, ClickHouseDatabase)
    assert Database.atomic_transactions is True
    assert ClickHouseDatabase.atomic_transactions is False


def _failed_write(store: Store) -> None:
    with pytest.raises(RuntimeError, match="half-way"), store.transaction() as cur:
        cur.execute("INSERT INTO holidays (day, kind, name) VALUES ('2024-05-01', 'off', 'x')")
        raise RuntimeError("half-way")


def test_duckdb_transaction_is_atomic(tmp_path: Path) -> None:
    """atomic_transactions true: a block that fails leaves nothing behind."""
    store = open_store("duckdb", str(tmp_path / "a.duckdb"))
    with store:
        upgrade(store)
        assert store.atomic_transactions
        _failed_write(store)
        assert store.scalar("SELECT count(*) FROM holidays") == 0


def test_clickhouse_store(chdb_folder: Path,
                          add_migration: Callable[[Migration], None]) -> None:
    """atomic_transactions false, and meant: the statement before the failure stays.
    A thread's cursor is its own object (not the store), answering like DuckDB's. The
    migrations give ClickHouse DuckDB's tables and record the same versions; a later
    migration's table and column reach it too."""
    store = open_store("clickhouse", chdb_url(chdb_folder, "protocol"))
    with store:
        assert [m.version for m in upgrade(store)] == [1]
        assert store.schema_version() == migrations.latest()
        assert upgrade(store) == []
        assert not store.atomic_transactions
        _failed_write(store)
        assert store.scalar("SELECT count(*) FROM holidays") == 1

        cur = store.cursor()
        assert isinstance(cur, ClickHouseCursor) and cur is store.cursor()
        cur.execute("SELECT name FROM holidays")
        assert cur.fetchone() == ("x",)

        with Database(":memory:") as duck:
            upgrade(duck)
            duck_tables = {r[0] for r in duck.rows(
                "SELECT table_name FROM duckdb_tables() WHERE NOT temporary")}
            assert duck.rows("SELECT version, name FROM schema_version") == store.rows(
                "SELECT version, name FROM schema_version")
        assert isinstance(store, ClickHouseDatabase)
        click_tables = {r[0] for r in store.execute_native(
            "SELECT name FROM system.tables WHERE database = currentDatabase()").fetchall()}
        assert duck_tables <= click_tables

        add_migration(NOTES_MIGRATION)
        assert [m.version for m in upgrade(store)] == [2]
        assert store.schema_version() == 2
        store.execute("INSERT INTO notes (id, body) VALUES (1, 'n')")
        assert store.rows("SELECT name, note FROM holidays") == [("x", None)]
        assert store.scalar("SELECT body FROM notes") == "n"


@pytest.mark.parametrize("change", ["ALTER TABLE holidays DROP COLUMN name;",
                                    "ALTER TABLE holidays ALTER COLUMN name TYPE INTEGER;"])
def test_a_migration_without_a_derived_clickhouse_form_is_refused(
        change: str, add_migration: Callable[[Migration], None]) -> None:
    """Dropping or retyping a column is not derived for ClickHouse: refused, not skipped."""
    from pipelines.clickhouse.schema import migration_statements

    add_migration(Migration(2, "change", change))
    with pytest.raises(NotImplementedError, match=r"holidays\.name"):
        migration_statements(2)
