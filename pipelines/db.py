"""The one door to the database.

A process opens one :class:`Database`: a single DuckDB connection, a cursor per thread
(DuckDB connections are not safe to share between threads, cursors are), and one writer
lock so that writes from the web threads never interleave. DuckDB itself refuses a second
process that tries to open the same file for writing, which keeps the file safe.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

# DuckDB must never try the network: icu, json and parquet are built in.
_CONFIG: dict[str, Any] = {
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
}

Params = Sequence[Any] | dict[str, Any] | None


class DatabaseLockedError(RuntimeError):
    """Another process holds the database file."""


class Database:
    """A DuckDB database file shared by the threads of one process.

    Args:
        path: the database file; its folder is created when missing.
        read_only: open without write access (for tools that only read).
    """

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
        return self.execute(sql, params).fetchall()

    def records(self, sql: str, params: Params = None) -> list[dict[str, Any]]:
        """Rows as dictionaries keyed by column name."""
        cur = self.execute(sql, params)
        names = [d[0] for d in cur.description or []]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]

    def scalar(self, sql: str, params: Params = None) -> Any:
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

    def init_schema(self) -> None:
        """Create every table that is missing; safe to run on an existing database."""
        sql = resources.files("pipelines").joinpath("schema.sql").read_text("utf-8")
        with self.transaction() as cur:
            cur.execute(sql)
        from pipelines.business_settings import ensure_defaults
        from pipelines.summaries import ensure_built

        ensure_defaults(self)
        ensure_built(self)

    def checkpoint(self) -> None:
        with self._write_lock:
            self.cursor().execute("CHECKPOINT")

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> Database:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
