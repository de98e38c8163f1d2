"""The file formats of DESIGN.md section 4: column specs, readers, templates and writers.

Reading turns a CSV (UTF-8, UTF-8 with BOM, GBK/GB18030) or XLSX file into a
:class:`RawTable`: every cell as trimmed text under its canonical English column name, plus
the spreadsheet row number of each record (the header is row 1). Checking the values is
validate.py's job; here only the file itself and its header row can be wrong.
"""

from __future__ import annotations

import codecs
import csv
import io
import itertools
import posixpath
import re
import struct
import zipfile
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any, Literal
from xml.etree import ElementTree

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv


def N_(message: str) -> str:
    """Mark a message for translation; the UI translates it, the CLI prints it as is."""
    return message


ColumnKind = Literal[
    "code", "text", "multiline", "number", "lon", "lat", "enum", "timestamp", "date", "codes"
]


@dataclass(frozen=True)
class Column:
    """One column of an import format.

    Attributes:
        name: canonical English header, also the key in JSON output.
        zh: Chinese header, as in the downloadable templates.
        required: the header must be present and every cell non-empty.
        kind: how the value is checked and converted.
        values: for enums, accepted spellings (lower-cased) -> stored value.
    """

    name: str
    zh: str
    required: bool = False
    kind: ColumnKind = "text"
    values: dict[str, str] = field(default_factory=dict)
    hint: str = ""


SOURCE_VALUES = {"net": "net", "网络": "net", "cell": "cell", "基站": "cell", "gps": "gps"}
COORD_VALUES = {
    "wgs84": "wgs84",
    "wgs-84": "wgs84",
    "gcj02": "gcj02",
    "gcj-02": "gcj02",
    "bd09": "bd09",
    "bd-09": "bd09",
}
STATUS_VALUES = {"active": "active", "在职": "active", "inactive": "inactive", "离职": "inactive"}
HOLIDAY_VALUES = {"off": "off", "休息": "off", "work": "work", "调休上班": "work", "上班": "work"}

FORMATS: dict[str, tuple[Column, ...]] = {
    "departments": (
        Column("code", "部门编码", True, "code"),
        Column("name", "部门名称", True),
        Column("parent_code", "上级部门编码", kind="code"),
    ),
    "employees": (
        Column("code", "工号", True, "code"),
        Column("name", "姓名", True),
        Column("department_code", "部门编码", True, "code"),
        Column("status", "状态", kind="enum", values=STATUS_VALUES, hint="active/inactive"),
    ),
    "customers": (
        Column("code", "客户编码", True, "code"),
        Column("name", "客户名称", True),
        Column("grade", "客户等级", kind="enum", hint="A/B/C/D"),
        Column("address", "地址", kind="multiline"),
        Column("longitude", "经度", kind="lon"),
        Column("latitude", "纬度", kind="lat"),
        Column("coord_system", "坐标系", kind="enum", values=COORD_VALUES, hint="wgs84/gcj02/bd09"),
        Column("contact", "联系人"),
        Column("phone", "电话", kind="code"),
        Column("department_code", "所属部门编码", kind="code"),
        Column("owner_codes", "负责人工号", kind="codes", hint="E001;E002"),
        Column("note", "备注", kind="multiline"),
    ),
    "visits": (
        Column("visit_id", "拜访编号", kind="code"),
        Column("employee_code", "工号", True, "code"),
        Column("customer_code", "客户编码", True, "code"),
        Column("check_in_at", "签到时间", True, "timestamp"),
        Column("check_in_lon", "签到经度", kind="lon"),
        Column("check_in_lat", "签到纬度", kind="lat"),
        Column("check_in_source", "签到定位方式", kind="enum", values=SOURCE_VALUES),
        Column("check_out_at", "签退时间", kind="timestamp"),
        Column("check_out_lon", "签退经度", kind="lon"),
        Column("check_out_lat", "签退纬度", kind="lat"),
        Column("check_out_source", "签退定位方式", kind="enum", values=SOURCE_VALUES),
        Column("coord_system", "坐标系", kind="enum", values=COORD_VALUES),
    ),
    "plans": (
        Column("employee_code", "工号", True, "code"),
        Column("date", "计划日期", True, "date"),
        Column("plan_name", "计划名称", True),
        Column("customer_code", "客户编码", True, "code"),
        Column("route_name", "路线名称"),
    ),
    "holidays": (
        Column("date", "日期", True, "date"),
        Column("kind", "类型", True, "enum", values=HOLIDAY_VALUES, hint="off/work"),
        Column("name", "名称"),
    ),
}
KINDS: tuple[str, ...] = tuple(FORMATS)

ROW = "_row"  # the spreadsheet row number of a record
MAX_UPLOAD_BYTES = 50 * 1024 * 1024
MAX_ROWS = 1_048_576 - 1  # an Excel sheet holds 1 048 576 rows, the header included
# An XLSX is a zip of XML parts. Bounds checked before the workbook is read, so a tiny
# "zip bomb" cannot make the reader expand gigabytes: a 50 MB workbook of real data holds
# about 400 MB of XML compressed 7 to 15 times; Excel writes a few dozen parts.
MAX_XLSX_UNCOMPRESSED = 512 * 1024 * 1024
MAX_XLSX_RATIO = 100  # of a part larger than XLSX_RATIO_FROM when uncompressed
XLSX_RATIO_FROM = 1024 * 1024
MAX_XLSX_PARTS = 1000
MAX_HEADER_SHOWN = 100  # characters of an unknown header cell quoted in a problem


@dataclass
class Problem:
    """One thing wrong with an input file, located by spreadsheet row and column."""

    row: int | None
    column: str | None
    code: str
    message: str
    params: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"row": self.row, "column": self.column, "code": self.code, "message": self.message}


def problem(
    row: int | None, column: str | None, code: str, template: str, /, **params: Any
) -> Problem:
    """A problem whose message is an English template filled with params."""
    return Problem(row, column, code, template.format(**params), params | {"template": template})


@dataclass
class RawTable:
    """A file's records as text, ready for validation.

    Attributes:
        kind: which format (a key of FORMATS).
        table: one string column per present format column, plus ``_row`` (int64).
        columns: the canonical names of the columns present, in file order.
        problems: problems with the file or its header (the table is empty when fatal).
    """

    kind: str
    table: pa.Table
    columns: list[str]
    problems: list[Problem]

    @property
    def num_rows(self) -> int:
        return self.table.num_rows


def header_map(kind: str) -> dict[str, str]:
    """Accepted header spellings (English lower-cased, Chinese as is) -> canonical name."""
    mapping: dict[str, str] = {}
    for col in FORMATS[kind]:
        mapping[col.name.lower()] = col.name
        mapping[col.zh] = col.name
    return mapping


def _normalise_header(text: str) -> str:
    return re.sub(r"\s+", " ", text.replace("\ufeff", "").strip()).lower()


_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


def mixed_encoding_lines(data: bytes, limit: int = 5, first_line: int = 1) -> list[int]:
    """Lines (1-based) of a file that is not UTF-8 as a whole but holds UTF-8 Chinese text.

    GB18030 decodes almost any byte sequence, so UTF-8 lines in a GBK file would silently
    turn into mojibake ("张三" -> "寮犱笁"); a non-ASCII line that is valid UTF-8 and holds
    Chinese characters betrays such a file. Only the first `limit` lines are returned.
    `first_line` is the number of the first line of `data` (a file read in blocks of lines).
    """
    found: list[int] = []
    for number, line in enumerate(data.split(b"\n"), start=first_line):
        if line.isascii():
            continue
        try:
            text = line.decode("utf-8-sig" if number == 1 else "utf-8")
        except UnicodeDecodeError:
            continue
        if _CJK.search(text):
            found.append(number)
            if len(found) >= limit:
                break
    return found


def decode_text(data: bytes) -> tuple[str | None, str | None]:
    """Decode CSV bytes as UTF-8 (BOM optional) or else GB18030 (a superset of GBK).

    Returns (text, encoding) or (None, None) when neither decodes strictly: a file is never
    read with replacement characters.
    """
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    return None, None


def _cell_text(value: Any) -> str:
    """An XLSX cell as text: integral floats without '.0', dates in ISO form."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return repr(value)
    if isinstance(value, datetime):  # fractional seconds only when there are some
        return value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.strftime("%Y-%m-%d")
    if isinstance(value, time):
        return value.strftime("%H:%M:%S")
    if isinstance(value, timedelta):
        return str(value)
    return str(value)


class UnsafeWorkbook(ValueError):
    """An XLSX that is refused before it is read; the message says why (for users)."""

    def __init__(self, code: str, template: str, **params: Any) -> None:
        self.problem = problem(None, None, code, template, **params)
        super().__init__(self.problem.message)


def _zip_entry_count(data: bytes) -> int | None:
    """The number of entries the zip's end record declares (None when there is none)."""
    end = data.rfind(b"PK\x05\x06", max(0, len(data) - 65_557))
    if end < 0 or end + 22 > len(data):
        return None
    count = int(struct.unpack("<H", data[end + 10:end + 12])[0])
    if count == 0xFFFF:  # zip64: the count is in the zip64 end record
        locator = data.rfind(b"PK\x06\x07", 0, end)
        if locator >= 0 and locator + 20 <= len(data):
            offset = int(struct.unpack("<Q", data[locator + 8:locator + 16])[0])
            if data[offset:offset + 4] == b"PK\x06\x06" and offset + 40 <= len(data):
                count = int(struct.unpack("<Q", data[offset + 32:offset + 40])[0])
    return count


def _first_sheet_part(book: zipfile.ZipFile) -> str | None:
    """The zip path of the workbook's first sheet (the one imported), if it can be found."""
    rel_ns = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
    try:
        texts = [book.read(name) for name in ("xl/workbook.xml", "xl/_rels/workbook.xml.rels")
                 if book.getinfo(name).file_size <= 16 * 1024 * 1024]
        if len(texts) != 2 or any(_DTD.search(t) for t in texts):
            return None  # too big to be real, or a DTD: the scan refuses the file
        workbook, rels = (ElementTree.fromstring(t) for t in texts)
    except (KeyError, ElementTree.ParseError, zipfile.BadZipFile, zlib.error):
        return None
    sheet = next((e for e in workbook.iter() if e.tag.endswith("}sheet")), None)
    rel_id = sheet.get(rel_ns) if sheet is not None else None
    for rel in rels.iter():
        if rel.get("Id") == rel_id and rel.get("Target"):
            target = str(rel.get("Target"))
            return target.lstrip("/") if target.startswith("/") else posixpath.normpath(
                posixpath.join("xl", target))
    return None


_DTD = re.compile(rb"<!(?:DOCTYPE|ENTITY)")
_FORMULA = re.compile(rb"<(?:\w+:)?f[\s>/]")
_CELL_REF = re.compile(rb'<(?:\w+:)?c\b[^>]*?\br="([A-Z]{1,3}[0-9]{1,7})"')


def check_xlsx(data: bytes) -> None:
    """Refuse a workbook whose parts could exhaust the reader, before it is read.

    Checks, in this order: the number of parts, the declared sizes (in total and each
    part's compression ratio), then every part is decompressed in chunks — so a part whose
    header lies about its size fails its checksum instead of expanding — while looking for
    document type declarations (entity expansion: Excel never writes a DTD) and for formula
    cells in the first sheet (their stored result may be missing or stale: refused, the
    user pastes values instead).

    Raises:
        UnsafeWorkbook: with a problem for the user.
    """
    count = _zip_entry_count(data)
    if count is not None and count > MAX_XLSX_PARTS:
        raise UnsafeWorkbook("unsafe_workbook", N_(
            "The workbook has {count} parts; a spreadsheet has far fewer. It is refused."),
            count=count)
    try:
        book = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise UnsafeWorkbook("bad_file", N_(
            "The file cannot be read as an Excel workbook: {error}"), error=str(exc)[:200]) \
            from None
    parts = book.infolist()
    total = sum(p.file_size for p in parts)
    if len(parts) > MAX_XLSX_PARTS or total > MAX_XLSX_UNCOMPRESSED:
        raise UnsafeWorkbook("unsafe_workbook", N_(
            "The workbook expands to {size} MB; at most {limit} MB can be read. Split it "
            "into smaller files."), size=round(total / 2**20), limit=MAX_XLSX_UNCOMPRESSED
            // 2**20)
    for part in parts:
        if part.file_size > XLSX_RATIO_FROM and \
                part.file_size > MAX_XLSX_RATIO * max(part.compress_size, 1):
            raise UnsafeWorkbook("unsafe_workbook", N_(
                "The workbook part '{part}' is compressed {ratio} times, far more than "
                "spreadsheet data (a \"zip bomb\"). It is refused."),
                part=part.filename[:100], ratio=part.file_size // max(part.compress_size, 1))
    first_sheet = _first_sheet_part(book)
    for part in parts:
        _scan_part(book, part, part.filename == first_sheet)


def _scan_part(book: zipfile.ZipFile, part: zipfile.ZipInfo, first_sheet: bool) -> None:
    """Decompress one part in chunks (bounded by its declared size) and look into it."""
    tail, last_ref = b"", b""
    try:
        with book.open(part) as stream:
            while chunk := stream.read(1 << 20):
                window = tail + chunk
                if _DTD.search(window):
                    raise UnsafeWorkbook("unsafe_workbook", N_(
                        "The workbook part '{part}' declares a document type (DTD), which "
                        "Excel never writes (it can expand entities without end). It is "
                        "refused."), part=part.filename[:100])
                if first_sheet:
                    formula = _FORMULA.search(window)
                    if formula is not None:
                        refs = _CELL_REF.findall(window, 0, formula.start())
                        raise UnsafeWorkbook("formula_cells", N_(
                            "The first sheet holds formulas (cell {cell}); their results may "
                            "be missing or out of date. Copy the cells and paste them as "
                            "values, then import again."),
                            cell=(refs[-1] if refs else last_ref).decode() or "?")
                    refs = _CELL_REF.findall(window)
                    last_ref = refs[-1] if refs else last_ref
                tail = window[-64:]
    except (zipfile.BadZipFile, zlib.error, OSError, EOFError, NotImplementedError) as exc:
        raise UnsafeWorkbook("bad_file", N_(
            "The file cannot be read as an Excel workbook: {error}"), error=str(exc)[:200]) \
            from None


def _records_from_xlsx(data: bytes) -> tuple[list[list[Any]], list[int]]:
    """The first sheet's rows (cell values) from its first non-empty row on, numbered as
    Excel shows them.

    The grid starts at cell A1 (leading empty rows and columns included), so row numbers and
    column positions are the sheet's own.
    """
    from python_calamine import CalamineWorkbook

    workbook = CalamineWorkbook.from_filelike(io.BytesIO(data))
    sheet = workbook.get_sheet_by_index(0)
    first_row = sheet.start[0] if sheet.start else 0
    records: list[list[Any]] = sheet.to_python(skip_empty_area=False)[first_row:]
    numbers = list(range(first_row + 1, first_row + 1 + len(records)))
    return records, numbers


def _records_from_csv_text(text: str) -> tuple[list[list[Any]], list[int]]:
    """Exact path for CSV: keeps blank lines in the numbering, tolerates ragged rows."""
    records: list[list[Any]] = []
    numbers: list[int] = []
    for index, record in enumerate(csv.reader(io.StringIO(text, newline=""))):
        records.append(record)
        numbers.append(index + 1)
    return records, numbers


_BLANK_LINE = re.compile(r"(^|\n)[ \t\r]*\n")

# What trimming removes: spaces, tab, line breaks and the Unicode spaces. The other C0
# controls are not trimmed away, so that validate reports them wherever they are.
_TRIM = " \t\n\r\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a" \
    "\u2028\u2029\u202f\u205f\u3000\ufeff"
TRIM_CHARACTERS = _TRIM  # for the SQL of the streamed reader (no quote among them)


def _blank(cell: str) -> bool:
    return not cell.strip(_TRIM)


blank = _blank  # a header cell that names no column


def _fast_csv(text: str, headers: Sequence[str]) -> pa.Table | None:
    """Parse with pyarrow (all columns text) when the file has no blank lines.

    Returns None (use the exact path) when the file has blank lines, ragged rows or values
    under a blank header cell, which the exact path reports or numbers row by row.
    """
    if _BLANK_LINE.search(text):
        return None
    names = [f"c{i}" for i in range(len(headers))]
    try:
        table = pacsv.read_csv(
            io.BytesIO(text.encode("utf-8")),
            read_options=pacsv.ReadOptions(column_names=names, skip_rows=1, block_size=1 << 24),
            parse_options=pacsv.ParseOptions(newlines_in_values=True),
            convert_options=pacsv.ConvertOptions(
                column_types={n: pa.string() for n in names},
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except pa.ArrowInvalid:
        return None
    for i, header in enumerate(headers):
        if _blank(header) and pc.any(pc.not_equal(_trim(table.column(i)), "")).as_py():
            return None
    return table


def _trim(values: pa.ChunkedArray | pa.Array) -> pa.ChunkedArray | pa.Array:
    return pc.utf8_trim(values, characters=_TRIM)


def _unclosed_quote_row(text: str) -> int | None:
    """The row where a quoted value starts that is never closed (None when all are)."""
    if text.count('"') % 2 == 0:
        return None
    count = 0
    try:
        for _record in csv.reader(io.StringIO(text, newline=""), strict=True):
            count += 1
    except csv.Error:
        return count + 1
    return None


def _column_letter(index: int) -> str:
    """Spreadsheet column name of a 0-based index: 0 -> A, 26 -> AA."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


def _header_problems(kind: str, headers: Sequence[str]) -> tuple[list[str | None], list[Problem]]:
    """Map each header cell to a canonical column (None = ignore) and list header problems."""
    mapping = header_map(kind)
    problems: list[Problem] = []
    mapped: list[str | None] = []
    seen: dict[str, str] = {}
    for raw in headers:
        text = raw.replace("\ufeff", "").strip()
        if text == "":
            mapped.append(None)
            continue
        canonical = mapping.get(_normalise_header(text)) or mapping.get(text)
        if canonical is None:
            shown = text if len(text) <= MAX_HEADER_SHOWN else text[:MAX_HEADER_SHOWN] + "…"
            problems.append(
                problem(1, shown, "unknown_column", N_("Unknown column '{name}'."), name=shown)
            )
            mapped.append(None)
        elif canonical in seen:
            problems.append(
                problem(
                    1,
                    text,
                    "duplicate_column",
                    N_("Column '{name}' appears twice (also as '{other}')."),
                    name=text,
                    other=seen[canonical],
                )
            )
            mapped.append(None)
        else:
            seen[canonical] = text
            mapped.append(canonical)
    for col in FORMATS[kind]:
        if col.required and col.name not in seen:
            problems.append(
                problem(
                    1,
                    col.name,
                    "missing_column",
                    N_("Required column '{name}' ({zh}) is missing."),
                    name=col.name,
                    zh=col.zh,
                )
            )
    return mapped, problems


def _header(
    kind: str, header_cells: Sequence[str], header_row: int
) -> tuple[list[str], list[str | None], list[Problem]] | None:
    """The header cells up to the last non-empty one (an XLSX row is as wide as the sheet),
    the canonical column of each, and the header's problems; None when it is all blank."""
    if all(_blank(cell) for cell in header_cells):
        return None
    width = max(j for j, cell in enumerate(header_cells) if not _blank(cell)) + 1
    headers = list(header_cells[:width])
    mapped, problems = _header_problems(kind, headers)
    for p in problems:
        p.row = header_row
    return headers, mapped, problems


def too_large_problem(size: int) -> Problem:
    """The refusal of a file over MAX_UPLOAD_BYTES (`size` bytes) read into memory."""
    return problem(None, None, "too_large", N_("The file is {size} MB; the limit is {limit} MB."),
                   size=round(size / 2**20, 1), limit=MAX_UPLOAD_BYTES // 2**20)


def read_file(kind: str, data: bytes, filename: str) -> RawTable:
    """Read an uploaded or local file of the given kind.

    Args:
        kind: a key of FORMATS.
        data: the file's bytes.
        filename: used only for its extension (.csv, .txt, .xlsx).
    """
    if kind not in FORMATS:
        raise ValueError(f"unknown import kind {kind!r}")
    empty = pa.table({ROW: pa.array([], pa.int64())})
    name = filename.lower()
    if len(data) > MAX_UPLOAD_BYTES:
        return RawTable(kind, empty, [], [too_large_problem(len(data))])
    fast: pa.Table | None = None
    if name.endswith((".xlsx", ".xlsm")):
        try:
            check_xlsx(data)
        except UnsafeWorkbook as exc:
            return RawTable(kind, empty, [], [exc.problem])
        try:
            records, numbers = _records_from_xlsx(data)
        except Exception as exc:  # calamine raises several types for broken files
            return RawTable(kind, empty, [], [problem(None, None, "bad_file",
                N_("The file cannot be read as an Excel workbook: {error}"), error=str(exc)[:200])])
    elif name.endswith((".csv", ".txt")):
        text, encoding = decode_text(data)
        if text is None:
            return RawTable(kind, empty, [], [problem(None, None, "bad_encoding",
                N_("The file is neither UTF-8 nor GBK/GB18030 text; save it as CSV UTF-8."))])
        mixed = mixed_encoding_lines(data) if encoding == "gb18030" else []
        if mixed:
            return RawTable(kind, empty, [], [problem(None, None, "mixed_encoding",
                N_("The file mixes encodings: line(s) {lines} are UTF-8, others GBK. Save "
                   "the whole file as CSV UTF-8."), lines=", ".join(map(str, mixed)))])
        unclosed = _unclosed_quote_row(text)
        if unclosed is not None:
            return RawTable(kind, empty, [], [problem(unclosed, None, "unclosed_quote",
                N_("A quoted value starting in row {row} is never closed."), row=unclosed)])
        first_line = next(csv.reader(io.StringIO(text, newline="")), [])
        records, numbers = [first_line], [1]
        fast = _fast_csv(text, first_line) if first_line else None
        if fast is None:
            records, numbers = _records_from_csv_text(text)
    else:
        return RawTable(kind, empty, [], [problem(None, None, "bad_file_type",
            N_("Unsupported file type '{name}': use .csv or .xlsx."), name=filename)])

    header_cells = [_cell_text(v) for v in records[0]] if records else []
    header_row = numbers[0] if numbers else 1
    header = _header(kind, header_cells, header_row)
    if header is None:
        return RawTable(kind, empty, [], [problem(header_row, None, "no_header",
                                                  N_("The file has no header row."))])
    headers, mapped, problems = header
    width = len(headers)

    if fast is not None:
        cells = [_trim(fast.column(i)) for i in range(fast.num_columns)]
        row_numbers = pa.array(range(2, fast.num_rows + 2), pa.int64())
    else:
        cells, row_numbers = _body_columns(records[1:], numbers[1:], width)
        problems += _stray_values(cells, row_numbers, headers, header_row)
    # Rows of empty cells only (blank lines, ",,," lines) are no records.
    filled = pa.array([False] * len(row_numbers), pa.bool_())
    for column in cells:
        filled = pc.or_(filled, pc.not_equal(column, ""))
    if not pc.all(filled).as_py():
        cells = [pc.filter(column, filled) for column in cells]
        row_numbers = pc.filter(row_numbers, filled)
    count = len(row_numbers)
    if count > MAX_ROWS:
        return RawTable(kind, empty, [], [problem(None, None, "too_many_rows",
            N_("The file has {count} rows; at most {limit} rows can be imported at once."),
            count=count, limit=MAX_ROWS)])
    arrays = {c: cells[j] for j, c in enumerate(mapped) if c is not None}
    arrays[ROW] = row_numbers
    present = [c for c in mapped if c is not None]
    problems.sort(key=lambda p: p.row or 0)
    return RawTable(kind, pa.table(arrays), present, problems)


def _body_columns(
    body: list[list[Any]], numbers: list[int], width: int
) -> tuple[list[pa.Array], pa.Array]:
    """The records below the header as trimmed text columns, at least `width` of them
    (short rows are filled with empty cells), and their row numbers."""
    columns = [
        _trim(pa.array([v if v.__class__ is str else _cell_text(v) for v in values],
                       pa.string()))
        for values in itertools.zip_longest(*body, fillvalue="")
    ]
    columns += [pa.array([""] * len(body), pa.string())] * (width - len(columns))
    return columns, pa.array(numbers, pa.int64())


def _stray_values(
    cells: Sequence[pa.Array], row_numbers: pa.Array, headers: Sequence[str], header_row: int
) -> list[Problem]:
    """Values that no header names: right of the header (per row), or under a blank cell of
    the header row (per column)."""
    width = len(headers)
    problems: list[Problem] = []
    last = pa.array([0] * len(row_numbers), pa.int64())  # 1-based column of a stray value
    for j in range(len(cells) - 1, width - 1, -1):
        last = pc.if_else(pc.and_(pc.not_equal(cells[j], ""), pc.equal(last, 0)), j + 1, last)
    stray = pc.greater(last, 0)
    for row, column in zip(pc.filter(row_numbers, stray).to_pylist(),
                           pc.filter(last, stray).to_pylist(), strict=True):
        problems.append(problem(row, None, "extra_cells",
            N_("Row has a value in column {letter}, which has no header "
               "(the header ends at column {last})."),
            letter=_column_letter(column - 1), last=_column_letter(width - 1)))
    for j, header in enumerate(headers):
        if _blank(header) and pc.any(pc.not_equal(cells[j], "")).as_py():
            problems.append(problem(header_row, None, "unnamed_column",
                N_("Column {letter} has values but no header."), letter=_column_letter(j)))
    return problems


# -- streamed CSV (the command line) ---------------------------------------------------------
# A CSV file on disk of any size is read in blocks: one pass checks its encoding (or writes a
# UTF-8 copy of a GBK/GB18030 file), counts its quotes and finds blank lines; the records are
# then parsed by DuckDB's reader (pipelines.imports) or, for irregular files, by the exact
# reader below, a batch of records at a time. Neither holds the whole file in memory.
STREAM_BLOCK = 16 * 1024 * 1024
STREAM_BATCH_ROWS = 100_000
ScanProgress = Callable[[int, int], None]  # (bytes read, bytes in all)


@dataclass
class CsvScan:
    """A CSV file on disk as one pass over it found it, before any record is parsed.

    Attributes:
        kind: which format (a key of FORMATS).
        path: a UTF-8 file with the file's records: the file itself, or its UTF-8 copy.
        encoding: "utf-8-sig" or "gb18030" (as :func:`decode_text` would have decoded it).
        header: the cells of the first record, as read_file sees them.
        headers: those cells up to the last non-empty one.
        mapped: the canonical column of each of `headers` (None = ignored).
        problems: the file's and the header's problems.
        regular: no blank line comes before the last record, so a reader that skips blank
            lines (DuckDB's) still numbers the records as the spreadsheet does.
        plain_text: the text holds no character that is illegal in some field but line
            breaks (no C0 control but CR and LF, no DEL, no U+FFFD): detect then only looks
            for line breaks (validate.detect_staged).
    """

    kind: str
    path: Path
    encoding: str | None = None
    header: list[str] = field(default_factory=list)
    headers: list[str] = field(default_factory=list)
    mapped: list[str | None] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    regular: bool = True
    plain_text: bool = False

    @property
    def columns(self) -> list[str]:
        """The canonical names of the columns present, in file order."""
        return [c for c in self.mapped if c is not None]

    @property
    def fatal(self) -> bool:
        """The records cannot be checked: the file or its header is unusable."""
        return (not self.columns or
                any(p.row is None or p.code == "missing_column" for p in self.problems))


class _BlockStats:
    """Quotes, blank lines and control characters of UTF-8 text fed block by block."""

    def __init__(self) -> None:
        self.quotes = 0
        self.offset = 0
        self.first_blank: int | None = None
        self.last_content = -1
        self.controls = False  # a C0 control but CR and LF, DEL or U+FFFD
        self._tail = b""

    def feed(self, block: bytes) -> None:
        window = self._tail + block
        self.quotes += block.count(b'"')
        if self.first_blank is None:
            found = [i for i in (window.find(b"\n\n"),
                                 window.find(b"\n\r\n") if b"\r" in window else -1) if i >= 0]
            if found:
                self.first_blank = self.offset - len(self._tail) + min(found) + 1
        if not self.controls:
            octets = np.frombuffer(block, np.uint8)
            breaks = block.count(b"\n") + block.count(b"\r")
            self.controls = (int(np.count_nonzero(octets < 0x20)) > breaks
                             or bool(np.count_nonzero(octets == 0x7F))
                             or (bool(np.count_nonzero(octets == 0xEF))
                                 and window.find("\ufffd".encode()) >= 0))
        self._tail = window[-2:]
        content = len(block.rstrip(b" \t\r\n"))
        if content:
            self.last_content = self.offset + content - 1
        self.offset += len(block)

    @property
    def regular(self) -> bool:
        return self.first_blank is None or self.first_blank > self.last_content


def scan_csv(kind: str, source: Path, workdir: Path,
             progress: ScanProgress | None = None) -> CsvScan:
    """One pass over a CSV file on disk: its encoding, header and file-level problems.

    The encoding is decided as :func:`decode_text` decides it for a file in memory (the
    whole file strictly UTF-8, else strictly GB18030, never with replacement characters);
    a GB18030 file is copied to `workdir` as UTF-8 on the way, since DuckDB reads UTF-8
    only. Mixed encodings, an unclosed quote and the header are checked as read_file checks
    them, so both readers refuse the same files with the same problems.

    Args:
        kind: a key of FORMATS.
        source: the file.
        workdir: an existing folder for the UTF-8 copy (the caller removes it).
        progress: called with (bytes read, bytes in all) after each block.
    """
    if kind not in FORMATS:
        raise ValueError(f"unknown import kind {kind!r}")
    size = source.stat().st_size
    report = progress or (lambda done, total: None)
    stats = _BlockStats()
    scan = CsvScan(kind, source)
    if _read_as_utf8(source, stats, size, report):
        scan.encoding = "utf-8-sig"
    else:
        stats = _BlockStats()
        scan.path = workdir / "utf8.csv"
        failure = _transcode_gb18030(source, scan.path, stats, size, report)
        if failure is not None:
            scan.problems = [failure]
            return scan
        scan.encoding = "gb18030"
    scan.regular = stats.regular
    scan.plain_text = not stats.controls
    if stats.quotes % 2:
        unclosed = _unclosed_quote_row_in(scan.path)
        if unclosed is not None:
            scan.problems = [problem(unclosed, None, "unclosed_quote", N_(
                "A quoted value starting in row {row} is never closed."), row=unclosed)]
            return scan
    with scan.path.open(encoding="utf-8-sig", newline="") as handle:
        scan.header = next(csv.reader(handle), [])
    header = _header(kind, scan.header, 1)
    if header is None:
        scan.problems = [problem(1, None, "no_header", N_("The file has no header row."))]
        return scan
    scan.headers, scan.mapped, scan.problems = header
    return scan


def _read_as_utf8(source: Path, stats: _BlockStats, size: int, report: ScanProgress) -> bool:
    """Whether the whole file is UTF-8 (a BOM allowed), feeding `stats` on the way."""
    decoder = codecs.getincrementaldecoder("utf-8-sig")()
    with source.open("rb") as handle:
        try:
            while block := handle.read(STREAM_BLOCK):
                decoder.decode(block)
                stats.feed(block)
                report(stats.offset, size)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return False
    return True


def _transcode_gb18030(source: Path, target: Path, stats: _BlockStats, size: int,
                       report: ScanProgress) -> Problem | None:
    """Copy a GB18030 (GBK) file to `target` as UTF-8, a block of whole lines at a time.

    Returns the problem that refuses the file: bad_encoding when it is not GB18030 either,
    mixed_encoding when it holds UTF-8 lines of Chinese text (the first five are named).
    """
    decoder = codecs.getincrementaldecoder("gb18030")()
    mixed: list[int] = []
    line = 1
    done = 0
    rest = b""
    with source.open("rb") as handle, target.open("wb") as out:
        try:
            while True:
                block = handle.read(STREAM_BLOCK)
                data = rest + block
                cut = len(data) if not block else data.rfind(b"\n") + 1
                lines, rest = data[:cut], data[cut:]
                if lines:
                    if len(mixed) < 5:
                        mixed += mixed_encoding_lines(lines, 5 - len(mixed), line)
                    line += lines.count(b"\n")
                    text = decoder.decode(lines, final=not block).encode("utf-8")
                    out.write(text)
                    stats.feed(text)
                done += len(block)
                report(done, size)
                if not block:
                    break
        except UnicodeDecodeError:
            return problem(None, None, "bad_encoding", N_(
                "The file is neither UTF-8 nor GBK/GB18030 text; save it as CSV UTF-8."))
    if mixed:
        return problem(None, None, "mixed_encoding", N_(
            "The file mixes encodings: line(s) {lines} are UTF-8, others GBK. Save "
            "the whole file as CSV UTF-8."), lines=", ".join(map(str, mixed)))
    return None


def _unclosed_quote_row_in(path: Path) -> int | None:
    """:func:`_unclosed_quote_row` of a UTF-8 file on disk, reading it as a stream."""
    count = 0
    with path.open(encoding="utf-8-sig", newline="") as handle:
        try:
            for _record in csv.reader(handle, strict=True):
                count += 1
        except csv.Error:
            return count + 1
    return None


def exact_csv_batches(
    scan: CsvScan, batch_rows: int = STREAM_BATCH_ROWS
) -> Iterator[tuple[pa.Table, list[Problem]]]:
    """The records below the header as read_file's exact path reads them, in batches.

    For files DuckDB's reader would number or split differently (blank lines, rows with
    more or fewer cells than the header): blank lines keep their numbers, short rows are
    filled with empty cells, values right of the header or under a blank header cell are
    problems, rows of empty cells only are dropped.

    Yields:
        (table, problems): the batch's present columns as trimmed text plus ``_row``, and
        its problems (the unnamed-column problem of a column only once per file).
    """
    width = len(scan.headers)
    said: set[str] = set()
    next_row = 2  # records are numbered as csv.reader yields them; the header is row 1
    with scan.path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle)
        next(reader, None)
        while batch := list(itertools.islice(reader, batch_rows)):
            numbers = list(range(next_row, next_row + len(batch)))
            next_row += len(batch)
            cells, row_numbers = _body_columns(batch, numbers, width)
            problems = [p for p in _stray_values(cells, row_numbers, scan.headers, 1)
                        if p.code != "unnamed_column" or p.message not in said]
            said.update(p.message for p in problems if p.code == "unnamed_column")
            filled = pa.array([False] * len(row_numbers), pa.bool_())
            for column in cells:
                filled = pc.or_(filled, pc.not_equal(column, ""))
            arrays = {c: pc.filter(cells[j], filled) for j, c in enumerate(scan.mapped)
                      if c is not None}
            arrays[ROW] = pc.filter(row_numbers, filled)
            yield pa.table(arrays), problems


# -- templates ---------------------------------------------------------------------------
def headers_for(kind: str, lang: str) -> list[str]:
    return [c.zh if lang == "zh" else c.name for c in FORMATS[kind]]


# What each kind of column takes, for the template's notes (the UI translates them).
KIND_NOTES: dict[str, str] = {
    "code": N_("Text, kept exactly as written (codes, phone numbers)"),
    "text": N_("Text"),
    "multiline": N_("Text; may span several lines"),
    "number": N_("A number"),
    "lon": N_("Longitude in degrees, -180 to 180"),
    "lat": N_("Latitude in degrees, -90 to 90"),
    "enum": N_("One of: {values}"),
    "timestamp": N_("Date and time, e.g. 2024-05-31 09:30:00"),
    "date": N_("A date, e.g. 2024-05-31"),
    "codes": N_("Codes separated by semicolons, e.g. {example}"),
}


def column_note(col: Column, translate: Callable[[str], str] = N_) -> str:
    """The template's note on a column: what it takes, in the language of `translate`."""
    if col.kind == "enum":
        values = "/".join(col.values) if col.values else col.hint  # every accepted spelling
        return translate(KIND_NOTES["enum"]).format(values=values)
    if col.kind == "codes":
        return translate(KIND_NOTES["codes"]).format(example=col.hint or "E001;E002")
    return translate(KIND_NOTES[col.kind])


def template_xlsx(kind: str, lang: str = "zh",
                  translate: Callable[[str], str] = N_) -> bytes:
    """An empty import template: the header row, and a sheet explaining each column.

    `translate` turns the English notes into `lang` (the web passes its catalogs; the
    write side cannot import them).
    """
    import xlsxwriter

    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    text_format = book.add_format({"num_format": "@"})
    bold = book.add_format({"bold": True})
    sheet = book.add_worksheet(kind)
    for j, col in enumerate(FORMATS[kind]):
        header = col.zh if lang == "zh" else col.name
        sheet.write_string(0, j, header, bold)
        sheet.set_column(j, j, max(12, len(header) * 2), text_format)
    info = book.add_worksheet("说明" if lang == "zh" else "Instructions")
    titles = ("列", "必填", "说明") if lang == "zh" else ("Column", "Required", "Notes")
    info.write_row(0, 0, titles, bold)
    for i, col in enumerate(FORMATS[kind], start=1):
        info.write_string(i, 0, col.zh if lang == "zh" else col.name)
        info.write_string(i, 1, ("是" if col.required else "否") if lang == "zh"
                          else ("yes" if col.required else "no"))
        info.write_string(i, 2, column_note(col, translate))
    info.set_column(0, 1, 16)
    info.set_column(2, 2, 48)
    book.close()
    return buffer.getvalue()


# -- exports -----------------------------------------------------------------------------
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


def neutralise(value: Any) -> Any:
    """Make a text cell that a spreadsheet would run as a formula inert; numbers unchanged."""
    if (isinstance(value, str) and value.startswith(_FORMULA_START)
            and not _PLAIN_NUMBER.match(value)):
        return "'" + value
    return value


def _neutralised(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    for col in out.columns:
        if out[col].dtype == object or pd.api.types.is_string_dtype(out[col]):
            out[col] = out[col].map(neutralise)
    return out


def to_csv_bytes(frame: pd.DataFrame) -> bytes:
    """UTF-8 with BOM CSV (what Excel opens correctly), formula-like cells neutralised.

    Lines end with CRLF, as in the web exports: a value holding a lone CR is then quoted
    (with LF endings it would not be, and a reader would split the row there).
    """
    return _neutralised(frame).to_csv(index=False, lineterminator="\r\n").encode("utf-8-sig")


def to_xlsx_bytes(frame: pd.DataFrame, sheet_name: str = "Sheet1") -> bytes:
    """XLSX with text written as text (never as formulas), formula-like cells neutralised."""
    buffer = io.BytesIO()
    with pd.ExcelWriter(
        buffer,
        engine="xlsxwriter",
        engine_kwargs={"options": {"strings_to_formulas": False, "strings_to_urls": False,
                                   "strings_to_numbers": False}},
    ) as writer:
        _neutralised(frame).to_excel(writer, index=False, sheet_name=sheet_name[:31])
    return buffer.getvalue()
