"""Move a VisitLens archive from DuckDB to ClickHouse, table by table, in Arrow batches.

This is how an enterprise that outgrows one machine moves: ``visitlens clickhouse copy``
reads every table of the DuckDB file and appends it to the ClickHouse store. It is also
how the parity tests load the same dataset into both engines.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pyarrow as pa

from pipelines.clickhouse.database import ClickHouseDatabase
from pipelines.store import Store

Progress = Callable[[str, int], None]


def copy_archive(source: Store, target: ClickHouseDatabase,
                 progress: Progress | None = None, batch_rows: int = 500_000) -> dict[str, int]:
    """Copy every table of `source` into the (empty) ClickHouse `target`.

    Returns:
        Rows copied per table.
    """
    from pipelines.clickhouse.schema import statements

    for statement in statements():  # tables only: the settings come from the source
        target.execute_native(statement)
    wanted = {r[0] for r in target.execute_native(
        "SELECT name FROM system.tables WHERE database = currentDatabase()").fetchall()}
    tables = [r[0] for r in source.rows(
        "SELECT table_name FROM duckdb_tables() WHERE NOT temporary ORDER BY table_name")]
    copied: dict[str, int] = {}
    for table in tables:
        if table not in wanted:
            continue
        if target.execute_native(f"SELECT count() FROM {table}").fetchone() != (0,):
            raise RuntimeError(f"the ClickHouse table {table} is not empty")
        count = 0
        reader: Any = source.cursor().sql(f"SELECT * FROM {table}").to_arrow_reader(batch_rows)
        for batch in reader:
            if batch.num_rows:
                target.insert_arrow(table, pa.Table.from_batches([batch]))
                count += batch.num_rows
                if progress:
                    progress(table, count)
        copied[table] = count
    return copied
