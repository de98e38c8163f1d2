"""The employee visit summary through real HTTP callbacks: the page's numbers equal the
command line's, forged ids get no data, and the export zip holds the same rows.

Data: the hand-computed week of tests/datasets.build_week (see
tests/unit/test_metrics_employee.py for every expected number).
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
from python_calamine import CalamineWorkbook

from dashboard.components import ids
from tests.dash_client import DashClient, key
from tests.datasets import build_week
from tests.live import LiveServer, dash_client, database_file, live_server

VISITLENS = str(Path(sys.executable).with_name("visitlens"))
PAGE = "visits"
FROM, TO = "2024-05-06", "2024-05-12"
DEPARTMENT = key(ids.filter_department(PAGE), "value")
START = key(ids.filter_dates(PAGE), "start_date")
END = key(ids.filter_dates(PAGE), "end_date")
EMPLOYEES = key(ids.filter_employees(PAGE), "value")


def cli_json(db_path: Path, *args: str) -> list[dict[str, Any]]:
    result = subprocess.run([VISITLENS, "--db", str(db_path), "report", *args, "--format",
                             "json"], capture_output=True, text=True, timeout=120, check=True)
    return json.loads(result.stdout)["rows"]


@pytest.fixture(scope="module")
def week_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("visits") / "week.duckdb"
    database_file(path, build_week)
    return path


@pytest.fixture(scope="module")
def cli_numbers(week_db: Path) -> dict[str, list[dict[str, Any]]]:
    """What `visitlens report` says, computed before the server holds the file."""
    span = ["--from", FROM, "--to", TO]
    return {
        "ranking_east": cli_json(week_db, "ranking", *span, "--as", "east"),
        "detail_east": cli_json(week_db, "detail", *span, "--as", "east"),
        "trend_east": cli_json(week_db, "trend", *span, "--as", "east", "--granularity",
                               "week"),
    }


@pytest.fixture(scope="module")
def server(week_db: Path, cli_numbers: dict[str, Any]) -> Iterator[LiveServer]:
    with live_server(week_db) as running:
        yield running



@pytest.fixture(scope="module")
def east(server: LiveServer) -> DashClient:
    return dash_client(server, "east", "password-1")


@pytest.fixture(scope="module")
def boss(server: LiveServer) -> DashClient:
    return dash_client(server, "boss", "password-2")


def filters(department: str | None = None, employees: list[str] | None = None,
            start: str = FROM, end: str = TO) -> dict[str, Any]:
    return {DEPARTMENT: department, START: start, END: end, EMPLOYEES: employees or []}


def grid_rows(dash: DashClient, grid_id: str, values: dict[str, Any],
              start: int = 0, end: int = 100, sort: list[dict[str, str]] | None = None
              ) -> dict[str, Any]:
    request = {"startRow": start, "endRow": end, "sortModel": sort or [], "filterModel": {}}
    response = dash.call(grid_id, "getRowsResponse", {**values,
                                                     key(grid_id, "getRowsRequest"): request})
    assert response.status_code == 200, response.text
    return response.json()["response"][grid_id]["getRowsResponse"]


def test_ranking_grid_equals_the_command_line(east: DashClient, cli_numbers: Any) -> None:
    block = grid_rows(east, ids.VISITS_RANKING_GRID, {**filters(), key(ids.VISITS_SORT, "value"):
                                                       "visits"})
    assert block["rowCount"] == 3
    fields = ("employee_code", "visits", "valid_visits", "daily_avg", "planned",
              "planned_done", "completion_rate", "customers_visited", "avg_stay_minutes",
              "rank")
    page = [{f: r[f] for f in fields} for r in block["rowData"]]
    cli = [{f: r[f] for f in fields} for r in cli_numbers["ranking_east"]]
    assert page == cli
    assert page[0]["employee_code"] == "E1" and page[0]["avg_stay_minutes"] == 19.99


def test_detail_grid_equals_the_command_line_and_pages(east: DashClient,
                                                       cli_numbers: Any) -> None:
    values = {**filters(), key(ids.VISITS_VALIDITY, "value"): "all",
              key(ids.VISITS_REASON, "value"): None}
    first = grid_rows(east, ids.VISITS_DETAIL_GRID, values, 0, 5)
    rest = grid_rows(east, ids.VISITS_DETAIL_GRID, values, 5, 100)
    assert first["rowCount"] == 9 and len(first["rowData"]) == 5
    page = first["rowData"] + rest["rowData"]
    fields = ("visit_id", "check_in_at", "stay_minutes", "check_in_deviation_m",
              "check_out_deviation_m", "valid")
    assert [{f: r[f] for f in fields} for r in page] == [
        {f: r[f] for f in fields} for r in cli_numbers["detail_east"]]
    far = next(r for r in page if r["visit_id"] == "v5")
    assert far["_ci_far"] is True and far["reasons_label"] == "签到距离过远"


def test_detail_sorting_and_reason_filter(east: DashClient) -> None:
    values = {**filters(), key(ids.VISITS_VALIDITY, "value"): "invalid",
              key(ids.VISITS_REASON, "value"): None}
    by_stay = grid_rows(east, ids.VISITS_DETAIL_GRID, values,
                        sort=[{"colId": "stay_minutes", "sort": "desc"}])
    assert [r["visit_id"] for r in by_stay["rowData"]] == ["v5", "v10", "v11", "v4", "v2",
                                                          "v3"]
    values[key(ids.VISITS_REASON, "value")] = "short_stay"
    assert [r["visit_id"] for r in grid_rows(east, ids.VISITS_DETAIL_GRID,
                                             values)["rowData"]] == ["v2"]


def test_headline_kpis(east: DashClient) -> None:
    response = east.call(ids.VISITS_KPIS, "children", filters())
    out = east.outputs(response)
    text = json.dumps(out[f"{ids.VISITS_KPIS}.children"], ensure_ascii=False)
    for expected in ('"9"', "33.3%", "1.13", "0.63", "60.0%", "0.92"):
        assert expected in text, expected
    figure = out[f"{ids.VISITS_DAILY}.figure"]
    names = [trace["name"] for trace in figure["data"]]
    assert names == ["实际人均日拜访", "计划人均日拜访", "公司平均"]
    assert figure["data"][0]["line"]["color"] == "#2ca02c"


def test_trend_equals_the_command_line(east: DashClient, cli_numbers: Any) -> None:
    response = east.call(ids.VISITS_TREND_CHART, "figure", {
        **filters(), key(ids.VISITS_GRANULARITY, "value"): "week",
        key(ids.VISITS_TABS, "value"): "trend"})
    figure = east.outputs(response)[f"{ids.VISITS_TREND_CHART}.figure"]
    actual = next(t for t in figure["data"] if t["name"] == "实际人均日拜访")
    assert actual["x"] == [r["period"] for r in cli_numbers["trend_east"]]
    cli_actual = [r["actual_per_capita"] for r in cli_numbers["trend_east"]]
    assert [None if v is None else round(v, 2) for v in _values(actual["y"])] == cli_actual


def _values(y: Any) -> list[Any]:
    """Plotly may send arrays as typed-array dicts; decode both forms."""
    if isinstance(y, dict) and "bdata" in y:
        import base64

        import numpy as np

        return list(np.frombuffer(base64.b64decode(y["bdata"]), dtype=y["dtype"]))
    return list(y)


# -- forged requests --------------------------------------------------------------------------
def test_forged_department_gets_no_data(east: DashClient) -> None:
    out = east.outputs(east.call(ids.VISITS_KPIS, "children", filters(department="B21")))
    assert out[f"{ids.VISITS_KPIS}.children"] == []
    assert "超出您的数据范围" in json.dumps(out[f"{ids.VISITS_MESSAGE}.children"],
                                     ensure_ascii=False)
    ranking = grid_rows(east, ids.VISITS_RANKING_GRID, {**filters(department="B21"),
                                                        key(ids.VISITS_SORT, "value"): "visits"})
    assert ranking == {"rowData": [], "rowCount": 0}


def test_forged_employee_gets_no_data(east: DashClient) -> None:
    values = {**filters(employees=["E4"]), key(ids.VISITS_VALIDITY, "value"): "all"}
    assert grid_rows(east, ids.VISITS_DETAIL_GRID, values) == {"rowData": [], "rowCount": 0}
    mixed = {**filters(employees=["E1", "E4"]), key(ids.VISITS_VALIDITY, "value"): "all"}
    assert grid_rows(east, ids.VISITS_DETAIL_GRID, mixed)["rowCount"] == 0


def test_wrong_types_and_sizes_are_refused_quietly(east: DashClient) -> None:
    for bad in (filters(department=["R1"]),  # type: ignore[arg-type]
                {**filters(), EMPLOYEES: "E1"},
                {**filters(), EMPLOYEES: [f"E{i}" for i in range(2000)]},
                {**filters(), START: "not a date"},
                {**filters(), START: {"$gt": 1}}):
        response = east.call(ids.VISITS_KPIS, "children", bad)
        assert response.status_code == 200, response.text
        assert east.outputs(response)[f"{ids.VISITS_KPIS}.children"] == []


def test_forged_export_is_refused(east: DashClient) -> None:
    response = east.call(ids.VISITS_EXPORT_JOB, "data", {
        **filters(department="B21"), key(ids.VISITS_EXPORT_BUTTON, "n_clicks"): 1})
    out = east.outputs(response)
    assert out[f"{ids.VISITS_EXPORT_JOB}.data"] is None
    assert "超出您的数据范围" in json.dumps(out, ensure_ascii=False)


# -- export -----------------------------------------------------------------------------------
def start_and_wait(dash: DashClient, values: dict[str, Any]) -> dict[str, Any]:
    out = dash.outputs(dash.call(ids.VISITS_EXPORT_JOB, "data", {
        **values, key(ids.VISITS_EXPORT_BUTTON, "n_clicks"): 1}))
    job_id = out[f"{ids.VISITS_EXPORT_JOB}.data"]
    assert isinstance(job_id, str)
    for _ in range(100):
        status = dash.outputs(dash.call(ids.VISITS_EXPORT_STATUS, "children", {
            key(ids.VISITS_EXPORT_POLL, "n_intervals"): 1, key(ids.VISITS_EXPORT_JOB, "data"): job_id},
            changed=(ids.VISITS_EXPORT_POLL, "n_intervals")))
        if status.get(f"{ids.VISITS_EXPORT_POLL}.disabled"):
            return {"job": job_id, "status": status}
        time.sleep(0.2)
    raise AssertionError("export did not finish")


def test_export_zip_holds_ranking_and_detail(east: DashClient, server: LiveServer,
                                             boss: DashClient) -> None:
    done = start_and_wait(east, filters())
    link = json.dumps(done["status"], ensure_ascii=False)
    assert f"/download/job/{done['job']}" in link
    zipped = east.session.get(f"{server.url}/download/job/{done['job']}")
    assert zipped.status_code == 200
    archive = zipfile.ZipFile(io.BytesIO(zipped.content))
    assert sorted(archive.namelist()) == ["detail.csv", "detail.xlsx", "ranking.csv",
                                          "ranking.xlsx"]
    detail_csv = archive.read("detail.csv").decode("utf-8-sig").splitlines()
    assert detail_csv[0].startswith("拜访编号,签到时间,签退时间,工号")
    assert len(detail_csv) == 1 + 9
    book = CalamineWorkbook.from_filelike(io.BytesIO(archive.read("ranking.xlsx")))
    rows = book.get_sheet_by_index(0).to_python()
    assert rows[0][0] == "排名" and [r[1] for r in rows[1:]] == ["E1", "E2", "E3"]
    # Another user cannot fetch this job's file.
    assert boss.session.get(f"{server.url}/download/job/{done['job']}").status_code == 404


def test_export_over_31_days_is_refused_before_any_work(east: DashClient) -> None:
    out = east.outputs(east.call(ids.VISITS_EXPORT_JOB, "data", {
        **filters(start="2024-04-01", end="2024-05-12"),
        key(ids.VISITS_EXPORT_BUTTON, "n_clicks"): 1}))
    assert out[f"{ids.VISITS_EXPORT_JOB}.data"] is None
    assert "最多覆盖 31 天" in json.dumps(out, ensure_ascii=False)
