"""Copying into ClickHouse must not read what lies under a null.

Arrow leaves the value slot of a null undefined, and DuckDB fills it with whatever was in
memory. chDB's ``Python()`` table function range-checked those slots for dates, so a
fresh-clone CI run failed copying ``customer_facts.prev_visit`` ("869437944 is out of
allowed Date32 range"). Here the slots are poisoned on purpose.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from pipelines.clickhouse.database import ClickHouseDatabase
from tests.conftest import chdb_url

pytest.importorskip("chdb")

GARBAGE = 869_437_944  # the value CI met; far outside any date or timestamp range


def _poisoned(values: list[object], kind: pa.DataType, width: type) -> pa.Array:
    """`values` as an Arrow array whose null slots hold GARBAGE instead of zero."""
    clean = pa.array(values, type=kind)
    validity, data = clean.buffers()[0], clean.buffers()[1]
    assert validity is not None and data is not None
    raw = np.frombuffer(data, dtype=width).copy()
    raw[[i for i, v in enumerate(values) if v is None]] = GARBAGE
    return pa.Array.from_buffers(kind, len(values), [validity, pa.py_buffer(raw.tobytes())],
                                 null_count=clean.null_count)


def test_null_slots_with_garbage_copy_as_nulls(chdb_folder: Path) -> None:
    db = ClickHouseDatabase(chdb_url(chdb_folder, "arrow_nulls"))
    db.execute_native("CREATE TABLE IF NOT EXISTS t (id Int32, day Nullable(Date32), "
                      "at Nullable(DateTime64(6)), n Nullable(Int32), name Nullable(String)) "
                      "ENGINE = MergeTree ORDER BY id")
    days = [None, date(2026, 1, 2), None, date(1990, 5, 1)]
    times = [datetime(2026, 1, 2, 8, 30), None, None, datetime(2026, 3, 4, 17, 0, 5)]
    rows = pa.table({
        "id": pa.array([1, 2, 3, 4], type=pa.int32()),
        "day": _poisoned(days, pa.date32(), np.int32),
        "at": _poisoned(times, pa.timestamp("us"), np.int64),
        "n": _poisoned([None, 7, None, -1], pa.int32(), np.int32),
        "name": pa.array(["甲", None, "O'Brien", None]),
    })
    assert rows.column("day").chunk(0).buffers()[1] is not None

    db.insert_arrow("t", rows)

    got = db.execute_native("SELECT id, day, at, n, name FROM t ORDER BY id").fetchall()
    assert got == [(1, None, datetime(2026, 1, 2, 8, 30), None, "甲"),
                   (2, date(2026, 1, 2), None, 7, None),
                   (3, None, None, None, "O'Brien"),
                   (4, date(1990, 5, 1), datetime(2026, 3, 4, 17, 0, 5), -1, None)]
    db.close()
