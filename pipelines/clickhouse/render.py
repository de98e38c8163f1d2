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


def _ordered_string_agg(node: exp.GroupConcat) -> exp.Expression:
    """``string_agg(v, sep ORDER BY k)``: ClickHouse aggregates take no ORDER BY, so sort
    the (key, value) pairs instead."""
    order = node.this
    keys = order.expressions
    if len(keys) != 1 or keys[0].args.get("desc"):
        raise RenderError("string_agg orders by one ascending key on ClickHouse")
    separator = node.args.get("separator") or exp.Literal.string(",")
    return _template(
        "arrayStringConcat(arrayMap(p -> tupleElement(p, 2), arraySort(p -> tupleElement(p, 1),"
        " groupArray(tuple(__key, __value)))), __sep)",
        __key=keys[0].this, __value=order.this, __sep=separator)


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
    for node in list(tree.find_all(exp.Anonymous)):
        if str(node.this).lower() == "list_position":
            haystack, needle = node.expressions
            node.replace(_template("nullIf(toInt64(indexOf(__list, __item)), 0)",
                                   __list=haystack, __item=needle))
    for table in list(tree.find_all(exp.Table)):
        if isinstance(table.this, exp.GenerateSeries):
            table.replace(_day_series(table))
    # DuckDB names a projected `t.col` "col"; ClickHouse may keep the qualifier.
    for select in tree.find_all(exp.Select):
        for index, projection in enumerate(select.expressions):
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


@lru_cache(maxsize=2048)
def _render(sql: str, types: tuple[tuple[str, str], ...]) -> str:
    statements = [cast(exp.Expression, s)
                  for s in sqlglot.parse(_name_positional(sql), read="duckdb") if s is not None]
    if len(statements) != 1:
        raise RenderError("one statement at a time")
    tree = _clickhouse_idioms(_array_lengths(_inline_macros(statements[0])))
    tree = _bind_placeholders(tree, dict(types))
    return tree.sql(dialect="clickhouse")


def render(sql: str, params: Params = None) -> tuple[str, dict[str, str]]:
    """DuckDB SQL and its parameters as ClickHouse SQL and encoded parameter values."""
    named = named_params(params)
    types = tuple(sorted((name, clickhouse_type(value)) for name, value in named.items()))
    return _render(sql, types), encode_params(named)
