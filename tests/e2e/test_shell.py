"""The shell in a real Chromium: login, Chinese by default, switch to English, logout."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from tests.live import ADMIN, READER, SUPERVISOR, LiveServer

pytestmark = pytest.mark.e2e

NAV_ZH = ["员工拜访汇总表", "客户被拜访汇总表", "客户分布", "客户管理", "人员客户表", "拜访计划"]
NAV_EN = ["Employee visit summary", "Customer visited summary", "Customer distribution",
          "Customer archive", "Person-customer table", "Visit plans"]


def nav_texts(page: Any) -> list[str]:
    page.wait_for_selector(".vl-nav .vl-nav-link")
    return [t.strip() for t in page.locator(".vl-nav .vl-nav-link").all_inner_texts()]


def on_page(path: str) -> re.Pattern[str]:
    """The page at `path`, whatever filter state it has already put in its address."""
    return re.compile(rf"^https?://[^/]+/{path}(\?.*)?$")


def test_login_language_switch_and_logout(
    server: LiveServer, chromium: Any, artifacts: Path
) -> None:
    context = chromium.new_context(locale="zh-CN", viewport={"width": 1280, "height": 800})
    problems: list[str] = []
    page = context.new_page()
    # Map tiles come from the internet, which this machine cannot reach: not a page error.
    page.on("console", lambda m: problems.append(m.text)
            if m.type == "error" and "ERR_NAME_NOT_RESOLVED" not in m.text else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    try:
        page.goto(server.url + "/visits")
        page.wait_for_url("**/login?next=/visits")
        assert page.locator("h1").inner_text() == "登录"
        page.fill("#username", SUPERVISOR.username)
        page.fill("#password", SUPERVISOR.password)
        page.click(".vl-login-card button[type=submit]")
        page.wait_for_url(on_page("visits"))

        assert nav_texts(page) == NAV_ZH  # admin-only pages are not offered
        page.wait_for_selector("#vl-visits-title")
        assert page.locator("#vl-visits-title").inner_text() == "员工拜访汇总表"
        assert page.locator(".vl-nav-active").inner_text() == "员工拜访汇总表"
        assert page.locator(".vl-user-name").inner_text() == SUPERVISOR.username
        assert page.locator(".vl-user-role").inner_text() == "主管"
        page.wait_for_function("document.title.startsWith('员工拜访汇总表')")

        # The department filter offers exactly the supervisor's subtree.
        page.click(".vl-filter-department .dash-dropdown")
        page.wait_for_selector(".dash-dropdown-option")
        options = page.locator(".dash-dropdown-option").all_inner_texts()
        assert [o.strip() for o in options] == [
            "华东大区", "华东大区 / 上海分公司", "华东大区 / 杭州分公司"]
        page.keyboard.press("Escape")
        page.screenshot(path=str(artifacts / "shell-zh.png"), full_page=True)

        # A preset sets the dates; typing a date turns the preset into "custom".
        today = datetime.now(ZoneInfo("Asia/Shanghai")).date()
        dates = page.locator(".vl-filter-dates input")
        assert dates.first.input_value() == today.replace(day=1).isoformat()
        page.get_by_text("近 31 天").click()
        expect(dates.first).to_have_value((today - timedelta(days=30)).isoformat())
        expect(dates.last).to_have_value(today.isoformat())
        dates.first.fill("2024-01-02")
        dates.first.press("Enter")
        expect(page.locator(".vl-filter-preset input[value=custom]")).to_be_checked()
        page.keyboard.press("Escape")
        page.click("text=客户分布")
        page.wait_for_url(on_page("map"))
        page.wait_for_selector("#vl-map-title")
        assert page.locator(".vl-nav-active").inner_text() == "客户分布"

        # An in-app move to "/" ends on the visit summary.
        page.evaluate("window.history.pushState({}, '', '/');"
                      "window.dispatchEvent(new CustomEvent('_dashprivate_pushstate'))")
        page.wait_for_url(on_page("visits"))
        page.wait_for_selector("#vl-visits-title")
        page.click(".vl-nav a[href='/map']")
        page.wait_for_selector("#vl-map-title")

        # Switch to English in the header: it comes back to the same page.
        page.click(".vl-header button.vl-lang-link[lang=en]")  # a form: POST with CSRF
        page.wait_for_url(on_page("map"))
        page.wait_for_selector("#vl-map-title")
        assert nav_texts(page) == NAV_EN
        assert page.locator("#vl-map-title").inner_text() == "Customer distribution"
        assert page.locator("html").get_attribute("lang") == "en"
        page.reload()
        page.wait_for_selector("#vl-map-title")
        assert nav_texts(page) == NAV_EN
        page.screenshot(path=str(artifacts / "shell-en.png"), full_page=True)

        # Log out: back to the login page, and pages are closed again.
        page.click("#vl-logout")
        page.wait_for_url("**/login")
        assert page.locator("h1").inner_text() == "Sign in"
        page.goto(server.url + "/visits")
        page.wait_for_url("**/login?next=/visits")
        page.screenshot(path=str(artifacts / "login-en.png"))
    finally:
        context.close()
    csp = [p for p in problems if "Content Security Policy" in p or "Refused" in p]
    assert not csp, csp
    assert not problems, problems



def test_log_out_everywhere_from_the_user_menu(server: LiveServer, chromium: Any) -> None:
    """Two browsers of one user; "log out everywhere" in one ends the other's session too
    (issue 14, item 2). The button is translated (READER has chosen no language: each
    browser's own)."""
    first = chromium.new_context(locale="zh-CN")
    second = chromium.new_context(locale="en-US")
    pages = []
    try:
        for context in (first, second):
            page = context.new_page()
            page.goto(server.url + "/login")
            page.fill("#username", READER.username)
            page.fill("#password", READER.password)
            page.click(".vl-login-card button[type=submit]")
            page.wait_for_url(on_page("visits"))
            page.wait_for_selector("#vl-logout-all")
            pages.append(page)
        assert pages[0].locator("#vl-logout-all").inner_text() == "在所有设备上退出"
        assert pages[1].locator("#vl-logout-all").inner_text() == "Log out everywhere"
        pages[0].click("#vl-logout-all")
        pages[0].wait_for_url("**/login")
        pages[1].goto(server.url + "/map")
        pages[1].wait_for_url("**/login?next=/map")
        assert pages[1].locator("h1").inner_text() == "Sign in"
    finally:
        first.close()
        second.close()


def test_backup_button_posts_its_form(server: LiveServer, chromium: Any, tmp_path: Path
                                      ) -> None:
    """The settings page's backup is a form POST with the CSRF token (issue 14, item 8): the
    button in a real browser still downloads the database copy."""
    context = chromium.new_context(locale="en-US", accept_downloads=True)
    try:
        page = context.new_page()
        page.goto(server.url + "/login?next=/settings")
        page.fill("#username", ADMIN.username)
        page.fill("#password", ADMIN.password)
        page.click(".vl-login-card button[type=submit]")
        page.wait_for_url(on_page("settings"))
        with page.expect_download() as download:
            page.click("#vl-settings-backup")
        saved = tmp_path / "backup.duckdb"
        download.value.save_as(saved)
        assert saved.read_bytes()[8:12] == b"DUCK"
    finally:
        context.close()
