"""The customer archive and the person-customer table through real HTTP callbacks: every
mutation changes the database as intended and is audited, non-admins are refused, stale
edits are refused, text from users stays text.

Data: HQ > R1 (B11, B12), R2 (B21); E1, E2 in B11, E3 in B21; C1 (E1, assigned B11, one
visit), C2 (E2), C3 (E3). Users boss (admin), east (supervisor R1), bj (analyst B21).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from dashboard.components import ids
from pipelines.db import Database
from pipelines.upgrade import upgrade
from pipelines.users import add_user
from tests.conftest import Factory
from tests.dash_client import DashClient, key
from tests.live import LiveServer, dash_client, live_server

XSS = "<img src=x onerror=alert(1)>"
LIST = {key(ids.CUST_SEARCH, "value"): "", key(ids.CUST_GRADES, "value"): [],
        key(ids.CUST_DEPARTMENT, "value"): None,
        key(ids.filter_employees("customers"), "value"): None,
        key(ids.CUST_FLAGS, "value"): []}
FORM_FIELDS = ("code", "name", "grade", "address", "longitude", "latitude", "coord_system",
               "contact", "phone", "department_code", "note", "owners")


@pytest.fixture(scope="module")
def db_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_archive(tmp_path_factory.mktemp("archive") / "archive.duckdb")


def build_archive(path: Path) -> Path:
    """Three customers of two regions, one visit, users boss / east / bj."""
    database = Database(path)
    upgrade(database)
    factory = Factory(database)
    factory.org()
    factory.load("employees", "code,name,department_code\nE1,张一,B11\nE2,李二,B11\n"
                 "E3,王三,B21\n")
    factory.load("customers", "code,name,grade,phone,longitude,latitude,department_code,"
                 "owner_codes\nC1,甲店,A,13800000001,121.4,31.2,B11,E1\n"
                 "C2,乙店,B,13800000002,,,,E2\nC3,丙店,C,13800000003,116.4,39.9,,E3\n")
    factory.load("visits", "employee_code,customer_code,check_in_at\n"
                 "E1,C1,2024-05-06 09:00:00\n")
    add_user(database, "boss", "password-1", "admin")
    add_user(database, "east", "password-2", "supervisor", ("R1",))
    add_user(database, "bj", "password-3", "analyst", ("B21",))
    database.checkpoint()
    database.close()
    return path


@pytest.fixture(scope="module")
def server(db_path: Path) -> Iterator[LiveServer]:
    with live_server(db_path) as running:
        yield running



@pytest.fixture(scope="module")
def boss(server: LiveServer) -> DashClient:
    return dash_client(server, "boss", "password-1")


@pytest.fixture(scope="module")
def east(server: LiveServer) -> DashClient:
    return dash_client(server, "east", "password-2")


def listed(dash: DashClient, **changes: Any) -> dict[str, Any]:
    values = {**LIST, **{key(k, "value"): v for k, v in changes.items()}}
    request = {"startRow": 0, "endRow": 100, "sortModel": [], "filterModel": {}}
    response = dash.call(ids.CUST_GRID, "getRowsResponse",
                         {**values, key(ids.CUST_GRID, "getRowsRequest"): request})
    return response.json()["response"][ids.CUST_GRID]["getRowsResponse"]


def codes(block: dict[str, Any]) -> list[str]:
    return [r["code"] for r in block["rowData"]]


def save(dash: DashClient, mode: dict[str, Any], **fields: Any) -> str:
    values = {key(ids.cust_field(f), "value"): fields.get(f) for f in FORM_FIELDS}
    out = dash.outputs(dash.call(ids.CUST_FORM_MESSAGE, "children", {
        key(ids.CUST_SAVE, "n_clicks"): 1, key(ids.CUST_FORM_MODE, "data"): mode,
        key(ids.CUST_CHANGES, "data"): 0, **values}, changed=(ids.CUST_SAVE, "n_clicks")))
    return json.dumps(out, ensure_ascii=False)


def test_list_search_and_scope(boss: DashClient, east: DashClient) -> None:
    assert codes(listed(boss)) == ["C1", "C2", "C3"]
    assert codes(listed(east)) == ["C1", "C2"]  # R1's population only
    assert codes(listed(boss, **{ids.CUST_SEARCH: "13800000003"})) == ["C3"]
    assert codes(listed(boss, **{ids.CUST_FLAGS: ["no_location"]})) == ["C2"]
    assert codes(listed(east, **{ids.CUST_DEPARTMENT: "B21"})) == []  # refused: no rows
    assert codes(listed(east, **{ids.CUST_FLAGS: ["deleted"]})) == []  # admins only


def test_record_and_refusal(boss: DashClient, east: DashClient) -> None:
    record = json.dumps(boss.outputs(boss.call(ids.CUST_RECORD, "children", {
        key(ids.CUST_CODE, "data"): "C1"})), ensure_ascii=False)
    assert "甲店" in record and "张一 (E1)" in record and "2024-05-06 09:00" in record
    refused = json.dumps(east.outputs(east.call(ids.CUST_RECORD, "children", {
        key(ids.CUST_CODE, "data"): "C3"})), ensure_ascii=False)
    assert "超出您的数据范围" in refused and "丙店" not in refused


def test_add_validate_edit_and_stale_edit(boss: DashClient) -> None:
    bad = save(boss, {"mode": "add"}, code="C9", name="新店", grade="X", longitude="121.5")
    assert "客户等级" in bad or "grade" in bad
    assert "经度和纬度" in bad or "together" in bad
    ok = save(boss, {"mode": "add"}, code="C9", name=XSS, grade="A", owners="E1")
    assert "已保存 C9" in ok
    row = next(r for r in listed(boss)["rowData"] if r["code"] == "C9")
    assert row["name"] == XSS and row["owners"] == "张一 (E1)"
    first = save(boss, {"mode": "edit", "code": "C9", "version": 1}, name="改名一", grade="B")
    assert "已保存 C9" in first
    stale = save(boss, {"mode": "edit", "code": "C9", "version": 1}, name="改名二", grade="C")
    assert "已被他人修改" in stale
    row = next(r for r in listed(boss)["rowData"] if r["code"] == "C9")
    assert (row["name"], row["grade"]) == ("改名一", "B")


def delete_restore(dash: DashClient, button: str, selected: list[str]) -> str:
    trigger = (ids.CUST_RESTORE, "n_clicks") if button == "restore" else (
        ids.CUST_CONFIRM, "submit_n_clicks")
    out = dash.outputs(dash.call(ids.CUST_MESSAGE, "children", {
        key(*trigger): 1, key(ids.CUST_GRID, "selectedRows"): [{"code": c} for c in selected],
        key(ids.CUST_CHANGES, "data"): 0}, changed=trigger))
    return json.dumps(out, ensure_ascii=False)


def test_delete_and_restore(boss: DashClient) -> None:
    assert "已删除 1 个客户" in delete_restore(boss, "delete", ["C2"])
    assert "C2" not in codes(listed(boss))
    assert codes(listed(boss, **{ids.CUST_FLAGS: ["deleted"]})) == ["C2"]
    assert "已恢复 1 个客户" in delete_restore(boss, "restore", ["C2"])
    assert "C2" in codes(listed(boss))


def test_non_admins_are_refused(east: DashClient, server: LiveServer) -> None:
    assert "只有管理员" in save(east, {"mode": "add"}, code="C8", name="x")
    assert "只有管理员" in delete_restore(east, "delete", ["C1"])
    assert "只有管理员" in delete_restore(east, "restore", ["C1"])
    assert "只有管理员" in assign(east, ids.ASSIGN_BIND, employee="E1",
                                  bind_pick=["C2"])
    anonymous = requests.post(server.url + "/_dash-update-component", json={}, timeout=30)
    assert anonymous.status_code == 401


def assign(dash: DashClient, button: str, **state: Any) -> str:
    values = {key(button, "n_clicks"): 1,
              key(ids.filter_employees("assignments"), "value"): state.get("employee"),
              key(ids.ASSIGN_BIND_PICK, "value"): state.get("bind_pick", []),
              key(ids.ASSIGN_EMPLOYEE_GRID, "selectedRows"): state.get("employee_rows", []),
              key(ids.ASSIGN_SHARE_PICK, "value"): state.get("share_pick", []),
              key(ids.ASSIGN_REVOKE_PICK, "value"): state.get("revoke"),
              key(ids.ASSIGN_DEPARTMENT, "value"): state.get("department"),
              key(ids.ASSIGN_DEPT_PICK, "value"): state.get("dept_pick", []),
              key(ids.ASSIGN_DEPARTMENT_GRID, "selectedRows"): state.get("dept_rows", []),
              key(ids.ASSIGN_CHANGES, "data"): 0}
    out = dash.outputs(dash.call(ids.ASSIGN_MESSAGE, "children", values,
                                 changed=(button, "n_clicks")))
    return json.dumps(out, ensure_ascii=False)


def employee_customers(dash: DashClient, employee: str) -> list[tuple[str, str]]:
    request = {"startRow": 0, "endRow": 100, "sortModel": [], "filterModel": {}}
    response = dash.call(ids.ASSIGN_EMPLOYEE_GRID, "getRowsResponse", {
        key(ids.ASSIGN_EMPLOYEE_GRID, "getRowsRequest"): request,
        key(ids.filter_employees("assignments"), "value"): employee})
    rows = response.json()["response"][ids.ASSIGN_EMPLOYEE_GRID]["getRowsResponse"]["rowData"]
    return [(r["customer_code"], r["how"]) for r in rows]


def test_bind_share_assign(boss: DashClient, east: DashClient) -> None:
    assert "已绑定 1 个客户" in assign(boss, ids.ASSIGN_BIND, employee="E2", bind_pick=["C3"])
    assert ("C3", "direct") in employee_customers(boss, "E2")
    assert "已添加 1 条共享" in assign(boss, ids.ASSIGN_SHARE, employee="E1",
                                         share_pick=["E2"])
    assert ("C1", "shared") in employee_customers(east, "E2")
    assert "已撤销 1 条共享" in assign(boss, ids.ASSIGN_REVOKE, employee="E1",
                                         revoke="E1>E2")
    assert ("C1", "shared") not in employee_customers(boss, "E2")
    assert "已解绑 1 个客户" in assign(boss, ids.ASSIGN_UNBIND, employee="E2",
                                         employee_rows=[{"customer_code": "C3",
                                                         "how": "direct"}])
    assert "已分配 1 个客户" in assign(boss, ids.ASSIGN_DEPT_ADD, department="B12",
                                         dept_pick=["C3"])
    assert "已取消分配 1 个客户" in assign(boss, ids.ASSIGN_DEPT_REMOVE, department="B12",
                                           dept_rows=[{"customer_code": "C3"}])
    assert employee_customers(east, "E3") == []  # E3 is outside R1: refused, no rows


def test_audit_log_records_changes_and_refusals(server: LiveServer, db_path: Path) -> None:
    """Runs last in this module: stops nothing, reads the audit page as the admin."""
    boss = dash_client(server, "boss", "password-1")
    request = {"startRow": 0, "endRow": 200, "sortModel": [], "filterModel": {}}
    response = boss.call(ids.AUDIT_GRID, "getRowsResponse", {
        key(ids.AUDIT_GRID, "getRowsRequest"): request, key(ids.AUDIT_SEARCH, "value"): ""})
    rows = response.json()["response"][ids.AUDIT_GRID]["getRowsResponse"]["rowData"]
    actions = {(r["username"], r["action"]) for r in rows}
    # Stored as codes (customer.add, share.revoke, denied), read in the user's words.
    for expected in (("boss", "客户：新增"), ("boss", "客户：修改"),
                     ("boss", "客户：删除"), ("boss", "客户：恢复"),
                     ("boss", "客户：绑定"), ("boss", "共享：新增"),
                     ("boss", "共享：撤销"), ("east", "已拒绝")):
        assert expected in actions, expected
    # A search in those words finds the codes: only the refusals.
    searched = boss.call(ids.AUDIT_GRID, "getRowsResponse", {
        key(ids.AUDIT_GRID, "getRowsRequest"): request, key(ids.AUDIT_SEARCH, "value"): "拒绝"})
    found = searched.json()["response"][ids.AUDIT_GRID]["getRowsResponse"]["rowData"]
    assert found and {r["action"] for r in found} == {"已拒绝"}
    east = dash_client(server, "east", "password-2")
    refused = east.call(ids.AUDIT_GRID, "getRowsResponse", {
        key(ids.AUDIT_GRID, "getRowsRequest"): request, key(ids.AUDIT_SEARCH, "value"): ""})
    assert refused.json()["response"][ids.AUDIT_GRID]["getRowsResponse"]["rowCount"] == 0


def test_form_errors_name_the_field_as_the_form_does(boss: DashClient) -> None:
    """An unknown owner is reported under the form's label, not the import column
    `owner_codes` (issue 15 item 8)."""
    bad = save(boss, {"mode": "add"}, code="C8", name="新店", owners="E404")
    assert "E404" in bad and "负责人" in bad
    assert "owner_codes" not in bad
