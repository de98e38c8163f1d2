"""Detect and import a file: the one path used by the command line, the import page and
the phone API (rows as dictionaries, :func:`import_records`).

Import = read -> detect -> (no problems) -> write, all inside one transaction that also
records the import history and the audit entry: all rows or none.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import duckdb
import pyarrow as pa

from pipelines import audit, business_settings, formats, load_master, load_plans, load_visits
from pipelines.context import WriteContext
from pipelines.db import Database
from pipelines.formats import Problem, RawTable
from pipelines.validate import detect

Progress = Callable[[str, float], None]
Prepare = Callable[[duckdb.DuckDBPyConnection, business_settings.BusinessSettings], None]
Write = Callable[[duckdb.DuckDBPyConnection, WriteContext], int]

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


# What detect and the prepare steps stage on the cursor (validate.stage, coords.stage_wgs84).
_STAGED_VIEWS = ("imp_wgs", "imp_text")
_STAGED_ARROW = ("imp_conv", "imp_raw")
_STAGED_TABLES = ("imp_new", "imp_problems", "imp")


def _drop_staged(cur: duckdb.DuckDBPyConnection) -> None:
    """Free the staged copies of the file: the cursor lives as long as its thread, and a
    registered Arrow table or a temp table would otherwise hold the whole file in memory."""
    with contextlib.suppress(duckdb.Error):
        for view in _STAGED_VIEWS:
            cur.execute(f"DROP VIEW IF EXISTS {view}")
        for name in _STAGED_ARROW:
            cur.unregister(name)
        for table in _STAGED_TABLES:
            cur.execute(f"DROP TABLE IF EXISTS {table}")


def run_import(
    db: Database,
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
    return _detect_and_write(db, raw, filename, username, detect_only, report)


def import_records(
    db: Database,
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
    return _detect_and_write(db, raw_from_records(kind, records), filename, username, False,
                             _noop)


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
    db: Database,
    raw: RawTable,
    filename: str,
    username: str | None,
    detect_only: bool,
    report: Progress,
) -> ImportResult:
    """Detect the rows, and unless `detect_only` or problems, write them in one transaction
    with the import history and the audit entry (the shared core of every import)."""
    kind = raw.kind
    prepare, write = STEPS[kind]
    settings = business_settings.load(db)
    report("detect", 0.3)
    if detect_only:
        cur = db.cursor()
        try:
            problems, total = detect(cur, raw, settings)
            result = ImportResult(kind, not problems, raw.num_rows, problems=problems,
                                  total_problems=total, detect_only=True)
            if not problems:
                prepare(cur, settings)
                new = int(cur.execute("SELECT count(*) FROM imp_new").fetchone()[0])  # type: ignore[index]
                result.inserted, result.skipped = new, raw.num_rows - new
        finally:
            _drop_staged(cur)
        report("done", 1.0)
        return result

    started = datetime.now()
    result = ImportResult(kind, False, raw.num_rows)
    try:
        with db.transaction() as cur:
            problems, total = detect(cur, raw, settings)
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
                [import_id, kind, filename, username, started, datetime.now(), raw.num_rows,
                 inserted, raw.num_rows - inserted],
            )
            audit.record(cur, username, f"import.{kind}", "import", str(import_id), None,
                         {"file": filename, "rows": raw.num_rows, "inserted": inserted})
            result = ImportResult(kind, True, raw.num_rows, inserted, raw.num_rows - inserted,
                                  import_id=import_id)
    except _Refused:
        pass
    finally:
        _drop_staged(db.cursor())
    report("done", 1.0)
    return result
