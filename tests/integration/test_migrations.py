"""Numbered migrations: a file made by the version before them (commit 00169c3, whose
schema.sql is kept next to this test as schema_00169c3.sql) upgrades cleanly, by
`visitlens init` and by any command that opens it, to the same schema a new database has,
and keeps its data; its derived tables are rebuilt once (what the probing at each start
used to do)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import pytest

from pipelines import migrations
from pipelines.db import Database
from pipelines.migrations import Migration
from pipelines.upgrade import upgrade
from tests.conftest import NOTES_MIGRATION, Factory
from tests.datasets import build_week

OLD_SCHEMA = Path(__file__).with_name("schema_00169c3.sql")
VISITLENS = str(Path(sys.executable).with_name("visitlens"))

# Derived tables a file from before versioned migrations may lack (the old start-up probes
# filled them when empty): emptied in one variant of the old file.
DERIVED = ("visit_day_summary", "plan_day_summary", "employee_month", "customer_day",
           "customer_month", "customer_membership", "employee_customers")

CATALOG: dict[str, str] = {
    "tables": "SELECT table_name, sql FROM duckdb_tables() WHERE NOT temporary",
    "columns": "SELECT table_name, column_index, column_name, data_type, column_default, "
               "is_nullable FROM duckdb_columns() WHERE NOT internal "
               "AND database_name = current_database()",
    "constraints": "SELECT table_name, constraint_type, constraint_column_names, "
                   "constraint_text FROM duckdb_constraints() "
                   "WHERE database_name = current_database()",
    # A sequence's position is data (how many ids were drawn), not schema.
    "sequences": "SELECT sequence_name, increment_by, min_value, max_value, cycle "
                 "FROM duckdb_sequences() WHERE NOT temporary",
    "macros": "SELECT function_name, function_type, parameters, macro_definition "
              "FROM duckdb_functions() WHERE NOT internal "
              "AND function_type IN ('macro', 'table_macro')",
    "indexes": "SELECT table_name, index_name, sql FROM duckdb_indexes()",
}


def catalog(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Everything a schema defines, read from DuckDB's catalog, in a stable order."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        return {name: sorted(con.execute(sql).fetchall(), key=repr)
                for name, sql in CATALOG.items()}
    finally:
        con.close()


def contents(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table but schema_version."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        tables = [r[0] for r in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE NOT temporary "
            "AND table_name <> 'schema_version' ORDER BY 1").fetchall()]
        return {t: con.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall() for t in tables}
    finally:
        con.close()


@pytest.fixture(scope="module")
def current(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The hand-computed week, loaded by this version (derived tables in step)."""
    path = tmp_path_factory.mktemp("current") / "week.duckdb"
    db = Database(path)
    upgrade(db)
    build_week(Factory(db))
    db.close()
    return path


def old_file(source: Path, target: Path, derived: bool = True) -> Path:
    """A file as the version before migrations left it: its schema.sql run on a new file,
    and the rows of `source` (without its derived rows unless `derived`)."""
    con = duckdb.connect(str(target))
    try:
        con.execute(OLD_SCHEMA.read_text("utf-8"))
        con.execute(f"ATTACH '{source}' AS src (READ_ONLY)")
        tables = [r[0] for r in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() "
            "AND NOT temporary ORDER BY 1").fetchall()]
        assert "schema_version" not in tables and "visits" in tables
        for table in tables:
            if derived or table not in DERIVED:
                con.execute(f"INSERT INTO {table} SELECT * FROM src.main.{table}")
        for name, drawn in con.execute(
                "SELECT sequence_name, last_value FROM duckdb_sequences() "
                "WHERE database_name = 'src' AND last_value IS NOT NULL").fetchall():
            con.execute(f"SELECT max(nextval('{name}')) FROM range(?)", [drawn])
        if not derived:  # and customer_facts without its visit days and search text
            con.execute("UPDATE customer_facts SET first_visit = NULL, last_visit = NULL, "
                        "prev_visit = NULL, search_text = NULL")
        con.execute("DETACH src")
    finally:
        con.close()
    return target


def run(db_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([VISITLENS, "--db", str(db_path), *args], capture_output=True,
                          text=True, timeout=120)


def version_of(path: Path) -> list[tuple[int, str]]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute("SELECT version, name FROM schema_version ORDER BY 1").fetchall()
    finally:
        con.close()


def test_migration_one_is_the_base_schema() -> None:
    """schema.sql is migration 1, and the files after it are numbered without gaps."""
    found = migrations.migrations()
    assert found[0].version == 1 and found[0].name == "base"
    assert "CREATE TABLE IF NOT EXISTS schema_version" in found[0].sql
    assert [m.version for m in found] == list(range(1, len(found) + 1))
    assert migrations.latest() == found[-1].version


@pytest.mark.parametrize("derived", [True, False], ids=["in-step", "derived-missing"])
def test_old_file_upgrades_by_init(current: Path, tmp_path: Path, derived: bool) -> None:
    """`visitlens init` on a file of the previous version: every migration recorded, the
    schema of a new database, the data kept, derived tables (re)built to what this
    version computes."""
    old = old_file(current, tmp_path / "old.duckdb", derived)
    assert contents(old) != contents(current) or derived
    fresh = tmp_path / "fresh.duckdb"
    for path in (old, fresh):
        result = run(path, "init")
        assert result.returncode == 0, result.stderr
    latest = [(m.version, m.name) for m in migrations.migrations()]
    assert version_of(old) == version_of(fresh) == latest
    assert catalog(old) == catalog(fresh)
    assert contents(old) == contents(current)


def test_old_file_upgrades_when_opened(current: Path, tmp_path: Path) -> None:
    """Any command opening the file upgrades it (as the app does at start); a report on
    it then gives the numbers of the file this version wrote."""
    old = old_file(current, tmp_path / "old.duckdb", derived=False)
    args = ("report", "ranking", "--from", "2024-05-06", "--to", "2024-05-12",
            "--format", "json")
    result = run(old, *args)
    assert result.returncode == 0, result.stderr
    assert result.stdout == run(current, *args).stdout
    assert version_of(old) == [(m.version, m.name) for m in migrations.migrations()]
    assert contents(old) == contents(current)


def test_upgrade_applies_only_what_is_missing(current: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy.duckdb"
    shutil.copyfile(current, copy)
    with Database(copy) as db:
        assert db.schema_version() == migrations.latest()
        assert upgrade(db) == []
    assert contents(copy) == contents(current)


def test_a_later_migration_reaches_old_and_new_files_alike(
        current: Path, tmp_path: Path, add_migration: Callable[[Migration], None]) -> None:
    """With a migration 2 (a table and a column), a file of the previous version (0), a
    file at version 1 and a new file all end at version 2 with identical schemas."""
    old = old_file(current, tmp_path / "old.duckdb")
    at_one = tmp_path / "one.duckdb"
    shutil.copyfile(current, at_one)
    fresh = tmp_path / "fresh.duckdb"
    add_migration(NOTES_MIGRATION)
    applied = {}
    for path in (old, at_one, fresh):
        with Database(path) as db:
            applied[path.name] = [m.version for m in upgrade(db)]
            assert db.schema_version() == 2
    assert applied == {"old.duckdb": [1, 2], "one.duckdb": [2], "fresh.duckdb": [1, 2]}
    assert catalog(old) == catalog(at_one) == catalog(fresh)
    columns = {(c[0], c[2]) for c in catalog(fresh)["columns"]}
    assert {("holidays", "note"), ("notes", "id"), ("notes", "body")} <= columns
