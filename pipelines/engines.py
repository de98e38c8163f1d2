"""Which store a process opens: DuckDB (default, embedded) or ClickHouse.

``VISITLENS_ENGINE=duckdb`` opens the DuckDB file; ``clickhouse`` opens
``VISITLENS_CLICKHOUSE_URL`` (``chdb:PATH`` or ``http(s)://user:pw@host:8123/db``). Both
implement :class:`pipelines.store.Store`, so nothing above the store changes.
"""

from __future__ import annotations

from pipelines.db import Database
from pipelines.store import Store

ENGINES: tuple[str, ...] = ("duckdb", "clickhouse")


def open_store(engine: str, location: str, read_only: bool = False) -> Store:
    """Open the store.

    Args:
        engine: ``duckdb`` or ``clickhouse``.
        location: the DuckDB file, or the ClickHouse URL.
        read_only: DuckDB only: open without write access.
    """
    if engine == "duckdb":
        return Database(location, read_only=read_only)
    if engine == "clickhouse":
        # Imported here: a DuckDB process never loads the SQL renderer (sqlglot).
        from pipelines.clickhouse.database import ClickHouseDatabase

        return ClickHouseDatabase(location)
    raise ValueError(f"unknown engine {engine!r}: choose one of {', '.join(ENGINES)}")
