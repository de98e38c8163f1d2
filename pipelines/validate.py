"""Detect: every problem of an import file, by spreadsheet row and column.

The file's text is staged in DuckDB and checked with set-based SQL (a check is one scan,
never a Python loop over rows), so a ten-million-row visits file is checked in seconds.
The same staged, typed relation is what the load steps insert from.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pipelines.business_settings import BusinessSettings
from pipelines.formats import FORMATS, N_, ROW, Column, Problem, RawTable, problem
from pipelines.store import Cursor

MAX_LISTED_PROBLEMS = 10_000

# Illegal everywhere: C0 controls but tab and line breaks, DEL and U+FFFD; in address and
# note tab and line breaks are allowed, elsewhere they are illegal too.
_ILLEGAL_MULTILINE = r"[\x00-\x08\x0B\x0C\x0E-\x1F\x7F\x{FFFD}]"
_ILLEGAL_SINGLE = r"[\x00-\x1F\x7F\x{FFFD}]"

_TS_NAIVE = [
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%d %H:%M:%S.%f",
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d %H:%M",
]
_TS_AWARE = ["%Y-%m-%d %H:%M:%S%z", "%Y-%m-%d %H:%M%z", "%Y-%m-%d %H:%M:%S.%f%z"]
_DATES = ["%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y%m%d"]


def _lit(text: str) -> str:
    """A SQL string literal for one of our own constants (never for user text)."""
    return "'" + text.replace("'", "''") + "'"


def _list_lit(items: Sequence[str]) -> str:
    return "[" + ", ".join(_lit(i) for i in items) + "]"


def _raw(name: str) -> str:
    return f'"raw_{name}"'


def _typed_expr(col: Column) -> str:
    raw = _raw(col.name)
    if col.kind in ("lon", "lat", "number"):
        return f"TRY_CAST(NULLIF({raw}, '') AS DOUBLE)"
    if col.kind == "enum" and col.values:
        cases = " ".join(f"WHEN {_lit(k)} THEN {_lit(v)}" for k, v in col.values.items())
        return f"CASE lower({raw}) {cases} END"
    if col.kind == "enum":  # grade: the settings' list, case-insensitive
        return f"$grades[list_position($grades_upper, upper(NULLIF({raw}, '')))]"
    if col.kind == "timestamp":
        clean = f"replace({raw}, 'T', ' ')"
        aware = f"regexp_replace({clean}, 'Z$', '+00:00')"
        return (
            f"CASE WHEN {raw} = '' THEN NULL ELSE coalesce("
            f"try_strptime({clean}, {_list_lit(_TS_NAIVE)}), "
            f"timezone($tz, try_strptime({aware}, {_list_lit(_TS_AWARE)}))) END"
        )
    if col.kind == "date":
        return (
            f"CASE WHEN {raw} = '' THEN NULL ELSE coalesce("
            f"TRY_CAST(try_strptime({raw}, {_list_lit(_DATES)}) AS DATE), "
            f"TRY_CAST(try_strptime({raw}, '%Y-%m-%d %H:%M:%S') AS DATE)) END"
        )
    return f"NULLIF({raw}, '')"


@dataclass(frozen=True)
class Check:
    """One set-based check: rows of `imp` where `where` holds are problems.

    A check that needs more than a filter of `imp` gives `query` instead: a SELECT of the
    columns (row, value), one row per problem.
    """

    column: str | None
    code: str
    where: str
    template: str
    value: str = "NULL"  # SQL for the offending value, shown in the message
    query: str | None = None

    def select(self, check_no: int) -> str:
        if self.query is not None:
            return (f"SELECT row, {check_no} AS check_no, CAST(value AS VARCHAR) AS value "
                    f"FROM ({self.query})")
        return (f"""SELECT "{ROW}" AS row, {check_no} AS check_no, """
                f"CAST({self.value} AS VARCHAR) AS value FROM imp WHERE {self.where}")


def stage(cur: Cursor, raw: RawTable, settings: BusinessSettings) -> None:
    """Create the temporary table `imp` of a file read into memory (see stage_relation)."""
    cur.register("imp_raw", raw.table)
    stage_relation(cur, raw.kind, raw.columns, settings, "imp_raw")


def stage_relation(
    cur: Cursor,
    kind: str,
    columns: Sequence[str],
    settings: BusinessSettings,
    source: str,
) -> None:
    """Create the temporary table `imp`: raw_<col> text and <col> typed, for every column.

    Args:
        cur: the import's cursor.
        kind: the format.
        columns: the format's columns present in the file.
        settings: grades and time zone for the typed values.
        source: a relation on the cursor (a registered Arrow table, or the view a streamed
            CSV was staged as) with ``_row`` and the present columns as trimmed text: what
            the rest of detect and the load steps read does not depend on the reader.
    """
    parts = [f'"{ROW}"']
    for col in FORMATS[kind]:
        text = f'"{col.name}"' if col.name in columns else "''"
        parts.append(f"{text} AS {_raw(col.name)}")
    cur.execute(f"CREATE OR REPLACE TEMP VIEW imp_text AS SELECT {', '.join(parts)} FROM {source}")
    typed = [f'"{ROW}"'] + [f"{_raw(c.name)}" for c in FORMATS[kind]]
    typed += [f'{_typed_expr(c)} AS "{c.name}"' for c in FORMATS[kind]]
    cur.execute(
        f"CREATE OR REPLACE TEMP TABLE imp AS SELECT {', '.join(typed)} FROM imp_text",
        _params(kind, settings),
    )


def _params(kind: str, settings: BusinessSettings) -> dict[str, object]:
    params: dict[str, object] = {}
    if kind == "customers":
        params["grades"] = list(settings.grades)
        params["grades_upper"] = [g.upper() for g in settings.grades]
    if kind == "visits":
        params["tz"] = settings.timezone
    return params


def _generic_checks(kind: str, present: Sequence[str], plain_text: bool = False) -> list[Check]:
    checks: list[Check] = []
    for col in FORMATS[kind]:
        if col.name not in present:
            continue
        raw = _raw(col.name)
        pattern = _ILLEGAL_MULTILINE if col.kind == "multiline" else _ILLEGAL_SINGLE
        # In plain text the only illegal characters there can be are line breaks, which
        # are legal in multiline fields: a memchr instead of a regex per value.
        illegal = (f"regexp_matches({raw}, {_lit(pattern)})" if not plain_text
                   else "false" if col.kind == "multiline"
                   else f"(contains({raw}, chr(10)) OR contains({raw}, chr(13)))")
        checks.append(Check(
            col.name, "illegal_character", illegal,
            N_("Illegal character U+{value} in '{column}'."),
            f"upper(printf('%04x', unicode(regexp_extract({raw}, {_lit(pattern)}))))",
        ))
        if col.required:
            checks.append(Check(col.name, "required", f"{raw} = ''",
                                N_("'{column}' is required.")))
        bad = f"{raw} <> '' AND \"{col.name}\" IS NULL"
        if col.kind in ("lon", "lat", "number"):
            checks.append(Check(col.name, "bad_number", bad,
                                N_("'{value}' in '{column}' is not a number."), raw))
        if col.kind == "lon":
            checks.append(Check(col.name, "out_of_range",
                                f'abs("{col.name}") > 180 OR isnan("{col.name}")',
                                N_("Longitude {value} is outside -180..180."), raw))
        if col.kind == "lat":
            checks.append(Check(col.name, "out_of_range",
                                f'abs("{col.name}") > 90 OR isnan("{col.name}")',
                                N_("Latitude {value} is outside -90..90."), raw))
        if col.kind == "enum":
            allowed = ", ".join(sorted(set(col.values.values()))) if col.values else "{grades}"
            checks.append(Check(col.name, "bad_value", bad,
                                N_("'{value}' is not allowed in '{column}' (allowed: ")
                                + allowed + ").", raw))
        if col.kind == "timestamp":
            checks.append(Check(col.name, "bad_timestamp",
                                bad + f" OR year(\"{col.name}\") NOT BETWEEN 1990 AND 2100",
                                N_("'{value}' in '{column}' is not a time like "
                                   "2024-05-31 09:30:00."), raw))
        if col.kind == "date":
            checks.append(Check(col.name, "bad_date",
                                bad + f" OR year(\"{col.name}\") NOT BETWEEN 1990 AND 2100",
                                N_("'{value}' in '{column}' is not a date like 2024-05-31."),
                                raw))
    return checks


def _pair_checks(a: str, b: str, code: str, template: str) -> list[Check]:
    """Two columns that come together: the problem is on the one left empty."""
    return [
        Check(a, code, f"{_raw(a)} = '' AND {_raw(b)} <> ''", template),
        Check(b, code, f"{_raw(a)} <> '' AND {_raw(b)} = ''", template),
    ]


def _duplicate_in_file(key_cols: Sequence[str], column: str, where: str = "true") -> Check:
    """Rows whose key (typed values) an earlier row of the file has; value = that row.

    The keys that occur more than once are found first (an aggregate), so the window that
    names the first row only sorts their rows, not ten million unique ones.
    """
    keys = ", ".join(f'"{k}"' for k in key_cols)
    same = " AND ".join(f'i."{k}" IS NOT DISTINCT FROM d."{k}"' for k in key_cols)
    return Check(
        column, "duplicate_in_file", "", N_("Duplicate of row {value} in this file."),
        query=f"""WITH rows AS (SELECT "{ROW}", {keys} FROM imp WHERE {where}),
            d AS (SELECT {keys} FROM rows GROUP BY ALL HAVING count(*) > 1)
            SELECT row, first_row AS value FROM (
                SELECT i."{ROW}" AS row,
                       min(i."{ROW}") OVER (PARTITION BY {", ".join(f'i."{k}"' for k in key_cols)})
                           AS first_row
                FROM rows AS i SEMI JOIN d ON {same}) WHERE row <> first_row""",
    )


def _owner_codes() -> str:
    """SQL: the owner codes of each customers row, (row, pos, code), empty parts dropped."""
    return f"""SELECT row, pos, code FROM (
                 SELECT "{ROW}" AS row, trim(unnest(parts)) AS code,
                        generate_subscripts(parts, 1) AS pos
                 FROM (SELECT "{ROW}", string_split(replace(owner_codes, '；', ';'), ';') AS parts
                       FROM imp WHERE owner_codes IS NOT NULL))
               WHERE code <> ''"""


def _kind_checks(kind: str, present: Sequence[str]) -> list[Check]:
    if kind == "departments":
        return [
            _duplicate_in_file(["code"], "code", "code IS NOT NULL"),
            Check("code", "exists", "code IN (SELECT code FROM departments)",
                  N_("Department '{value}' already exists; change it in the edit form."), "code"),
            Check("parent_code", "unknown_department",
                  "parent_code IS NOT NULL AND parent_code NOT IN (SELECT code FROM departments)"
                  " AND parent_code NOT IN (SELECT code FROM imp WHERE code IS NOT NULL)",
                  N_("Unknown parent department '{value}'."), "parent_code"),
            Check("parent_code", "cycle", "parent_code = code",
                  N_("A department cannot be its own parent."), "parent_code"),
        ]
    if kind == "employees":
        return [
            _duplicate_in_file(["code"], "code", "code IS NOT NULL"),
            Check("code", "exists", "code IN (SELECT code FROM employees)",
                  N_("Employee '{value}' already exists; change them in the edit form."), "code"),
            Check("department_code", "unknown_department",
                  "department_code IS NOT NULL AND department_code NOT IN "
                  "(SELECT code FROM departments)",
                  N_("Unknown department '{value}'."), "department_code"),
        ]
    if kind == "customers":
        return [
            _duplicate_in_file(["code"], "code", "code IS NOT NULL"),
            Check("code", "exists",
                  "code IN (SELECT code FROM customers)",
                  N_("Customer '{value}' already exists; change it in the edit form "
                     "(or restore it if it was deleted)."), "code"),
            *_pair_checks("longitude", "latitude", "coordinates_incomplete",
                          N_("Longitude and latitude must be given together.")),
            Check("coord_system", "coordinates_missing",
                  "coord_system IS NOT NULL AND longitude IS NULL AND raw_longitude = ''",
                  N_("A coordinate system is given without coordinates.")),
            Check("department_code", "unknown_department",
                  "department_code IS NOT NULL AND department_code NOT IN "
                  "(SELECT code FROM departments)",
                  N_("Unknown department '{value}'."), "department_code"),
            Check("owner_codes", "unknown_employee", "",
                  N_("Unknown employee code(s) in owners: {value}."),
                  query=f"""SELECT row, string_agg(code, ', ' ORDER BY pos) AS value
                            FROM ({_owner_codes()})
                            WHERE code NOT IN (SELECT code FROM employees) GROUP BY row"""),
        ]
    if kind == "visits":
        checks = [
            Check("employee_code", "unknown_employee",
                  "employee_code IS NOT NULL AND employee_code NOT IN (SELECT code FROM employees)",
                  N_("Unknown employee '{value}'."), "employee_code"),
            Check("customer_code", "unknown_customer",
                  "customer_code IS NOT NULL AND customer_code NOT IN (SELECT code FROM customers)",
                  N_("Unknown customer '{value}'."), "customer_code"),
            Check("check_out_at", "checkout_before_checkin", "check_out_at < check_in_at",
                  N_("Check-out time {value} is before the check-in time."), "raw_check_out_at"),
            _duplicate_in_file(["visit_id"], "visit_id", "visit_id IS NOT NULL"),
            _duplicate_in_file(["employee_code", "customer_code", "check_in_at"], "check_in_at",
                               "visit_id IS NULL AND check_in_at IS NOT NULL"),
        ]
        for end in ("check_in", "check_out"):
            located = f"(raw_{end}_lon <> '' OR raw_{end}_lat <> '')"
            checks += [
                *_pair_checks(f"{end}_lon", f"{end}_lat", "coordinates_incomplete",
                              N_("Longitude and latitude must be given together.")),
                Check(f"{end}_source", "location_without_source",
                      f"{located} AND raw_{end}_source = ''",
                      N_("A location needs its location source (net, cell or gps).")),
                Check(f"{end}_source", "source_without_location",
                      f"NOT {located} AND raw_{end}_source <> ''",
                      N_("A location source is given without a location.")),
            ]
        checks.append(Check("check_out_at", "checkout_location_without_time",
                            "raw_check_out_at = '' AND (raw_check_out_lon <> '' "
                            "OR raw_check_out_lat <> '')",
                            N_("A check-out location is given without a check-out time.")))
        return checks
    if kind == "plans":
        return [
            Check("employee_code", "unknown_employee",
                  "employee_code IS NOT NULL AND employee_code NOT IN (SELECT code FROM employees)",
                  N_("Unknown employee '{value}'."), "employee_code"),
            Check("customer_code", "unknown_customer",
                  "customer_code IS NOT NULL AND customer_code NOT IN "
                  "(SELECT code FROM customers WHERE NOT deleted)",
                  N_("Unknown or deleted customer '{value}'."), "customer_code"),
            _duplicate_in_file(["employee_code", "date", "customer_code"], "customer_code",
                               "employee_code IS NOT NULL AND date IS NOT NULL "
                               "AND customer_code IS NOT NULL"),
        ]
    if kind == "holidays":
        return [_duplicate_in_file(["date"], "date", "date IS NOT NULL")]
    raise ValueError(kind)


def detect(
    cur: Cursor, raw: RawTable, settings: BusinessSettings
) -> tuple[list[Problem], int]:
    """Stage the file as `imp` and list its problems.

    Returns:
        (problems, total): the problems, file-level ones first then by row and column
        (at most MAX_LISTED_PROBLEMS of them), and how many there are in all.
    """
    problems = list(raw.problems)
    if any(p.row is None or p.code == "missing_column" for p in problems) or not raw.columns:
        return problems, len(problems)
    stage(cur, raw, settings)
    return detect_staged(cur, raw.kind, raw.columns, raw.problems, settings)


def detect_staged(
    cur: Cursor,
    kind: str,
    columns: Sequence[str],
    file_problems: Sequence[Problem],
    settings: BusinessSettings,
    plain_text: bool = False,
) -> tuple[list[Problem], int]:
    """List the problems of the rows staged as `imp` (stage, stage_relation), with the
    problems the reader found in the file (header, cells outside the header).

    Args:
        plain_text: the reader saw that the file holds no C0 control but CR and LF, no DEL
            and no U+FFFD (formats.CsvScan): the illegal-character checks then look for
            line breaks only, which finds the same problems faster.

    Returns:
        as :func:`detect`.
    """
    problems = list(file_problems)
    checks = _generic_checks(kind, columns, plain_text) + _kind_checks(kind, columns)
    order = {c.name: i for i, c in enumerate(FORMATS[kind])}
    union = " UNION ALL ".join(c.select(i) for i, c in enumerate(checks))
    cur.execute(f"CREATE OR REPLACE TEMP TABLE imp_problems AS {union}")
    total = int(cur.execute("SELECT count(*) FROM imp_problems").fetchone()[0])  # type: ignore[index]
    found = cur.execute(
        f"SELECT row, check_no, value FROM imp_problems ORDER BY row, check_no "
        f"LIMIT {MAX_LISTED_PROBLEMS}"
    ).fetchall()
    found.sort(key=lambda r: (r[0], order.get(checks[r[1]].column or "", -1)))
    grades = "/".join(settings.grades)
    for row, check_no, value in found:
        check = checks[check_no]
        template = check.template.replace("{grades}", grades)
        problems.append(problem(row, check.column, check.code, template,
                                value=value, column=check.column))
    if kind == "departments":
        cycles = _department_cycles(cur)
        problems += cycles
        total += len(cycles)
    problems.sort(key=lambda p: (p.row or 0, order.get(p.column or "", -1)))
    return problems, total + len(file_problems)


def _department_cycles(cur: Cursor) -> list[Problem]:
    """Rows whose parent chain inside the file comes back to themselves."""
    parent = dict(cur.execute(
        "SELECT code, parent_code FROM imp WHERE code IS NOT NULL AND parent_code <> code"
    ).fetchall())
    rows = dict(cur.execute(f'SELECT code, "{ROW}" FROM imp WHERE code IS NOT NULL').fetchall())
    found: list[Problem] = []
    for start in parent:
        seen = {start}
        node = parent.get(start)
        while node is not None and node in parent:
            if node == start:
                found.append(problem(rows[start], "parent_code", "cycle",
                                     N_("Department '{value}' is its own ancestor."), value=start))
                break
            if node in seen:
                break
            seen.add(node)
            node = parent.get(node)
    return sorted(found, key=lambda p: p.row or 0)
