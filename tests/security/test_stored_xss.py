"""Stored XSS (issue 9, item 5): names, addresses, contacts and notes holding HTML or script
are shown as text — in real Chromium on the archive (grid and record), the visited summary,
the map (cluster tooltip, marker popup, legend), the visit summary (chart and detail) — and
kept literally in the CSV and XLSX exports.

In the browser: no dialog opens, no element of the payloads exists in the DOM, and the
payload text itself is visible (so it was rendered, as text). The pages' CSP would also
block inline handlers; the test checks the DOM, so it fails on an injection even then.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect
from python_calamine import CalamineWorkbook

from dashboard.components import ids
from pipelines.db import Database
from pipelines.upgrade import upgrade
from pipelines.users import add_user
from tests.conftest import Factory
from tests.dash_client import key
from tests.e2e.conftest import chromium  # noqa: F401  (the shared browser fixture)
from tests.live import LiveServer, live_server
from tests.security.support import client, export_members
from tests.security.world import User

pytestmark = pytest.mark.e2e

IMG = "<img src=x onerror=alert(1)>"
SCRIPT = "<script>alert(2)</script>"
LINK = '<a href="javascript:alert(3)">点我</a>'
SVG = "<svg onload=alert(4)>"
PAYLOADS = (IMG, SCRIPT, LINK, SVG)
ADMIN = User("boss", "boss-password-1", "admin", (), frozenset())
# What any of the payloads would leave in the DOM if it were parsed as HTML.
INJECTED = ("#react-entry-point :is(img[src='x'], img[onerror], svg[onload], "
            "a[href^='javascript'], script)")


def csv_text(header: list[str], rows: list[list[str]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


def build_xss_world(path: Path) -> Path:
    """One branch; employee EX (payload name) owns 900 customers near Shanghai (the map
    bins them), employee EY owns three customers whose every text field is a payload."""
    db = Database(path)
    try:
        upgrade(db)
        factory = Factory(db)
        factory.load("departments", csv_text(["code", "name", "parent_code"], [
            ["HQ", "总部" + SVG, ""], ["B1", "上海" + IMG, "HQ"]]))
        factory.load("employees", csv_text(["code", "name", "department_code"], [
            ["EX", IMG + "员工", "B1"], ["EY", SCRIPT + "员工", "B1"]]))
        header = ["code", "name", "grade", "address", "longitude", "latitude", "contact",
                  "note", "owner_codes"]
        rows = [[f"K{i:04d}", f"客户{i}", "A", "地址", f"{121.30 + (i % 30) * 0.01:.4f}",
                 f"{31.10 + (i // 30) * 0.01:.4f}", "", "", "EX"] for i in range(900)]
        rows += [[f"X{i}", payload + "店", "B", SCRIPT + "路", f"{116.40 + i * 0.001:.4f}",
                  "39.90", LINK, IMG + "备注\n" + SCRIPT, "EY"]
                 for i, payload in enumerate((IMG, LINK, SVG))]
        factory.load("customers", csv_text(header, rows))
        factory.load("visits", "employee_code,customer_code,check_in_at,check_out_at\n"
                     "EY,X0,2024-05-06 09:00:00,2024-05-06 09:30:00\n"
                     "EY,X1,2024-05-07 09:00:00,2024-05-07 09:30:00\n"
                     "EX,K0001,2024-05-07 10:00:00,2024-05-07 10:30:00\n")
        add_user(db, ADMIN.username, ADMIN.password, "admin")
        db.checkpoint()
    finally:
        db.close()
    return path


@pytest.fixture(scope="module")
def xss_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    path = build_xss_world(tmp_path_factory.mktemp("xss") / "xss.duckdb")
    with live_server(path) as running:
        yield running


class Watch:
    """A logged-in page that remembers dialogs; `check` asserts nothing was injected."""

    def __init__(self, browser: Any, server: LiveServer) -> None:
        self.context = browser.new_context(locale="zh-CN",
                                           viewport={"width": 1400, "height": 1000})
        self.page: Page = self.context.new_page()
        self.dialogs: list[str] = []
        self.page.on("dialog", self._dialog)
        self.server = server
        self.page.goto(server.url + "/login")
        self.page.fill("#username", ADMIN.username)
        self.page.fill("#password", ADMIN.password)
        self.page.click(".vl-login-card button[type=submit]")
        self.page.wait_for_url("**/visits**")

    def _dialog(self, dialog: Any) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def check(self, where: str, shown: tuple[str, ...] = ()) -> None:
        self.page.wait_for_timeout(300)  # let late handlers (onerror, onload) run
        injected = self.page.eval_on_selector_all(INJECTED, "nodes => nodes.map(n => "
                                                  "n.outerHTML.slice(0, 80))")
        script_text = self.page.evaluate(
            "() => [...document.scripts].filter(s => /alert\\(/.test(s.textContent)).length")
        assert injected == [] and script_text == 0, (where, injected)
        assert self.dialogs == [], (where, self.dialogs)
        body = self.page.inner_text("body")
        for text in shown:
            assert text in body, (where, text)

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def watch(chromium: Any, xss_server: LiveServer) -> Iterator[Watch]:  # noqa: F811
    watcher = Watch(chromium, xss_server)
    try:
        yield watcher
    finally:
        watcher.close()


def test_archive_grid_and_record(watch: Watch) -> None:
    page = watch.page
    page.goto(watch.server.url + "/customers?q=X")
    expect(page.locator("#vl-cust-grid .ag-row").first).to_be_visible()
    watch.check("archive grid", (IMG + "店", SCRIPT + "路"))
    page.goto(watch.server.url + "/customers?code=X0")
    expect(page.locator("#vl-cust-record-card")).to_be_visible()
    watch.check("archive record", (IMG + "店", SCRIPT + "路", LINK, SCRIPT + "员工"))
    assert "备注" in page.inner_text("#vl-cust-record-card")


def test_visited_summary(watch: Watch) -> None:
    page = watch.page
    page.goto(watch.server.url + "/customers/visited?from=2024-05-06&to=2024-05-12")
    expect(page.locator("#vl-cv-list-grid .ag-row").first).to_be_visible()
    page.locator("#vl-cv-list-grid .ag-body-viewport").evaluate("e => e.scrollTop = 1e6")
    page.wait_for_timeout(500)
    watch.check("visited summary")
    page.goto(watch.server.url + "/customers/visited?from=2024-05-06&to=2024-05-12&by=employee")
    expect(page.locator("#vl-cv-summary-grid .ag-row").first).to_be_visible()
    watch.check("visited summary by person", (SCRIPT + "员工",))


def test_map_cluster_tooltip_legend_and_popup(watch: Watch) -> None:
    page = watch.page
    page.goto(watch.server.url + "/map?employees=EX&colour=employee&from=2024-05-01&to=2024-05-31")
    cluster = page.locator("#vl-map .vl-cluster").first
    expect(cluster).to_be_visible(timeout=15_000)
    cluster.hover()
    expect(page.locator(".leaflet-tooltip")).to_be_visible()
    watch.check("map cluster tooltip and legend", (IMG + "员工",))
    assert IMG in page.inner_text(".leaflet-tooltip")

    page.goto(watch.server.url + "/map?employees=EY&from=2024-05-01&to=2024-05-31")
    markers = page.locator("#vl-map path.leaflet-interactive")
    expect(markers.first).to_be_visible(timeout=15_000)
    popup = page.locator(".leaflet-popup-content .vl-popup")
    for index in range(markers.count()):
        # The three markers sit a few pixels apart and an open popup can cover the next
        # one, so close it first and deliver the click to the marker itself.
        if popup.count():
            page.locator(".leaflet-popup-close-button").first.dispatch_event("click")
        expect(popup).to_have_count(0)
        markers.nth(index).dispatch_event("click")
        expect(popup).to_contain_text(SCRIPT + "路")
        watch.check("map popup", (SCRIPT + "路",))


def test_visit_summary_chart_and_detail(watch: Watch) -> None:
    page = watch.page
    page.goto(watch.server.url + "/visits?from=2024-05-06&to=2024-05-12")
    expect(page.locator("#vl-visits-ranking-bars .barlayer .point").first).to_be_visible()
    watch.check("visit ranking chart and grid", (IMG + "员工",))
    page.goto(watch.server.url + "/visits?from=2024-05-06&to=2024-05-12&tab=detail")
    expect(page.locator("#vl-visits-detail-grid .ag-row").first).to_be_visible()
    watch.check("visit detail", (IMG + "店", SCRIPT + "路"))


def test_exports_keep_the_text_literally(xss_server: LiveServer) -> None:
    """The customer export's CSV and XLSX hold each payload exactly as typed."""
    dash = client(xss_server, ADMIN)
    values: dict[str, Any] = {key(ids.CUST_SEARCH, "value"): "X", key(ids.CUST_GRADES, "value"): [],
              key(ids.CUST_DEPARTMENT, "value"): None,
              key(ids.filter_employees("customers"), "value"): None,
              key(ids.CUST_FLAGS, "value"): []}
    files = export_members(dash, "customers", values)
    rows = list(csv.reader(io.StringIO(files["customers.csv"].decode("utf-8-sig"))))
    book = CalamineWorkbook.from_filelike(io.BytesIO(files["customers.xlsx"]))
    for cells in ({c for row in rows[1:] for c in row},
                  {c for row in book.get_sheet_by_index(0).to_python() for c in row}):
        for expected in (IMG + "店", LINK + "店", SVG + "店", SCRIPT + "路", LINK,
                         IMG + "备注\n" + SCRIPT):
            assert expected in cells, expected
