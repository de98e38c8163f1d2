"""Visit plans and routes through real HTTP callbacks change the employee visit summary as
DESIGN.md section 2 says; who may plan is checked on the server.

Week of tests/datasets.build_week (supervisor east, R1: E1, E2 active; 4 workdays):
planned 5, done 3 -> planned per capita 5/8 = 0.63 (0.625), completion 60.0%.
+ plan E1 2024-05-09 [C3, C2]: C3 fulfilled by v4 (E1, C3, 05-09), C2 not
  -> planned 7, done 4: 7/8 = 0.88 (0.875), 4/7 = 57.1%.
edit it to [C3]        -> planned 6, done 4: 6/8 = 0.75, 4/6 = 66.7%.
delete it              -> back to 0.63 and 60.0%.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dashboard.components import ids
from tests.dash_client import DashClient, key
from tests.datasets import build_week
from tests.live import LiveServer, dash_client, database_file, live_server


@pytest.fixture(scope="module")
def db_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("plans") / "week.duckdb"
    database_file(path, build_week)
    return path


@pytest.fixture(scope="module")
def server(db_path: Path) -> Iterator[LiveServer]:
    with live_server(db_path) as running:
        yield running



@pytest.fixture(scope="module")
def east(server: LiveServer) -> DashClient:
    return dash_client(server, "east", "password-1")


@pytest.fixture(scope="module")
def bj(server: LiveServer) -> DashClient:
    return dash_client(server, "bj", "password-3")


def kpis(dash: DashClient) -> str:
    out = dash.outputs(dash.call(ids.VISITS_KPIS, "children", {
        key(ids.filter_department("visits"), "value"): None,
        key(ids.filter_dates("visits"), "start_date"): "2024-05-06",
        key(ids.filter_dates("visits"), "end_date"): "2024-05-12",
        key(ids.filter_employees("visits"), "value"): []}))
    return json.dumps(out[f"{ids.VISITS_KPIS}.children"], ensure_ascii=False)


def save(dash: DashClient, mode: dict[str, Any], button: str = ids.PLAN_SAVE,
         **state: Any) -> dict[str, Any]:
    values = {key(button, "n_clicks"): 1, key(ids.PLAN_MODE, "data"): mode,
              key(ids.filter_employees("plans"), "value"): state.get("employee", "E1"),
              key(ids.PLAN_DATE, "date"): state.get("day"),
              key(ids.PLAN_NAME, "value"): state.get("name"),
              key(ids.PLAN_CUSTOMERS, "value"): state.get("customers", []),
              key(ids.PLAN_FROM_ROUTE, "value"): None,
              key(ids.PLAN_SCHEDULE_START, "date"): state.get("start"),
              key(ids.PLAN_SCHEDULE_UNTIL, "date"): state.get("until"),
              key(ids.PLAN_SCHEDULE_DAYS, "value"): state.get("weekdays", []),
              key(ids.PLAN_CHANGES, "data"): 0}
    return dash.outputs(dash.call(ids.PLAN_MESSAGE, "children", values,
                                  changed=(button, "n_clicks")))


def calendar(dash: DashClient, employee: str = "E1", month: str = "2024-05") -> str:
    out = dash.outputs(dash.call(ids.PLAN_CALENDAR, "children", {
        key(ids.filter_employees("plans"), "value"): employee,
        key(ids.PLAN_MONTH, "data"): month, key(ids.PLAN_CHANGES, "data"): 0}))
    return json.dumps(out[f"{ids.PLAN_CALENDAR}.children"], ensure_ascii=False)


def test_calendar_shows_plans_and_fulfilment(east: DashClient) -> None:
    text = calendar(east)
    assert "周一" in text and "✓ 甲店" in text and "✓ 乙店" in text  # 05-06: both done
    assert "✗ 乙店" in text  # 05-07: C2 planned, E1 visited C1 instead


def test_plan_changes_move_the_planned_curve_and_completion(east: DashClient) -> None:
    assert "0.63" in kpis(east) and "60.0%" in kpis(east)
    created = save(east, {"kind": "plan", "plan_id": None}, day="2024-05-09", name="周四",
                   customers=["C3", "C2"])
    assert "已保存" in json.dumps(created, ensure_ascii=False)
    plan_id = created[f"{ids.PLAN_MODE}.data"]["plan_id"]
    assert "0.88" in kpis(east) and "57.1%" in kpis(east)
    save(east, {"kind": "plan", "plan_id": plan_id}, day="2024-05-09", name="周四",
         customers=["C3"])
    assert "0.75" in kpis(east) and "66.7%" in kpis(east)
    save(east, {"kind": "plan", "plan_id": plan_id}, ids.PLAN_DELETE)
    assert "0.63" in kpis(east) and "60.0%" in kpis(east)


def test_route_weekly_schedule(east: DashClient) -> None:
    made = save(east, {"kind": "route", "route_id": None}, name="东线", customers=["C1", "C2"])
    route_id = made[f"{ids.PLAN_MODE}.data"]["route_id"]
    added = save(east, {"kind": "route", "route_id": route_id}, ids.PLAN_SCHEDULE,
                 name="东线", customers=["C1", "C2"], start="2024-05-13", until="2024-05-20",
                 weekdays=[1])
    assert "已添加 2 个计划" in json.dumps(added, ensure_ascii=False) or \
        "2 plans added" in json.dumps(added, ensure_ascii=False)
    text = calendar(east)
    assert text.count("东线") >= 2


def test_suggested_order(east: DashClient) -> None:
    out = east.outputs(east.call(ids.PLAN_CUSTOMERS, "value", {
        key(ids.PLAN_SUGGEST, "n_clicks"): 1, key(ids.PLAN_CUSTOMERS, "value"): ["C2", "C1"]},
        changed=(ids.PLAN_SUGGEST, "n_clicks")))
    assert out[f"{ids.PLAN_CUSTOMERS}.value"] == ["C2", "C1"]  # the first stays the start
    assert "原路程 14.6 公里" in json.dumps(out[f"{ids.PLAN_DISTANCE}.children"],
                                        ensure_ascii=False)


def test_who_may_plan(east: DashClient, bj: DashClient, db_path: Path) -> None:
    outside = save(east, {"kind": "plan", "plan_id": None}, employee="E4", day="2024-05-09",
                   name="越权", customers=["C1"])
    assert "不能为该员工做计划" in json.dumps(outside, ensure_ascii=False) or \
        "may not plan" in json.dumps(outside, ensure_ascii=False)
    analyst = save(bj, {"kind": "plan", "plan_id": None}, employee="E4", day="2024-05-09",
                   name="只读", customers=["C1"])
    assert f"{ids.PLAN_CHANGES}.data" not in analyst or analyst[
        f"{ids.PLAN_CHANGES}.data"] is None
    assert "E4" not in calendar(east, "E4")  # outside east's scope: a notice, no plans
