"""The DuckDB store: one implementation of :class:`pipelines.store.Store`.

A process opens one :class:`Database`: a single DuckDB connection, a cursor per thread
(DuckDB connections are not safe to share between threads, cursors are), and one writer
lock so that writes from the web threads never interleave. DuckDB itself refuses a second
process that tries to open the same file for writing, which keeps the file safe.

This is the connection layer only: it knows tables exist, not what they mean (the schema
comes from :mod:`pipelines.migrations`, the derived data from :mod:`pipelines.refresh`).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import duckdb
import pandas as pd

from pipelines.store import Params

if TYPE_CHECKING:
    from pipelines.migrations import Migration

# DuckDB must never try the network: icu, json and parquet are built in.
_CONFIG: dict[str, Any] = {
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
}



class DatabaseLockedError(RuntimeError):
    """Another process holds the database file."""


class Database:
    """A DuckDB database file shared by the threads of one process (a :class:`Store`).

    Args:
        path: the database file; its folder is created when missing.
        read_only: open without write access (for tools that only read).
    """

    engine: Literal["duckdb"] = "duckdb"
    # DuckDB transactions are all or nothing (Store.atomic_transactions).
    atomic_transactions: Literal[True] = True

    def __init__(self, path: str | Path, read_only: bool = False) -> None:
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        try:
            self._conn = duckdb.connect(self.path, read_only=read_only, config=_CONFIG)
        except duckdb.IOException as exc:
            if "lock" in str(exc).lower():
                raise DatabaseLockedError(
                    f"The database {self.path} is in use by another VisitLens process "
                    "(only one process may open it). Stop that process first."
                ) from exc
            raise
        self._local = threading.local()
        self._write_lock = threading.RLock()
        self._conn.execute("SET TimeZone = 'UTC'")

    # -- reading -----------------------------------------------------------------------
    def cursor(self) -> duckdb.DuckDBPyConnection:
        """This thread's cursor (created on first use)."""
        cur = getattr(self._local, "cursor", None)
        if cur is None:
            cur = self._conn.cursor()
            cur.execute("SET TimeZone = 'UTC'")
            self._local.cursor = cur
        return cur

    def execute(self, sql: str, params: Params = None) -> duckdb.DuckDBPyConnection:
        """Run one statement with bound parameters on this thread's cursor."""
        cur = self.cursor()
        return cur.execute(sql, params) if params is not None else cur.execute(sql)

    def df(self, sql: str, params: Params = None) -> pd.DataFrame:
        """Run a SELECT and return its rows as a DataFrame."""
        return self.execute(sql, params).df(date_as_object=True)

    def rows(self, sql: str, params: Params = None) -> list[tuple[Any, ...]]:
        """Run a statement and return all its rows."""
        return self.execute(sql, params).fetchall()

    def records(self, sql: str, params: Params = None) -> list[dict[str, Any]]:
        """Rows as dictionaries keyed by column name."""
        cur = self.execute(sql, params)
        names = [d[0] for d in cur.description or []]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]

    def scalar(self, sql: str, params: Params = None) -> Any:
        """The first column of the first row (None without rows)."""
        row = self.execute(sql, params).fetchone()
        return None if row is None else row[0]

    # -- writing -----------------------------------------------------------------------
    @contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """Hold the writer lock and run the block in one transaction: all or nothing."""
        with self._write_lock:
            cur = self.cursor()
            cur.execute("BEGIN TRANSACTION")
            try:
                yield cur
            except BaseException:
                cur.execute("ROLLBACK")
                raise
            cur.execute("COMMIT")

    # -- schema ------------------------------------------------------------------------
    def schema_version(self) -> int:
        """The last migration applied (0: a file from before versioned migrations, or a
        new one)."""
        known = self.scalar("SELECT count(*) FROM duckdb_tables() "
                            "WHERE table_name = 'schema_version' AND NOT temporary "
                            "AND database_name = current_database()")
        if not known:
            return 0
        return int(self.scalar("SELECT coalesce(max(version), 0) FROM schema_version"))

    def apply_migration(self, migration: Migration) -> None:
        """Run the migration's DDL and record it, in one transaction: all or nothing."""
        with self.transaction() as cur:
            cur.execute(migration.sql)
            cur.execute("INSERT INTO schema_version (version, name, applied_at) "
                        "VALUES (?, ?, now()::TIMESTAMP)", [migration.version, migration.name])

    def checkpoint(self) -> None:
        """Write the log into the database file."""
        with self._write_lock:
            self.cursor().execute("CHECKPOINT")

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> Database:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
