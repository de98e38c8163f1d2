"""Settings that change report numbers, edited by an admin through real HTTP callbacks.

Week of tests/datasets.build_week, supervisor east (R1):
- min stay 10 -> 9.5: v2 (9 min 59 s) becomes valid, so E1 has 2 valid visits, not 1.
- holiday 2024-05-10 (Fri) off: workdays 4 -> 3, so E1's daily average is 4/3 = 1.33.
- a supervisor forging the same callbacks changes nothing and is in the audit log.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from dashboard.components import ids
from dashboard.components import ids as sp
from pipelines import business_settings
from pipelines.db import Database
from tests.dash_client import DashClient, key
from tests.datasets import build_week
from tests.live import dash_client, database_file, live_server

FILTERS = {key(ids.filter_department("visits"), "value"): None,
           key(ids.filter_dates("visits"), "start_date"): "2024-05-06",
           key(ids.filter_dates("visits"), "end_date"): "2024-05-12",
           key(ids.filter_employees("visits"), "value"): [],
           key(ids.VISITS_SORT, "value"): "visits"}
RULES = {key(sp.MIN_STAY, "value"): 9.5, key(sp.LIMIT_NET, "value"): 1000,
         key(sp.LIMIT_CELL, "value"): 1000, key(sp.LIMIT_GPS, "value"): 500,
         key(sp.WORKDAYS, "value"): [1, 2, 3, 4, 5], key(sp.GRADES, "value"): "A, B, C, D",
         key(sp.EXPORT_DAYS, "value"): 31, key(sp.TIMEZONE, "value"): "Asia/Shanghai",
         key(sp.SESSION_IDLE, "value"): 120, key(sp.API_BACKDATE, "value"): 7,
         key(sp.SAVE, "n_clicks"): 1}


@pytest.fixture
def week_db(tmp_path: Path) -> Path:
    path = tmp_path / "week.duckdb"
    database_file(path, build_week)
    return path


def e1(dash: DashClient) -> dict[str, Any]:
    request = {"startRow": 0, "endRow": 100, "sortModel": [], "filterModel": {}}
    response = dash.call(ids.VISITS_RANKING_GRID, "getRowsResponse",
                         {**FILTERS, key(ids.VISITS_RANKING_GRID, "getRowsRequest"): request})
    rows = response.json()["response"][ids.VISITS_RANKING_GRID]["getRowsResponse"]["rowData"]
    return next(r for r in rows if r["employee_code"] == "E1")


def test_rules_and_holidays_change_the_reports(week_db: Path) -> None:
    with live_server(week_db) as server:
        boss = dash_client(server, "boss", "password-2")
        east = dash_client(server, "east", "password-1")
        assert (e1(east)["valid_visits"], e1(east)["daily_avg"]) == (1, 1.0)

        # A supervisor's forged save is refused and changes nothing.
        refused = east.outputs(east.call(sp.SAVE_RESULT, "children", RULES))
        assert "只有管理员" in str(refused)
        assert e1(east)["valid_visits"] == 1

        saved = boss.outputs(boss.call(sp.SAVE_RESULT, "children", RULES))
        assert "已保存" in str(saved)
        assert e1(east)["valid_visits"] == 2

        bad = boss.outputs(boss.call(sp.SAVE_RESULT, "children",
                                     {**RULES, key(sp.MIN_STAY, "value"): -3}))
        assert "须为 0 到 1440 之间的数字" in str(bad)

        # The phone API's back-dating limit (issue 14 item 7): whole days, 0..366, audited.
        for wrong in (-1, 2.5, 400, "7"):
            refused = boss.outputs(boss.call(sp.SAVE_RESULT, "children",
                                             {**RULES, key(sp.API_BACKDATE, "value"): wrong}))
            assert "手机签到最多可补录天数" in str(refused), wrong
        saved = boss.outputs(boss.call(sp.SAVE_RESULT, "children",
                                       {**RULES, key(sp.API_BACKDATE, "value"): 30}))
        assert "已保存" in str(saved)

        holiday = {key(sp.HOLIDAY_ADD, "n_clicks"): 1, key(sp.HOLIDAY_DATE, "date"): "2024-05-10",
                   key(sp.HOLIDAY_KIND, "value"): "off", key(sp.HOLIDAY_NAME, "value"): "<b>x</b>"}
        assert "只有管理员" in str(east.outputs(east.call(sp.HOLIDAY_RESULT, "children", holiday,
                                                         changed=(sp.HOLIDAY_ADD, "n_clicks"))))
        assert e1(east)["daily_avg"] == 1.0
        out = boss.outputs(boss.call(sp.HOLIDAY_RESULT, "children", holiday,
                                     changed=(sp.HOLIDAY_ADD, "n_clicks")))
        days = {r["day"]: r for r in out[f"{sp.HOLIDAY_GRID}.rowData"]}
        assert days["2024-05-10"]["name"] == "<b>x</b>"  # stored and shown as text
        assert e1(east)["daily_avg"] == 1.33

        removed = boss.outputs(boss.call(sp.HOLIDAY_RESULT, "children", {
            key(sp.HOLIDAY_DELETE, "n_clicks"): 1,
            key(sp.HOLIDAY_GRID, "selectedRows"): [{"day": "2024-05-10"}]},
            changed=(sp.HOLIDAY_DELETE, "n_clicks")))
        assert "已删除 1 个日期" in str(removed)
        assert e1(east)["daily_avg"] == 1.0

    database = Database(week_db)
    try:
        assert business_settings.load(database).api_max_backdate_days == 30
        assert database.rows("SELECT entity_key, before_json, after_json FROM audit_log "
                             "WHERE entity_key = 'api_max_backdate_days'") == [
            ("api_max_backdate_days", '{"api_max_backdate_days": 7}',
             '{"api_max_backdate_days": 30}')]
        actions = database.rows("SELECT username, action, entity FROM audit_log "
                                "WHERE action IN ('denied', 'settings.update', 'holiday.set', "
                                "'holiday.delete') ORDER BY audit_id")
    finally:
        database.close()
    assert actions == [("east", "denied", "settings.update"),
                       ("boss", "settings.update", "settings"),
                       ("boss", "settings.update", "settings"),
                       ("east", "denied", "holiday.edit"),
                       ("boss", "holiday.set", "holiday"),
                       ("boss", "holiday.delete", "holiday")]
