"""Named, parameterised queries: dashboard/reports/queries/NAME.sql, one SELECT per file.

The read side reaches SQL only through :func:`query`; no SQL is ever built from user text.
Only `dashboard.reports` imports this module (an import-linter contract): everything else
asks a report function.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pandas as pd

from pipelines.store import Params, Store

_NAME = re.compile(r"[a-z][a-z0-9_]*")


@cache
def load_sql(name: str) -> str:
    """The text of queries/NAME.sql (read once per process; files do not change).

    Looked up in each directory of the package (a report added on the import path brings
    its queries/ along, see dashboard/reports/__init__.py)."""
    if not _NAME.fullmatch(name):
        raise ValueError(f"not a query name: {name!r}")
    from dashboard import reports

    for folder in reports.__path__:
        path = Path(folder) / "queries" / f"{name}.sql"
        if path.is_file():
            return path.read_text("utf-8")
    raise FileNotFoundError(f"no query {name}.sql in {list(reports.__path__)}")


def query(db: Store, name: str, params: Params = None) -> pd.DataFrame:
    """Run queries/NAME.sql with bound parameters."""
    return db.df(load_sql(name), params)


def query_records(db: Store, name: str, params: Params = None) -> list[dict[str, Any]]:
    return db.records(load_sql(name), params)


def query_batches(
    db: Store, name: str, params: Params = None, batch_rows: int = 50_000
) -> Iterator[pd.DataFrame]:
    """Run queries/NAME.sql and yield its rows in DataFrames of at most `batch_rows`."""
    reader: Any = db.execute(load_sql(name), params).to_arrow_reader(batch_rows)
    for batch in reader:
        yield batch.to_pandas()
