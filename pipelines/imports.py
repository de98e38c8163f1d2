"""Detect and import a file: the one path used by the command line, the import page and
the phone API (rows as dictionaries, :func:`import_records`).

Import = read -> stage -> detect -> (no problems) -> write. Detect and write run inside one
transaction that also records the import history and the audit entry: all rows or none.

Two readers stage a file: a file in memory (the import page, the phone API, XLSX files) is
read by formats.read_file within the sheet limits; a CSV file on disk (the command line,
:func:`run_import_csv_file`) is streamed into a DuckDB temp table with no row limit. Both
stage the same relation (``_row`` and the present columns as trimmed text), so detect
(validate.py), the load steps (load_*.py) and the final insert are one code path.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from pipelines import audit, business_settings, formats, load_master, load_plans, load_visits
from pipelines.context import WriteContext
from pipelines.formats import CsvScan, Problem, RawTable
from pipelines.store import Cursor, Store
from pipelines.validate import detect, detect_staged, stage_relation

Progress = Callable[[str, float], None]
Prepare = Callable[[Cursor, business_settings.BusinessSettings], None]
Write = Callable[[Cursor, WriteContext], int]
# Stage the rows as `imp` and list their problems: (problems, how many in all, rows).
Detect = Callable[[Cursor, business_settings.BusinessSettings],
                  tuple[list[Problem], int, int]]

STEPS: dict[str, tuple[Prepare, Write]] = {
    "departments": (load_master.prepare_departments, load_master.write_departments),
    "employees": (load_master.prepare_employees, load_master.write_employees),
    "customers": (load_master.prepare_customers, load_master.write_customers),
    "visits": (load_visits.prepare_visits, load_visits.write_visits),
    "plans": (load_plans.prepare_plans, load_plans.write_plans),
    "holidays": (load_plans.prepare_holidays, load_plans.write_holidays),
}


@dataclass
class ImportResult:
    """What detect or import found and did (the `import --json` document)."""

    kind: str
    ok: bool
    rows: int
    inserted: int = 0
    skipped: int = 0
    problems: list[Problem] = field(default_factory=list)
    total_problems: int = 0
    import_id: int | None = None
    detect_only: bool = False

    def as_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "rows": self.rows,
            "inserted": self.inserted,
            "skipped": self.skipped,
            "problems": [p.as_dict() for p in self.problems],
        }


class _Refused(Exception):
    """Detect found problems inside the import transaction: roll back."""


def _noop(stage: str, fraction: float) -> None:
    return None


# What detect and the prepare steps stage on the cursor (validate.stage, coords.stage_wgs84,
# the streamed reader's _stage_csv).
_STAGED_VIEWS = ("imp_wgs", "imp_text", "imp_body")
_STAGED_ARROW = ("imp_conv", "imp_raw", "imp_batch")
_STAGED_TABLES = ("imp_new", "imp_problems", "imp", "imp_csv")


def _drop_staged(cur: Cursor) -> None:
    """Free the staged copies of the file: the cursor lives as long as its thread, and a
    registered Arrow table or a temp table would otherwise hold the whole file in memory.

    Every name is always staged as the same kind of object, so no statement fails (this
    also runs inside callers' transactions); plain statements only, so that another
    engine's cursor (pipelines.clickhouse) runs them too."""
    with contextlib.suppress(duckdb.Error):
        for view in _STAGED_VIEWS:  # first: they read the Arrow tables and the temp tables
            cur.execute(f"DROP VIEW IF EXISTS {view}")
        for name in _STAGED_ARROW:
            cur.unregister(name)
        for table in _STAGED_TABLES:
            cur.execute(f"DROP TABLE IF EXISTS {table}")


def run_import(
    db: Store,
    kind: str,
    data: bytes,
    filename: str,
    username: str | None = None,
    detect_only: bool = False,
    progress: Progress | None = None,
) -> ImportResult:
    """Detect, and unless `detect_only` or problems were found, import the file.

    Args:
        db: the database.
        kind: departments, employees, customers, visits, plans or holidays.
        data: the file's bytes.
        filename: its name (the extension picks the reader; stored in the history).
        username: who imports (None = the local command-line operator).
        detect_only: only list problems and what would be inserted and skipped.
        progress: called with (stage, fraction done) as the work advances.
    """
    report = progress or _noop
    report("read", 0.0)
    raw = formats.read_file(kind, data, filename)
    return _detect_and_write(db, kind, _detect_raw(raw), filename, username, detect_only,
                             report)


def _detect_raw(raw: RawTable) -> Detect:
    def run(cur: Cursor,
            settings: business_settings.BusinessSettings) -> tuple[list[Problem], int, int]:
        return (*detect(cur, raw, settings), raw.num_rows)

    return run


def import_records(
    db: Store,
    kind: str,
    records: Sequence[Mapping[str, str | None]],
    username: str | None,
    filename: str,
) -> ImportResult:
    """Import rows that arrive as dictionaries (the phone API) exactly as a file's rows.

    The rows become the RawTable a file would give (text trimmed the same way, row numbers
    from 2 as under a header), then run through the same detect and the same one write
    transaction as :func:`run_import`, so a check-in from a phone lands in the reports at
    once with the same checks, skips and history as an imported file.

    Args:
        db: the database.
        kind: one of formats.KINDS.
        records: field -> text (None = empty); fields are the format's column names.
        username: who writes (stored in the import history and the audit log).
        filename: a label for the history, e.g. "api:check-in".

    Raises:
        ValueError: an unknown kind or field name (a programming error, not bad input).
    """
    if not records:
        return ImportResult(kind, True, 0)
    return _detect_and_write(db, kind, _detect_raw(raw_from_records(kind, records)), filename,
                             username, False, _noop)


def raw_from_records(kind: str, records: Sequence[Mapping[str, str | None]]) -> RawTable:
    """The RawTable of dictionaries: every column of the format (so required ones are
    checked even when no record names them), as trimmed text (missing and None = empty),
    numbered from row 2 as under a header row."""
    if kind not in formats.FORMATS:
        raise ValueError(f"unknown import kind {kind!r}")
    known = [c.name for c in formats.FORMATS[kind]]
    unknown = sorted({name for record in records for name in record} - set(known))
    if unknown:
        raise ValueError(f"unknown {kind} field(s): {', '.join(unknown)}")
    arrays: dict[str, pa.Array] = {}
    for name in known:
        values = [record.get(name) or "" for record in records]
        arrays[name] = formats._trim(pa.array(values, pa.string()))
    arrays[formats.ROW] = pa.array(range(2, len(records) + 2), pa.int64())
    return RawTable(kind, pa.table(arrays), known, [])


def _detect_and_write(
    db: Store,
    kind: str,
    run_detect: Detect,
    filename: str,
    username: str | None,
    detect_only: bool,
    report: Progress,
) -> ImportResult:
    """Detect the rows, and unless `detect_only` or problems, write them in one transaction
    with the import history and the audit entry (the shared core of every import)."""
    prepare, write = STEPS[kind]
    settings = business_settings.load(db)
    report("detect", 0.3)
    if detect_only:
        cur = db.cursor()
        try:
            problems, total, rows = run_detect(cur, settings)
            result = ImportResult(kind, not problems, rows, problems=problems,
                                  total_problems=total, detect_only=True)
            if not problems:
                prepare(cur, settings)
                new = int(cur.execute("SELECT count(*) FROM imp_new").fetchone()[0])  # type: ignore[index]
                result.inserted, result.skipped = new, rows - new
        finally:
            _drop_staged(cur)
        report("done", 1.0)
        return result

    started = datetime.now()
    result = ImportResult(kind, False, 0)
    try:
        with db.transaction() as cur:
            problems, total, rows = run_detect(cur, settings)
            result.rows = rows
            if problems:
                result.problems, result.total_problems = problems, total
                raise _Refused
            report("write", 0.6)
            prepare(cur, settings)
            import_id = int(cur.execute("SELECT nextval('seq_import')").fetchone()[0])  # type: ignore[index]
            ctx = WriteContext(settings, username, import_id, started)
            inserted = write(cur, ctx)
            cur.execute(
                """INSERT INTO import_history (import_id, kind, filename, username, started_at,
                       finished_at, rows, inserted, skipped, ok)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, true)""",
                [import_id, kind, filename, username, started, datetime.now(), rows,
                 inserted, rows - inserted],
            )
            audit.record(cur, username, f"import.{kind}", "import", str(import_id), None,
                         {"file": filename, "rows": rows, "inserted": inserted})
            result = ImportResult(kind, True, rows, inserted, rows - inserted,
                                  import_id=import_id)
    except _Refused:
        pass
    finally:
        _drop_staged(db.cursor())
    report("done", 1.0)
    return result


# -- the streamed CSV reader (the command line) -----------------------------------------------
def run_import_csv_file(
    db: Store,
    kind: str,
    path: Path,
    username: str | None = None,
    detect_only: bool = False,
    progress: Progress | None = None,
    workdir: Path | None = None,
) -> ImportResult:
    """Detect and import a CSV file on disk of any size, streamed (the command line).

    Unlike :func:`run_import` the file is never held in memory, so neither the upload size
    nor the sheet's row limit applies: one pass checks the encoding (a GBK/GB18030 file is
    copied as UTF-8 into a temporary folder), the quotes and the header exactly as
    formats.read_file does; DuckDB's CSV reader then stages the records, all as text, in a
    temp table (irregular files — blank lines, ragged rows — go through the exact reader, a
    batch at a time). From there detect, the write transaction, the history and the
    refresh of the touched days are those of every import: the same problems, all rows
    or none, a resent file adds nothing.

    Args:
        db: the database.
        kind: one of formats.KINDS.
        path: the CSV file.
        username: who imports (None = the local command-line operator).
        detect_only: only list problems and what would be inserted and skipped.
        progress: called with (stage, fraction done); once the rows are staged, each stage
            names their count ("detect 10,000,000 rows").
        workdir: where the temporary UTF-8 copy of a GBK file goes (default: the system's).
    """
    outer = progress or _noop
    rows_seen: list[int] = []

    def report(stage: str, fraction: float) -> None:
        named = stage not in ("read", "done") and rows_seen
        outer(f"{stage} {rows_seen[0]:,} rows" if named else stage, fraction)

    report("read", 0.0)
    with tempfile.TemporaryDirectory(prefix="visitlens-import-", dir=workdir) as folder:
        scan = formats.scan_csv(kind, path, Path(folder),
                                lambda done, total: report("read", 0.2 * done / max(total, 1)))
        cur = db.cursor()
        # Records are read unless the file or its header is unreadable (then there is
        # nothing to count, as for a file in memory).
        readable = bool(scan.headers) and all(p.row is not None for p in scan.problems)
        found: list[Problem] = []
        try:
            if readable:
                # Typing the text reads no table, so `imp` is made before the write
                # transaction (a file DuckDB refuses must not abort it).
                found = _stage_csv(cur, scan, business_settings.load(db), report)
                rows_seen.append(_count(cur, "imp"))
        except BaseException:
            _drop_staged(cur)
            raise
    rows = rows_seen[0] if rows_seen else 0
    problems = sorted(scan.problems + found, key=lambda p: p.row or 0)

    def run_detect(cur: Cursor,
                   settings: business_settings.BusinessSettings) -> tuple[list[Problem], int, int]:
        if scan.fatal:
            return problems, len(problems), rows
        return (*detect_staged(cur, kind, scan.columns, problems, settings, scan.plain_text),
                rows)

    return _detect_and_write(db, kind, run_detect, path.name, username, detect_only, report)


def _count(cur: Cursor, relation: str) -> int:
    row = cur.execute(f"SELECT count(*) FROM {relation}").fetchone()
    return int(row[0]) if row else 0


# The CSV dialect of formats.read_file (pyarrow's and Python's defaults): comma, double
# quotes doubled inside quoted values, quoted line breaks; every column text.
_READ_CSV = """
    read_csv($path, columns = {columns}, header = true, auto_detect = false, delim = ',',
             quote = '"', escape = '"', strict_mode = true, null_padding = false,
             encoding = 'utf-8')
"""


def _trimmed(column: str) -> str:
    """SQL: the text of a staged cell (NULL = empty) trimmed as formats.read_file trims it.

    DuckDB's trim(text, characters) is slow with many characters (1.4 s per million values
    here), so only a value that starts or ends with one of them goes through a regex. (A
    list, not IN: DuckDB plans a long IN list as a join.)
    """
    value = f"coalesce({column}, '')"
    codes = "[" + ", ".join(str(ord(c)) for c in formats.TRIM_CHARACTERS) + "]"
    chars = "".join(f"\\x{{{ord(c):04x}}}" for c in formats.TRIM_CHARACTERS)
    return (f"(CASE WHEN list_contains({codes}, ascii({value})) "
            f"OR list_contains({codes}, ascii(right({value}, 1))) "
            f"THEN regexp_replace({value}, '^[{chars}]+|[{chars}]+$', '', 'g') "
            f"ELSE {value} END)")


def _stage_csv(cur: Cursor, scan: CsvScan,
               settings: business_settings.BusinessSettings, report: Progress) -> list[Problem]:
    """Stage the records of a scanned CSV file as `imp` (validate.stage_relation).

    DuckDB's reader parses the file in parallel into a temp table of text; a plain scan
    keeps the file's order, so a record's number is its rowid there (+ 2: the header is
    row 1), read before anything may reorder the rows. That is the spreadsheet's numbering
    unless blank lines (which DuckDB skips) come before a record; such files, those DuckDB
    refuses (a row with more or fewer cells than the header, a stray quote) and those with
    values under a blank header cell are read by the exact reader instead, a batch at a
    time, which also reports the cells outside the header.

    Returns:
        the problems found while reading the records (cells outside the header).
    """
    report("stage", 0.2)
    if not (scan.regular and _read_with_duckdb(cur, scan)):
        report("stage (exact reader)", 0.2)
        _drop_staged(cur)
        problems = _read_exactly(cur, scan)
    else:
        problems = []
    report("stage", 0.3)
    stage_relation(cur, scan.kind, scan.columns, settings, "imp_body")
    _drop_staged_text(cur)
    return problems


def _read_with_duckdb(cur: Cursor, scan: CsvScan) -> bool:
    """Read the file into `imp_csv` and define the view `imp_body` of its records (``_row``
    and the present columns, trimmed; rows of empty cells only left out, as read_file
    does). False when the exact reader must read the file instead."""
    names = [f"c{i}" for i in range(len(scan.header))]
    columns = "{" + ", ".join(f"'{n}': 'VARCHAR'" for n in names) + "}"
    try:
        cur.execute(f"CREATE OR REPLACE TEMP TABLE imp_csv AS SELECT * FROM "
                    f"{_READ_CSV.format(columns=columns)}", {"path": str(scan.path)})
    except duckdb.InvalidInputException:
        return False
    unnamed = [f"{_trimmed(n)} <> ''" for n, cell in zip(names, scan.header, strict=True)
               if formats.blank(cell)]
    if unnamed:
        found = cur.execute(f"SELECT bool_or({' OR '.join(unnamed)}) FROM imp_csv").fetchone()
        if found == (True,):
            return False  # values under a blank header cell: the exact reader says where
    present = [f'{names[j]} AS "{c}"' for j, c in enumerate(scan.mapped) if c is not None]
    filled = " OR ".join(f"{n} <> ''" for n in names)
    cur.execute(f"""
        CREATE OR REPLACE TEMP VIEW imp_body AS
        SELECT {', '.join([f'"{formats.ROW}"', *present])} FROM (
            SELECT rowid + 2 AS "{formats.ROW}", {', '.join(f'{_trimmed(n)} AS {n}'
                                                           for n in names)}
            FROM imp_csv)
        WHERE {filled}""")
    return True


def _read_exactly(cur: Cursor, scan: CsvScan) -> list[Problem]:
    """Read the file with formats.exact_csv_batches into `imp_csv`, viewed as `imp_body`."""
    column_defs = ", ".join([f'"{formats.ROW}" BIGINT']
                            + [f'"{c}" VARCHAR' for c in scan.columns])
    cur.execute(f"CREATE OR REPLACE TEMP TABLE imp_csv ({column_defs})")
    problems: list[Problem] = []
    for table, found in formats.exact_csv_batches(scan):
        problems += found
        cur.register("imp_batch", table)
        try:
            cur.execute("INSERT INTO imp_csv BY NAME SELECT * FROM imp_batch")
        finally:
            cur.unregister("imp_batch")
    cur.execute("CREATE OR REPLACE TEMP VIEW imp_body AS SELECT * FROM imp_csv")
    return problems


def _drop_staged_text(cur: Cursor) -> None:
    """Free the file's text once `imp` holds every value."""
    for statement in ("DROP VIEW IF EXISTS imp_text", "DROP VIEW IF EXISTS imp_body",
                      "DROP TABLE IF EXISTS imp_csv"):
        cur.execute(statement)
