"""The employee visit summary in Debian's Chromium, as a supervisor uses it.

Data: the hand-computed week of tests/datasets.build_week (E1 has 4 visits that week).
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect
from python_calamine import CalamineWorkbook

from tests.datasets import build_week
from tests.live import LiveServer, database_file, live_server

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def week_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("e2e-visits") / "week.duckdb"
    database_file(path, build_week)
    return path


@pytest.fixture(scope="module")
def week_server(week_db: Path) -> Iterator[LiveServer]:
    with live_server(week_db) as running:
        yield running


def kpi(page: Any, index: int) -> Any:
    return page.locator(".vl-kpi .vl-kpi-value").nth(index)


def test_dates_ranking_detail_and_export(week_server: LiveServer, chromium: Any,
                                         artifacts: Path, tmp_path: Path) -> None:
    context = chromium.new_context(locale="zh-CN", viewport={"width": 1400, "height": 1000},
                                   accept_downloads=True)
    errors: list[str] = []
    page = context.new_page()
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        page.goto(week_server.url + "/login")
        page.fill("#username", "east")
        page.fill("#password", "password-1")
        page.click(".vl-login-card button[type=submit]")
        page.wait_for_url("**/visits**")

        # A bookmarked empty week: no visits yet.
        page.goto(week_server.url + "/visits?from=2024-05-13&to=2024-05-19")
        expect(kpi(page, 0)).to_have_text("0")

        # Change the date range: the headline, the curves and the ranking follow.
        dates = page.locator(".vl-filter-dates input")
        dates.first.fill("2024-05-06")
        dates.first.press("Enter")
        page.keyboard.press("Escape")
        expect(kpi(page, 0)).to_have_text("9")
        # 9 visits / (2 active staff x 9 workdays: 4 in the first week, 5 in the second)
        expect(kpi(page, 2)).to_have_text("0.50")
        assert "from=2024-05-06" in page.url and "to=2024-05-19" in page.url
        traces = page.locator(f"#{'vl-visits-daily'} .scatterlayer .trace")
        expect(traces).to_have_count(3)
        first_row = page.locator("#vl-visits-ranking-grid .ag-row[row-index='0']")
        expect(first_row.locator("[col-id=employee_code]")).to_have_text("E1")
        expect(first_row.locator("[col-id=visits]")).to_have_text("4")
        page.screenshot(path=str(artifacts / "visits-ranking.png"), full_page=True)

        # Click the employee: the detail opens, filtered to them.
        first_row.locator("[col-id=employee_name]").click()
        expect(page.locator("#vl-visits-detail-section")).to_be_visible()
        expect(page.locator("#vl-visits-detail-count")).to_have_text("4 条拜访")
        detail_rows = page.locator("#vl-visits-detail-grid .ag-center-cols-container .ag-row")
        expect(detail_rows).to_have_count(4)
        expect(page.locator(".vl-filter-employees")).to_contain_text("张一 (E1)")
        assert "employees=E1" in page.url and "tab=detail" in page.url
        short = page.locator("#vl-visits-detail-grid .ag-row [col-id=stay_minutes].vl-cell-bad")
        expect(short).to_have_count(1)
        expect(short).to_have_text("9.98")
        page.screenshot(path=str(artifacts / "visits-detail.png"), full_page=True)

        # Export: progress, then the zip with both tables in CSV and XLSX.
        page.click("#vl-visits-export")
        link = page.locator("#vl-export-download")
        expect(link).to_be_visible(timeout=20_000)
        with page.expect_download() as info:
            link.click()
        saved = tmp_path / "export.zip"
        info.value.save_as(saved)
        archive = zipfile.ZipFile(saved)
        detail_csv = archive.read("detail.csv").decode("utf-8-sig").splitlines()
        assert len(detail_csv) == 1 + 4 and detail_csv[0].startswith("拜访编号")
        book = CalamineWorkbook.from_filelike(io.BytesIO(archive.read("detail.xlsx")))
        sheet = book.get_sheet_by_index(0).to_python()
        assert [row[0] for row in sheet[1:]] == ["v1", "v2", "v3", "v4"]
        ranking = archive.read("ranking.csv").decode("utf-8-sig").splitlines()
        assert ranking[0].startswith("排名,工号") and ranking[1].split(",")[1] == "E1"
        assert not errors, errors
    finally:
        context.close()
