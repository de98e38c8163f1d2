"""The served process's DuckDB (dashboard.app.tune_served_duckdb): a bounded buffer pool and
no more workers than cores, for every request thread's cursor, not just the one that set it.
"""

from __future__ import annotations

import os
import threading

import duckdb

from dashboard.app import DUCKDB_MEMORY_LIMIT, tune_served_duckdb
from pipelines.db import Database

SETTINGS = "SELECT current_setting('memory_limit'), current_setting('threads')"


def test_memory_limit_and_threads_apply_to_every_cursor() -> None:
    reference = duckdb.connect()
    reference.execute(f"SET memory_limit = '{DUCKDB_MEMORY_LIMIT}'")
    expected_limit = reference.execute("SELECT current_setting('memory_limit')").fetchone()
    reference.close()
    db = Database(":memory:")
    try:
        tune_served_duckdb(db)
        seen: list[tuple[object, ...]] = []
        worker = threading.Thread(target=lambda: seen.append(db.rows(SETTINGS)[0]))
        worker.start()  # another request thread, with its own cursor
        worker.join()
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
        assert expected_limit is not None
        assert seen == [(expected_limit[0], cores)]
    finally:
        db.close()


def test_memory_limit_from_the_settings_and_refused_when_malformed() -> None:
    import pytest

    db = Database(":memory:")
    try:
        tune_served_duckdb(db, "512MB")
        assert db.scalar("SELECT current_setting('memory_limit')") in ("488.2 MiB", "512.0 MB")
        with pytest.raises(ValueError, match="VISITLENS_DUCKDB_MEMORY"):
            tune_served_duckdb(db, "1GB'; DROP TABLE x; --")
    finally:
        db.close()
