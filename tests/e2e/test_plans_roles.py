"""/plans and /assignments in Debian's Chromium, per role (issue 15 items 1, 6 and 13).

* A plan moved to another day stays there (and the audit log says so); the editor's title
  follows what was saved (a new plan or route is named, no longer "新建…").
* An analyst reads plans without any editing control; /assignments opens for a supervisor
  and an analyst without a console error.
* An open date picker is not covered by the map's zoom control (a guard, see its test).

Data: tests/datasets.build_week (east: supervisor of R1 with E1, E2; bj: analyst of B21
with E4; plans E1 05-06 周一 [C1, C2], E1 05-07 周二 [C2], E4 05-06 周一 [C1]).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from dashboard.components import ids
from pipelines.db import Database
from tests.datasets import build_week
from tests.e2e.helpers import pick_option
from tests.live import LiveServer, database_file, live_server

pytestmark = pytest.mark.e2e

USERS = {"east": "password-1", "bj": "password-3"}


@pytest.fixture
def week_file(tmp_path: Path) -> Path:
    path = tmp_path / "week.duckdb"
    database_file(path, build_week)
    return path


@pytest.fixture(scope="module")
def reading_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    path = tmp_path_factory.mktemp("e2e-plan-roles") / "week.duckdb"
    database_file(path, build_week)
    with live_server(path) as running:
        yield running


def open_as(chromium: Any, server: LiveServer, user: str, path: str,
            errors: list[str]) -> Any:
    """A signed-in page at `path`; console errors and page errors go to `errors` (map
    tiles are not reachable from the test machine: their load failures are no app error)."""
    context = chromium.new_context(locale="zh-CN", viewport={"width": 1400, "height": 1200})
    page = context.new_page()
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error"
            and "Failed to load resource" not in m.text else None)
    page.goto(server.url + "/login")
    page.fill("#username", user)
    page.fill("#password", USERS[user])
    page.click(".vl-login-card button[type=submit]")
    page.wait_for_url("**/visits**")
    page.goto(server.url + path)
    return page


def day_cell(page: Any, day: int) -> Any:
    return page.locator("td.vl-day:not(.vl-day-out)").filter(
        has=page.locator(f"button.vl-day-number:text-is('{day}')"))


def set_date(page: Any, picker: str, value: str) -> None:
    field = page.locator(f"#{picker}")
    field.fill(value)
    field.press("Enter")
    page.keyboard.press("Escape")


def test_a_plan_moves_to_another_day_and_the_title_follows_saving(
        chromium: Any, week_file: Path, artifacts: Path) -> None:
    errors: list[str] = []
    with live_server(week_file) as server:
        page = open_as(chromium, server, "east", "/plans?employee=E1&month=2024-05", errors)
        try:
            title = page.locator(f"#{ids.PLAN_EDITOR_TITLE}")
            saved = page.locator(f"#{ids.PLAN_MESSAGE}")
            day_cell(page, 7).locator(".vl-plan-name", has_text="周二").click()
            expect(title).to_have_text("计划 周二")
            set_date(page, ids.PLAN_DATE, "2024-05-09")
            page.click(f"#{ids.PLAN_SAVE}")
            expect(saved).to_have_text("已保存。")
            expect(day_cell(page, 9).locator(".vl-plan-name")).to_have_text("周二")
            expect(day_cell(page, 7).locator(".vl-plan-name")).to_have_count(0)

            day_cell(page, 10).locator("button.vl-day-number").click()
            expect(title).to_have_text("2024-05-10 新建计划")
            page.fill(f"#{ids.PLAN_NAME}", "补充")
            pick_option(page, f"#{ids.PLAN_CUSTOMERS}", "C3", "(C3)")
            page.click(f"#{ids.PLAN_SAVE}")
            expect(saved).to_have_text("已保存。")
            expect(title).to_have_text("计划 补充")

            page.click(f"#{ids.PLAN_NEW_ROUTE}")
            expect(title).to_have_text("新建路线")
            page.fill(f"#{ids.PLAN_NAME}", "西线")
            pick_option(page, f"#{ids.PLAN_CUSTOMERS}", "C1", "(C1)")
            page.click(f"#{ids.PLAN_SAVE}")
            expect(saved).to_have_text("已保存。")
            expect(title).to_have_text("路线 西线")
            page.screenshot(path=str(artifacts / "plans-saved.png"), full_page=True)
        finally:
            page.context.close()
    assert not errors, errors
    db = Database(week_file, read_only=True)
    try:
        assert db.rows("SELECT plan_date::VARCHAR FROM plans WHERE employee_code = 'E1' "
                       "AND plan_name = '周二'") == [("2024-05-09",)]
        [(before, after)] = db.rows("SELECT before_json, after_json FROM audit_log "
                                    "WHERE action = 'plan.update'")
        assert (json.loads(before)["plan_date"], json.loads(after)["plan_date"]) == (
            "2024-05-07", "2024-05-09")
    finally:
        db.close()


def test_an_analyst_reads_plans_without_editing_controls(chromium: Any,
                                                         reading_server: LiveServer) -> None:
    errors: list[str] = []
    page = open_as(chromium, reading_server, "bj", "/plans?employee=E4&month=2024-05", errors)
    try:
        entry = day_cell(page, 6).locator(".vl-plan-name", has_text="周一")
        expect(entry).to_be_visible()
        for control in (ids.PLAN_NEW_ROUTE, ids.PLAN_SAVE, ids.PLAN_DELETE,
                        ids.PLAN_SCHEDULE):
            expect(page.locator(f"#{control}")).to_be_hidden()
        expect(day_cell(page, 6).locator("button.vl-day-number")).to_be_disabled()
        entry.click()
        expect(page.locator(f"#{ids.PLAN_EDITOR_TITLE}")).to_have_text("计划 周一")
        expect(page.locator(f"#{ids.PLAN_NAME}")).to_have_value("周一")
        expect(page.locator(f"#{ids.PLAN_NAME}")).to_have_attribute("readonly", "")
        for control in (ids.PLAN_SAVE, ids.PLAN_DELETE, ids.PLAN_SCHEDULE):
            expect(page.locator(f"#{control}")).to_be_hidden()
    finally:
        page.context.close()
    assert not errors, errors


@pytest.mark.parametrize(("user", "employee", "customers"),
                         [("east", "E1", 2), ("bj", "E4", 0)])  # E4 looks after nobody
def test_assignments_open_without_console_errors(chromium: Any, reading_server: LiveServer,
                                                 user: str, employee: str,
                                                 customers: int) -> None:
    errors: list[str] = []
    page = open_as(chromium, reading_server, user, f"/assignments?employee={employee}",
                   errors)
    try:
        grid = page.locator(f"#{ids.ASSIGN_EMPLOYEE_GRID}")
        if customers:
            expect(grid.locator(".ag-row", has_text="C")).to_have_count(customers)
        else:
            expect(grid.locator(".ag-overlay-no-rows-center")).to_be_visible()
        for control in (ids.ASSIGN_BIND, ids.ASSIGN_UNBIND, ids.ASSIGN_SHARE,
                        ids.ASSIGN_REVOKE, ids.ASSIGN_DEPT_ADD, ids.ASSIGN_DEPT_REMOVE):
            expect(page.locator(f"#{control}")).to_be_hidden()
        page.wait_for_timeout(1000)  # late callbacks would log their errors by now
    finally:
        page.context.close()
    assert not errors, errors


OVERLAP = """() => {
  const picker = document.querySelector('.dash-datepicker-content').getBoundingClientRect();
  const zoom = document.querySelector('.leaflet-control-zoom').getBoundingClientRect();
  const apart = picker.right <= zoom.left || zoom.right <= picker.left
    || picker.bottom <= zoom.top || zoom.bottom <= picker.top;
  return apart;
}"""


def test_no_open_date_picker_is_covered_by_the_map_zoom(chromium: Any,
                                                        reading_server: LiveServer) -> None:
    """The plan's date (opens over the map) and the route's first date (opens upwards
    when the window is short): the open calendar and the zoom control do not overlap.

    A guard: with Dash 4's date picker the overlap of issue 15 item 13 did not show here
    (tried at 1024-1920 px wide, 500-1200 px high, both languages), so this passes on the
    code before too."""
    errors: list[str] = []
    page = open_as(chromium, reading_server, "east", "/plans?employee=E1&month=2024-05",
                   errors)
    try:
        day_cell(page, 6).locator(".vl-plan-name").click()
        page.click(f"#{ids.PLAN_DATE}")
        expect(page.locator(".dash-datepicker-content")).to_be_visible()
        assert page.evaluate(OVERLAP)
        page.keyboard.press("Escape")
        page.click(f"#{ids.PLAN_NEW_ROUTE}")
        page.set_viewport_size({"width": 1280, "height": 720})
        page.locator(f"#{ids.PLAN_SCHEDULE_START}").scroll_into_view_if_needed()
        page.click(f"#{ids.PLAN_SCHEDULE_START}")
        expect(page.locator(".dash-datepicker-content")).to_be_visible()
        assert page.evaluate(OVERLAP)
    finally:
        page.context.close()
    assert not errors, errors
