"""The ClickHouse store over HTTP (what a server or cluster deployment uses): parameters
travel as ``param_<name>``, results as Arrow, rows to insert as an Arrow stream, errors as
ClickHouseError — against tests/parity/fake_clickhouse.py (chDB behind ClickHouse's HTTP
protocol; no real server is reachable here)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from dashboard.reports import metrics
from dashboard.reports.filters import Filters
from dashboard.scope import operator_scope
from pipelines.clickhouse.copy import copy_archive
from pipelines.clickhouse.database import ClickHouseDatabase, ClickHouseError
from pipelines.db import Database
from pipelines.generate import build_demo

pytest.importorskip("chdb")


def test_reports_over_http_equal_duckdb(tmp_path: Path, chdb_folder: Path) -> None:
    from tests.parity.fake_clickhouse import fake_clickhouse

    path = tmp_path / "demo.duckdb"
    build_demo(str(path), size="small", seed=9, samples_dir=None, anchor=date(2024, 6, 30))
    with fake_clickhouse(str(chdb_folder)) as (url, seen), Database(path) as duck:
        bootstrap = ClickHouseDatabase(f"chdb:{chdb_folder}?database=over_http")
        bootstrap.close()
        click = ClickHouseDatabase(url.replace("http://", "http://reader:secret@")
                                   + "/over_http")
        copied = copy_archive(duck, click)
        assert copied["visits"] == duck.scalar("SELECT count(*) FROM visits")
        month = Filters(date(2024, 6, 1), date(2024, 6, 30))
        for report in (metrics.ranking, metrics.frequency, metrics.summary, metrics.kpis):
            left = report(duck, operator_scope(duck), month)  # type: ignore[operator]
            right = report(click, operator_scope(click), month)  # type: ignore[operator]
            if isinstance(left, pd.DataFrame):
                pd.testing.assert_frame_equal(left, right, check_dtype=False)
            else:
                assert left == right
        with click.transaction() as cur:  # an INSERT answers with the rows it wrote
            assert cur.execute("INSERT INTO holidays (day, kind, name) VALUES "
                               "(DATE '2031-01-01', 'off', $n)", {"n": "元旦"}).fetchone() == (1,)
        assert click.scalar("SELECT name FROM holidays WHERE day = DATE '2031-01-01'") == "元旦"
        hostile = "x'); DROP TABLE visits; --"
        assert click.scalar("SELECT count(*) FROM customers WHERE name = $n", {"n": hostile}) == 0
        assert click.scalar("SELECT $n", {"n": hostile}) == hostile  # bound, unescaped intact
        assert any("param_n" in r["query"] and "DROP" in r["query"]["param_n"] for r in seen)
        assert not any("DROP" in r["query"].get("query", "") for r in seen)
        assert all(r["auth"] and r["auth"].startswith("Basic ") for r in seen)
        assert all(r["query"]["database"] == "over_http" for r in seen)
        with pytest.raises(ClickHouseError, match=r"UNKNOWN_TABLE|does not exist"):
            click.scalar("SELECT count(*) FROM no_such_table")
        click.close()
