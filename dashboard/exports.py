"""The shared export helper: scoped report tables -> a zip of CSV (UTF-8 BOM) and XLSX.

Pages hand over tables as (total rows, batches); the zip is written to a temporary file
batch by batch with progress, so a month of company-wide visits never sits in memory as
one piece, and formula-like cells are neutralised on the way (pipelines.formats).
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pandas as pd
import xlsxwriter

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
    """

    name: str
    headers: Mapping[str, str]
    total: int
    batches: Iterable[pd.DataFrame]


def _cell(value: object) -> object:
    value = clean_value(value)
    if isinstance(value, list):
        value = ";".join(str(v) for v in value)
    return neutralise(value)


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
            csv_path, xlsx_path = work / f"{table.name}.csv", work / f"{table.name}.xlsx"
            book = xlsxwriter.Workbook(str(xlsx_path), {
                "constant_memory": True, "strings_to_formulas": False,
                "strings_to_urls": False, "strings_to_numbers": False})
            sheet, sheet_rows, sheet_no = book.add_worksheet(table.name[:31]), 0, 1
            sheet.write_row(0, 0, list(table.headers.values()))
            with csv_path.open("w", encoding="utf-8-sig", newline="") as handle:
                writer = csv.writer(handle)
                writer.writerow(list(table.headers.values()))
                for frame in table.batches:
                    rows = [[_cell(v) for v in row]
                            for row in zip(*(frame[f].tolist() for f in fields), strict=True)]
                    writer.writerows(rows)
                    for row in rows:
                        if sheet_rows == XLSX_MAX_ROWS:
                            sheet_no += 1
                            sheet = book.add_worksheet(f"{table.name[:27]}_{sheet_no}")
                            sheet.write_row(0, 0, list(table.headers.values()))
                            sheet_rows = 0
                        sheet_rows += 1
                        sheet.write_row(sheet_rows, 0, row)
                    written += len(rows)
                    progress(table.name, min(0.95, written / grand_total))
            book.close()
            archive.write(csv_path, f"{table.name}.csv")
            archive.write(xlsx_path, f"{table.name}.xlsx")
            csv_path.unlink()
            xlsx_path.unlink()
    work.rmdir()


def frame_table(name: str, headers: Mapping[str, str], frame: pd.DataFrame) -> ExportTable:
    """A small table that is already in memory."""
    return ExportTable(name, headers, len(frame), [frame])


def read_zip_member(data: bytes, member: str) -> bytes:
    """For tests and tools: one file of an export zip."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return archive.read(member)
