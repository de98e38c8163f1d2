"""The Store protocol: what VisitLens needs from a database, whichever engine runs it.

Two engines implement it side by side, neither derived from the other:
:class:`pipelines.db.Database` (DuckDB, embedded, the default) and
:class:`pipelines.clickhouse.database.ClickHouseDatabase` (chDB or a ClickHouse server).
Everything above the store — write paths, reports, pages, the command line, the API —
is typed against :class:`Store`, so it cannot use what only one engine offers.
:mod:`pipelines.engines` opens the one a process is configured for.

Statements are written once, in DuckDB's dialect, with bound parameters (``?`` or
``$name``); a value is never formatted into SQL.

The engines differ in one promise, and say so: :attr:`Store.atomic_transactions`.
DuckDB's :meth:`Store.transaction` is all or nothing; ClickHouse has no multi-statement
transactions, so there a failure half-way leaves the statements before it applied
(docs/SCALE.md). Both serialise the writes of one process.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any, Protocol, Self

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

    from pipelines.migrations import Migration

# A statement's parameters: positional (``?``) or named (``$name``).
Params = Sequence[Any] | Mapping[str, Any] | None


class Result(Protocol):
    """The answer of one statement: its rows, once."""

    @property
    def description(self) -> Sequence[tuple[Any, ...]] | None:
        """One tuple per column, its name first (DB-API); None after a statement
        without rows."""

    def fetchone(self) -> tuple[Any, ...] | None: ...

    def fetchall(self) -> list[tuple[Any, ...]]: ...

    def df(self, *, date_as_object: bool = ...) -> pd.DataFrame: ...

    def to_arrow_reader(self, batch_size: int = ..., /) -> pa.RecordBatchReader | None:
        """The rows as Arrow record batches of at most `batch_size` rows."""


class Relation(Protocol):
    """A query's rows read as Arrow (the relational ``sql()``)."""

    def to_arrow_table(self) -> pa.Table: ...

    def to_arrow_reader(self, batch_size: int = ..., /) -> pa.RecordBatchReader | None: ...


class Cursor(Result, Protocol):
    """A thread's handle for running statements one after another, and what a write
    transaction hands to its block: ``cur.execute(...)`` then ``cur.fetchone()`` reads
    that statement's answer, as on a DB-API cursor."""

    def execute(self, query: str, parameters: Params = None, /) -> Result: ...

    def sql(self, query: str, /) -> Relation: ...

    def register(self, view_name: str, python_object: Any, /) -> object:
        """Make an Arrow table (or DataFrame) readable as `view_name` in later statements
        on this cursor (a name we own, never user text)."""

    def unregister(self, view_name: str, /) -> object: ...


class Store(Protocol):
    """One database shared by the threads of one process."""

    @property
    def engine(self) -> str:
        """``duckdb`` or ``clickhouse``."""

    @property
    def path(self) -> str:
        """Where the data lives: the DuckDB file, or the ClickHouse URL."""

    @property
    def atomic_transactions(self) -> bool:
        """Whether :meth:`transaction` is all or nothing (DuckDB: yes; ClickHouse: no,
        each statement applies as it runs)."""

    # -- reading -----------------------------------------------------------------------
    def cursor(self) -> Cursor:
        """This thread's cursor (created on first use)."""

    def execute(self, sql: str, params: Params = None, /) -> Result:
        """Run one statement with bound parameters on this thread's cursor."""

    def df(self, sql: str, params: Params = None, /) -> pd.DataFrame:
        """Run a SELECT; its rows as a DataFrame (dates as ``datetime.date``)."""

    def rows(self, sql: str, params: Params = None, /) -> list[tuple[Any, ...]]: ...

    def records(self, sql: str, params: Params = None, /) -> list[dict[str, Any]]:
        """Rows as dictionaries keyed by column name."""

    def scalar(self, sql: str, params: Params = None, /) -> Any:
        """The first column of the first row (None without rows)."""

    # -- writing -----------------------------------------------------------------------
    def transaction(self) -> AbstractContextManager[Cursor]:
        """Hold this process's writer lock for the block, and hand it a cursor.

        Atomic (all or nothing, rolled back on an exception) exactly when
        :attr:`atomic_transactions` is true; otherwise each statement applies as it runs
        and a failure leaves the ones before it applied.
        """

    # -- schema ------------------------------------------------------------------------
    def schema_version(self) -> int:
        """The last migration applied (0: a database from before versioned migrations,
        or a new one)."""

    def apply_migration(self, migration: Migration) -> None:
        """Apply one migration (its DDL is DuckDB's dialect) and record its version."""

    def checkpoint(self) -> None:
        """Write what is pending to the data files (a no-op where nothing is pending)."""

    def close(self) -> None: ...

    def __enter__(self) -> Self: ...

    def __exit__(self, *exc: object) -> None: ...
