"""DuckDB SQL rendered for ClickHouse: the report SQL is written once.

Every statement VisitLens runs is written for DuckDB (dashboard/reports/queries, pipelines). On
ClickHouse the same text goes through :func:`render`:

1. The table macros of ``pipelines/schema.sql`` (``customer_population(...)`` and friends)
   are inlined as subqueries with their arguments substituted, because ClickHouse has no
   table macros. Scalar macros exist on ClickHouse as SQL functions (schema.py).
2. Parameters stay bound: ``$name`` and ``?`` become ClickHouse's typed placeholders
   ``{name:Type}``, the type taken from the Python value, and the values are sent apart
   from the text (:func:`encode_params`). No value is ever formatted into SQL.
3. sqlglot writes the tree in ClickHouse's dialect.

Renders are cached by statement text and parameter types, so a report pays for the
transpilation once per process.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from functools import cache, lru_cache
from typing import Any, cast

import sqlglot
from sqlglot import exp

from pipelines import migrations
from pipelines.store import Params

_MACRO = re.compile(
    r"CREATE\s+OR\s+REPLACE\s+MACRO\s+(\w+)\s*\(([^)]*)\)\s+AS\s+TABLE\s+(.*?);",
    re.IGNORECASE | re.DOTALL,
)
# SQL comments would hide the end of a macro body (`;`) from the pattern above.
_COMMENT = re.compile(r"--[^\n]*")


class RenderError(ValueError):
    """A statement or a parameter that cannot be expressed on ClickHouse."""


@cache
def table_macros() -> dict[str, tuple[list[str], exp.Query]]:
    """The table macros of schema.sql: name -> (parameter names, parsed body)."""
    text = migrations.script()
    text = _COMMENT.sub("", text)
    macros: dict[str, tuple[list[str], exp.Query]] = {}
    for name, args, body in _MACRO.findall(text):
        parsed = sqlglot.parse_one(body, read="duckdb")
        if not isinstance(parsed, exp.Query):
            raise RenderError(f"macro {name} is not a query")
        macros[name.lower()] = ([a.strip().lower() for a in args.split(",") if a.strip()],
                                parsed)
    return macros


# -- parameter types -----------------------------------------------------------------------
def _scalar_type(value: Any) -> str:
    if isinstance(value, bool):
        return "Bool"
    if isinstance(value, int):
        return "Int64"
    if isinstance(value, float | Decimal):
        return "Float64"
    if isinstance(value, datetime):
        return "DateTime64(6)"
    if isinstance(value, date):
        return "Date32"
    if isinstance(value, str):
        return "String"
    raise RenderError(f"unsupported parameter type {type(value).__name__}")


def clickhouse_type(value: Any) -> str:
    """The ClickHouse type of a bound Python value (lists are arrays of their items' type)."""
    if value is None:
        return "NULL"
    if isinstance(value, list | tuple):
        kinds = {_scalar_type(v) for v in value if v is not None}
        if len(kinds) > 1 and kinds <= {"Int64", "Float64"}:
            kinds = {"Float64"}
        if len(kinds) > 1:
            raise RenderError("an array parameter mixes types")
        inner = kinds.pop() if kinds else "String"
        return f"Array(Nullable({inner}))" if None in value else f"Array({inner})"
    return _scalar_type(value)


def _literal(value: Any, quoted: bool) -> str:
    """One value in ClickHouse's text format (escaped when top-level, quoted in arrays)."""
    if value is None:
        return "NULL" if quoted else "\\N"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float | Decimal):
        if isinstance(value, float) and not math.isfinite(value):
            raise RenderError("a parameter is not a finite number")
        return repr(float(value))
    if isinstance(value, datetime):
        text = value.replace(tzinfo=None).isoformat(sep=" ")
    elif isinstance(value, date):
        text = value.isoformat()
    else:
        text = str(value)
    escaped = text.replace("\\", "\\\\").replace("'", "\\'").replace("\t", "\\t") \
        .replace("\n", "\\n").replace("\r", "\\r").replace("\0", "\\0")
    return f"'{escaped}'" if quoted else escaped


def encode_param(value: Any) -> str:
    """A bound value as ClickHouse expects it in a query parameter."""
    if isinstance(value, list | tuple):
        return "[" + ",".join(_literal(v, quoted=True) for v in value) + "]"
    return _literal(value, quoted=False)


def named_params(params: Params) -> dict[str, Any]:
    """Positional parameters get the names the renderer gives them (p1, p2, ...)."""
    if params is None:
        return {}
    if isinstance(params, Mapping):
        return dict(params)
    return {f"p{i}": value for i, value in enumerate(params, start=1)}


def encode_params(params: Mapping[str, Any]) -> dict[str, str]:
    return {name: encode_param(value) for name, value in params.items()}


# -- the tree rewrite ----------------------------------------------------------------------
def _inline_macros(tree: exp.Expression) -> exp.Expression:
    """Replace each call of a table macro by its body, arguments substituted."""
    macros = table_macros()
    for _ in range(10):  # macros call macros; a handful of levels at most
        calls = [t for t in tree.find_all(exp.Table)
                 if isinstance(t.this, exp.Anonymous) and str(t.this.this).lower() in macros]
        if not calls:
            return tree
        for table in calls:
            name = str(table.this.this).lower()
            names, body = macros[name]
            args = table.this.expressions
            if len(args) != len(names):
                raise RenderError(f"{name} takes {len(names)} arguments, got {len(args)}")
            values = dict(zip(names, args, strict=True))
            inlined = body.copy()
            for column in list(inlined.find_all(exp.Column)):
                if not column.table and column.name.lower() in values:
                    column.replace(values[column.name.lower()].copy())
            alias = table.args.get("alias") or exp.TableAlias(this=exp.to_identifier(name))
            table.replace(exp.Subquery(this=inlined, alias=alias))
    raise RenderError("table macros nest too deeply")


# Parameters are marked as columns with this prefix while parsing: sqlglot's tokenizer
# reads ``$name[...($`` as a dollar-quoted string and cannot parse ``?::TYPE``.
_MARK = "vl_param__"


def _restore_placeholders(tree: exp.Expression) -> exp.Expression:
    for column in list(tree.find_all(exp.Column)):
        if not column.table and column.name.startswith(_MARK):
            column.replace(exp.Placeholder(this=column.name[len(_MARK):]))
    return tree


def _name_positional(sql: str) -> str:
    """``?`` -> p1, p2, ... and ``$name`` -> name, marked as columns (see _MARK), outside
    strings, quoted identifiers and comments; ClickHouse binds named parameters."""
    out: list[str] = []
    position = 0
    i = 0
    while i < len(sql):
        char = sql[i]
        if char in "'\"":
            end = i + 1
            while end < len(sql):
                if sql[end] == char:
                    if end + 1 < len(sql) and sql[end + 1] == char:
                        end += 2
                        continue
                    break
                end += 1
            out.append(sql[i:end + 1])
            i = end + 1
        elif sql.startswith("--", i):
            end = sql.find("\n", i)
            end = len(sql) if end < 0 else end
            out.append(sql[i:end])
            i = end
        elif char == "?":
            position += 1
            out.append(f"{_MARK}p{position}")
            i += 1
        elif char == "$" and i + 1 < len(sql) and (sql[i + 1].isalpha() or sql[i + 1] == "_"):
            end = i + 1
            while end < len(sql) and (sql[end].isalnum() or sql[end] == "_"):
                end += 1
            out.append(f"{_MARK}{sql[i + 1:end]}")
            i = end
        else:
            out.append(char)
            i += 1
    return "".join(out)


def _is_array(node: exp.Expression) -> bool:
    if isinstance(node, exp.Array):
        return True
    if isinstance(node, exp.Cast):
        return node.to.is_type(exp.DataType.Type.ARRAY)
    return False


def _array_lengths(tree: exp.Expression) -> exp.Expression:
    """DuckDB's ``len(list)``: sqlglot reads it as a string length; ClickHouse's
    ``length`` counts array elements."""
    for node in list(tree.find_all(exp.Length)):
        if _is_array(node.this):
            node.replace(exp.Anonymous(this="length", expressions=[node.this.copy()]))
    return tree


def _template(sql: str, **parts: exp.Expression) -> exp.Expression:
    """A ClickHouse expression with the columns named like `parts` replaced by them."""
    tree = cast(exp.Expression, sqlglot.parse_one(sql, read="clickhouse"))
    for column in list(tree.find_all(exp.Column)):
        if column.name in parts:
            column.replace(parts[column.name].copy())
    return tree


def _sorted_pairs(order: exp.Order) -> exp.Expression:
    """``agg(v ORDER BY k)``: ClickHouse aggregates take no ORDER BY, so collect the
    (key, value) pairs and sort them; the values in key order."""
    keys = order.expressions
    if len(keys) != 1:
        raise RenderError("an ordered aggregate orders by one key on ClickHouse")
    sort = "arrayReverseSort" if keys[0].args.get("desc") else "arraySort"
    return _template(
        f"arrayMap(vl_pair -> tupleElement(vl_pair, 2), {sort}(vl_pair -> tupleElement(vl_pair, 1),"
        " groupArray(tuple(__key, __value))))",
        __key=keys[0].this, __value=order.this)


def _ordered_string_agg(node: exp.GroupConcat) -> exp.Expression:
    separator = node.args.get("separator") or exp.Literal.string(",")
    return exp.Anonymous(this="arrayStringConcat",
                         expressions=[_sorted_pairs(node.this), separator.copy()])


def _day_series(table: exp.Table) -> exp.Expression:
    """DuckDB ``range(start, stop, INTERVAL 1 DAY) AS t(d)``: the days as numbers."""
    series = table.this
    step = series.args.get("step")
    unit = step.args.get("unit") if isinstance(step, exp.Interval) else None
    if (not series.args.get("is_end_exclusive") or unit is None
            or unit.name.upper() != "DAY" or step.this.name != "1"):
        raise RenderError("only day-by-day date ranges are rendered for ClickHouse")
    alias = table.args.get("alias")
    column = alias.columns[0].name if alias is not None and alias.columns else "range"
    select = _template(
        f"SELECT toDate32(__start) + number AS {column} "
        "FROM numbers(toUInt64(assumeNotNull(greatest("
        "dateDiff('day', toDate32(__start), toDate32(__stop)), 0))))",
        __start=series.args["start"], __stop=series.args["end"])
    name = alias.name if alias is not None else "series"
    return exp.Subquery(this=select, alias=exp.TableAlias(this=exp.to_identifier(name)))


def _unnest_table(unnest: exp.Unnest, tree: exp.Expression) -> None:
    """``FROM x, unnest(list) AS o(c)``: an ARRAY JOIN (ClickHouse has no lateral joins);
    ``FROM unnest(list) AS o(c)`` alone: a subquery of arrayJoin."""
    alias = unnest.args.get("alias")
    column = alias.columns[0].name if alias is not None and alias.columns else "unnest"
    table = alias.name if alias is not None else ""
    if len(unnest.expressions) != 1:
        raise RenderError("unnest of one list at a time on ClickHouse")
    values = unnest.expressions[0].copy()
    parent = unnest.parent
    if isinstance(parent, exp.Join) and not parent.args.get("on"):
        parent.replace(exp.Join(this=exp.alias_(values, column), kind="ARRAY"))
        for ref in list(tree.find_all(exp.Column)):
            if table and ref.table == table and ref.name == column:
                ref.replace(exp.column(column))
        return
    if isinstance(parent, exp.From):
        select = exp.select(exp.alias_(exp.Anonymous(this="arrayJoin", expressions=[values]),
                                       column))
        unnest.replace(exp.Subquery(this=select, alias=exp.TableAlias(
            this=exp.to_identifier(table or "unnest"))))
        return
    raise RenderError("unnest in this position is not rendered for ClickHouse")


def _array_join(table: exp.Table) -> exp.Join:
    """``FROM x, range(a, b) AS t(i)`` (a range that reads x's columns): ClickHouse has
    no lateral joins, but ARRAY JOIN unrolls an array per row the same way."""
    series = table.this
    if not series.args.get("is_end_exclusive"):
        raise RenderError("only range(...) (end excluded) is rendered as an ARRAY JOIN")
    alias = table.args.get("alias")
    column = alias.columns[0].name if alias is not None and alias.columns else "range"
    bounds = [series.args["start"].copy(), series.args["end"].copy()]
    for bound in bounds:
        for length in list(bound.find_all(exp.Length)):  # of a list here
            length.replace(exp.Anonymous(this="length", expressions=[length.this.copy()]))
    return exp.Join(this=exp.alias_(exp.Anonymous(this="range", expressions=bounds), column),
                    kind="ARRAY")


def _subscripts(tree: exp.Expression) -> exp.Expression:
    """``SELECT unnest(xs), generate_subscripts(xs, 1)``: each element with its position.
    Two arrayJoins would multiply; one ARRAY JOIN of both arrays zips them."""
    for select in list(tree.find_all(exp.Select)):
        subscripts = [n for n in select.find_all(exp.Anonymous)
                      if str(n.this).lower() == "generate_subscripts"
                      and n.find_ancestor(exp.Select) is select]
        if not subscripts:
            continue
        array = subscripts[0].expressions[0]
        items = [n for n in select.find_all(exp.Explode)
                 if n.find_ancestor(exp.Select) is select and n.this == array]
        for item in items:
            item.replace(exp.column("vl_item"))
        for subscript in subscripts:
            if subscript.expressions[0] != array:
                raise RenderError("generate_subscripts of one array per SELECT on ClickHouse")
            subscript.replace(exp.column("vl_index"))
        joined = exp.Join(this=exp.alias_(array.copy(), "vl_item"), kind="ARRAY")
        joined.set("expressions", [exp.alias_(exp.Anonymous(
            this="arrayEnumerate", expressions=[array.copy()]), "vl_index")])
        select.append("joins", joined)
    return tree


def _clickhouse_idioms(tree: exp.Expression) -> exp.Expression:
    """Rewrite the DuckDB constructs sqlglot leaves as they are."""
    tree = _subscripts(tree)
    for bitwise in reversed(list(tree.find_all(exp.BitwiseAnd, exp.BitwiseOr))):  # inner first
        name = "bitAnd" if isinstance(bitwise, exp.BitwiseAnd) else "bitOr"
        bitwise.replace(exp.Anonymous(this=name, expressions=[bitwise.this.copy(),
                                                              bitwise.expression.copy()]))
    for aggregate in list(tree.find_all(exp.GroupConcat)):
        if isinstance(aggregate.this, exp.Order):
            aggregate.replace(_ordered_string_agg(aggregate))
    for listed in list(tree.find_all(exp.ArrayAgg)):
        if isinstance(listed.this, exp.Order):
            listed.replace(_sorted_pairs(listed.this))
    for epoch in list(tree.find_all(exp.TimeToUnix)):  # DuckDB epoch(ts): seconds, fractional
        epoch.replace(_template("toFloat64(toUnixTimestamp64Micro(toDateTime64(__ts, 6))) / 1e6",
                                __ts=epoch.this))
    # ClickHouse's lower/upper change ASCII letters only; DuckDB's every letter.
    for case in list(tree.find_all(exp.Lower, exp.Upper)):
        name = "lowerUTF8" if isinstance(case, exp.Lower) else "upperUTF8"
        case.replace(exp.Anonymous(this=name, expressions=[case.this.copy()]))
    for code in list(tree.find_all(exp.Unicode)):
        code.replace(exp.Anonymous(this="vl_unicode", expressions=[code.this.copy()]))
    for node in list(tree.find_all(exp.Anonymous)):
        if str(node.this).lower() == "list_position":
            haystack, needle = node.expressions
            node.replace(_template("nullIf(toInt64(indexOf(__list, __item)), 0)",
                                   __list=haystack, __item=needle))
    for unnest in list(tree.find_all(exp.Unnest)):
        _unnest_table(unnest, tree)
    for join in list(tree.find_all(exp.Join)):
        series = join.this.this if isinstance(join.this, exp.Table) else None
        if isinstance(series, exp.GenerateSeries) and series.args.get("step") is None \
                and not join.args.get("on"):
            join.replace(_array_join(join.this))
    for table in list(tree.find_all(exp.Table)):
        if isinstance(table.this, exp.GenerateSeries):
            table.replace(_day_series(table))
    # DuckDB names a projected `t.col` "col"; ClickHouse may keep the qualifier. And a
    # projected comparison is a BOOLEAN in DuckDB but a UInt8 in ClickHouse.
    for select in tree.find_all(exp.Select):
        for index, projection in enumerate(select.expressions):
            inner = projection.this if isinstance(projection, exp.Alias) else projection
            if isinstance(inner, exp.Predicate | exp.Connector | exp.Not | exp.Contains):
                wrapped = exp.Anonymous(this="toBool", expressions=[inner.copy()])
                select.expressions[index] = exp.alias_(wrapped, projection.alias_or_name) \
                    if isinstance(projection, exp.Alias) else wrapped
                continue
            if isinstance(projection, exp.Column) and projection.table \
                    and not isinstance(projection.this, exp.Star):
                select.expressions[index] = exp.alias_(projection.copy(), projection.name)
    return tree


def _bind_placeholders(tree: exp.Expression, types: Mapping[str, str]) -> exp.Expression:
    for node in list(tree.find_all(exp.Placeholder)):
        if node.args.get("kind") is not None:
            continue  # bound by the renderer itself (vl_id)
        name = node.name
        if types.get(name) == "NULL":
            node.replace(exp.Null())  # NULL is no user value: typed by its context
            continue
        if name not in types:
            raise RenderError(f"no value for the parameter {name}")
        node.replace(exp.Placeholder(this=name, kind=exp.DataType.build(types[name],
                                                                         dialect="clickhouse")))
    return tree


# -- writes ----------------------------------------------------------------------------
def _sequences(tree: exp.Expression) -> exp.Expression:
    """``nextval('seq')``: ClickHouse has no sequences; a Snowflake id is unique and
    increasing, which is all VisitLens asks of its ids."""
    for node in list(tree.find_all(exp.Anonymous)):
        if str(node.this).lower() == "nextval":
            node.replace(_template("toInt64(generateSnowflakeID())"))
    return tree


def _upsert(tree: exp.Insert) -> list[exp.Expression]:
    """DuckDB's upserts on ClickHouse, which has no unique keys.

    ``INSERT ... VALUES (...) ON CONFLICT DO NOTHING`` inserts the row only when no row
    has its key; ``INSERT OR REPLACE`` deletes the row with the key, then inserts.
    """
    from pipelines.clickhouse.schema import primary_keys

    target = tree.this
    table = target.this if isinstance(target, exp.Schema) else target
    columns = [c.name for c in target.expressions] if isinstance(target, exp.Schema) else []
    keys = primary_keys().get(table.name, ())
    values = tree.expression
    if not keys or not columns or not isinstance(values, exp.Values) \
            or len(values.expressions) != 1:
        raise RenderError(f"an upsert into {table.name} needs one VALUES row and a key")
    row = dict(zip(columns, values.expressions[0].expressions, strict=True))
    match = exp.and_(*[exp.EQ(this=exp.column(k), expression=row[k].copy()) for k in keys])
    conflict = tree.args.get("conflict")
    plain = tree.copy()
    plain.set("conflict", None)
    plain.set("alternative", None)
    action = conflict.args.get("action") if conflict is not None else None
    if conflict is not None and action is not None and action.name.upper() == "DO NOTHING":
        select = exp.select(*[exp.alias_(row[c].copy(), c) for c in columns]).where(
            exp.not_(exp.Exists(this=exp.select("1").from_(table.copy()).where(match))))
        plain.set("expression", select)
        return [plain]
    replace_row = conflict is None and (tree.args.get("alternative") or "").upper() == "REPLACE"
    # ON CONFLICT (key) DO UPDATE SET every other column = excluded.column: a replacement.
    updates_all = conflict is not None and action is None and conflict.args.get("expressions")
    if replace_row or updates_all:
        return [exp.delete(table.copy(), where=match), plain]
    raise RenderError("this upsert is not rendered for ClickHouse yet")


@dataclass(frozen=True)
class Plan:
    """What one DuckDB statement becomes on ClickHouse.

    Attributes:
        statements: ClickHouse statements to run in order (none for BEGIN/COMMIT).
        creates: staging tables that exist after it (in the caller's scratch database).
        drops: staging tables that no longer exist after it.
        returning: for ``INSERT ... RETURNING col`` of a new id: the column; the caller
            draws the id and binds it as the parameter ``vl_id``.
    """

    statements: tuple[str, ...]
    creates: tuple[str, ...] = ()
    drops: tuple[str, ...] = ()
    returning: str | None = None


def _in_scratch(tree: exp.Expression, scratch: str, temps: frozenset[str]) -> exp.Expression:
    """DuckDB's temporary tables live in the caller's scratch database on ClickHouse (a
    mutation cannot see a session's temporary tables)."""
    for table in tree.find_all(exp.Table):
        if not table.args.get("db") and table.name in temps:
            table.set("db", exp.to_identifier(scratch))
    return tree


_CATALOG = {
    "duckdb_views": "SELECT name AS view_name, true AS temporary, false AS internal "
                    "FROM system.tables WHERE database = '{scratch}' AND engine = 'View'",
    "duckdb_tables": "SELECT name AS table_name, true AS temporary "
                     "FROM system.tables WHERE database = '{scratch}' AND engine != 'View'",
}


def _catalog_functions(tree: exp.Expression, scratch: str) -> exp.Expression:
    """DuckDB's catalog of temporary objects (the staging clean-up reads it): on ClickHouse
    the caller's scratch database holds them."""
    for table in list(tree.find_all(exp.Table)):
        function = table.this
        name = str(function.this).lower() if isinstance(function, exp.Anonymous) else ""
        if name in _CATALOG:
            alias = table.args.get("alias") or exp.TableAlias(this=exp.to_identifier(name))
            query = _statement(_CATALOG[name].format(scratch=scratch))
            table.replace(exp.Subquery(this=query, alias=alias))
    return tree


def _row_ids(tree: exp.Expression) -> exp.Expression:
    """DuckDB's ``rowid``: on ClickHouse a row is (_block_number, _block_offset)."""
    for column in list(tree.find_all(exp.Column)):
        if column.name.lower() == "rowid":
            owner = column.table
            column.replace(exp.Tuple(expressions=[exp.column("_block_number", owner or None),
                                                  exp.column("_block_offset", owner or None)]))
    return tree


def _output_names(source: exp.Expression) -> set[str]:
    from pipelines.clickhouse.schema import table_columns

    inner = source.this if isinstance(source, exp.Subquery) else source
    if isinstance(inner, exp.Query):
        return {e.alias_or_name for e in inner.selects}
    if isinstance(inner, exp.Table):
        return set(table_columns().get(inner.name, ()))
    return set()


def _update(tree: exp.Update, scratch: str) -> list[exp.Expression]:
    """UPDATE on ClickHouse: a lightweight UPDATE when it can be one; an UPDATE with FROM
    (or of a sorting-key column) stages the new rows, deletes the old by row id and
    inserts the new ones."""
    from pipelines.clickhouse.schema import sorting_keys, table_columns

    target = tree.this
    table, alias = target.name, target.alias or target.name
    columns = table_columns().get(table)
    if columns is None:
        raise RenderError(f"cannot update {table} on ClickHouse")
    sets = {eq.this.name: eq.expression for eq in tree.expressions}
    where_node = tree.args.get("where")
    where = where_node.this if where_node is not None else exp.true()
    source = tree.args.get("from_")
    if source is None and not set(sets) & set(sorting_keys().get(table, ())):
        for column in tree.find_all(exp.Column):
            if column.table == alias:
                column.set("table", None)
        plain = tree.copy()
        plain.set("this", exp.Table(this=exp.to_identifier(table)))
        return [plain]
    sources = [source.this] if source is not None else []
    outside = set().union(*(_output_names(s) for s in sources)) if sources else set()
    for expression in [*sets.values(), where]:
        for column in expression.find_all(exp.Column):
            if not column.table and column.name in columns and column.name not in outside:
                column.set("table", exp.to_identifier(alias))
    stage = exp.Table(this=exp.to_identifier("vl_update"), db=exp.to_identifier(scratch))
    select = exp.select(
        exp.alias_(exp.column("_block_number", alias), "vl_bn"),
        exp.alias_(exp.column("_block_offset", alias), "vl_bo"),
        *[exp.alias_(sets[c].copy() if c in sets else exp.column(c, alias), c)
          for c in columns],
    ).from_(exp.Table(this=exp.to_identifier(table), alias=exp.TableAlias(
        this=exp.to_identifier(alias))))
    for extra in sources:
        select = select.join(extra.copy(), join_type="CROSS")
    select = select.where(where.copy())
    names = ", ".join(columns)
    stage_sql = stage.sql(dialect="clickhouse")
    return [
        _drop(stage),
        _template_statement(f"CREATE TABLE {stage_sql} ENGINE = Memory AS SELECT 1", select),
        _statement(f"DELETE FROM {table} WHERE (_block_number, _block_offset) IN "
                   f"(SELECT vl_bn, vl_bo FROM {stage_sql})"),
        _statement(f"INSERT INTO {table} ({names}) SELECT {names} FROM {stage_sql}"),
        _drop(stage),
    ]


def _statement(sql: str) -> exp.Expression:
    """A statement written in ClickHouse's dialect (names we own, never user text)."""
    return cast(exp.Expression, sqlglot.parse_one(sql, read="clickhouse"))


def _delete_using(tree: exp.Delete) -> exp.Expression:
    """``DELETE FROM t AS d USING s WHERE ...``: the rows to delete, chosen by row id."""
    target = tree.this
    alias = target.alias or target.name
    chosen = exp.select(exp.column("_block_number", alias), exp.column("_block_offset", alias))
    chosen = chosen.from_(target.copy())
    for source in tree.args["using"]:
        chosen = chosen.join(source.copy(), join_type="CROSS")
    where = tree.args.get("where")
    if where is not None:
        chosen = chosen.where(where.this.copy())
    delete = _statement(f"DELETE FROM {target.name} WHERE (_block_number, _block_offset) "
                        "IN (SELECT 1)")
    delete.find(exp.Subquery).set("this", chosen)  # type: ignore[union-attr]
    return delete


def _drop(table: exp.Table) -> exp.Expression:
    return _statement(f"DROP TABLE IF EXISTS {table.sql(dialect='clickhouse')}")


def _template_statement(sql: str, query: exp.Expression) -> exp.Expression:
    """A ClickHouse CREATE ... AS statement whose query is replaced by `query`."""
    tree = cast(exp.Expression, sqlglot.parse_one(sql, read="clickhouse"))
    tree.set("expression", query)
    return tree


def _create_staging(tree: exp.Create, scratch: str) -> tuple[list[exp.Expression], str]:
    """``CREATE [OR REPLACE] TEMP TABLE t ...`` as a Memory table in the scratch database."""
    name = tree.this.name if isinstance(tree.this, exp.Table) else tree.this.this.name
    staged = exp.Table(this=exp.to_identifier(name), db=exp.to_identifier(scratch))
    statements: list[exp.Expression] = []
    if tree.args.get("replace"):
        statements.append(_drop(staged))
    created = tree.copy()
    created.set("replace", False)
    if isinstance(created.this, exp.Schema):
        created.this.set("this", staged.copy())
    else:
        created.set("this", staged.copy())
    is_view = str(created.args.get("kind") or "").upper() == "VIEW"
    created.set("properties", None if is_view else exp.Properties(expressions=[
        exp.EngineProperty(this=exp.var("Memory"))]))
    statements.append(created)
    return statements, name


def _returning(tree: exp.Insert) -> tuple[exp.Insert, str]:
    """``INSERT ... VALUES (nextval(..), ...) RETURNING id``: the id is drawn first and
    bound as ``vl_id`` (ClickHouse returns nothing from an INSERT)."""
    returning = tree.args.get("returning")
    names = [e.alias_or_name for e in returning.expressions] if returning is not None else []
    if len(names) != 1:
        raise RenderError("INSERT ... RETURNING one column only on ClickHouse")
    found = [n for n in tree.find_all(exp.Anonymous) if str(n.this).lower() == "nextval"]
    if len(found) != 1:
        raise RenderError("INSERT ... RETURNING a new id (nextval) only on ClickHouse")
    found[0].replace(exp.Placeholder(this="vl_id", kind=exp.DataType.build("Int64")))
    tree.set("returning", None)
    return tree, names[0]


@lru_cache(maxsize=2048)
def _render(sql: str, types: tuple[tuple[str, str], ...], scratch: str,
            temps: frozenset[str]) -> Plan:
    statements = [cast(exp.Expression, s)
                  for s in sqlglot.parse(_name_positional(sql), read="duckdb") if s is not None]
    if len(statements) != 1:
        raise RenderError("one statement at a time")
    tree = _restore_placeholders(statements[0])
    if isinstance(tree, exp.Transaction | exp.Commit | exp.Rollback):
        return Plan(())  # no multi-statement transactions on ClickHouse (docs/SCALE.md)
    tree = _catalog_functions(_in_scratch(_inline_macros(tree), scratch, temps), scratch)
    tree = _row_ids(_clickhouse_idioms(_array_lengths(tree)))
    creates: tuple[str, ...] = ()
    drops: tuple[str, ...] = ()
    returning = None
    trees: list[exp.Expression]
    if isinstance(tree, exp.Create) and any(
            isinstance(p, exp.TemporaryProperty)
            for p in (tree.args.get("properties") or exp.Properties()).expressions):
        trees, name = _create_staging(tree, scratch)
        creates = (name,)
    elif isinstance(tree, exp.Drop) and all(t.args.get("db") and t.db == scratch
                                           for t in tree.find_all(exp.Table)):
        trees, drops = [tree], tuple(t.name for t in tree.find_all(exp.Table))
    elif isinstance(tree, exp.Update):
        trees = _update(tree, scratch)
    elif isinstance(tree, exp.Delete) and tree.args.get("using"):
        trees = [_delete_using(tree)]
    elif isinstance(tree, exp.Delete) and tree.args.get("where") is None:
        trees = [_statement(f"TRUNCATE TABLE {tree.this.sql(dialect='clickhouse')}")]
    elif isinstance(tree, exp.Insert) and tree.args.get("returning") is not None:
        inserted, returning = _returning(tree)
        trees = [inserted]
    elif isinstance(tree, exp.Insert) and (tree.args.get("conflict") is not None
                                           or tree.args.get("alternative")):
        trees = _upsert(cast(exp.Insert, _sequences(tree)))
    else:
        trees = [_sequences(tree)]
    rendered = tuple(_bind_placeholders(t, dict(types)).sql(dialect="clickhouse")
                     for t in trees)
    return Plan(rendered, creates, drops, returning)


def plan(sql: str, params: Params = None, scratch: str = "vl_scratch",
         temps: frozenset[str] = frozenset()) -> tuple[Plan, dict[str, str]]:
    """One DuckDB statement as the ClickHouse statements that do the same, in order.

    Args:
        sql: the statement (DuckDB dialect).
        params: its bound values.
        scratch: the caller's database for staging tables.
        temps: the staging tables the caller has created so far.
    """
    named = named_params(params)
    types = tuple(sorted((name, clickhouse_type(value)) for name, value in named.items()))
    return _render(sql, types, scratch, temps), encode_params(named)


def render_all(sql: str, params: Params = None) -> tuple[tuple[str, ...], dict[str, str]]:
    """One DuckDB statement as the ClickHouse statements that do the same, in order."""
    found, values = plan(sql, params)
    return found.statements, values


def render(sql: str, params: Params = None) -> tuple[str, dict[str, str]]:
    """DuckDB SQL and its parameters as one ClickHouse statement and encoded values."""
    statements, values = render_all(sql, params)
    if len(statements) != 1:
        raise RenderError("this statement becomes several on ClickHouse: use render_all")
    return statements[0], values


@dataclass(frozen=True)
class Footprint:
    """The tables one statement touches, by name (for staging: see ClickHouseDatabase).

    Attributes:
        reads: tables and views it reads or writes (CTE names excluded); a table macro
            counts as the store (it reads customers, bindings, ...).
        creates: temporary tables or views it creates.
        drops: tables or views it drops.
        target: the table an INSERT, UPDATE or DELETE writes.
    """

    reads: frozenset[str]
    creates: frozenset[str]
    drops: frozenset[str]
    target: str | None


STORE = "<store>"  # stands for "reads the store" in Footprint.reads


@lru_cache(maxsize=4096)
def footprint(sql: str) -> Footprint:
    statements = [s for s in sqlglot.parse(_name_positional(sql), read="duckdb") if s]
    if len(statements) != 1:
        raise RenderError("one statement at a time")
    tree = statements[0]
    ctes = {cte.alias_or_name for cte in tree.find_all(exp.CTE)}
    reads: set[str] = set()
    for table in tree.find_all(exp.Table):
        if isinstance(table.this, exp.Identifier):
            if table.name not in ctes:
                reads.add(table.name)
        elif isinstance(table.this, exp.Anonymous) and \
                str(table.this.this).lower() in table_macros():
            reads.add(STORE)
    if any(str(f.this).lower() == "nextval" for f in tree.find_all(exp.Anonymous)):
        reads.add(STORE)  # sequences belong to the store
    creates: set[str] = set()
    drops: set[str] = set()
    target = None
    if isinstance(tree, exp.Create):
        properties = tree.args.get("properties") or exp.Properties()
        named = tree.this.this if isinstance(tree.this, exp.Schema) else tree.this
        if any(isinstance(p, exp.TemporaryProperty) for p in properties.expressions):
            creates.add(named.name)
            reads.discard(named.name)
        else:
            target = named.name
    elif isinstance(tree, exp.Drop):
        drops = {t.name for t in tree.find_all(exp.Table)}
        reads -= drops
    elif isinstance(tree, exp.Insert | exp.Update | exp.Delete):
        written = tree.this.this if isinstance(tree.this, exp.Schema) else tree.this
        target = written.name if isinstance(written, exp.Table) else None
    return Footprint(frozenset(reads), frozenset(creates), frozenset(drops), target)
