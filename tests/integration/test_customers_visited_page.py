"""The customer visited summary through real HTTP callbacks: the page's numbers equal the
command line's, slices narrow the page, forged ids get nothing.

Data: tests/datasets.build_customers (see tests/unit/test_metrics_customer.py).
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dashboard.components import ids
from tests.dash_client import DashClient, key
from tests.datasets import build_customers
from tests.live import LiveServer, dash_client, database_file, live_server

VISITLENS = str(Path(sys.executable).with_name("visitlens"))
PAGE = "customers_visited"
FROM, TO = "2024-05-06", "2024-05-12"


def cli_json(db_path: Path, *args: str) -> list[dict[str, Any]]:
    result = subprocess.run([VISITLENS, "--db", str(db_path), "report", *args, "--from", FROM,
                             "--to", TO, "--format", "json"], capture_output=True, text=True,
                            timeout=120, check=True)
    return json.loads(result.stdout)["rows"]


@pytest.fixture(scope="module")
def db_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cv") / "customers.duckdb"
    database_file(path, build_customers)
    return path


@pytest.fixture(scope="module")
def cli(db_path: Path) -> dict[str, list[dict[str, Any]]]:
    return {
        "frequency": cli_json(db_path, "frequency", "--as", "boss"),
        "grades": cli_json(db_path, "grades", "--as", "boss"),
        "summary_department": cli_json(db_path, "summary", "--as", "boss"),
        "summary_employee": cli_json(db_path, "summary", "--as", "east", "--by", "employee"),
    }


@pytest.fixture(scope="module")
def server(db_path: Path, cli: Any) -> Iterator[LiveServer]:
    with live_server(db_path) as running:
        yield running



@pytest.fixture(scope="module")
def boss(server: LiveServer) -> DashClient:
    return dash_client(server, "boss", "password-1")


@pytest.fixture(scope="module")
def east(server: LiveServer) -> DashClient:
    return dash_client(server, "east", "password-2")


@pytest.fixture(scope="module")
def bj(server: LiveServer) -> DashClient:
    return dash_client(server, "bj", "password-3")


def values(department: str | None = None, buckets: list[str] | None = None,
           by: str = "department") -> dict[str, Any]:
    return {key(ids.filter_department(PAGE), "value"): department,
            key(ids.filter_dates(PAGE), "start_date"): FROM,
            key(ids.filter_dates(PAGE), "end_date"): TO,
            key(ids.CV_BUCKETS, "data"): buckets or [], key(ids.CV_BY, "value"): by}


def charts(dash: DashClient, **kwargs: Any) -> dict[str, Any]:
    return dash.outputs(dash.call(ids.CV_PIE, "figure", values(**kwargs)))


def block(dash: DashClient, grid_id: str, vals: dict[str, Any],
          sort: list[dict[str, str]] | None = None) -> dict[str, Any]:
    request = {"startRow": 0, "endRow": 100, "sortModel": sort or [], "filterModel": {}}
    response = dash.call(grid_id, "getRowsResponse",
                         {**vals, key(grid_id, "getRowsRequest"): request})
    assert response.status_code == 200, response.text
    return response.json()["response"][grid_id]["getRowsResponse"]


def test_pie_and_grades_equal_the_command_line(boss: DashClient, cli: Any) -> None:
    out = charts(boss)
    pie = out[f"{ids.CV_PIE}.figure"]["data"][0]
    assert pie["labels"] == [r["bucket"] for r in cli["frequency"]]
    assert pie["values"] == [r["customers"] for r in cli["frequency"]]
    bars = out[f"{ids.CV_GRADES}.figure"]["data"][0]
    assert bars["x"] == ["A", "B", "C", "D", "未分级"]
    assert bars["y"] == [r["avg_visits"] for r in cli["grades"]]
    assert [c[0] for c in bars["customdata"]] == [r["customers"] for r in cli["grades"]]


def _summary(dash: DashClient, vals: dict[str, Any]) -> tuple[list[dict[str, Any]],
                                                             list[dict[str, Any]]]:
    totals = dash.outputs(dash.call(ids.CV_SUMMARY_GRID, "dashGridOptions", vals))
    pinned = totals[f"{ids.CV_SUMMARY_GRID}.dashGridOptions"]["pinnedTopRowData"]
    return pinned, block(dash, ids.CV_SUMMARY_GRID, vals)["rowData"]


def _cli_cell(rows: list[dict[str, Any]], row_type: str, code: str, grade: Any,
              field: str) -> Any:
    return next(r[field] for r in rows if r["row_type"] == row_type and r["code"] == code
                and r["grade"] == grade)


def test_summary_equals_the_command_line(boss: DashClient, east: DashClient, cli: Any) -> None:
    pinned, rows = _summary(boss, values())
    assert [r["code"] for r in rows] == ["R1", "R2"]
    cli_rows = cli["summary_department"]
    for grade, g in (("A", "A"), ("*", "all"), (None, "unrated")):
        for field in ("customers", "visited_customers", "visits", "avg_visits"):
            assert pinned[0][f"{g}_{field}"] == _cli_cell(cli_rows, "total", "", grade, field)
            assert rows[0][f"{g}_{field}"] == _cli_cell(cli_rows, "department", "R1", grade,
                                                        field)
    assert pinned[0]["all_customers"] == 9  # the population, not 6 + 3
    pinned, rows = _summary(east, values(by="employee"))
    assert [r["code"] for r in rows] == ["E1", "E2"]
    assert pinned[0]["all_customers"] == 6 and rows[1]["all_customers"] == 4
    assert rows[1]["all_visits"] == _cli_cell(cli["summary_employee"], "employee", "E2", "*",
                                              "visits")


def test_slices_narrow_charts_table_and_list(boss: DashClient) -> None:
    narrowed = values(buckets=["6-10"])
    out = charts(boss, buckets=["6-10"])
    assert "期间拜访次数：6-10" in json.dumps(out[f"{ids.CV_CHIPS}.children"],
                                         ensure_ascii=False)
    assert out[f"{ids.CV_PIE}.figure"]["data"][0]["pull"] == [0, 0, 0, 0, 0.12, 0]
    pinned, _rows = _summary(boss, narrowed)
    assert pinned[0]["all_customers"] == 2 and pinned[0]["all_visits"] == 16
    listed = block(boss, ids.CV_LIST_GRID, narrowed)
    assert listed["rowCount"] == 2
    assert sorted(r["customer_code"] for r in listed["rowData"]) == ["K10", "K6"]
    toggled = boss.outputs(boss.call(ids.CV_BUCKETS, "data", {
        key(ids.CV_PIE, "clickData"): {"points": [{"label": "0"}]},
        key(ids.CV_BUCKETS, "data"): ["6-10"]}, changed=(ids.CV_PIE, "clickData")))
    assert toggled[f"{ids.CV_BUCKETS}.data"] == ["0", "6-10"]
    cleared = boss.outputs(boss.call(ids.CV_BUCKETS, "data", {
        key(ids.CV_CLEAR, "n_clicks"): 1, key(ids.CV_BUCKETS, "data"): ["0", "6-10"]},
        changed=(ids.CV_CLEAR, "n_clicks")))
    assert cleared[f"{ids.CV_BUCKETS}.data"] == []


def test_list_is_neglected_first_and_sortable(boss: DashClient) -> None:
    listed = block(boss, ids.CV_LIST_GRID, values())
    assert listed["rowCount"] == 9
    assert [r["customer_code"] for r in listed["rowData"][:2]] == ["KU", "K0"]
    assert listed["rowData"][1]["days_since"] == 12
    by_visits = block(boss, ids.CV_LIST_GRID, values(),
                      sort=[{"colId": "visits", "sort": "desc"}])
    assert [r["customer_code"] for r in by_visits["rowData"][:2]] == ["K11", "K10"]


def test_forged_department_gets_nothing(bj: DashClient) -> None:
    out = charts(bj, department="R1")
    assert out[f"{ids.CV_PIE}.figure"]["data"] == []
    assert "超出您的数据范围" in json.dumps(out[f"{ids.CV_MESSAGE}.children"],
                                     ensure_ascii=False)
    assert block(bj, ids.CV_LIST_GRID, values(department="R1")) == {"rowData": [],
                                                                    "rowCount": 0}
    assert block(bj, ids.CV_SUMMARY_GRID, values(department="R1")) == {"rowData": [],
                                                                       "rowCount": 0}
    pinned, _rows = _summary(bj, values(department="R1"))
    assert pinned == []
    export = bj.outputs(bj.call(ids.CV_EXPORT_JOB, "data", {
        **values(department="R1"), key(ids.CV_EXPORT_BUTTON, "n_clicks"): 1}))
    assert export[f"{ids.CV_EXPORT_JOB}.data"] is None
    # bj's own scope is B21: K6, K10, K11.
    assert block(bj, ids.CV_LIST_GRID, values())["rowCount"] == 3


def test_export_zip(boss: DashClient, server: LiveServer) -> None:
    out = boss.outputs(boss.call(ids.CV_EXPORT_JOB, "data", {
        **values(buckets=["0"]), key(ids.CV_EXPORT_BUTTON, "n_clicks"): 1}))
    job = out[f"{ids.CV_EXPORT_JOB}.data"]
    for _ in range(100):
        status = boss.outputs(boss.call(ids.CV_EXPORT_STATUS, "children", {
            key(ids.CV_EXPORT_POLL, "n_intervals"): 1, key(ids.CV_EXPORT_JOB, "data"): job},
            changed=(ids.CV_EXPORT_POLL, "n_intervals")))
        if status.get(f"{ids.CV_EXPORT_POLL}.disabled"):
            break
        time.sleep(0.2)
    archive = zipfile.ZipFile(io.BytesIO(
        boss.session.get(f"{server.url}/download/job/{job}").content))
    assert sorted(archive.namelist()) == ["customers.csv", "customers.xlsx", "summary.csv",
                                          "summary.xlsx"]
    customers = archive.read("customers.csv").decode("utf-8-sig").splitlines()
    assert customers[0].startswith("客户编码,客户,等级") and len(customers) == 3  # K0, KU
    summary = archive.read("summary.csv").decode("utf-8-sig").splitlines()
    assert summary[1].startswith("合计,,,A,1,0,0,0.0")


def test_map_link_keeps_the_selection(boss: DashClient) -> None:
    out = boss.outputs(boss.call(ids.query_store(PAGE), "data", {
        key(ids.filter_department(PAGE), "value"): "R1",
        key(ids.filter_preset(PAGE), "value"): "custom",
        key(ids.filter_dates(PAGE), "start_date"): FROM,
        key(ids.filter_dates(PAGE), "end_date"): TO,
        key(ids.CV_BY, "value"): "employee", key(ids.CV_BUCKETS, "data"): ["0", "6-10"]}))
    assert out[f"{ids.CV_MAP_LINK}.href"] == (
        "/map?department=R1&from=2024-05-06&to=2024-05-12&buckets=0%2C6-10&colour=recency")
