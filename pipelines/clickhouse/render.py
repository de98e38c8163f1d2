"""DuckDB SQL rendered for ClickHouse: the report SQL is written once.

Every statement VisitLens runs is written for DuckDB (dashboard/queries, pipelines). On
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
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from functools import cache, lru_cache
from importlib import resources
from typing import Any, cast

import sqlglot
from sqlglot import exp

Params = Sequence[Any] | Mapping[str, Any] | None

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
    text = resources.files("pipelines").joinpath("schema.sql").read_text("utf-8")
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
        return "Nullable(String)"
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


def _name_positional(sql: str) -> str:
    """``?`` -> ``$p1``, ``$p2``, ... outside strings, identifiers and comments (sqlglot
    cannot parse ``?::TYPE``, and named placeholders are what ClickHouse binds)."""
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
            out.append(f"$p{position}")
            i += 1
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


def _clickhouse_idioms(tree: exp.Expression) -> exp.Expression:
    """Rewrite the DuckDB constructs sqlglot leaves as they are."""
    for bitwise in list(tree.find_all(exp.BitwiseAnd, exp.BitwiseOr)):
        name = "bitAnd" if isinstance(bitwise, exp.BitwiseAnd) else "bitOr"
        bitwise.replace(exp.Anonymous(this=name, expressions=[bitwise.this.copy(),
                                                              bitwise.expression.copy()]))
    for aggregate in list(tree.find_all(exp.GroupConcat)):
        if isinstance(aggregate.this, exp.Order):
            aggregate.replace(_ordered_string_agg(aggregate))
    for listed in list(tree.find_all(exp.ArrayAgg)):
        if isinstance(listed.this, exp.Order):
            listed.replace(_sorted_pairs(listed.this))
    for node in list(tree.find_all(exp.Anonymous)):
        if str(node.this).lower() == "list_position":
            haystack, needle = node.expressions
            node.replace(_template("nullIf(toInt64(indexOf(__list, __item)), 0)",
                                   __list=haystack, __item=needle))
    for table in list(tree.find_all(exp.Table)):
        if isinstance(table.this, exp.GenerateSeries):
            table.replace(_day_series(table))
    # DuckDB names a projected `t.col` "col"; ClickHouse may keep the qualifier. And a
    # projected comparison is a BOOLEAN in DuckDB but a UInt8 in ClickHouse.
    for select in tree.find_all(exp.Select):
        for index, projection in enumerate(select.expressions):
            inner = projection.this if isinstance(projection, exp.Alias) else projection
            if isinstance(inner, exp.Predicate | exp.Connector | exp.Not):
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
        name = node.name
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
    if conflict is None and (tree.args.get("alternative") or "").upper() == "REPLACE":
        return [exp.delete(table.copy(), where=match), plain]
    raise RenderError("this upsert is not rendered for ClickHouse yet")


@lru_cache(maxsize=2048)
def _render(sql: str, types: tuple[tuple[str, str], ...]) -> tuple[str, ...]:
    statements = [cast(exp.Expression, s)
                  for s in sqlglot.parse(_name_positional(sql), read="duckdb") if s is not None]
    if len(statements) != 1:
        raise RenderError("one statement at a time")
    tree = _sequences(_clickhouse_idioms(_array_lengths(_inline_macros(statements[0]))))
    trees = [tree]
    if isinstance(tree, exp.Insert) and (tree.args.get("conflict") is not None
                                         or tree.args.get("alternative")):
        trees = _upsert(tree)
    return tuple(_bind_placeholders(t, dict(types)).sql(dialect="clickhouse") for t in trees)


def render_all(sql: str, params: Params = None) -> tuple[tuple[str, ...], dict[str, str]]:
    """One DuckDB statement as the ClickHouse statements that do the same, in order."""
    named = named_params(params)
    types = tuple(sorted((name, clickhouse_type(value)) for name, value in named.items()))
    return _render(sql, types), encode_params(named)


def render(sql: str, params: Params = None) -> tuple[str, dict[str, str]]:
    """DuckDB SQL and its parameters as one ClickHouse statement and encoded values."""
    statements, values = render_all(sql, params)
    if len(statements) != 1:
        raise RenderError("this statement becomes several on ClickHouse: use render_all")
    return statements[0], values
