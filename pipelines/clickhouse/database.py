"""The one door to SQL when the store is ClickHouse (``VISITLENS_ENGINE=clickhouse``).

:class:`ClickHouseDatabase` implements :class:`pipelines.store.Store`, beside DuckDB's
:class:`pipelines.db.Database`, so metrics, pages, exports, the command line and the API
run unchanged. Statements arrive in DuckDB's dialect and are
rendered for ClickHouse (:mod:`pipelines.clickhouse.render`); results come back as Arrow
and are normalised to what DuckDB would return (signed counts, naive timestamps), so a
report's numbers and types match on both engines.

Two ways to reach ClickHouse, chosen by the URL:

* ``chdb:PATH[?database=NAME]`` — chDB, ClickHouse's embedded engine, storing its data in
  the folder PATH (tests, CI, a single machine); one folder per process, several archives
  as databases (default ``visitlens``).
* ``http://user:password@host:8123/database`` (or https) — a ClickHouse server or cluster
  over its HTTP interface, parameters sent as ``param_<name>``, results as Arrow.
"""

from __future__ import annotations

import io
import os
import tempfile
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal, cast
from urllib.parse import parse_qs, urlsplit

import duckdb
import pandas as pd
import pyarrow as pa

from pipelines.clickhouse.render import footprint, plan
from pipelines.clickhouse.schema import migration_statements
from pipelines.store import Params

if TYPE_CHECKING:
    from pipelines.migrations import Migration

# Session settings that make ClickHouse answer like DuckDB: outer joins give NULL (not the
# type's default) for missing rows; a column name wins over a SELECT alias of the same
# name (`avg(lon) AS lon` must not change `floor(lon / cell)`); times are the company's
# wall clock, stored naive (UTC); lightweight UPDATE and DELETE make an edit visible to
# the next report without rewriting parts.
SESSION_SETTINGS: dict[str, str] = {
    "join_use_nulls": "1",
    "prefer_column_name_to_alias": "1",
    "session_timezone": "'UTC'",
    "allow_experimental_lightweight_update": "1",
    "mutations_sync": "2",
    "lightweight_deletes_sync": "2",
    "data_type_default_nullable": "0",
}


def _sql_text(text: str) -> str:
    """`text` for inside a ClickHouse string literal (our own temp paths, never user text)."""
    return text.replace("\\", "\\\\").replace("'", "\\'")


def _arrow_type(kind: pa.DataType) -> str:
    """The ClickHouse column type for staging an Arrow column (always Nullable)."""
    if pa.types.is_dictionary(kind):
        kind = kind.value_type
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        inner = "String"
    elif pa.types.is_boolean(kind):
        inner = "Bool"
    elif pa.types.is_integer(kind):
        inner = f"{'U' if pa.types.is_unsigned_integer(kind) else ''}Int{kind.bit_width}"
    elif pa.types.is_floating(kind):
        inner = "Float64"
    elif pa.types.is_date(kind):
        inner = "Date32"
    elif pa.types.is_timestamp(kind):
        inner = "DateTime64(6)"
    elif pa.types.is_null(kind):
        inner = "String"
    else:
        raise ClickHouseError(f"cannot stage an Arrow column of type {kind}")
    return f"Nullable({inner})"


class ClickHouseError(RuntimeError):
    """ClickHouse refused a statement."""


def _normalise(table: pa.Table) -> pa.Table:
    """Unsigned integers as signed, timestamps without a zone: DuckDB's shapes."""
    fields = []
    changed = False
    for field in table.schema:
        kind = field.type
        if pa.types.is_dictionary(kind):  # LowCardinality columns
            kind = kind.value_type
        if pa.types.is_unsigned_integer(kind):
            kind = pa.int64()
        elif pa.types.is_timestamp(kind) and kind.tz is not None:
            kind = pa.timestamp(kind.unit)
        elif pa.types.is_large_string(kind) or pa.types.is_binary(kind):
            kind = pa.string()
        changed |= kind != field.type
        fields.append(pa.field(field.name, kind))
    return table.cast(pa.schema(fields)) if changed else table


class Result:
    """What a DuckDB cursor offers after ``execute``, over an Arrow table."""

    def __init__(self, table: pa.Table | None) -> None:
        self._table = _normalise(table) if table is not None else pa.table({})
        self._rows: list[tuple[Any, ...]] | None = None
        self._next = 0

    @property
    def description(self) -> list[tuple[str, ...]]:
        return [(name,) for name in self._table.column_names]

    def _all(self) -> list[tuple[Any, ...]]:
        if self._rows is None:
            columns = [c.to_pylist() for c in self._table.columns]
            self._rows = list(zip(*columns, strict=True)) if columns else []
        return self._rows

    def fetchall(self) -> list[tuple[Any, ...]]:
        rows = self._all()[self._next:]
        self._next = len(self._all())
        return rows

    def fetchone(self) -> tuple[Any, ...] | None:
        rows = self._all()
        if self._next >= len(rows):
            return None
        self._next += 1
        return rows[self._next - 1]

    def df(self, date_as_object: bool = True) -> pd.DataFrame:
        """A DataFrame shaped like DuckDB's: integers with NULLs as nullable Int64, missing
        dates as NaT."""
        frame = self._table.to_pandas(date_as_object=date_as_object)
        for index, column in enumerate(self._table.columns):
            if not column.null_count:
                continue
            kind = column.type
            if column.null_count == len(column) and pa.types.is_string(kind):
                frame.isetitem(index, pd.Series([None] * len(column), dtype=object))
            elif pa.types.is_integer(kind):
                frame.isetitem(index, pd.array(column.to_pylist(), dtype="Int64"))
            elif pa.types.is_date(kind) and date_as_object:
                frame.isetitem(index, frame.iloc[:, index].where(
                    frame.iloc[:, index].notna(), pd.NaT))
        return frame

    fetchdf = df

    def fetch_arrow_table(self) -> pa.Table:
        return self._table

    to_arrow_table = fetch_arrow_table

    def to_arrow_reader(self, batch_size: int = 50_000, /) -> pa.RecordBatchReader:
        return pa.RecordBatchReader.from_batches(
            self._table.schema, self._table.to_batches(max_chunksize=batch_size))


class _Chdb:
    """chDB in this process: one session, used by one thread at a time.

    chDB runs one embedded server per process, on one folder; several archives share it
    as ClickHouse databases (``chdb:PATH?database=NAME``).
    """

    def __init__(self, path: str, database: str) -> None:
        from chdb import session

        if not database.replace("_", "").isalnum():
            raise ValueError("a ClickHouse database name is letters, digits and _")
        self._session = session.Session(path)
        self._lock = threading.Lock()
        for name, value in SESSION_SETTINGS.items():
            self._session.query(f"SET {name} = {value}")
        self._session.query(f"CREATE DATABASE IF NOT EXISTS {database}")
        self._session.query(f"USE {database}")

    def query(self, sql: str, params: dict[str, str]) -> pa.Table | None:
        with self._lock:
            try:
                result = self._session.query(sql, "ArrowTable", params=params or None)
            except RuntimeError as exc:
                raise ClickHouseError(str(exc)) from exc
        return result if isinstance(result, pa.Table) else None

    def write(self, sql: str, params: dict[str, str]) -> int:
        """Run an INSERT; how many rows it wrote."""
        with self._lock:
            try:
                result = self._session.query(sql, "CSV", params=params or None)
            except RuntimeError as exc:
                raise ClickHouseError(str(exc)) from exc
        return int(result.rows_written())

    def insert_arrow(self, table: str, rows: pa.Table) -> None:
        """Append rows through an Arrow IPC file, as the HTTP backend sends them.

        Not ``Python(table)``: chDB 4.4 range-checks the value under a null date slot, and
        DuckDB leaves whatever was in memory there, so a copy failed now and then with
        "out of allowed Date32 range" (tests/parity/test_arrow_nulls.py).
        """
        handle, path = tempfile.mkstemp(suffix=".arrow")
        try:
            with os.fdopen(handle, "wb") as sink, pa.ipc.new_stream(sink, rows.schema) as writer:
                writer.write_table(rows)
            with self._lock:
                try:
                    source = f"file('{_sql_text(path)}', 'ArrowStream')"
                    self._session.query(f"INSERT INTO {table} SELECT * FROM {source}")
                except RuntimeError as exc:
                    raise ClickHouseError(str(exc)) from exc
        finally:
            os.unlink(path)

    def close(self) -> None:
        self._session.close()


class _Http:
    """A ClickHouse server over HTTP; each call is one stateless request."""

    def __init__(self, url: str) -> None:
        import requests

        parts = urlsplit(url)
        self._endpoint = f"{parts.scheme}://{parts.hostname}:{parts.port or 8123}/"
        self._auth = (parts.username or "default", parts.password or "")
        self._database = parts.path.strip("/") or "default"
        self._http = requests.Session()

    def write(self, sql: str, params: dict[str, str]) -> int:
        """Run an INSERT; how many rows it wrote (from ClickHouse's summary header)."""
        import json

        response = self._request(sql, params, None, answer=False)
        summary = json.loads(response.headers.get("X-ClickHouse-Summary") or "{}")
        return int(summary.get("written_rows", 0))

    def _post(self, sql: str, params: dict[str, str], body: bytes | None = None,
              answer: bool = True) -> bytes:
        content: bytes = self._request(sql, params, body, answer).content
        return content

    def _request(self, sql: str, params: dict[str, str], body: bytes | None,
                 answer: bool) -> Any:
        query = {"database": self._database, **SESSION_SETTINGS,
                 "session_timezone": "UTC", **{f"param_{k}": v for k, v in params.items()}}
        if answer:
            query["default_format"] = "ArrowStream"
        data = body if body is not None else sql.encode()
        if body is not None:
            query["query"] = sql
        response = self._http.post(self._endpoint, params=query, data=data, auth=self._auth,
                                   timeout=300)
        if response.status_code != 200:
            raise ClickHouseError(response.text[:2000])
        return response

    def query(self, sql: str, params: dict[str, str]) -> pa.Table | None:
        content = self._post(sql, params)
        if not content:
            return None
        return pa.ipc.open_stream(io.BytesIO(content)).read_all()

    def insert_arrow(self, table: str, rows: pa.Table) -> None:
        sink = io.BytesIO()
        with pa.ipc.new_stream(sink, rows.schema) as writer:
            writer.write_table(rows)
        self._post(f"INSERT INTO {table} FORMAT ArrowStream", {}, sink.getvalue(),
                   answer=False)

    def close(self) -> None:
        self._http.close()


class ClickHouseCursor:
    """A thread's handle on the ClickHouse store, what :meth:`ClickHouseDatabase.cursor`
    and :meth:`ClickHouseDatabase.transaction` give (a :class:`pipelines.store.Cursor`):
    statements run through the store; the last one's answer is kept, so
    ``cur.execute(...)`` then ``cur.fetchone()`` reads it, as on a DuckDB cursor."""

    def __init__(self, store: ClickHouseDatabase) -> None:
        self._store = store
        self._last: Result | None = None

    def execute(self, query: str, parameters: Params = None, /) -> Result:
        """Run one statement (see :meth:`ClickHouseDatabase.execute`)."""
        self._last = self._store.execute(query, parameters)
        return self._last

    def sql(self, query: str, /) -> Result:
        """DuckDB's relational ``sql()``, as far as VisitLens uses it (to fetch Arrow)."""
        return self.execute(query)

    def _answer(self) -> Result:
        if self._last is None:
            raise ClickHouseError("no statement has run on this cursor")
        return self._last

    @property
    def description(self) -> list[tuple[str, ...]]:
        return self._answer().description

    def fetchone(self) -> tuple[Any, ...] | None:
        return self._answer().fetchone()

    def fetchall(self) -> list[tuple[Any, ...]]:
        return self._answer().fetchall()

    def df(self, *, date_as_object: bool = True) -> pd.DataFrame:
        return self._answer().df(date_as_object=date_as_object)

    def fetch_arrow_table(self) -> pa.Table:
        return self._answer().fetch_arrow_table()

    def to_arrow_reader(self, batch_size: int = 50_000, /) -> pa.RecordBatchReader:
        return self._answer().to_arrow_reader(batch_size)

    def register(self, view_name: str, python_object: Any, /) -> ClickHouseCursor:
        """Stage an Arrow table under `view_name` (a name we own), as DuckDB's register."""
        self._store.stage(view_name, python_object)
        return self

    def unregister(self, view_name: str, /) -> ClickHouseCursor:
        self._store.unstage(view_name)
        return self


class ClickHouseDatabase:
    """The store on ClickHouse: a :class:`pipelines.store.Store`, beside DuckDB's
    :class:`pipelines.db.Database` (no code shared with it). Results are :class:`Result`
    objects that answer like DuckDB cursors.

    Writes are serialised within this process but not atomic: ClickHouse has no
    multi-statement transactions (:attr:`atomic_transactions` is false; docs/SCALE.md).

    Args:
        url: ``chdb:PATH`` for the embedded engine, or an ``http(s)://`` server URL.
    """

    engine: Literal["clickhouse"] = "clickhouse"
    # Store.atomic_transactions: a failed write leaves its earlier statements applied.
    atomic_transactions: Literal[False] = False

    def __init__(self, url: str) -> None:
        self.path = url
        if url.startswith("chdb:"):
            location, _, query = url.removeprefix("chdb:").removeprefix("//").partition("?")
            database = parse_qs(query).get("database", ["visitlens"])[0]
            self._backend: _Chdb | _Http = _Chdb(location, database)
        elif url.startswith(("http://", "https://")):
            self._backend = _Http(url)
        else:
            raise ValueError("a ClickHouse URL starts with chdb: or http(s)://")
        # Orders this process's writes like DuckDB's writer lock would; ClickHouse itself
        # has no multi-statement transactions (see docs/SCALE.md).
        self._write_lock = threading.RLock()
        self._local = threading.local()
        self._scratches: set[str] = set()
        self._scratch_lock = threading.Lock()

    # -- reading -----------------------------------------------------------------------
    def execute(self, sql: str, params: Params = None, /) -> Result:
        """Run one DuckDB statement with bound parameters.

        A statement that reads only staged rows (the import's typing of a file's text,
        say) runs in this thread's in-memory DuckDB, exactly as on DuckDB; one that reads
        the store runs on ClickHouse, rendered (it may become several statements; the last
        one answers). Staged tables move between the two on demand.
        """
        local = self._thread()
        shape = footprint(sql)
        staged = set(local.where)
        store_reads = set(shape.reads - staged - shape.creates)
        if shape.target is not None and shape.target not in staged:
            store_reads.add(shape.target)
        on_duckdb = not store_reads
        needed = (shape.reads | ({shape.target} if shape.target else set())) & staged
        for name in needed:
            self._move(local, name, to_duckdb=on_duckdb)
        answer = self._on_duckdb(local, sql, params) if on_duckdb \
            else self._on_clickhouse(local, sql, params)
        side = "duckdb" if on_duckdb else "clickhouse"
        for name in shape.creates:
            self._forget(local, name, keep=side)
            local.where[name] = {side}
        if shape.target in staged:
            local.where[shape.target] = {side}  # the other copy is stale now
        for name in shape.drops:
            self._forget(local, name, keep=side)
        return answer

    def _on_duckdb(self, local: Any, sql: str, params: Params) -> Result:
        cursor = local.duck.execute(sql, params) if params is not None \
            else local.duck.execute(sql)
        if cursor.description is None:
            return Result(None)
        return Result(cursor.to_arrow_table())

    def _on_clickhouse(self, local: Any, sql: str, params: Params) -> Result:
        found, values = plan(sql, params, local.scratch, frozenset(local.where))
        if found.creates or any(local.scratch in text for text in found.statements):
            self._ensure_scratch(local)
        result = None
        if found.returning is not None:
            drawn = self._backend.query("SELECT toInt64(generateSnowflakeID()) AS id", {})
            assert drawn is not None
            values = {**values, "vl_id": str(drawn.column(0)[0].as_py())}
        written = None
        for text in found.statements:
            used = {k: v for k, v in values.items() if "{" + k + ":" in text.replace(" ", "")}
            if text.lstrip()[:6].upper() == "INSERT":
                written, result = self._backend.write(text, used), None
            else:
                written, result = None, self._backend.query(text, used)
        if written is not None:  # DuckDB answers an INSERT with the rows it wrote
            return Result(pa.table({"Count": [written]}))
        if found.returning is not None:
            return Result(pa.table({found.returning: [int(values["vl_id"])]}))
        return Result(result)

    def _move(self, local: Any, name: str, to_duckdb: bool) -> None:
        """Make the staged table `name` present on the side that will read it."""
        sides = local.where[name]
        if to_duckdb and "duckdb" not in sides:
            rows = self._backend.query(f"SELECT * FROM {local.scratch}.{name}", {})
            staged = _normalise(rows) if rows is not None else pa.table({})
            local.duck.register("vl_incoming", staged)
            local.duck.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS "
                               "SELECT * FROM vl_incoming")
            local.duck.unregister("vl_incoming")
            sides.add("duckdb")
        elif not to_duckdb and "clickhouse" not in sides:
            self._ensure_scratch(local)
            rows = local.duck.execute(f"SELECT * FROM {name}").to_arrow_table()
            columns = ", ".join(f"`{f.name}` {_arrow_type(f.type)}" for f in rows.schema)
            self._backend.query(f"DROP TABLE IF EXISTS {local.scratch}.{name}", {})
            self._backend.query(f"CREATE TABLE {local.scratch}.{name} ({columns}) "
                                "ENGINE = Memory", {})
            if rows.num_rows:
                self._backend.insert_arrow(f"{local.scratch}.{name}", rows)
            sides.add("clickhouse")

    def _forget(self, local: Any, name: str, keep: str) -> None:
        """Drop the copy of `name` on the side other than `keep` (it is stale or gone)."""
        sides = local.where.pop(name, set())
        if "duckdb" in sides and keep != "duckdb":
            local.duck.unregister(name)
            local.duck.execute(f"DROP VIEW IF EXISTS {name}")
            local.duck.execute(f"DROP TABLE IF EXISTS {name}")
        if "clickhouse" in sides and keep != "clickhouse":
            self._backend.query(f"DROP TABLE IF EXISTS {local.scratch}.{name}", {})

    # -- staging (DuckDB's temporary tables and registered Arrow tables) ---------------
    def _thread(self) -> Any:
        local = self._local
        if not hasattr(local, "scratch"):
            local.scratch = f"vl_scratch_{os.getpid()}_{threading.get_ident()}"
            local.where = {}  # staged name -> the sides holding a current copy
            local.ready = False
            local.duck = duckdb.connect(":memory:", config={
                "autoinstall_known_extensions": False, "autoload_known_extensions": False})
            local.duck.execute("SET TimeZone = 'UTC'")
        return local

    def _ensure_scratch(self, local: Any) -> None:
        if not local.ready:
            self._backend.query(f"CREATE DATABASE IF NOT EXISTS {local.scratch}", {})
            with self._scratch_lock:
                self._scratches.add(local.scratch)
            local.ready = True

    def stage(self, name: str, rows: pa.Table) -> None:
        """Stage an Arrow table under `name` (a name we own) for this thread's statements,
        as DuckDB's register does."""
        local = self._thread()
        self.unstage(name)
        local.duck.register(name, rows)
        local.where[name] = {"duckdb"}

    def unstage(self, name: str) -> None:
        """Forget the staged table `name` on both sides."""
        local = self._thread()
        sides = local.where.pop(name, set())
        if "duckdb" in sides:
            local.duck.unregister(name)
        if "clickhouse" in sides:
            self._backend.query(f"DROP TABLE IF EXISTS {local.scratch}.{name}", {})

    def execute_native(self, sql: str, params: dict[str, str] | None = None) -> Result:
        """Run ClickHouse SQL as written (schema statements, engine-specific files)."""
        return Result(self._backend.query(sql, params or {}))

    def cursor(self) -> ClickHouseCursor:
        """This thread's cursor (created on first use)."""
        local = self._thread()
        if not hasattr(local, "cursor"):
            local.cursor = ClickHouseCursor(self)
        return cast(ClickHouseCursor, local.cursor)

    def df(self, sql: str, params: Params = None, /) -> pd.DataFrame:
        """Run a SELECT; its rows as a DataFrame shaped like DuckDB's."""
        return self.execute(sql, params).df(date_as_object=True)

    def rows(self, sql: str, params: Params = None, /) -> list[tuple[Any, ...]]:
        """Run a statement and return all its rows."""
        return self.execute(sql, params).fetchall()

    def records(self, sql: str, params: Params = None, /) -> list[dict[str, Any]]:
        """Rows as dictionaries keyed by column name."""
        result = self.execute(sql, params)
        names = [d[0] for d in result.description]
        return [dict(zip(names, row, strict=True)) for row in result.fetchall()]

    def scalar(self, sql: str, params: Params = None, /) -> Any:
        """The first column of the first row (None without rows)."""
        row = self.execute(sql, params).fetchone()
        return None if row is None else row[0]

    # -- writing -----------------------------------------------------------------------
    def insert_arrow(self, table: str, rows: pa.Table) -> None:
        """Append rows to a table (a name we own, never user text)."""
        if rows.num_rows:
            self._backend.insert_arrow(table, rows)

    @contextmanager
    def transaction(self) -> Iterator[ClickHouseCursor]:
        """Hold this process's writer lock for the block. NOT atomic: each statement
        applies as it runs and nothing is rolled back when the block fails
        (:attr:`atomic_transactions` is false)."""
        with self._write_lock:
            yield self.cursor()

    # -- schema ------------------------------------------------------------------------
    def schema_version(self) -> int:
        """The last migration applied (0: a store from before versioned migrations, or
        a new one)."""
        known = self.execute_native(
            "SELECT count() FROM system.tables WHERE database = currentDatabase() "
            "AND name = 'schema_version'").fetchone()
        if not known or not known[0]:
            return 0
        return int(self.scalar("SELECT coalesce(max(version), 0) FROM schema_version"))

    def apply_migration(self, migration: Migration) -> None:
        """Create the tables, columns and functions the migration adds, as ClickHouse DDL
        derived from DuckDB's catalog (pipelines.clickhouse.schema), and record it. Each
        statement is idempotent, so a migration cut short is completed by the next run."""
        with self._write_lock:
            for statement in migration_statements(migration.version):
                self.execute_native(statement)
            now = datetime.now(UTC).replace(tzinfo=None)
            self.execute("INSERT INTO schema_version (version, name, applied_at) "
                         "VALUES (?, ?, ?)", [migration.version, migration.name, now])

    def checkpoint(self) -> None:
        """Nothing to do: ClickHouse writes parts as it goes."""

    def close(self) -> None:
        for scratch in sorted(self._scratches):
            self._backend.query(f"DROP DATABASE IF EXISTS {scratch}", {})
        self._backend.close()

    def __enter__(self) -> ClickHouseDatabase:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def tables_in(db: ClickHouseDatabase) -> Sequence[str]:
    return [r[0] for r in db.execute_native(
        "SELECT name FROM system.tables WHERE database = currentDatabase()").fetchall()]
