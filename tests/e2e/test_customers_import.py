"""The data import page in Debian's Chromium, as an admin uses it: download the customers
template, fill two rows into a copy, upload it, Detect, Import, and find it in the history;
then Detect the same file again and read its problems in the grid.

Database: tests.live.build_database (customers C001-C003; the admin of tests.live.ADMIN).
The page's own texts are compared through i18n.gettext(msgid, "zh"), which is Chinese once
the catalog has them.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import xlsxwriter
from playwright.sync_api import expect
from python_calamine import CalamineWorkbook

from dashboard import i18n
from dashboard.components import ids
from tests.e2e.helpers import pick_option
from tests.live import ADMIN, LiveServer, build_database, live_server

pytestmark = pytest.mark.e2e

NEW_CUSTOMERS = (
    {"客户编码": "C900", "客户名称": "苏州园区店", "客户等级": "A", "地址": "苏州市工业园区",
     "负责人工号": "E001"},
    {"客户编码": "00901", "客户名称": "无锡滨湖店", "客户等级": "B", "备注": "<b>不是标签</b>"},
)


def zh(msgid: str) -> str:
    return i18n.gettext(msgid, "zh")


@pytest.fixture(scope="module")
def import_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    path = build_database(tmp_path_factory.mktemp("e2e-import") / "import.duckdb")
    with live_server(path) as running:
        yield running


def filled_copy(template: Path, target: Path) -> list[str]:
    """A new workbook with the template's header row and the two customers; the headers."""
    headers = [str(h) for h in CalamineWorkbook.from_path(str(template))
               .get_sheet_by_index(0).to_python()[0]]
    book = xlsxwriter.Workbook(str(target))
    sheet = book.add_worksheet("customers")
    sheet.write_row(0, 0, headers)
    for r, customer in enumerate(NEW_CUSTOMERS, start=1):
        for c, header in enumerate(headers):
            sheet.write_string(r, c, customer.get(header, ""))
    book.close()
    return headers


def test_template_detect_import_and_history(import_server: LiveServer, chromium: Any,
                                            artifacts: Path, tmp_path: Path) -> None:
    context = chromium.new_context(locale="zh-CN", viewport={"width": 1400, "height": 1000},
                                   accept_downloads=True)
    errors: list[str] = []
    page = context.new_page()
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        page.goto(import_server.url + "/login")
        page.fill("#username", ADMIN.username)
        page.fill("#password", ADMIN.password)
        page.click(".vl-login-card button[type=submit]")
        page.wait_for_url("**/visits**")
        page.goto(import_server.url + "/customers/import")
        expect(page.locator("#vl-customers_import-title")).to_have_text("数据导入")
        expect(page.locator("#vl-import-kind input[value=customers]")).to_be_checked()

        # The Chinese template: headers in Chinese and a sheet explaining each column.
        with page.expect_download() as info:
            page.click("#vl-import-template-zh")
        download = info.value
        assert download.suggested_filename == "客户导入模板.xlsx"
        template = tmp_path / "template.xlsx"
        download.save_as(template)
        book = CalamineWorkbook.from_path(str(template))
        assert book.sheet_names == ["customers", "说明"]
        notes = book.get_sheet_by_name("说明").to_python()
        assert notes[0] == ["列", "必填", "说明"]
        assert notes[1][:2] == ["客户编码", "是"] and notes[2][:2] == ["客户名称", "是"]

        filled = tmp_path / "新客户.xlsx"
        headers = filled_copy(template, filled)
        assert headers[:3] == ["客户编码", "客户名称", "客户等级"] and "负责人工号" in headers

        # Upload: the name and size show; Detect finds nothing wrong.
        page.set_input_files("#vl-import-upload input[type=file]", str(filled))
        expect(page.locator("#vl-import-file")).to_contain_text("新客户.xlsx")
        expect(page.locator("#vl-import-file")).to_contain_text("KB")
        expect(page.locator("#vl-import-run")).to_be_disabled()
        detect = page.locator("#vl-import-detect")
        expect(detect).to_be_enabled()
        detect.click()
        counts = page.locator("#vl-import-summary .vl-kpis")
        expect(counts).to_have_attribute("data-problems", "0", timeout=20_000)
        expect(counts).to_have_attribute("data-inserted", "2")
        expect(page.locator("#vl-import-summary")).to_contain_text(
            zh("No problems found. Import writes {count} new rows.").format(count="2"))
        expect(page.locator("#vl-import-problems-section")).to_be_hidden()
        page.screenshot(path=str(artifacts / "import-detected.png"), full_page=True)

        # Import: a progress bar, then the result, then the history's new first row.
        run = page.locator("#vl-import-run")
        expect(run).to_be_enabled()
        run.click()
        expect(page.locator("#vl-import-status progress")).to_be_visible()
        result = page.locator("#vl-import-result .vl-notice")
        expect(result).to_have_attribute("data-inserted", "2", timeout=20_000)
        expect(result).to_have_text(zh(
            "Imported: {inserted} inserted, {skipped} skipped (already stored).").format(
                inserted="2", skipped="0"))
        expect(run).to_be_disabled()
        first = page.locator("#vl-import-history-grid .ag-center-cols-container "
                             ".ag-row[row-index='0']")
        expect(first.locator("[col-id=filename]")).to_have_text("新客户.xlsx")
        expect(first.locator("[col-id=username]")).to_have_text(ADMIN.username)
        expect(first.locator("[col-id=kind_label]")).to_have_text("客户")
        expect(first.locator("[col-id=inserted]")).to_have_text("2")
        page.screenshot(path=str(artifacts / "import-done.png"), full_page=True)

        # The same file again: both codes exist now; the problems are listed in the grid.
        detect.click()
        expect(counts).to_have_attribute("data-problems", "2", timeout=20_000)
        expect(run).to_be_disabled()
        problems = page.locator("#vl-import-problems-grid .ag-center-cols-container .ag-row")
        expect(problems).to_have_count(2)
        expect(problems.first.locator("[col-id=column]")).to_have_text("客户编码")
        expect(problems.first.locator("[col-id=message]")).to_have_text(
            "客户“C900”已存在；请在编辑表单中修改（如已删除，请先恢复）。")
        page.screenshot(path=str(artifacts / "import-problems.png"), full_page=True)

        # The new customers are in the archive list.
        page.goto(import_server.url + "/customers?q=90")  # C900 and 00901
        rows = page.locator("#vl-cust-grid .ag-center-cols-container .ag-row")
        expect(rows).to_have_count(2)
        expect(page.locator("#vl-cust-count")).to_have_text("2 个客户")
        # Bind one to an employee and see it in the person-customer table.
        page.goto(import_server.url + "/assignments?employee=E002")
        pick_option(page, f"#{ids.ASSIGN_BIND_PICK}", "C900", "C900")
        page.click(f"#{ids.ASSIGN_BIND}")
        expect(page.locator(f"#{ids.ASSIGN_MESSAGE}")).to_have_text("已绑定 1 个客户。")
        bound = page.locator(f"#{ids.ASSIGN_EMPLOYEE_GRID} .ag-center-cols-container .ag-row",
                             has_text="C900")
        expect(bound).to_have_count(1)
        expect(bound.locator("[col-id=how_label]")).to_have_text("直接负责")
        page.screenshot(path=str(artifacts / "assignments-bound.png"), full_page=True)
        assert not errors, errors
    finally:
        context.close()
