"""`make bench-clickhouse`: the report queries on chDB next to DuckDB, on the large demo.

Copies the cached large demo (see tests/perf/bench.py) into chDB, then times every report
of the pages at company, region and team scope on both stores (median of 5 warm runs) and
prints a Markdown table for docs/SCALE.md, with the copy time and the stored sizes.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from tests.perf.bench import CACHE, database


def timed(fn: Callable[[], Any], runs: int = 5) -> float:
    fn()
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        fn()
        times.append((time.perf_counter() - began) * 1000)
    return statistics.median(times)


def main() -> None:
    from dashboard.reports import archive, maps, metrics
    from dashboard.reports.filters import Filters
    from dashboard.scope import operator_scope, resolve_scope
    from pipelines.clickhouse.copy import copy_archive
    from pipelines.clickhouse.database import ClickHouseDatabase
    from pipelines.db import Database
    from pipelines.upgrade import upgrade
    from pipelines.users import get_user

    parser = argparse.ArgumentParser()
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    path = database(args.seed)
    with Database(path) as cached:  # an older cached file gets the current schema
        upgrade(cached)
    folder = CACHE / f"large-{args.seed}.chdb"
    shutil.rmtree(folder, ignore_errors=True)
    duck = Database(path, read_only=True)
    began = time.perf_counter()
    click = ClickHouseDatabase(f"chdb:{folder}")
    copied = copy_archive(duck, click, batch_rows=1_000_000)
    copy_seconds = time.perf_counter() - began

    to = duck.scalar("SELECT max(visit_date) FROM visits")
    month = Filters(date(to.year, to.month, 1), to)
    china = maps.Box(73.0, 18.0, 135.0, 53.5)
    reports: dict[str, Callable[[Any, Any], Any]] = {
        "ranking": lambda db, s: metrics.ranking(db, s, month),
        "detail (first page)": lambda db, s: metrics.detail(db, s, month),
        "KPIs + daily curves": lambda db, s: metrics.kpis(db, s, month),
        "trend (12 months)": lambda db, s: metrics.trend(db, s, month),
        "frequency pie": lambda db, s: metrics.frequency(db, s, month),
        "grades": lambda db, s: metrics.grades(db, s, month),
        "summary by department": lambda db, s: metrics.summary(db, s, month),
        "summary by employee": lambda db, s: metrics.summary(db, s, month, by="employee"),
        "customer list (first page)": lambda db, s: metrics.customer_list(db, s, month),
        "map layer (country)": lambda db, s: maps.layer(db, s, maps.MapSelection(month),
                                                         china, 5),
        "archive list (first page)": lambda db, s: archive.search(db, s,
                                                                   archive.ArchiveFilters()),
    }

    def scopes(db: Any) -> dict[str, Any]:
        found = {"company": operator_scope(db)}
        for label, user in (("region", "supervisor"), ("team", "analyst")):
            found[label] = resolve_scope(db, get_user(db, user))  # type: ignore[arg-type]
        return found

    on_duck, on_click = scopes(duck), scopes(click)
    print(f"Copied the large demo into chDB in {copy_seconds:.0f} s "
          f"({copied['visits']:,} visits).\n")
    print("| report | scope | DuckDB ms | chDB ms |")
    print("| --- | --- | ---: | ---: |")
    for scope in ("company", "region", "team"):
        for name, report in reports.items():
            left = timed(lambda r=report, s=scope: r(duck, on_duck[s]))
            right = timed(lambda r=report, s=scope: r(click, on_click[s]))
            print(f"| {name} | {scope} | {left:.0f} | {right:.0f} |", flush=True)
    print("\n| table | rows | stored (compressed) | uncompressed |")
    print("| --- | ---: | ---: | ---: |")
    for table, rows, packed, raw in click.execute_native(
            "SELECT table, sum(rows), formatReadableSize(sum(data_compressed_bytes)), "
            "formatReadableSize(sum(data_uncompressed_bytes)) FROM system.parts "
            "WHERE active AND database = currentDatabase() GROUP BY table "
            "ORDER BY sum(data_compressed_bytes) DESC LIMIT 6").fetchall():
        print(f"| {table} | {rows:,} | {packed} | {raw} |")
    print(f"\nDuckDB file: {Path(path).stat().st_size / 2**30:.2f} GiB")
    click.close()
    duck.close()


if __name__ == "__main__":
    main()
