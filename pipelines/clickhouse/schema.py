"""The ClickHouse schema, derived from the one schema VisitLens has (pipelines/migrations:
schema.sql, the base, and the numbered migrations after it).

The tables are read from DuckDB's catalog after running the migrations in memory, so a
table or column a migration adds appears on ClickHouse too (:func:`migration_statements`);
only the physical layout is chosen here:

* ``visits``: MergeTree partitioned by month, ordered by day, employee and customer, the
  order of the scope and date filters (zone maps become the primary index).
* the daily summaries: MergeTree ordered by day and employee, refreshed by the import path.
* master data (departments, employees, customers, bindings, shares, plans, settings,
  users, ...): MergeTree ordered by their primary key, with the block columns that
  lightweight ``UPDATE`` needs, so an edit is visible to the next report.

Scalar macros become ClickHouse SQL functions; table macros are inlined by the renderer.
"""

from __future__ import annotations

import re
from functools import cache

import duckdb

from pipelines import migrations

_TYPES: dict[str, str] = {
    "VARCHAR": "String",
    "DOUBLE": "Float64",
    "FLOAT": "Float32",
    "INTEGER": "Int32",
    "BIGINT": "Int64",
    "SMALLINT": "Int16",
    "TINYINT": "Int8",
    "UTINYINT": "UInt8",
    "UINTEGER": "UInt32",
    "UBIGINT": "UInt64",
    "BOOLEAN": "Bool",
    "DATE": "Date32",
    "TIMESTAMP": "DateTime64(6)",
}

# Physical layout per table: (PARTITION BY, ORDER BY). Others: ordered by the primary key.
_LAYOUT: dict[str, tuple[str | None, str]] = {
    "visits": ("toYYYYMM(visit_date)", "(visit_date, employee_code, customer_code)"),
    "visit_day_summary": ("toYear(visit_date)", "(visit_date, employee_code)"),
    "plan_day_summary": ("toYear(plan_date)", "(plan_date, employee_code)"),
    "plan_items": (None, "(plan_date, employee_code, customer_code)"),
    "customer_day": (None, "(visit_date, customer_id)"),
    "customer_month": (None, "(month, customer_id)"),
    "department_tree": (None, "(ancestor_code, descendant_code)"),
    "route_items": (None, "(route_id, position)"),
}

# Text columns with few distinct values are dictionary-encoded (LowCardinality): a tenth of
# the bytes for employee codes and location sources, and faster grouping by them.
_LOW_CARDINALITY = re.compile(
    r"^(employee_code|department_code|ancestor_code|descendant_code|parent_code|"
    r"from_employee_code|to_employee_code|grade|status|kind|role|action|entity|language|"
    r"check_in_source|check_out_source|route_name)$")

# Lightweight UPDATE needs these on every table the app edits in place.
_SETTINGS = "enable_block_number_column = 1, enable_block_offset_column = 1"

# DuckDB scalar macros as ClickHouse functions (the one place where the dialects truly
# differ: list lambdas).
FUNCTIONS: tuple[str, ...] = (
    "CREATE FUNCTION IF NOT EXISTS in_buckets AS (cnt, lows, highs) -> "
    "length(lows) = 0 OR arrayExists((lo, hi) -> cnt >= lo AND cnt <= hi, lows, highs)",
    # DuckDB's unicode(s): the code point of the first character (UTF-8 decoded), -1 if
    # empty; the import's "illegal character" message shows it.
    "CREATE FUNCTION IF NOT EXISTS vl_unicode AS (s) -> multiIf("
    "length(s) = 0, -1, "
    "reinterpretAsUInt8(substring(s, 1, 1)) < 128, "
    "toInt64(reinterpretAsUInt8(substring(s, 1, 1))), "
    "reinterpretAsUInt8(substring(s, 1, 1)) < 224, "
    "toInt64(bitAnd(reinterpretAsUInt8(substring(s, 1, 1)), 31)) * 64 "
    "+ bitAnd(reinterpretAsUInt8(substring(s, 2, 1)), 63), "
    "reinterpretAsUInt8(substring(s, 1, 1)) < 240, "
    "toInt64(bitAnd(reinterpretAsUInt8(substring(s, 1, 1)), 15)) * 4096 "
    "+ bitAnd(reinterpretAsUInt8(substring(s, 2, 1)), 63) * 64 "
    "+ bitAnd(reinterpretAsUInt8(substring(s, 3, 1)), 63), "
    "toInt64(bitAnd(reinterpretAsUInt8(substring(s, 1, 1)), 7)) * 262144 "
    "+ bitAnd(reinterpretAsUInt8(substring(s, 2, 1)), 63) * 4096 "
    "+ bitAnd(reinterpretAsUInt8(substring(s, 3, 1)), 63) * 64 "
    "+ bitAnd(reinterpretAsUInt8(substring(s, 4, 1)), 63))",
)


def _default(expression: str | None) -> str:
    if expression is None:
        return ""
    text = expression.strip()
    if text.lower().startswith("current_localtimestamp"):
        return " DEFAULT now64(6)"
    if text.upper() in ("TRUE", "FALSE") or text.lstrip("-").replace(".", "").isdigit():
        return f" DEFAULT {text.lower()}"
    if text.startswith("'") and text.endswith("'"):
        return f" DEFAULT {text}"
    if text.upper().startswith("CAST("):
        inner = text[5:].split(" AS ")[0]
        return _default(inner)
    raise ValueError(f"no ClickHouse default for {expression}")


@cache
def primary_keys() -> dict[str, tuple[str, ...]]:
    """Each table's primary key in schema.sql (ClickHouse enforces none; upserts use it)."""
    duck = _catalog()
    try:
        return {table: tuple(columns) for table, columns in duck.execute(
            "SELECT table_name, constraint_column_names FROM duckdb_constraints() "
            "WHERE constraint_type = 'PRIMARY KEY'").fetchall()}
    finally:
        duck.close()


@cache
def table_columns() -> dict[str, tuple[str, ...]]:
    """Each table's columns in order (the UPDATE rewrite writes whole rows)."""
    duck = _catalog()
    try:
        found: dict[str, list[str]] = {}
        for table, column in duck.execute(
                "SELECT table_name, column_name FROM duckdb_columns() "
                "ORDER BY table_name, column_index").fetchall():
            found.setdefault(table, []).append(column)
        return {table: tuple(columns) for table, columns in found.items()}
    finally:
        duck.close()


@cache
def sorting_keys() -> dict[str, tuple[str, ...]]:
    """Each table's ClickHouse ORDER BY columns (a lightweight UPDATE cannot change them)."""
    keys = primary_keys()
    found: dict[str, tuple[str, ...]] = {}
    for table in table_columns():
        order = _LAYOUT.get(table, (None, ""))[1]
        found[table] = tuple(c.strip() for c in order.strip("()").split(",") if c.strip()) \
            if order else keys.get(table, ())
    return found


def _catalog(upto: int | None = None) -> duckdb.DuckDBPyConnection:
    """The migrations up to `upto` (all when None) run in an in-memory DuckDB: the
    catalog the ClickHouse schema reads."""
    duck = duckdb.connect(":memory:", config={"autoinstall_known_extensions": False,
                                              "autoload_known_extensions": False})
    if upto != 0:
        duck.execute(migrations.script(upto))
    return duck


def _columns(upto: int | None) -> dict[str, list[str]]:
    duck = _catalog(upto)
    try:
        found: dict[str, list[str]] = {}
        for table, column in duck.execute(
                "SELECT table_name, column_name FROM duckdb_columns() WHERE NOT internal "
                "ORDER BY table_name, column_index").fetchall():
            found.setdefault(table, []).append(column)
        return found
    finally:
        duck.close()


@cache
def statements() -> tuple[str, ...]:
    """CREATE statements for ClickHouse (idempotent), in dependency order: the schema
    of the latest migration."""
    return (*FUNCTIONS, *_create_tables(None, None).values())


@cache
def migration_statements(version: int) -> tuple[str, ...]:
    """The ClickHouse DDL of one migration (idempotent): CREATE for the tables it adds,
    ADD COLUMN for the columns it adds to existing tables; migration 1 also creates the
    SQL functions. A migration that drops a column or changes its type has no derived
    form (refused here); it would need its ClickHouse DDL written."""
    before, after = _columns(version - 1), _columns(version)
    types, old_types = _column_types(version), _column_types(version - 1)
    changed = [f"{t}.{c}" for t, cs in before.items() for c in cs
               if types.get(t, {}).get(c) != old_types[t][c]]
    if changed:
        raise NotImplementedError(f"migration {version} drops or retypes {changed}: "
                                  "write its ClickHouse form")
    added_tables = [t for t in after if t not in before]
    found = [*(FUNCTIONS if version == 1 else ()),
             *_create_tables(version, added_tables).values()]
    for table, columns in after.items():
        if table in before:
            found += [f"ALTER TABLE {table} ADD COLUMN IF NOT EXISTS {c} {types[table][c]}"
                      for c in columns if c not in before[table]]
    return tuple(found)


def _column_types(upto: int | None) -> dict[str, dict[str, str]]:
    """Each column's ClickHouse type (with its default) in the schema at `upto`."""
    found: dict[str, dict[str, str]] = {}
    for table, text in _create_tables(upto, None).items():
        for line in text.split("\n")[1:-1]:
            name, _, typed = line.strip().rstrip(",").partition(" ")
            found.setdefault(table, {})[name] = typed
    return found


def _create_tables(upto: int | None, only: list[str] | None) -> dict[str, str]:
    """CREATE TABLE statements for the tables of the schema at `upto` (all when None),
    or only the listed ones: table -> statement."""
    duck = _catalog(upto)
    try:
        tables = [r[0] for r in duck.execute(
            "SELECT table_name FROM duckdb_tables() WHERE NOT temporary "
            "ORDER BY table_name").fetchall()]
        created: dict[str, str] = {}
        for table in tables:
            if only is not None and table not in only:
                continue
            columns = duck.execute(
                "SELECT column_name, data_type, is_nullable, column_default "
                "FROM duckdb_columns() WHERE table_name = $t ORDER BY column_index",
                {"t": table}).fetchall()
            keys = duck.execute(
                "SELECT constraint_column_names FROM duckdb_constraints() "
                "WHERE table_name = $t AND constraint_type = 'PRIMARY KEY'",
                {"t": table}).fetchall()
            partition, order = _LAYOUT.get(table, (None, ""))
            if not order:
                order = f"({', '.join(keys[0][0])})" if keys else "tuple()"
            in_key = set(order.strip("()").replace(" ", "").split(","))
            lines = []
            for name, kind, nullable, default in columns:
                base = _TYPES.get(kind)
                if base is None:
                    raise ValueError(f"no ClickHouse type for {table}.{name} {kind}")
                typed = f"Nullable({base})" if nullable and name not in in_key else base
                if base == "String" and _LOW_CARDINALITY.match(name):
                    typed = f"LowCardinality({typed})"
                lines.append(f"    {name} {typed}{_default(default)}")
            head = f"CREATE TABLE IF NOT EXISTS {table} (\n" + ",\n".join(lines) + "\n)"
            layout = " ENGINE = MergeTree"
            if partition:
                layout += f" PARTITION BY {partition}"
            layout += f" ORDER BY {order} SETTINGS {_SETTINGS}"
            created[table] = head + layout
        return created
    finally:
        duck.close()
