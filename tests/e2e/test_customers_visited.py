"""The customer visited summary in Debian's Chromium: click a pie slice, see the table and
the list narrow, clear the filter. Data: tests/datasets.build_customers.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.datasets import build_customers
from tests.live import LiveServer, database_file, live_server

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def customers_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    path = tmp_path_factory.mktemp("e2e-cv") / "customers.duckdb"
    database_file(path, build_customers)
    with live_server(path) as running:
        yield running


def test_pie_slice_narrows_the_page(customers_server: LiveServer, chromium: Any,
                                    artifacts: Path) -> None:
    context = chromium.new_context(locale="zh-CN", viewport={"width": 1400, "height": 1100})
    errors: list[str] = []
    page = context.new_page()
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    try:
        page.goto(customers_server.url + "/login")
        page.fill("#username", "boss")
        page.fill("#password", "password-1")
        page.click(".vl-login-card button[type=submit]")
        page.wait_for_url("**/visits**")
        page.goto(customers_server.url + "/customers/visited?from=2024-05-06&to=2024-05-12")

        count = page.locator(f"#{'vl-cv-list-count'}")
        expect(count).to_have_text("9 个客户")
        totals = page.locator("#vl-cv-summary-grid .ag-floating-top [col-id=all_customers]")
        expect(totals.first).to_have_text("9")

        # The slices in pie order: 0, 1, 2, 3-5, 6-10, 11+; click "6-10".
        page.locator("#vl-cv-pie g.slice").nth(4).click()
        expect(page.locator(".vl-chip")).to_have_text("期间拜访次数：6-10")
        expect(count).to_have_text("2 个客户")
        expect(totals.first).to_have_text("2")
        rows = page.locator("#vl-cv-list-grid .ag-center-cols-container .ag-row")
        expect(rows).to_have_count(2)
        assert "buckets=6-10" in page.url
        page.screenshot(path=str(artifacts / "customers-visited-slice.png"), full_page=True)

        # A second slice adds to the filter; Clear removes it.
        page.locator("#vl-cv-pie g.slice").nth(0).click()
        expect(page.locator(".vl-chip")).to_have_text("期间拜访次数：0, 6-10")
        expect(count).to_have_text("4 个客户")
        page.get_by_role("button", name="清除").click()
        expect(count).to_have_text("9 个客户")
        expect(page.locator(".vl-chip")).to_have_count(0)
        assert not errors, errors
    finally:
        context.close()
