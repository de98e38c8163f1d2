"""Hostile files through pipelines.imports.run_import (issue 9, item 6): each is refused, or
handled, with a clear message; memory stays bounded; nothing is written.

Memory is the growth of the process's peak resident size (VmHWM, reset through
/proc/self/clear_refs before each case) over its resident size when the case starts.

Decisions (docs/SECURITY.md): an XLSX formula cell is refused — its stored result may be
missing or stale — while a CSV cell "=1+1" is plain text and stays text (exports make it
inert); Excel date serials are read as dates by their cell format, and dates outside
1990-2100 (the phantom 1900-02-29 among them) are refused, like bare serial numbers.
"""

from __future__ import annotations

import base64
import io
import time
import zipfile
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import xlsxwriter

from dashboard.components import ids
from pipelines import formats
from pipelines.db import Database
from pipelines.imports import ImportResult, run_import
from tests.conftest import Factory
from tests.dash_client import key
from tests.live import live_server
from tests.security.support import client, copy_world
from tests.security.world import BOSS

MB = 1024 * 1024
SHEET = "xl/worksheets/sheet1.xml"


# -- measuring -------------------------------------------------------------------------------
def _status(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"no {field} in /proc/self/status")


def measured(work: Callable[[], Any]) -> tuple[Any, int, float]:
    """(result, peak memory growth in bytes, seconds) of one call."""
    Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM to the current size
    start, began = _status("VmRSS"), time.monotonic()
    result = work()
    return result, _status("VmHWM") - start, time.monotonic() - began


@pytest.fixture
def world(db: Database) -> Database:
    """Departments, employees and a customer to refer to; nothing else."""
    factory = Factory(db)
    factory.org()
    factory.load("employees", "code,name,department_code\nE1,张一,B11\n")
    factory.load("customers", "code,name\nC1,甲店\n")
    return db


def counts(db: Database) -> dict[str, int]:
    return {t: int(db.scalar(f"SELECT count(*) FROM {t}")) for t in (
        "customers", "visits", "plans", "plan_items", "holidays", "import_history")}


def refused(db: Database, kind: str, data: bytes, filename: str,
            max_mb: int = 150) -> ImportResult:
    """Import the file: it must be refused, leave every table as it was, stay in memory."""
    before = counts(db)
    result, grown, seconds = measured(lambda: run_import(db, kind, data, filename, "tests"))
    assert not result.ok and result.problems, result.as_json()
    assert counts(db) == before
    assert grown < max_mb * MB, f"{grown / MB:.0f} MB"
    assert seconds < 30, seconds
    return result


def codes(result: ImportResult) -> list[str]:
    return [p.code for p in result.problems]


# -- workbooks -------------------------------------------------------------------------------
def workbook(fill: Callable[[Any, Any], object]) -> bytes:
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    fill(book, book.add_worksheet())
    book.close()
    return buffer.getvalue()


def replace_part(data: bytes, name: str, content: bytes | None = None, *,
                 raw: tuple[bytes, int, int, int] | None = None) -> bytes:
    """The workbook with one part replaced: by `content`, or by a raw deflate stream
    (compressed bytes, crc, the size to declare, the real size) written as is."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            if info.filename == name and content is not None:
                target.writestr(info.filename, content)
            elif info.filename != name:
                target.writestr(info.filename, source.read(info.filename))
        if raw is not None:
            stream, crc, declared, _real = raw
            part = zipfile.ZipInfo(name, (2024, 1, 1, 0, 0, 0))
            part.compress_type = zipfile.ZIP_DEFLATED
            part.CRC, part.compress_size, part.file_size = crc, len(stream), declared
            target.fp.seek(target.start_dir)  # type: ignore[union-attr]
            part.header_offset = target.fp.tell()  # type: ignore[union-attr]
            target.fp.write(part.FileHeader(zip64=True))  # type: ignore[union-attr]
            target.fp.write(stream)  # type: ignore[union-attr]
            target.start_dir = target.fp.tell()  # type: ignore[union-attr]
            target.filelist.append(part)
            target.NameToInfo[name] = part
    return out.getvalue()


def deflated_sheet(size: int) -> tuple[bytes, int, int, int]:
    """A sheet whose one cell holds `size` letters, deflated (about 1 KB per MB)."""
    head = (b'<?xml version="1.0"?><worksheet xmlns="http://schemas.openxmlformats.org/'
            b'spreadsheetml/2006/main"><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>')
    tail = b"</t></is></c></row></sheetData></worksheet>"
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    chunk = b"A" * MB
    parts, crc = [packer.compress(head)], zlib.crc32(head)
    for _ in range(size // MB):
        parts.append(packer.compress(chunk))
        crc = zlib.crc32(chunk, crc)
    parts += [packer.compress(tail), packer.flush()]
    crc = zlib.crc32(tail, crc)
    real = len(head) + size // MB * MB + len(tail)
    return b"".join(parts), crc, real, real


@pytest.fixture(scope="module")
def gigabyte_sheet() -> tuple[bytes, int, int, int]:
    return deflated_sheet(1024 * MB + MB)


@pytest.fixture(scope="module")
def plain_book() -> bytes:
    return workbook(lambda _b, sheet: sheet.write_row(0, 0, ["code", "name"]))


def test_zip_bomb_over_a_gigabyte_is_refused_unread(world: Database, plain_book: bytes,
                                                    gigabyte_sheet: Any) -> None:
    bomb = replace_part(plain_book, SHEET, raw=gigabyte_sheet)
    assert len(bomb) < 2 * MB and zipfile.ZipFile(io.BytesIO(bomb)).getinfo(
        SHEET).file_size > 1024 * MB
    result = refused(world, "customers", bomb, "bomb.xlsx", max_mb=50)
    assert codes(result) == ["unsafe_workbook"]
    assert "1025 MB" in result.problems[0].message and "512 MB" in result.problems[0].message


def test_zip_bomb_under_the_size_limit_is_refused_by_its_ratio(world: Database,
                                                               plain_book: bytes) -> None:
    bomb = replace_part(plain_book, SHEET, raw=deflated_sheet(200 * MB))
    result = refused(world, "customers", bomb, "bomb.xlsx", max_mb=50)
    assert codes(result) == ["unsafe_workbook"]
    assert "zip bomb" in result.problems[0].message and SHEET in result.problems[0].message


def test_zip_bomb_that_lies_about_its_size_fails_its_checksum(world: Database,
                                                              plain_book: bytes,
                                                              gigabyte_sheet: Any) -> None:
    stream, crc, _declared, real = gigabyte_sheet
    bomb = replace_part(plain_book, SHEET, raw=(stream, crc, 4096, real))
    result = refused(world, "customers", bomb, "bomb.xlsx", max_mb=50)
    assert codes(result) == ["bad_file"]
    assert "CRC" in result.problems[0].message


def test_entity_expansion_in_shared_strings_is_refused(world: Database) -> None:
    book = workbook(lambda _b, sheet: (sheet.write_row(0, 0, ["code", "name"]),
                                       sheet.write_row(1, 0, ["C9", "lol"])))
    entities = '<!ENTITY lol0 "lol">' + "".join(
        f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10))
    laughs = ('<?xml version="1.0" encoding="UTF-8"?><!DOCTYPE sst [' + entities + ']>'
              '<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
              "<si><t>code</t></si><si><t>name</t></si><si><t>C9</t></si>"
              "<si><t>&lol9;</t></si></sst>").encode()
    result = refused(world, "customers", replace_part(book, "xl/sharedStrings.xml", laughs),
                     "laughs.xlsx")
    assert codes(result) == ["unsafe_workbook"] and "DTD" in result.problems[0].message
    # The same workbook without the declaration is read normally (the test's control).
    fine = replace_part(book, "xl/sharedStrings.xml", laughs.replace(
        laughs[laughs.index(b"<!DOCTYPE"):laughs.index(b"]>") + 2], b"").replace(
        b"&lol9;", b"lol"))
    assert formats.read_file("customers", fine, "fine.xlsx").num_rows == 1


def test_workbook_of_too_many_parts_is_refused(world: Database) -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for i in range(formats.MAX_XLSX_PARTS + 1):
            target.writestr(f"x/{i}.xml", b"")
    result = refused(world, "customers", out.getvalue(), "parts.xlsx")
    assert codes(result) == ["unsafe_workbook"]


def test_upload_over_50_mb_is_refused(world: Database) -> None:
    data = b"code,name\n" + b"C1,x\n" * ((formats.MAX_UPLOAD_BYTES // 5) + 1)
    result = refused(world, "customers", data, "big.csv", max_mb=80)
    assert codes(result) == ["too_large"] and "50 MB" in result.problems[0].message


def test_nul_byte_is_refused_with_its_row(world: Database) -> None:
    result = refused(world, "customers", b"code,name\nC7,ok\nC8,bad\x00name\n", "nul.csv")
    assert [(p.row, p.column, p.code) for p in result.problems] == [
        (3, "name", "illegal_character")]
    assert "U+0000" in result.problems[0].message


def test_mixed_encodings_are_refused_not_garbled(world: Database) -> None:
    data = "code,name\nC7,张三\n".encode() + "C8,李四\n".encode("gbk")
    result = refused(world, "customers", data, "mixed.csv")
    assert codes(result) == ["mixed_encoding"] and "2" in result.problems[0].message
    assert int(world.scalar("SELECT count(*) FROM customers WHERE name = '寮犱笁'")) == 0
    # Each encoding alone is fine.
    for one in ("code,name\nC7,张三\nC8,李四\n".encode(),
                "code,name\nC7,张三\nC8,李四\n".encode("gbk")):
        assert formats.read_file("customers", one, "one.csv").problems == []


def test_one_row_over_the_sheet_limit_is_refused(world: Database) -> None:
    rows = formats.MAX_ROWS + 1  # 1 048 576 data rows: a full sheet plus the header
    data = b"date,kind\n" + b"2024-05-06,off\n" * rows
    result = refused(world, "holidays", data, "rows.csv", max_mb=600)
    assert codes(result) == ["too_many_rows"]
    assert f"{rows}" in result.problems[0].message
    exactly = formats.read_file("holidays", b"date,kind\n" + b"2024-05-06,off\n"
                                * formats.MAX_ROWS, "rows.csv")
    assert exactly.num_rows == formats.MAX_ROWS and exactly.problems == []


def test_formula_cells_refused_in_xlsx_and_text_in_csv(world: Database) -> None:
    book = workbook(lambda _b, sheet: (sheet.write_row(0, 0, ["code", "name"]),
                                       sheet.write_row(1, 0, ["C7", "甲"]),
                                       sheet.write_string(2, 0, "C8"),
                                       sheet.write_formula(2, 1, "=1+1", None, 2)))
    result = refused(world, "customers", book, "formula.xlsx")
    assert codes(result) == ["formula_cells"] and "B3" in result.problems[0].message
    # A formula-like text cell is text: stored as typed (exports neutralise it).
    text = workbook(lambda _b, sheet: (sheet.write_row(0, 0, ["code", "name"]),
                                       sheet.write_string(1, 0, "C7"),
                                       sheet.write_string(1, 1, "=1+1")))
    assert run_import(world, "customers", text, "text.xlsx").ok
    assert run_import(world, "customers", b"code,name\nC8,=2+2\n", "text.csv").ok
    assert world.rows("SELECT code, name FROM customers WHERE code IN ('C7', 'C8') "
                      "ORDER BY code") == [("C7", "=1+1"), ("C8", "=2+2")]


def plans_book(cell: Callable[[Any, Any], None]) -> bytes:
    def fill(book: Any, sheet: Any) -> None:
        sheet.write_row(0, 0, ["employee_code", "date", "plan_name", "customer_code"])
        sheet.write_row(1, 0, ["E1"])
        sheet.write_row(1, 2, ["周一", "C1"])
        cell(book, sheet)
    return workbook(fill)


def date_cell(serial: float, pattern: str | None) -> Callable[[Any, Any], None]:
    def write(book: Any, sheet: Any) -> None:
        style = book.add_format({"num_format": pattern}) if pattern else None
        sheet.write_number(1, 1, serial, style)
    return write


@pytest.mark.parametrize(("serial", "pattern"), [
    (60, "yyyy-mm-dd"),           # the phantom 1900-02-29 of Excel's 1900 calendar
    (59, "yyyy-mm-dd"),           # 1900-02-28, real but long before any visit
    (0, "yyyy-mm-dd"),            # Excel's "1900-01-00"
    (45418, None),                # a bare serial number (2024-05-06) without a date format
    (0.5, "hh:mm:ss"),            # a time without a date
])
def test_excel_date_serials_outside_the_calendar_are_refused(world: Database, serial: float,
                                                              pattern: str | None) -> None:
    result = refused(world, "plans", plans_book(date_cell(serial, pattern)), "plans.xlsx")
    assert [(p.row, p.column, p.code) for p in result.problems] == [(2, "date", "bad_date")]


def test_a_real_date_cell_is_imported(world: Database) -> None:
    result = run_import(world, "plans", plans_book(date_cell(45418, "yyyy-mm-dd")),
                        "plans.xlsx")
    assert result.ok, result.as_json()
    assert str(world.scalar("SELECT plan_date FROM plans")) == "2024-05-06"


def test_visit_times_from_serials(world: Database) -> None:
    """A check-in time cell: a date-time serial is a time; 1900-02-29 12:00 is refused."""
    def visits(serial: float) -> bytes:
        def fill(book: Any, sheet: Any) -> None:
            sheet.write_row(0, 0, ["employee_code", "customer_code", "check_in_at"])
            sheet.write_row(1, 0, ["E1", "C1"])
            sheet.write_number(1, 2, serial, book.add_format(
                {"num_format": "yyyy-mm-dd hh:mm:ss"}))
        return workbook(fill)

    result = refused(world, "visits", visits(60.5), "visits.xlsx")
    assert [(p.row, p.column, p.code) for p in result.problems] == [
        (2, "check_in_at", "bad_timestamp")]
    good = run_import(world, "visits", visits(45418.375), "visits.xlsx")
    assert good.ok and str(world.scalar("SELECT check_in_at FROM visits")) == \
        "2024-05-06 09:00:00"


# -- through the import page -----------------------------------------------------------------
@pytest.fixture
def page_server(world_template: Path, tmp_path: Path) -> Iterator[Any]:
    with live_server(copy_world(world_template, tmp_path)) as running:
        yield running


def test_zip_bomb_through_the_import_page(page_server: Any, plain_book: bytes,
                                          gigabyte_sheet: Any) -> None:
    """Upload, Detect, poll: the page says why, and Import stays disabled."""
    bomb = replace_part(plain_book, SHEET, raw=gigabyte_sheet)
    dash = client(page_server, BOSS)
    upload = {key(ids.IMPORT_UPLOAD, "contents"): "data:application/vnd.openxmlformats-"
              "officedocument.spreadsheetml.sheet;base64," + base64.b64encode(bomb).decode(),
              key(ids.IMPORT_UPLOAD, "filename"): "bomb.xlsx",
              key(ids.IMPORT_KIND, "value"): "customers"}
    started = dash.outputs(dash.call(ids.IMPORT_DETECT_JOB, "data", {
        **upload, key(ids.IMPORT_DETECT, "n_clicks"): 1}, changed=(ids.IMPORT_DETECT, "n_clicks")))
    job = started[f"{ids.IMPORT_DETECT_JOB}.data"]
    assert isinstance(job, str)
    for _ in range(100):
        polled = dash.outputs(dash.call(ids.IMPORT_HISTORY_GRID, "rowData", {
            key(ids.IMPORT_POLL, "n_intervals"): 1, key(ids.IMPORT_DETECT_JOB, "data"): job,
            key(ids.IMPORT_RUN_JOB, "data"): None}, changed=(ids.IMPORT_POLL, "n_intervals")))
        if polled.get(f"{ids.IMPORT_POLL}.disabled"):
            break
        time.sleep(0.1)
    assert polled[f"{ids.IMPORT_RUN}.disabled"] is True
    problems = dash.outputs(dash.call(ids.IMPORT_PROBLEMS_GRID, "getRowsResponse", {
        key(ids.IMPORT_PROBLEMS_GRID, "getRowsRequest"): {"startRow": 0, "endRow": 100},
        key(ids.IMPORT_DETECT_JOB, "data"): job, key(ids.IMPORT_RUN_JOB, "data"): None}))
    rows = problems[f"{ids.IMPORT_PROBLEMS_GRID}.getRowsResponse"]["rowData"]
    assert len(rows) == 1 and "512" in rows[0]["message"]
    assert page_server.get("/healthz").status_code == 200
