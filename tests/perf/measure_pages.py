"""Time the report pages' callbacks as a user pays for them: real HTTP against a server.

Usage:
    .venv/bin/python -m tests.perf.measure_pages DB_PATH [--runs 10]

DB_PATH is a demo database (`visitlens --db DB_PATH demo --size medium`). The script
starts `visitlens serve` on it, logs in as the demo admin (company scope) and supervisor
(region scope), and prints median / p95 milliseconds and the response size of every
filter-change callback of the employee visit summary, for the last 31 days.
"""

from __future__ import annotations

import argparse
import statistics
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import requests

from dashboard.components import ids
from tests.dash_client import DashClient, key
from tests.live import live_server, login_with

USERS = {"company (admin)": ("admin", "visitlens-admin"),
         "region (supervisor)": ("supervisor", "visitlens-supervisor"),
         "team (analyst)": ("analyst", "visitlens-analyst")}


def visits_calls(start: str, end: str) -> list[tuple[str, Any, str, dict[str, Any], Any]]:
    """(name, output id, output prop, values, changed input) of each visits-page callback."""
    page = "visits"
    base: dict[str, Any] = {key(ids.filter_department(page), "value"): None,
                            key(ids.filter_dates(page), "start_date"): start,
                            key(ids.filter_dates(page), "end_date"): end,
                            key(ids.filter_employees(page), "value"): []}
    block = {"startRow": 0, "endRow": 100, "sortModel": [], "filterModel": {}}
    return [
        ("headline: KPIs + 3 curves", ids.VISITS_KPIS, "children", base, None),
        ("ranking bars", ids.VISITS_RANKING_BARS, "figure",
         {**base, key(ids.VISITS_SORT, "value"): "visits",
          key(ids.VISITS_TABS, "value"): "ranking"}, None),
        ("ranking grid block", ids.VISITS_RANKING_GRID, "getRowsResponse",
         {**base, key(ids.VISITS_SORT, "value"): "visits",
          key(ids.VISITS_RANKING_GRID, "getRowsRequest"): block}, None),
        ("detail grid block", ids.VISITS_DETAIL_GRID, "getRowsResponse",
         {**base, key(ids.VISITS_VALIDITY, "value"): "all",
          key(ids.VISITS_DETAIL_GRID, "getRowsRequest"): block}, None),
        ("detail sorted by stay", ids.VISITS_DETAIL_GRID, "getRowsResponse",
         {**base, key(ids.VISITS_VALIDITY, "value"): "invalid",
          key(ids.VISITS_DETAIL_GRID, "getRowsRequest"):
              {**block, "sortModel": [{"colId": "stay_minutes", "sort": "desc"}]}}, None),
        ("trend (12 months)", ids.VISITS_TREND_CHART, "figure",
         {**base, key(ids.VISITS_GRANULARITY, "value"): "month",
          key(ids.VISITS_TABS, "value"): "trend"}, None),
    ]


def customers_visited_calls(start: str, end: str) -> list[tuple[str, Any, str, dict[str, Any],
                                                                Any]]:
    """The customer visited summary's filter-change callbacks."""
    page = "customers_visited"
    base: dict[str, Any] = {key(ids.filter_department(page), "value"): None,
                            key(ids.filter_dates(page), "start_date"): start,
                            key(ids.filter_dates(page), "end_date"): end,
                            key(ids.CV_BUCKETS, "data"): [], key(ids.CV_BY, "value"): "department"}
    block = {"startRow": 0, "endRow": 100, "sortModel": [], "filterModel": {}}
    return [
        ("cv: pie + grades", ids.CV_PIE, "figure", base, None),
        ("cv: summary totals", ids.CV_SUMMARY_GRID, "dashGridOptions", base, None),
        ("cv: summary rows", ids.CV_SUMMARY_GRID, "getRowsResponse",
         {**base, key(ids.CV_SUMMARY_GRID, "getRowsRequest"): block}, None),
        ("cv: summary by person", ids.CV_SUMMARY_GRID, "getRowsResponse",
         {**base, key(ids.CV_BY, "value"): "employee",
          key(ids.CV_SUMMARY_GRID, "getRowsRequest"): block}, None),
        ("cv: customer list block", ids.CV_LIST_GRID, "getRowsResponse",
         {**base, key(ids.CV_LIST_GRID, "getRowsRequest"): block}, None),
        ("cv: list, one slice", ids.CV_LIST_GRID, "getRowsResponse",
         {**base, key(ids.CV_BUCKETS, "data"): ["0"],
          key(ids.CV_LIST_GRID, "getRowsRequest"): block}, None),
    ]


def map_calls(start: str, end: str) -> list[tuple[str, Any, str, dict[str, Any], Any]]:
    """The map's pan/zoom callback: the whole country, and one city (Shanghai) close up."""
    page = "map"
    base: dict[str, Any] = {key(ids.filter_department(page), "value"): None,
                            key(ids.filter_dates(page), "start_date"): start,
                            key(ids.filter_dates(page), "end_date"): end,
                            key(ids.filter_employees(page), "value"): [],
                            key(ids.MAP_GRADES, "value"): [], key(ids.MAP_BUCKETS, "data"): [],
                            key(ids.MAP_COLOUR, "value"): "recency"}
    return [
        ("map: country (zoom 5)", ids.MAP_POINTS, "data",
         {**base, key(ids.MAP, "bounds"): [[18.0, 73.0], [53.5, 135.0]],
          key(ids.MAP, "zoom"): 5}, (ids.MAP, "bounds")),
        ("map: city (zoom 12)", ids.MAP_POINTS, "data",
         {**base, key(ids.MAP, "bounds"): [[31.15, 121.35], [31.30, 121.60]],
          key(ids.MAP, "zoom"): 12}, (ids.MAP, "bounds")),
    ]


def archive_calls() -> list[tuple[str, Any, str, dict[str, Any], Any]]:
    """The customer archive: list block, quick searches, a filter, one record."""
    base: dict[str, Any] = {key(ids.CUST_SEARCH, "value"): "", key(ids.CUST_GRADES, "value"): [],
                            key(ids.CUST_DEPARTMENT, "value"): None,
                            key(ids.filter_employees("customers"), "value"): None,
                            key(ids.CUST_FLAGS, "value"): []}
    block = {"startRow": 0, "endRow": 100, "sortModel": [], "filterModel": {}}

    def listing(name: str, **changes: Any) -> tuple[str, Any, str, dict[str, Any], Any]:
        return (name, ids.CUST_GRID, "getRowsResponse",
                {**base, **{key(k, "value"): v for k, v in changes.items()},
                 key(ids.CUST_GRID, "getRowsRequest"): block}, None)

    return [
        listing("archive: list block"),
        listing("archive: search name", **{ids.CUST_SEARCH: "超市"}),
        listing("archive: search phone", **{ids.CUST_SEARCH: "1380013"}),
        listing("archive: no owner", **{ids.CUST_FLAGS: ["no_owner"]}),
        ("archive: record", ids.CUST_RECORD, "children",
         {key(ids.CUST_CODE, "data"): "C0000035"}, None),
    ]


def measure(db_path: Path, runs: int) -> list[tuple[str, str, float, float, int]]:
    end = date.today()
    start = end - timedelta(days=30)
    results = []
    with live_server(db_path) as server:
        for scope_name, (user, password) in USERS.items():
            session = requests.Session()
            login_with(server.url, session, user, password)
            dash = DashClient(session, server.url)
            calls = (visits_calls(start.isoformat(), end.isoformat())
                     + customers_visited_calls(start.isoformat(), end.isoformat())
                     + map_calls(start.isoformat(), end.isoformat()) + archive_calls())
            for name, output_id, prop, values, changed in calls:
                times, size = [], 0
                for _ in range(runs + 1):
                    began = time.perf_counter()
                    response = dash.call(output_id, prop, values, changed)
                    elapsed = (time.perf_counter() - began) * 1000
                    response.raise_for_status()
                    size = len(response.content)
                    times.append(elapsed)
                warm = times[1:]
                p95 = sorted(warm)[max(0, round(0.95 * len(warm)) - 1)]
                results.append((scope_name, name, statistics.median(warm), p95, size))
    return results


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("db", type=Path)
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    rows = measure(args.db, args.runs)
    print(f"{'scope':<22}{'callback':<28}{'median ms':>10}{'p95 ms':>10}{'bytes':>10}")
    for scope_name, name, median, p95, size in rows:
        print(f"{scope_name:<22}{name:<28}{median:>10.0f}{p95:>10.0f}{size:>10,}")


if __name__ == "__main__":
    main()
