"""Plans in Debian's Chromium: create a route, add it to next Monday, see it on the calendar.
Data: tests/datasets.build_week (supervisor east plans for E1)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from dashboard.components import ids
from tests.datasets import build_week
from tests.e2e.helpers import pick_option
from tests.live import LiveServer, database_file, live_server

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def plans_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    path = tmp_path_factory.mktemp("e2e-plans") / "week.duckdb"
    database_file(path, build_week)
    with live_server(path) as running:
        yield running


def pick_customer(page: Any, code: str) -> None:
    pick_option(page, f"#{ids.PLAN_CUSTOMERS}", code, f"({code})")


def test_route_on_next_monday(plans_server: LiveServer, chromium: Any, artifacts: Path) -> None:
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date()
    monday = today + timedelta(days=7 - today.weekday())
    context = chromium.new_context(locale="zh-CN", viewport={"width": 1400, "height": 1200})
    errors: list[str] = []
    page = context.new_page()
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        page.goto(plans_server.url + "/login")
        page.fill("#username", "east")
        page.fill("#password", "password-1")
        page.click(".vl-login-card button[type=submit]")
        page.wait_for_url("**/visits**")
        page.goto(plans_server.url + "/plans?employee=E1")
        expect(page.locator(f"#{ids.PLAN_CALENDAR} table")).to_be_visible()

        page.click(f"#{ids.PLAN_NEW_ROUTE}")
        expect(page.locator(f"#{ids.PLAN_EDITOR_TITLE}")).to_have_text("新建路线")
        page.fill(f"#{ids.PLAN_NAME}", "东线")
        pick_customer(page, "C2")
        pick_customer(page, "C1")
        expect(page.locator(f"#{ids.PLAN_ORDER} li")).to_have_count(2)
        page.locator(f"#{ids.PLAN_ORDER} li").nth(1).get_by_role("button", name="↑").click()
        expect(page.locator(f"#{ids.PLAN_ORDER} li").first).to_contain_text("甲店")
        page.click(f"#{ids.PLAN_SAVE}")
        expect(page.locator(f"#{ids.PLAN_MESSAGE}")).to_have_text("已保存。")

        start = page.locator(f"#{ids.PLAN_SCHEDULE_START}")
        start.fill(monday.isoformat())
        start.press("Enter")
        page.keyboard.press("Escape")
        page.click(f"#{ids.PLAN_SCHEDULE}")
        expect(page.locator(f"#{ids.PLAN_MESSAGE}")).to_have_text("已添加 1 个计划。")

        if monday.month != today.month:
            page.click(f"#{ids.PLAN_NEXT}")
        expect(page.locator(f"#{ids.PLAN_MONTH_LABEL}")).to_have_text(monday.strftime("%Y-%m"))
        day_cell = page.locator("td.vl-day:not(.vl-day-out)").filter(
            has=page.locator(f"button.vl-day-number:text-is('{monday.day}')"))
        expect(day_cell.locator(".vl-plan-name")).to_have_text("东线")
        expect(day_cell).to_contain_text("甲店")
        page.screenshot(path=str(artifacts / "plans-calendar.png"), full_page=True)
        assert not errors, errors
    finally:
        context.close()
