"""What a person reads, through real HTTP callbacks (issue 15 items 3, 4, 7 and 9).

The world, worked out by hand (week of 2024-05-06, scope of east = R1):
- E1 (B11 上海分公司) has 12 plan items on Monday and visits 11 of those customers: 11/12.
- E2 (B11) has 15 plan items on Monday and visits 10: 10/15.
- E3 (B12 杭州分公司) has 4 plan items on Tuesday and visits all 4: 4/4.
- Together 25 of 31 items are done.
Rates are rounded once from the unrounded fraction: 11/12 = 0.91666… -> 91.7%, 10/15 ->
66.7%, 25/31 = 0.80645… -> 80.6% (rounding 80.65 again would give 80.7%).
Every visit is made without a check-out and without a location: its reasons are 未签退 and
无签到位置 (no_checkout, no_checkin_location).
Times the app stamps itself are on the server clock (TZ=UTC here) and are read in the
company time zone Asia/Shanghai (UTC+8): stamps set by hand below.
"""

from __future__ import annotations

import csv
import io
import json
import time
import zipfile
from collections.abc import Iterator
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from python_calamine import CalamineWorkbook

from dashboard.components import ids
from pipelines.users import add_user
from tests.conftest import Factory
from tests.dash_client import DashClient, key
from tests.live import LiveServer, dash_client, database_file, live_server

FROM, TO = "2024-05-06", "2024-05-12"
CODES = [f"C{i:02d}" for i in range(1, 16)]


def build_rates(factory: Factory) -> None:
    db = factory.db
    factory.org()
    factory.load("employees", "code,name,department_code\nE1,张一,B11\nE2,李二,B11\n"
                 "E3,王三,B12\n")
    factory.load("customers", "code,name,grade,longitude,latitude,owner_codes\n" + "".join(
        f"{c},店{c},A,121.0,31.0,E1\n" for c in CODES))
    plans = ["employee_code,date,plan_name,customer_code"]
    visits = ["employee_code,customer_code,check_in_at"]
    for employee, day, planned, done in (("E1", "2024-05-06", 12, 11),
                                         ("E2", "2024-05-06", 15, 10),
                                         ("E3", "2024-05-07", 4, 4)):
        plans += [f"{employee},{day},巡店,{c}" for c in CODES[:planned]]
        visits += [f"{employee},{c},{day} {9 + i // 60:02d}:{i % 60:02d}:00"
                   for i, c in enumerate(CODES[:done])]
    factory.load("plans", "\n".join(plans) + "\n")
    factory.load("visits", "\n".join(visits) + "\n")
    add_user(db, "east", "password-1", "supervisor", ("R1",))
    add_user(db, "boss", "password-2", "admin")
    # Stamps on the server clock (UTC), set by hand: 01:30 UTC is 09:30 in Shanghai, 23:30
    # UTC is 07:30 of the next day there.
    db.execute("UPDATE customers SET updated_at = TIMESTAMP '2024-05-06 01:30:00', "
               "updated_by = 'boss' WHERE code = 'C01'")
    db.execute("UPDATE import_history SET started_at = TIMESTAMP '2024-05-06 23:30:00'")
    db.execute("INSERT INTO audit_log VALUES (nextval('seq_audit'), "
               "TIMESTAMP '2024-05-06 23:30:00', 'boss', 'customer.update', 'customer', "
               "'C01', '{\"grade\": \"A\", \"name\": \"店C01\", \"version\": 1}', "
               "'{\"grade\": \"B\", \"name\": \"店C01\", \"version\": 2}')")
    db.execute("INSERT INTO audit_log VALUES (nextval('seq_audit'), "
               "TIMESTAMP '2024-05-06 23:31:00', 'boss', 'customer.delete', 'customer', "
               "'C02', '{\"deleted\": false}', '{\"deleted\": true}')")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    path = database_file(tmp_path_factory.mktemp("numbers") / "rates.duckdb", build_rates)
    with live_server(path, env={"TZ": "UTC"}) as running:
        yield running


@pytest.fixture(scope="module")
def east(server: LiveServer) -> DashClient:
    return dash_client(server, "east", "password-1")


@pytest.fixture(scope="module")
def boss(server: LiveServer) -> DashClient:
    return dash_client(server, "boss", "password-2")


def visits_filters() -> dict[str, Any]:
    return {key(ids.filter_department("visits"), "value"): None,
            key(ids.filter_dates("visits"), "start_date"): FROM,
            key(ids.filter_dates("visits"), "end_date"): TO,
            key(ids.filter_employees("visits"), "value"): []}


def text_of(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


# -- item 3: rates ---------------------------------------------------------------------------
def test_ranking_grid_rates_are_rounded_once(east: DashClient) -> None:
    request = {"startRow": 0, "endRow": 100, "sortModel": [], "filterModel": {}}
    response = east.call(ids.VISITS_RANKING_GRID, "getRowsResponse", {
        **visits_filters(), key(ids.VISITS_SORT, "value"): "visits",
        key(ids.VISITS_RANKING_GRID, "getRowsRequest"): request})
    rows = east.outputs(response)[f"{ids.VISITS_RANKING_GRID}.getRowsResponse"]["rowData"]
    shown = {r["employee_code"]: r["completion_rate_text"] for r in rows}
    assert shown == {"E1": "91.7%", "E2": "66.7%", "E3": "100.0%"}
    # The grid's numbers keep the CLI contract: fractions to 2 decimals.
    assert {r["employee_code"]: r["completion_rate"] for r in rows} == {
        "E1": 0.92, "E2": 0.67, "E3": 1.0}
    assert {r["employee_code"]: r["department_name"] for r in rows} == {
        "E1": "上海分公司", "E2": "上海分公司", "E3": "杭州分公司"}


def test_kpi_card_rate_is_rounded_once(east: DashClient) -> None:
    out = east.outputs(east.call(ids.VISITS_KPIS, "children", visits_filters()))
    cards = text_of(out[f"{ids.VISITS_KPIS}.children"])
    assert "80.6%" in cards and "80.7%" not in cards


# -- item 9: exports say what the grid says ---------------------------------------------------
def run_export(dash: DashClient, server: LiveServer, job: str, button: str, status: str,
               poll: str, values: dict[str, Any]) -> tuple[zipfile.ZipFile, str]:
    out = dash.outputs(dash.call(job, "data", {**values, key(button, "n_clicks"): 1}))
    job_id = out[f"{job}.data"]
    assert isinstance(job_id, str), out
    for _ in range(150):
        done = dash.outputs(dash.call(status, "children", {
            key(poll, "n_intervals"): 1, key(job, "data"): job_id}, changed=(poll, "n_intervals")))
        if done.get(f"{poll}.disabled"):
            break
        time.sleep(0.2)
    response = dash.session.get(f"{server.url}/download/job/{job_id}")
    assert response.status_code == 200
    disposition = response.headers["Content-Disposition"]
    return zipfile.ZipFile(io.BytesIO(response.content)), disposition


def read_csv(archive: zipfile.ZipFile, member: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(archive.read(member).decode("utf-8-sig"))))


def test_visits_export_reads_like_the_grid(east: DashClient, server: LiveServer) -> None:
    archive, _name = run_export(east, server, ids.VISITS_EXPORT_JOB, ids.VISITS_EXPORT_BUTTON,
                                ids.VISITS_EXPORT_STATUS, ids.VISITS_EXPORT_POLL,
                                visits_filters())
    ranking = {r["工号"]: r for r in read_csv(archive, "ranking.csv")}
    e1 = ranking["E1"]
    assert e1["部门编码"] == "B11" and e1["部门"] == "上海分公司"
    assert e1["完成率 (比例)"] == "0.917"  # the fraction at the grid's precision (91.7%)
    assert ranking["E2"]["完成率 (比例)"] == "0.667"
    assert e1["拜访记录"] == "11" and e1["计划数"] == "12" and e1["排名"] == "1"
    # XLSX: the unrounded fraction, shown as a percentage by its number format.
    book = CalamineWorkbook.from_filelike(io.BytesIO(archive.read("ranking.xlsx")))
    sheet = book.get_sheet_by_index(0).to_python()
    column = sheet[0].index("完成率")
    e1_row = next(r for r in sheet[1:] if r[1] == "E1")
    assert e1_row[column] == pytest.approx(11 / 12, abs=1e-12)
    with zipfile.ZipFile(io.BytesIO(archive.read("ranking.xlsx"))) as xlsx:
        assert 'formatCode="0.0%"' in xlsx.read("xl/styles.xml").decode()

    detail = read_csv(archive, "detail.csv")
    assert len(detail) == 25
    first = detail[0]
    assert first["有效"] == "无效" and first["客户已删除"] == "否"
    assert first["无效原因"] == "未签退、无签到位置"
    assert all(r["签到定位方式"] == "" for r in detail)  # no location, no source


def test_customer_exports_write_counts_as_integers(boss: DashClient,
                                                   server: LiveServer) -> None:
    values = {key(ids.filter_department("customers_visited"), "value"): None,
              key(ids.filter_dates("customers_visited"), "start_date"): FROM,
              key(ids.filter_dates("customers_visited"), "end_date"): TO,
              key(ids.CV_BY, "value"): "department", key(ids.CV_BUCKETS, "data"): []}
    archive, _name = run_export(boss, server, ids.CV_EXPORT_JOB, ids.CV_EXPORT_BUTTON,
                                ids.CV_EXPORT_STATUS, ids.CV_EXPORT_POLL, values)
    customers = {r["客户编码"]: r for r in read_csv(archive, "customers.csv")}
    # C01..C04 were visited by E1, E2 and E3 (3 visits); C15 by nobody.
    assert customers["C01"]["期间拜访次数"] == "3"
    assert customers["C15"]["期间拜访次数"] == "0"
    summary = read_csv(archive, "summary.csv")
    assert summary and all("." not in r["客户"] + r["拜访记录"] for r in summary)


def test_visit_sources_read_as_words(east: DashClient) -> None:
    request = {"startRow": 0, "endRow": 5, "sortModel": [], "filterModel": {}}
    response = east.call(ids.VISITS_DETAIL_GRID, "getRowsResponse", {
        **visits_filters(), key(ids.VISITS_VALIDITY, "value"): "all",
        key(ids.VISITS_REASON, "value"): None,
        key(ids.VISITS_DETAIL_GRID, "getRowsRequest"): request})
    rows = east.outputs(response)[f"{ids.VISITS_DETAIL_GRID}.getRowsResponse"]["rowData"]
    assert rows[0]["reasons_label"] == "未签退、无签到位置"


# -- items 4 and 7: the record, the import history and the audit log --------------------------
def test_customer_record_time_and_reasons(boss: DashClient) -> None:
    out = boss.outputs(boss.call(ids.CUST_RECORD, "children", {
        key(ids.CUST_CODE, "data"): "C01", key(ids.CUST_CHANGES, "data"): 0}))
    record = text_of(out[f"{ids.CUST_RECORD}.children"])
    assert "更新时间 (Asia/Shanghai)" in record
    assert "2024-05-06 09:30:00 boss" in record
    assert "未签退、无签到位置" in record
    assert "no_checkout" not in record and "no_checkin_location" not in record


def test_audit_log_reads_in_company_time_and_words(boss: DashClient) -> None:
    request = {"startRow": 0, "endRow": 100, "sortModel": [], "filterModel": {}}
    response = boss.call(ids.AUDIT_GRID, "getRowsResponse", {
        key(ids.AUDIT_SEARCH, "value"): "C0", key(ids.AUDIT_GRID, "getRowsRequest"): request})
    rows = boss.outputs(response)[f"{ids.AUDIT_GRID}.getRowsResponse"]["rowData"]
    by_key = {r["entity_key"]: r for r in rows}
    update, delete = by_key["C01"], by_key["C02"]
    assert update["logged_at"] == "2024-05-07 07:30:00"
    assert (update["before_json"], update["after_json"]) == ("等级: A", "等级: B")
    assert (delete["before_json"], delete["after_json"]) == ("已删除: 否", "已删除: 是")


def test_import_history_in_company_time(boss: DashClient) -> None:
    response = boss.call("_pages_content", "children", {
        key("_pages_location", "pathname"): "/customers/import",
        key("_pages_location", "search"): ""}, changed=("_pages_location", "pathname"))
    page = text_of(boss.outputs(response)["_pages_content.children"])
    assert "时间 (Asia/Shanghai)" in page
    assert page.count('"started_at": "2024-05-07 07:30:00"') == 5  # org, staff, customers,
    assert "2024-05-06 23:30" not in page                          # plans, visits


def test_customer_export_file_name_has_the_company_date(boss: DashClient,
                                                        server: LiveServer) -> None:
    values = {key(ids.CUST_SEARCH, "value"): "", key(ids.CUST_GRADES, "value"): [],
              key(ids.CUST_DEPARTMENT, "value"): None,
              key(ids.filter_employees("customers"), "value"): None,
              key(ids.CUST_FLAGS, "value"): []}
    archive, disposition = run_export(boss, server, ids.CUST_EXPORT_JOB,
                                      ids.CUST_EXPORT_BUTTON, ids.CUST_EXPORT_STATUS,
                                      ids.CUST_EXPORT_POLL, values)
    today = datetime.now(ZoneInfo("Asia/Shanghai")).strftime("%Y%m%d")
    assert today in disposition
    rows = read_csv(archive, "customers.csv")
    assert rows[0]["部门编码"] == "" and "部门名称" in rows[0]
