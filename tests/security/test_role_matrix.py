"""Role matrix for changes (issue 9, item 3): every admin change — customer add, edit,
delete and restore, bind and unbind, share and revoke, department assignment, import
(kind, file, detect, import, progress, problems), settings, holidays, the audit log and the
backup download — is refused for a supervisor, an analyst and an anonymous caller; each
refused attempt of a logged-in user is in the audit log ('denied'); nothing changes.
Plans: a supervisor plans inside the scope only; an analyst never. (Users are managed on
the command line only: the web has no user changes to refuse.)
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests

from dashboard.components import ids
from pipelines.db import Database
from tests.dash_client import DashClient, key
from tests.live import LiveServer, download_backup, live_server
from tests.security.support import (
    client,
    copy_world,
    data_url,
    decoded,
    grid_request,
    table_checksums,
)
from tests.security.world import BOSS, BRANCH, DUO, User

CSV = "code,name\nC-NEW-1,新客户\n".encode()
FORM_FIELDS = ("code", "name", "grade", "address", "longitude", "latitude", "coord_system",
               "contact", "phone", "department_code", "note", "owners")
Attempt = Callable[[DashClient, LiveServer], requests.Response]


def save_customer(mode: dict[str, Any]) -> Attempt:
    def attempt(dash: DashClient, _server: LiveServer) -> requests.Response:
        values: dict[str, Any] = {key(ids.cust_field(f), "value"): None for f in FORM_FIELDS}
        values[key(ids.cust_field("code"), "value")] = "C-NEW-1"
        values[key(ids.cust_field("name"), "value")] = "改名"
        return dash.call(ids.CUST_FORM_MESSAGE, "children", {
            **values, key(ids.CUST_SAVE, "n_clicks"): 1, key(ids.CUST_FORM_MODE, "data"): mode,
            key(ids.CUST_CHANGES, "data"): 0}, changed=(ids.CUST_SAVE, "n_clicks"))
    return attempt


def delete_restore(trigger: tuple[str, str]) -> Attempt:
    def attempt(dash: DashClient, _server: LiveServer) -> requests.Response:
        return dash.call(ids.CUST_MESSAGE, "children", {
            key(*trigger): 1, key(ids.CUST_GRID, "selectedRows"): [{"code": "C-B11-1"}],
            key(ids.CUST_CHANGES, "data"): 0}, changed=trigger)
    return attempt


def assignment(button: str, **state: Any) -> Attempt:
    def attempt(dash: DashClient, _server: LiveServer) -> requests.Response:
        values = {key(button, "n_clicks"): 1,
                  key(ids.filter_employees("assignments"), "value"): state.get("employee"),
                  key(ids.ASSIGN_BIND_PICK, "value"): state.get("bind", []),
                  key(ids.ASSIGN_EMPLOYEE_GRID, "selectedRows"): state.get("rows", []),
                  key(ids.ASSIGN_SHARE_PICK, "value"): state.get("share", []),
                  key(ids.ASSIGN_REVOKE_PICK, "value"): state.get("revoke"),
                  key(ids.ASSIGN_DEPARTMENT, "value"): state.get("department"),
                  key(ids.ASSIGN_DEPT_PICK, "value"): state.get("assign", []),
                  key(ids.ASSIGN_DEPARTMENT_GRID, "selectedRows"): state.get("rows", []),
                  key(ids.ASSIGN_CHANGES, "data"): 0}
        return dash.call(ids.ASSIGN_MESSAGE, "children", values, changed=(button, "n_clicks"))
    return attempt


UPLOAD = {key(ids.IMPORT_UPLOAD, "contents"): data_url(CSV),
          key(ids.IMPORT_UPLOAD, "filename"): "new.csv",
          key(ids.IMPORT_KIND, "value"): "customers"}


def import_call(output: str, prop: str, trigger: tuple[str, str],
                extra: dict[str, Any] | None = None) -> Attempt:
    def attempt(dash: DashClient, _server: LiveServer) -> requests.Response:
        return dash.call(output, prop, {**UPLOAD, key(*trigger): 1, **(extra or {})},
                         changed=trigger)
    return attempt


def settings_save(dash: DashClient, _server: LiveServer) -> requests.Response:
    return dash.call(ids.SAVE_RESULT, "children", {
        key(ids.SAVE, "n_clicks"): 1, key(ids.MIN_STAY, "value"): 1,
        key(ids.LIMIT_NET, "value"): 5000, key(ids.LIMIT_CELL, "value"): 5000,
        key(ids.LIMIT_GPS, "value"): 5000, key(ids.WORKDAYS, "value"): [1, 2, 3, 4, 5, 6, 7],
        key(ids.GRADES, "value"): "A, B", key(ids.EXPORT_DAYS, "value"): 366,
        key(ids.TIMEZONE, "value"): "UTC", key(ids.SESSION_IDLE, "value"): 5}, changed=(ids.SAVE, "n_clicks"))


def holiday(button: str) -> Attempt:
    def attempt(dash: DashClient, _server: LiveServer) -> requests.Response:
        return dash.call(ids.HOLIDAY_RESULT, "children", {
            key(button, "n_clicks"): 1, key(ids.HOLIDAY_DATE, "date"): "2024-05-08",
            key(ids.HOLIDAY_KIND, "value"): "off", key(ids.HOLIDAY_NAME, "value"): "x",
            key(ids.HOLIDAY_GRID, "selectedRows"): [{"day": "2024-05-01"}]},
            changed=(button, "n_clicks"))
    return attempt


def audit_rows(dash: DashClient, _server: LiveServer) -> requests.Response:
    return dash.call(ids.AUDIT_GRID, "getRowsResponse", {
        key(ids.AUDIT_GRID, "getRowsRequest"): grid_request(),
        key(ids.AUDIT_SEARCH, "value"): ""}, changed=(ids.AUDIT_GRID, "getRowsRequest"))


def backup(dash: DashClient, server: LiveServer) -> requests.Response:
    return download_backup(server.url, dash.session)


# attempt name -> (call, the action the audit log records)
CHANGES: dict[str, tuple[Attempt, str]] = {
    "customer add": (save_customer({"mode": "add"}), "customer.save"),
    "customer edit": (save_customer({"mode": "edit", "code": "C-B11-1", "version": 1}),
                      "customer.save"),
    "customer delete": (delete_restore((ids.CUST_CONFIRM, "submit_n_clicks")),
                        "customer.delete"),
    "customer restore": (delete_restore((ids.CUST_RESTORE, "n_clicks")), "customer.restore"),
    "bind": (assignment(ids.ASSIGN_BIND, employee="E-B11-1", bind=["C-B11-2"]),
             "customer.bind"),
    "unbind": (assignment(ids.ASSIGN_UNBIND, employee="E-B11-1",
                          rows=[{"customer_code": "C-B11-1", "how": "direct"}]),
               "customer.unbind"),
    "share": (assignment(ids.ASSIGN_SHARE, employee="E-B11-1", share=["E-B11-2"]),
              "share.add"),
    "revoke": (assignment(ids.ASSIGN_REVOKE, employee="E-B11-1", revoke="E-B11-1>E-B11-2"),
               "share.revoke"),
    "department assign": (assignment(ids.ASSIGN_DEPT_ADD, department="D-B11",
                                     assign=["C-B12-1"]), "customer.assign"),
    "department unassign": (assignment(ids.ASSIGN_DEPT_REMOVE, department="D-B11",
                                       rows=[{"customer_code": "C-B11-1"}]),
                            "customer.unassign"),
    "import kind": (lambda d, _s: d.call(ids.IMPORT_TEMPLATE_ZH, "href", {
        key(ids.IMPORT_KIND, "value"): "visits"}), "import.choose"),
    "import file": (lambda d, _s: d.call(ids.IMPORT_FILE, "children", UPLOAD), "import.file"),
    "import detect": (import_call(ids.IMPORT_DETECT_JOB, "data", (ids.IMPORT_DETECT, "n_clicks")),
                      "import.detect"),
    "import": (import_call(ids.IMPORT_RUN_JOB, "data", (ids.IMPORT_RUN, "n_clicks"),
                           {key(ids.IMPORT_DETECT_JOB, "data"): "forged"}), "import.run"),
    "import progress": (lambda d, _s: d.call(ids.IMPORT_HISTORY_GRID, "rowData", {
        key(ids.IMPORT_POLL, "n_intervals"): 1, key(ids.IMPORT_DETECT_JOB, "data"): "x"},
        changed=(ids.IMPORT_POLL, "n_intervals")), "import.poll"),
    "import problems": (lambda d, _s: d.call(ids.IMPORT_PROBLEMS_GRID, "getRowsResponse", {
        key(ids.IMPORT_PROBLEMS_GRID, "getRowsRequest"): grid_request(),
        key(ids.IMPORT_DETECT_JOB, "data"): "x"}), "import.problems"),
    "settings": (settings_save, "settings.update"),
    "holiday add": (holiday(ids.HOLIDAY_ADD), "holiday.edit"),
    "holiday delete": (holiday(ids.HOLIDAY_DELETE), "holiday.edit"),
    "audit log": (audit_rows, "audit.read"),
    "backup download": (backup, "backup.download"),
}
REFUSALS = ("只有管理员", '"rowData": [], "rowCount": 0', '"error": "administrators only"')


def refused(response: requests.Response) -> bool:
    """A refusal: a 204 (nothing to update), the admins-only message, an empty grid, 403."""
    if response.status_code in (204, 403):
        return True
    text = decoded(response)
    return response.status_code == 200 and any(r in text for r in REFUSALS)


def denied_actions(path: Path, username: str) -> Counter[str]:
    """Refused attempts per refused action (the log counts repeats within a minute)."""
    db = Database(path, read_only=True)
    try:
        counted: Counter[str] = Counter()
        for action, after in db.rows(
                "SELECT entity, after_json FROM audit_log WHERE action = 'denied' "
                "AND username = ? ORDER BY audit_id", [username]):
            counted[action] += json.loads(after)["attempts"]
        return counted
    finally:
        db.close()


@pytest.mark.parametrize("user", [DUO, BRANCH], ids=lambda u: u.role)
def test_admin_changes_are_refused_and_audited(user: User, world_template: Path,
                                               tmp_path: Path) -> None:
    path = copy_world(world_template, tmp_path)
    before = table_checksums(path, skip=("audit_log",))
    with live_server(path) as server:
        dash = client(server, user)
        for name, (attempt, _action) in CHANGES.items():
            response = attempt(dash, server)
            assert refused(response), (name, response.status_code, decoded(response)[:300])
            assert "Traceback" not in response.text
    assert table_checksums(path, skip=("audit_log",)) == before
    assert denied_actions(path, user.username) == Counter(
        action for _a, action in CHANGES.values())


def test_anonymous_changes_are_401_and_leave_no_trace(world_template: Path,
                                                      tmp_path: Path) -> None:
    path = copy_world(world_template, tmp_path)
    before = table_checksums(path)
    with live_server(path) as server:
        dependencies = client(server, BOSS).dependencies
        anonymous = DashClient.__new__(DashClient)
        anonymous.session, anonymous.url = requests.Session(), server.url
        anonymous.dependencies = dependencies
        for name, (attempt, _action) in CHANGES.items():
            response = attempt(anonymous, server)
            assert response.status_code == 401, name
            assert response.json() == {"error": "login required"}, name
    assert table_checksums(path) == before


# -- plans: supervisors inside their scope ---------------------------------------------------
def plan(dash: DashClient, employee: str, customers: list[str], day: str = "2024-05-08",
         name: str = "新计划") -> dict[str, Any]:
    response = dash.call(ids.PLAN_MESSAGE, "children", {
        key(ids.PLAN_SAVE, "n_clicks"): 1, key(ids.PLAN_MODE, "data"): {"kind": "plan",
                                                                        "plan_id": None},
        key(ids.filter_employees("plans"), "value"): employee,
        key(ids.PLAN_DATE, "date"): day, key(ids.PLAN_NAME, "value"): name,
        key(ids.PLAN_CUSTOMERS, "value"): customers, key(ids.PLAN_FROM_ROUTE, "value"): None,
        key(ids.PLAN_SCHEDULE_START, "date"): None, key(ids.PLAN_SCHEDULE_UNTIL, "date"): None,
        key(ids.PLAN_SCHEDULE_DAYS, "value"): [], key(ids.PLAN_CHANGES, "data"): 0},
        changed=(ids.PLAN_SAVE, "n_clicks"))
    assert response.status_code in (200, 204), response.text[:300]
    return dash.outputs(response)


def test_plans_inside_the_scope_only(world_template: Path, tmp_path: Path) -> None:
    path = copy_world(world_template, tmp_path)
    with live_server(path) as server:
        duo, branch = client(server, DUO), client(server, BRANCH)
        made = plan(duo, "E-B11-1", ["C-B11-2", "C-B11-1"])
        assert "已保存" in json.dumps(made, ensure_ascii=False)
        cannot = "不能为该员工做计划"
        for outcome in (plan(duo, "E-B31-1", ["C-B31-1"], name="越权"),       # employee outside
                        plan(duo, "E-B11-1", ["C-B11-2", "C-B31-1"], name="越权"),  # customer
                        plan(branch, "E-B11-1", ["C-B11-2"], name="只读")):  # analysts never
            assert cannot in json.dumps(outcome, ensure_ascii=False)
            assert f"{ids.PLAN_CHANGES}.data" not in outcome
        too_many = plan(duo, "E-B11-1", ["C-B11-2"] + [f"C-X-{i}" for i in range(200)],
                        name="太多")
        assert "200" in json.dumps(too_many, ensure_ascii=False)
        assert f"{ids.PLAN_CHANGES}.data" not in too_many
        anonymous = requests.post(server.url + "/_dash-update-component", json={}, timeout=30)
        assert anonymous.status_code == 401
    db = Database(path, read_only=True)
    try:
        assert db.rows("SELECT employee_code, plan_name FROM plans WHERE plan_date = "
                       "'2024-05-08'") == [("E-B11-1", "新计划")]
        assert db.rows("SELECT username, entity, entity_key FROM audit_log "
                       "WHERE action = 'denied' ORDER BY audit_id") == [
            ("duo", "plan.change", "E-B31-1"), ("duo", "plan.create", "E-B11-1"),
            ("branch", "plan.change", "E-B11-1")]
    finally:
        db.close()
