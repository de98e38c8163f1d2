"""The shared export helper: scoped report tables -> a zip of CSV (UTF-8 BOM) and XLSX.

Pages hand over tables as (total rows, batches); the zip is written to a temporary file
batch by batch with progress, so a month of company-wide visits never sits in memory as
one piece, and formula-like cells are neutralised on the way (pipelines.formats).

The files say what the page says: pages hand over the words the grid shows (names, sources,
validity, reasons). Rates are fractions: XLSX holds the unrounded number with a percent
format (Excel shows 91.7%), CSV the fraction at the same precision (0.917) under a header
that says it is a fraction; counts are written as integers.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import pandas as pd
import xlsxwriter

from dashboard.display import PERCENT_DECIMALS, fraction
from dashboard.output import clean_value
from pipelines.formats import neutralise

XLSX_MAX_ROWS = 1_048_575  # one row of a sheet is the header


class ExportError(ValueError):
    """An export that is refused before any work (e.g. a range over export_max_days)."""


def check_range(date_from: date, date_to: date, max_days: int) -> None:
    days = (date_to - date_from).days + 1
    if days > max_days:
        raise ExportError(f"An export covers at most {max_days} days; this range has {days}.")


@dataclass
class ExportTable:
    """One table of an export.

    Attributes:
        name: file stem inside the zip (e.g. 'ranking').
        headers: field -> header in the user's language, in column order.
        total: rows to expect (for progress).
        batches: DataFrames holding at least the fields of `headers`.
        rates: rate field -> its CSV header (saying the column is a fraction); made in the
            request, like `headers`, since the job has no language of its own.
        counts: fields written as integers (a count read as float would show 0.0).
    """

    name: str
    headers: Mapping[str, str]
    total: int
    batches: Iterable[pd.DataFrame]
    rates: Mapping[str, str] = field(default_factory=dict)
    counts: frozenset[str] = frozenset()


def _cell(value: object) -> object:
    value = clean_value(value)
    if isinstance(value, list):
        value = ";".join(str(v) for v in value)
    return neutralise(value)


def _count(value: object) -> int | None:
    cleaned = clean_value(value)
    return None if cleaned is None else int(cleaned)


def _raw_rate(value: object) -> float | None:
    """The unrounded rate (clean_value only tells whether it is missing: it rounds)."""
    return None if clean_value(value) is None else float(value)  # type: ignore[arg-type]


def _csv_cell(cell: object, kind: str) -> object:
    return fraction(cell) if kind == "rate" and isinstance(cell, float) else cell


PERCENT_FORMAT = "0." + "0" * PERCENT_DECIMALS + "%"


def write_zip(
    path: Path, tables: Iterable[ExportTable], progress: Callable[[str, float], None]
) -> None:
    """Write every table as NAME.csv and NAME.xlsx into the zip at `path`."""
    tables = list(tables)
    grand_total = max(1, sum(t.total for t in tables))
    written = 0
    work = Path(str(path) + ".parts")
    work.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for table in tables:
            fields = list(table.headers)
            kinds = ["rate" if f in table.rates else "count" if f in table.counts else ""
                     for f in fields]
            csv_path, xlsx_path = work / f"{table.name}.csv", work / f"{table.name}.xlsx"
            book = xlsxwriter.Workbook(str(xlsx_path), {
                "constant_memory": True, "strings_to_formulas": False,
                "strings_to_urls": False, "strings_to_numbers": False})
            percent_format = book.add_format({"num_format": PERCENT_FORMAT})
            sheet, sheet_rows, sheet_no = book.add_worksheet(table.name[:31]), 0, 1
            sheet.write_row(0, 0, list(table.headers.values()))
            with csv_path.open("w", encoding="utf-8-sig", newline="") as handle:
                writer = csv.writer(handle)
                writer.writerow([table.rates.get(f, h) for f, h in table.headers.items()])
                for frame in table.batches:
                    for raw in zip(*(frame[f].tolist() for f in fields), strict=True):
                        cells = [_raw_rate(v) if kind == "rate" else
                                 _count(v) if kind == "count" else _cell(v)
                                 for v, kind in zip(raw, kinds, strict=True)]
                        writer.writerow([_csv_cell(c, kind)
                                         for c, kind in zip(cells, kinds, strict=True)])
                        if sheet_rows == XLSX_MAX_ROWS:
                            sheet_no += 1
                            sheet = book.add_worksheet(f"{table.name[:27]}_{sheet_no}")
                            sheet.write_row(0, 0, list(table.headers.values()))
                            sheet_rows = 0
                        sheet_rows += 1
                        for column, (cell, kind) in enumerate(zip(cells, kinds, strict=True)):
                            if kind == "rate" and cell is not None:
                                sheet.write_number(sheet_rows, column, cell, percent_format)
                            else:
                                sheet.write(sheet_rows, column, cell)
                        written += 1
                    progress(table.name, min(0.95, written / grand_total))
            book.close()
            archive.write(csv_path, f"{table.name}.csv")
            archive.write(xlsx_path, f"{table.name}.xlsx")
            csv_path.unlink()
            xlsx_path.unlink()
    work.rmdir()


def frame_table(name: str, headers: Mapping[str, str], frame: pd.DataFrame, *,
                rates: Mapping[str, str] | None = None,
                counts: Iterable[str] = ()) -> ExportTable:
    """A small table that is already in memory."""
    return ExportTable(name, headers, len(frame), [frame], dict(rates or {}),
                       frozenset(counts))


def read_zip_member(data: bytes, member: str) -> bytes:
    """For tests and tools: one file of an export zip."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return archive.read(member)
