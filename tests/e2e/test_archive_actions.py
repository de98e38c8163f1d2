"""Admin actions whose defects only show in the browser (issue 15 items 2 and 5).

- The audit log's search box refreshes its grid: each search shows its own rows.
- After deleting a customer, the selection follows what the user sees: the deleted
  customer is not shown ticked under 已删除客户, ticking it selects it, and Restore restores it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.live import ADMIN, SUPERVISOR, LiveServer, Login, build_database, live_server

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def shell_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A database of its own: these tests delete and restore customers."""
    return build_database(tmp_path_factory.mktemp("e2e-actions") / "actions.duckdb")


@pytest.fixture(scope="module")
def server(shell_db: Path) -> Iterator[LiveServer]:
    with live_server(shell_db) as running:
        yield running


def open_as(server: LiveServer, chromium: Any, user: Login) -> Iterator[Any]:
    """A logged-in page (Chinese), failing the test on any console error."""
    context = chromium.new_context(locale="zh-CN", viewport={"width": 1400, "height": 900})
    problems: list[str] = []
    tab = context.new_page()
    tab.on("console", lambda m: problems.append(m.text)
           if m.type == "error" and "ERR_NAME_NOT_RESOLVED" not in m.text else None)
    tab.on("pageerror", lambda e: problems.append(str(e)))
    tab.goto(server.url + "/login")
    tab.fill("#username", user.username)
    tab.fill("#password", user.password)
    tab.click(".vl-login-card button[type=submit]")
    tab.wait_for_url("**/visits**")
    try:
        yield tab
    finally:
        context.close()
    assert problems == []


@pytest.fixture
def page(server: LiveServer, chromium: Any) -> Iterator[Any]:
    yield from open_as(server, chromium, ADMIN)


@pytest.fixture
def supervisor_page(server: LiveServer, chromium: Any) -> Iterator[Any]:
    yield from open_as(server, chromium, SUPERVISOR)


def checkbox(page: Any, code: str) -> Any:
    """The selection tick of a customer's row (in the pinned code column)."""
    return page.locator(f"#vl-cust-grid .ag-row[row-id='{code}'] "
                        ".ag-selection-checkbox input[type=checkbox]")


def test_restore_after_delete_selects_what_the_user_sees(page: Any, server: LiveServer,
                                                        artifacts: Path) -> None:
    page.on("dialog", lambda dialog: dialog.accept())
    page.goto(server.url + "/customers")
    box = checkbox(page, "C002")
    box.wait_for(timeout=20_000)
    box.check()
    page.get_by_role("button", name="删除所选").click()
    expect(page.get_by_text("已删除 1 个客户。")).to_be_visible(timeout=15_000)
    expect(page.locator(".ag-row[row-id='C002']")).to_have_count(0, timeout=15_000)

    page.get_by_label("已删除客户").check()
    box = checkbox(page, "C002")
    box.wait_for(timeout=15_000)
    page.screenshot(path=str(artifacts / "customers-deleted-zh.png"), full_page=True)
    expect(box).not_to_be_checked()  # nothing the user did not tick is selected
    box.check()
    expect(box).to_be_checked()
    page.get_by_role("button", name="恢复所选").click()
    expect(page.get_by_text("已恢复 1 个客户。")).to_be_visible(timeout=15_000)
    expect(page.get_by_text("请先选择客户。")).to_have_count(0)


def test_audit_search_refreshes_the_grid(page: Any, server: LiveServer) -> None:
    page.goto(server.url + "/audit")
    count = page.locator("#vl-audit-count")
    rows = page.locator("#vl-audit-grid .ag-center-cols-container .ag-row")
    rows.first.wait_for(timeout=20_000)
    expect(count).to_have_text(re.compile(r"\d"), timeout=15_000)
    everything = count.inner_text()
    search = page.get_by_placeholder("用户、操作或记录")
    search.fill("nothing-matches-this")
    search.press("Enter")
    expect(rows).to_have_count(0, timeout=15_000)
    expect(count).not_to_have_text(everything)
    search.fill("")
    search.press("Enter")
    expect(rows.first).to_be_visible(timeout=15_000)
    expect(count).to_have_text(everything)


def test_read_only_list_refreshes_without_errors(supervisor_page: Any,
                                                 server: LiveServer) -> None:
    """Clearing the selection on refresh is harmless where the list has no selection."""
    page = supervisor_page
    page.goto(server.url + "/customers")
    rows = page.locator("#vl-cust-grid .ag-center-cols-container .ag-row")
    rows.first.wait_for(timeout=20_000)
    search = page.get_by_placeholder("编码、名称、电话或地址")
    search.fill("C001")
    search.press("Enter")
    expect(rows).to_have_count(1, timeout=15_000)
