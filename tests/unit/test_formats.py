"""Reading import files (DESIGN.md section 4): encodings, headers, XLSX cells, row numbers."""

from __future__ import annotations

import io
from datetime import date, datetime
from typing import Any

import pytest
import xlsxwriter

from pipelines.db import Database
from pipelines.formats import RawTable, read_file
from pipelines.imports import run_import

Row = dict[str, Any]


def _read(kind: str, data: bytes | str, filename: str = "file.csv") -> RawTable:
    return read_file(kind, data.encode("utf-8") if isinstance(data, str) else data, filename)


def _rows(raw: RawTable) -> list[Row]:
    return raw.table.to_pylist()


def _problems(raw: RawTable) -> list[Row]:
    return [p.as_dict() for p in raw.problems]


def _xlsx(cells: list[tuple[int, int, Any]]) -> bytes:
    """A workbook whose first sheet holds the given (row, col, value) cells (0-based).

    Text is written as text, numbers as numbers, datetimes and dates as date cells.
    """
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    sheet = book.add_worksheet("data")
    stamp = book.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
    day = book.add_format({"num_format": "yyyy-mm-dd"})
    for row, col, value in cells:
        if isinstance(value, datetime):
            sheet.write_datetime(row, col, value, stamp)
        elif isinstance(value, date):
            sheet.write_datetime(row, col, datetime(value.year, value.month, value.day), day)
        elif isinstance(value, int | float):
            sheet.write_number(row, col, value)
        else:
            sheet.write_string(row, col, value)
    book.add_worksheet("second").write_string(0, 0, "ignored")
    book.close()
    return buffer.getvalue()


# -- encodings -----------------------------------------------------------------------------
CUSTOMERS_ZH = "客户编码,客户名称,地址\n00123,上海浦东客户,浦东新区世纪大道100号\nC2,杭州西湖店,西湖区\n"
EXPECTED_ZH = [
    {"code": "00123", "name": "上海浦东客户", "address": "浦东新区世纪大道100号", "_row": 2},
    {"code": "C2", "name": "杭州西湖店", "address": "西湖区", "_row": 3},
]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030"])
def test_csv_encodings_read_the_same_values(encoding: str) -> None:
    raw = _read("customers", CUSTOMERS_ZH.encode(encoding))
    assert _problems(raw) == []
    assert raw.columns == ["code", "name", "address"]
    assert _rows(raw) == EXPECTED_ZH


def test_gb18030_character_outside_gbk() -> None:
    text = "客户编码,客户名称\nC1,𠀀记商行\n"
    with pytest.raises(UnicodeEncodeError):
        text.encode("gbk")
    from_gb18030 = _read("customers", text.encode("gb18030"))
    from_utf8 = _read("customers", text.encode("utf-8"))
    assert _rows(from_gb18030) == _rows(from_utf8) == [{"code": "C1", "name": "𠀀记商行", "_row": 2}]


@pytest.mark.parametrize(
    "data",
    [
        b"code,name\nC1,caf\xe9\n",  # Latin-1 e-acute before a line break: invalid in both
        b"code,name\nC1,\x80\xff\xfe\n",  # bytes that start no character in either
    ],
)
def test_undecodable_csv_is_refused(data: bytes) -> None:
    for encoding in ("utf-8", "gb18030"):
        with pytest.raises(UnicodeDecodeError):
            data.decode(encoding)
    raw = _read("customers", data)
    assert _problems(raw) == [{
        "row": None, "column": None, "code": "bad_encoding",
        "message": "The file is neither UTF-8 nor GBK/GB18030 text; save it as CSV UTF-8.",
    }]
    assert raw.num_rows == 0


def test_undecodable_csv_imports_nothing(db: Database) -> None:
    result = run_import(db, "departments", b"code,name\nD1,caf\xe9\n", "d.csv")
    assert not result.ok
    assert [p.code for p in result.problems] == ["bad_encoding"]
    assert db.scalar("SELECT count(*) FROM departments") == 0


# -- headers -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "header",
    [
        "code,name,parent_code",
        "CODE,Name,Parent_Code",
        "  parent_code , NAME ,code",
        "部门编码,部门名称,上级部门编码",
        "上级部门编码,部门编码,部门名称",
        "\ufeffName,上级部门编码,Code",
    ],
)
def test_headers_in_chinese_or_english_any_case_any_order(header: str) -> None:
    names = [h.strip().lstrip("\ufeff") for h in header.split(",")]
    values = {"code": "D01", "name": "华东", "parent_code": "HQ"}
    canonical = {"code": "code", "name": "name", "parent_code": "parent_code",
                 "部门编码": "code", "部门名称": "name", "上级部门编码": "parent_code"}
    order = [canonical[n.lower() if n.isascii() else n] for n in names]
    line = ",".join(values[c] for c in order)
    raw = _read("departments", f"{header}\n{line}\n")
    assert _problems(raw) == []
    assert raw.columns == order
    assert _rows(raw) == [{"code": "D01", "name": "华东", "parent_code": "HQ", "_row": 2}]


def test_unknown_column_is_refused_by_name(db: Database) -> None:
    raw = _read("departments", "code,name,Colour\nD1,x,red\n")
    assert _problems(raw) == [{"row": 1, "column": "Colour", "code": "unknown_column",
                               "message": "Unknown column 'Colour'."}]
    result = run_import(db, "departments", b"code,name,Colour\nD1,x,red\n", "d.csv")
    assert not result.ok
    assert [p.as_dict() for p in result.problems] == _problems(raw)
    assert db.scalar("SELECT count(*) FROM departments") == 0


def test_duplicate_column() -> None:
    raw = _read("departments", "code,name,部门编码\nD1,x,D2\n")
    assert _problems(raw) == [{
        "row": 1, "column": "部门编码", "code": "duplicate_column",
        "message": "Column '部门编码' appears twice (also as 'code').",
    }]


def test_missing_required_column() -> None:
    raw = _read("employees", "code,department_code\nE1,D1\n")
    assert _problems(raw) == [{"row": 1, "column": "name", "code": "missing_column",
                               "message": "Required column 'name' (姓名) is missing."}]


def test_missing_column_stops_detect(db: Database) -> None:
    result = run_import(db, "employees", b"code,department_code\nE1,D1\n", "e.csv",
                        detect_only=True)
    assert [p.code for p in result.problems] == ["missing_column"]


@pytest.mark.parametrize("data", [b"", b"\n\n", b",,,\n1,2,3\n", b"\xef\xbb\xbf"])
def test_empty_file_or_no_header(data: bytes) -> None:
    raw = _read("departments", data)
    assert _problems(raw) == [{"row": 1, "column": None, "code": "no_header",
                               "message": "The file has no header row."}]
    assert raw.num_rows == 0


def test_header_only_file_has_no_rows() -> None:
    raw = _read("departments", "code,name\n")
    assert _problems(raw) == []
    assert raw.num_rows == 0


@pytest.mark.parametrize("filename", ["departments.pdf", "departments.xls", "departments"])
def test_wrong_file_type(filename: str) -> None:
    raw = _read("departments", "code,name\nD1,x\n", filename)
    assert _problems(raw) == [{
        "row": None, "column": None, "code": "bad_file_type",
        "message": f"Unsupported file type '{filename}': use .csv or .xlsx.",
    }]


def test_broken_xlsx() -> None:
    raw = _read("departments", b"code,name\nD1,x\n", "departments.xlsx")
    assert [(p.row, p.column, p.code) for p in raw.problems] == [(None, None, "bad_file")]
    assert raw.problems[0].message.startswith("The file cannot be read as an Excel workbook: ")


# -- cells and rows ------------------------------------------------------------------------
def test_codes_keep_leading_zeros_and_text_is_trimmed() -> None:
    raw = _read("employees", "code,name,department_code\n 007 ,  王小明\t,0010\n")
    assert _rows(raw) == [{"code": "007", "name": "王小明", "department_code": "0010", "_row": 2}]


def test_quoted_multiline_address_keeps_its_line_break() -> None:
    text = 'code,name,address,note\nC1,"A, Ltd","Line 1\nLine 2","say ""hi"""\nC2,B,x,y\n'
    raw = _read("customers", text)
    assert _problems(raw) == []
    assert _rows(raw) == [
        {"code": "C1", "name": "A, Ltd", "address": "Line 1\nLine 2", "note": 'say "hi"',
         "_row": 2},
        {"code": "C2", "name": "B", "address": "x", "note": "y", "_row": 3},
    ]


def test_crlf_line_endings() -> None:
    raw = _read("departments", "code,name\r\nD1,x\r\nD2,y\r\n")
    assert _rows(raw) == [{"code": "D1", "name": "x", "_row": 2},
                          {"code": "D2", "name": "y", "_row": 3}]


def test_blank_lines_keep_spreadsheet_row_numbers() -> None:
    raw = _read("departments", "code,name\nD1,x\n\n  \nD2,y\n,\n ,  \nD3,z\n")
    assert _problems(raw) == []
    assert [(r["code"], r["_row"]) for r in _rows(raw)] == [("D1", 2), ("D2", 5), ("D3", 8)]


def test_rows_of_empty_cells_are_skipped_like_blank_lines() -> None:
    """Excel saves trailing empty rows as ',,' lines: they are no records (fast path too)."""
    raw = _read("departments", "code,name\nD1,x\n,\nD2,y\n , \n")
    assert _problems(raw) == []
    assert [(r["code"], r["_row"]) for r in _rows(raw)] == [("D1", 2), ("D2", 4)]


def test_problem_after_a_blank_line_reports_the_spreadsheet_row(db: Database) -> None:
    data = b"code,name\nD1,x\n\nD2,\n"
    result = run_import(db, "departments", data, "d.csv", detect_only=True)
    assert [p.as_dict() for p in result.problems] == [
        {"row": 4, "column": "name", "code": "required", "message": "'name' is required."}
    ]


def test_ragged_rows_are_reported() -> None:
    raw = _read("departments", "code,name\nD1,x,extra\nD2\nD3,z,,\n")
    assert _problems(raw) == [{
        "row": 2, "column": None, "code": "extra_cells",
        "message": "Row has a value in column C, which has no header "
                   "(the header ends at column B).",
    }]
    # A short row has its missing cells empty; empty extra cells are no problem.
    assert _rows(raw) == [{"code": "D1", "name": "x", "_row": 2},
                          {"code": "D2", "name": "", "_row": 3},
                          {"code": "D3", "name": "z", "_row": 4}]


def test_values_under_a_blank_header_cell_are_reported() -> None:
    raw = _read("departments", "code,,name,\nD1,lost,x,\nD2,,y,gone\n")
    assert _problems(raw) == [
        {"row": 1, "column": None, "code": "unnamed_column",
         "message": "Column B has values but no header."},
        {"row": 3, "column": None, "code": "extra_cells",
         "message": "Row has a value in column D, which has no header "
                    "(the header ends at column C)."},
    ]


def test_unclosed_quote_is_refused_not_swallowed() -> None:
    raw = _read("customers", 'code,name,address\nC1,A,x\nC2,B,"Line 1\nC3,C,y\n')
    assert _problems(raw) == [{"row": 3, "column": None, "code": "unclosed_quote",
                               "message": "A quoted value starting in row 3 is never closed."}]
    assert raw.num_rows == 0


def test_control_characters_are_not_trimmed_away() -> None:
    raw = _read("departments", "code,name\nD1,x\x0b\nD2,\x1fy\n")
    assert [r["name"] for r in _rows(raw)] == ["x\x0b", "\x1fy"]


# -- XLSX ----------------------------------------------------------------------------------
def test_xlsx_text_numbers_and_dates_with_leading_empty_rows_and_columns() -> None:
    header = ["visit_id", "employee_code", "customer_code", "check_in_at", "check_in_lon",
              "check_in_lat", "check_in_source"]
    cells: list[tuple[int, int, Any]] = [(2, 1 + j, h) for j, h in enumerate(header)]
    cells += [
        # row 4 (index 3): numeric codes, a date cell, numeric coordinates
        (3, 1, 1001), (3, 2, 123), (3, 3, "00123"), (3, 4, datetime(2024, 5, 6, 9, 30, 15)),
        (3, 5, 121.4737), (3, 6, 31.2304), (3, 7, "GPS"),
        # row 5 left empty; row 6: text cells throughout
        (5, 1, "V-2"), (5, 2, "E002"), (5, 3, "C002"), (5, 4, "2024-05-06T10:00:00+08:00"),
        (5, 5, 120.0), (5, 6, -0.5), (5, 7, "网络"),
        # row 7: a check-in time with milliseconds keeps them
        (6, 1, "V-3"), (6, 2, "E003"), (6, 3, "C003"),
        (6, 4, datetime(2024, 5, 6, 23, 59, 59, 250000)),
    ]
    raw = _read("visits", _xlsx(cells), "visits.XLSX")
    assert _problems(raw) == []
    assert raw.columns == header
    assert _rows(raw) == [
        {"visit_id": "1001", "employee_code": "123", "customer_code": "00123",
         "check_in_at": "2024-05-06 09:30:15", "check_in_lon": "121.4737",
         "check_in_lat": "31.2304", "check_in_source": "GPS", "_row": 4},
        {"visit_id": "V-2", "employee_code": "E002", "customer_code": "C002",
         "check_in_at": "2024-05-06T10:00:00+08:00", "check_in_lon": "120",
         "check_in_lat": "-0.5", "check_in_source": "网络", "_row": 6},
        {"visit_id": "V-3", "employee_code": "E003", "customer_code": "C003",
         "check_in_at": "2024-05-06 23:59:59.250000", "check_in_lon": "",
         "check_in_lat": "", "check_in_source": "", "_row": 7},
    ]


def test_xlsx_date_cells_for_plan_dates() -> None:
    cells: list[tuple[int, int, Any]] = [
        (0, 0, "工号"), (0, 1, "计划日期"), (0, 2, "计划名称"), (0, 3, "客户编码"),
        (1, 0, "E001"), (1, 1, date(2024, 5, 6)), (1, 2, "周一"), (1, 3, "C001"),
    ]
    raw = _read("plans", _xlsx(cells), "plans.xlsx")
    assert _rows(raw) == [{"employee_code": "E001", "date": "2024-05-06", "plan_name": "周一",
                           "customer_code": "C001", "_row": 2}]


def test_xlsx_problems_use_excel_row_numbers(db: Database) -> None:
    cells: list[tuple[int, int, Any]] = [
        (3, 2, "code"), (3, 3, "name"), (3, 4, "colour"),
        (4, 2, "D1"), (4, 3, "x"),
        (7, 2, "D2"),
        (8, 2, "D3"), (8, 3, "z"), (8, 6, "far"),
    ]
    result = run_import(db, "departments", _xlsx(cells), "d.xlsx", detect_only=True)
    assert [p.as_dict() for p in result.problems] == [
        {"row": 4, "column": "colour", "code": "unknown_column",
         "message": "Unknown column 'colour'."},
        {"row": 8, "column": "name", "code": "required", "message": "'name' is required."},
        {"row": 9, "column": None, "code": "extra_cells",
         "message": "Row has a value in column G, which has no header "
                    "(the header ends at column E)."},
    ]


def test_xlsx_empty_sheet_has_no_header() -> None:
    raw = _read("departments", _xlsx([]), "d.xlsx")
    assert [p.code for p in raw.problems] == ["no_header"]
