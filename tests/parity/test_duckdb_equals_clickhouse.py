"""The same VisitLens on ClickHouse: every report equals DuckDB's, number for number.

The seeded small demo is built in DuckDB, copied into chDB (ClickHouse's embedded engine)
with ``pipelines.clickhouse.copy``, and every report function of the pages and the command
line runs on both stores: several scopes (company, a region's supervisor, a team's analyst,
a department filter, chosen employees), date ranges (a month, a week, a day, half a year),
both trend granularities, frequency buckets, sorts and pages. The answers must be equal —
values, NULLs and order — not close.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from dashboard.reports import archive, maps, metrics
from dashboard.reports.filters import Filters
from dashboard.scope import Scope, ScopeError, operator_scope, resolve_scope
from pipelines.clickhouse.copy import copy_archive
from pipelines.clickhouse.database import ClickHouseDatabase
from pipelines.db import Database
from pipelines.generate import build_demo
from pipelines.users import get_user
from tests.conftest import chdb_url

pytest.importorskip("chdb", reason="the parity suite needs chDB (pip install chdb)")

ANCHOR = date(2024, 6, 30)
RANGES = {
    "month": (date(2024, 6, 1), ANCHOR),
    "week": (date(2024, 6, 10), date(2024, 6, 16)),
    "day": (date(2024, 6, 12), date(2024, 6, 12)),
    "half year": (date(2024, 1, 1), ANCHOR),
}


@dataclass
class Stores:
    duck: Database
    click: ClickHouseDatabase


@pytest.fixture(scope="module")
def stores(tmp_path_factory: pytest.TempPathFactory, chdb_folder: Path) -> Iterator[Stores]:
    path = tmp_path_factory.mktemp("parity") / "demo.duckdb"
    build_demo(str(path), size="small", seed=7, samples_dir=None, anchor=ANCHOR)
    duck = Database(path)
    click = ClickHouseDatabase(chdb_url(chdb_folder, "parity"))
    copied = copy_archive(duck, click)
    assert copied["visits"] == duck.scalar("SELECT count(*) FROM visits") > 10_000
    yield Stores(duck, click)
    click.close()
    duck.close()


def scope_of(db: Any, who: str) -> Scope:
    if who == "company":
        return operator_scope(db)
    user = get_user(db, who)
    assert user is not None
    return resolve_scope(db, user)


def comparable(value: Any) -> Any:
    """Reports return DataFrames, dataclasses of them, dicts and lists; make them equal-able."""
    if isinstance(value, pd.DataFrame):
        return value.reset_index(drop=True)
    if hasattr(value, "__dataclass_fields__"):
        return {k: comparable(v) for k, v in vars(value).items()}
    if isinstance(value, dict):
        return {k: comparable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [comparable(v) for v in value]
    return value


def assert_same(left: Any, right: Any, where: str) -> None:
    left, right = comparable(left), comparable(right)
    if isinstance(left, pd.DataFrame):
        assert isinstance(right, pd.DataFrame), where
        assert list(left.columns) == list(right.columns), where
        pd.testing.assert_frame_equal(left, right, check_dtype=False, rtol=1e-12,
                                      obj=where)
    elif isinstance(left, dict):
        assert isinstance(right, dict) and left.keys() == right.keys(), where
        for key in left:
            assert_same(left[key], right[key], f"{where}.{key}")
    elif isinstance(left, list):
        assert isinstance(right, list) and len(left) == len(right), where
        for index, (a, b) in enumerate(zip(left, right, strict=True)):
            assert_same(a, b, f"{where}[{index}]")
    elif isinstance(left, float) and isinstance(right, float):
        assert (math.isnan(left) and math.isnan(right)) or math.isclose(
            left, right, rel_tol=1e-12), (where, left, right)
    else:
        assert left == right, (where, left, right)


def both(stores: Stores, who: str, report: Callable[[Any, Scope], Any], where: str) -> Any:
    expected = report(stores.duck, scope_of(stores.duck, who))
    actual = report(stores.click, scope_of(stores.click, who))
    assert_same(expected, actual, where)
    return expected


WHO = ("company", "supervisor", "analyst")


@pytest.mark.parametrize("who", WHO)
@pytest.mark.parametrize("span", list(RANGES))
def test_employee_visit_summary(stores: Stores, who: str, span: str) -> None:
    filters = Filters(*RANGES[span])
    kpis = both(stores, who, lambda db, s: metrics.kpis(db, s, filters), "kpis")
    assert kpis  # the report has content, so equality means something
    both(stores, who, lambda db, s: metrics.daily(db, s, filters), "daily")
    for sort in metrics.RANKING_METRICS:
        ranking = both(stores, who, lambda db, s, sort=sort: metrics.ranking(db, s, filters,
                                                                             sort), sort)
        assert len(ranking) > 0
    for granularity in ("month", "week"):
        both(stores, who, lambda db, s, g=granularity: metrics.trend(db, s, filters, g),
             f"trend {granularity}")


@pytest.mark.parametrize("who", WHO)
def test_visit_detail_pages_filters_and_sorts(stores: Stores, who: str) -> None:
    filters = Filters(*RANGES["month"])
    first = both(stores, who, lambda db, s: metrics.detail(db, s, filters), "detail")
    assert first.total > 100
    for sort in metrics.DETAIL_SORTS:
        for descending in (False, True):
            both(stores, who, lambda db, s, k=sort, d=descending: metrics.detail(
                db, s, filters, sort=k, descending=d, offset=100, limit=50), f"{sort} {descending}")
    for validity in ("valid", "invalid"):
        both(stores, who, lambda db, s, v=validity: metrics.detail(db, s, filters, validity=v),
             validity)


@pytest.mark.parametrize("who", WHO)
@pytest.mark.parametrize("span", ["month", "week", "half year"])
def test_customer_visited_summary(stores: Stores, who: str, span: str) -> None:
    filters = Filters(*RANGES[span])
    pie = both(stores, who, lambda db, s: metrics.frequency(db, s, filters), "frequency")
    assert int(pie["customers"].sum()) > 0
    both(stores, who, lambda db, s: metrics.grades(db, s, filters), "grades")
    for by in ("department", "employee"):
        both(stores, who, lambda db, s, by=by: metrics.summary(db, s, filters, by=by), by)
    labels = [str(label) for label in pie["bucket"]] if "bucket" in pie else []
    for label in labels[:3]:
        both(stores, who, lambda db, s, b=label: metrics.grades(db, s, filters, (b,)),
             f"grades in {label}")
    for sort in metrics.CUSTOMER_SORTS:
        for descending in (False, True):
            both(stores, who, lambda db, s, k=sort, d=descending: metrics.customer_list(
                db, s, filters, sort=k, descending=d, offset=20, limit=40),
                f"list {sort} {descending}")


def test_department_and_employee_filters(stores: Stores) -> None:
    duck = stores.duck
    department = duck.scalar("SELECT code FROM departments WHERE parent_code IS NOT NULL "
                             "ORDER BY code LIMIT 1")
    employees = tuple(r[0] for r in duck.rows(
        "SELECT code FROM employees WHERE status = 'active' ORDER BY code LIMIT 3"))
    for filters in (Filters(*RANGES["month"], department=department),
                    Filters(*RANGES["month"], employees=employees)):
        both(stores, "company", lambda db, s, f=filters: metrics.ranking(db, s, f), "ranking")
        both(stores, "company", lambda db, s, f=filters: metrics.kpis(db, s, f), "kpis")
        both(stores, "company", lambda db, s, f=filters: metrics.frequency(db, s, f), "pie")
        both(stores, "company", lambda db, s, f=filters: metrics.summary(db, s, f), "summary")
        both(stores, "company", lambda db, s, f=filters: metrics.customer_list(db, s, f), "list")


def _place(feature: dict[str, Any]) -> tuple[Any, ...]:
    """A cluster's sort key: its place to 1e-6 degrees (averages may differ in the last
    bits between engines), then what it holds."""
    lon, lat = feature.get("geometry", {}).get("coordinates", (0.0, 0.0))
    return round(lon, 6), round(lat, 6), repr(feature.get("properties"))


def _features(layer: Any) -> Any:
    """Map clusters come in no particular order: compare them sorted by place."""
    found = comparable(layer)
    for key, value in found.items() if isinstance(found, dict) else ():
        if isinstance(value, list) and value and isinstance(value[0], dict):
            found[key] = sorted(value, key=_place)
    return found


@pytest.mark.parametrize("who", WHO)
def test_customer_map(stores: Stores, who: str) -> None:
    selection = maps.MapSelection(Filters(*RANGES["month"]))
    by_recency = maps.MapSelection(Filters(*RANGES["month"]), by_employee=False)
    country = maps.Box(73.0, 18.0, 135.0, 53.5)
    for chosen in (selection, by_recency):
        for zoom in (5, 9):
            expected = _features(maps.layer(stores.duck, scope_of(stores.duck, who), chosen,
                                            country, zoom))
            actual = _features(maps.layer(stores.click, scope_of(stores.click, who), chosen,
                                          country, zoom))
            assert_same(expected, actual, f"map zoom {zoom}")
        both(stores, who, lambda db, s, c=chosen: maps.extent(db, s, c), "extent")


@pytest.mark.parametrize("who", WHO)
def test_customer_archive_search(stores: Stores, who: str) -> None:
    for filters in (archive.ArchiveFilters(), archive.ArchiveFilters(search="1"),
                    archive.ArchiveFilters(grades=("A",), unrated=True),
                    archive.ArchiveFilters(no_location=True), archive.ArchiveFilters(search="C00"),
                    archive.ArchiveFilters(search="店")):
        both(stores, who, lambda db, s, f=filters: archive.search(db, s, f), repr(filters))


@pytest.mark.parametrize("who", WHO)
def test_customer_records(stores: Stores, who: str) -> None:
    """A customer's record (fields, owners, latest visits): in scope, out of it, deleted."""
    codes = [r[0] for r in stores.duck.rows(
        "(SELECT code FROM customers WHERE deleted ORDER BY code LIMIT 2) UNION ALL "
        "(SELECT code FROM customers WHERE NOT deleted ORDER BY hash(code) LIMIT 6)")]
    codes += list(archive.search(stores.duck, scope_of(stores.duck, who),
                                 archive.ArchiveFilters(), limit=2)[0]["code"])
    opened = 0
    for code in codes:
        try:
            expected = archive.record(stores.duck, scope_of(stores.duck, who), code)
        except ScopeError:
            with pytest.raises(ScopeError):
                archive.record(stores.click, scope_of(stores.click, who), code)
            continue
        opened += 1
        actual = archive.record(stores.click, scope_of(stores.click, who), code)
        assert_same(pd.DataFrame([expected["customer"]]), pd.DataFrame([actual["customer"]]),
                    f"{code} fields")
        for part in ("owners", "visits"):
            assert_same(expected[part], actual[part], f"{code} {part}")
    assert opened >= 2


def test_rendered_sql_binds_values_and_never_inlines_them(stores: Stores) -> None:
    """A value full of quotes travels as a parameter: the text of the SQL stays the same."""
    from pipelines.clickhouse.render import render

    sql = "SELECT $name AS echoed, count(*) AS found FROM customers WHERE name = $name " \
          "OR code IN (SELECT unnest($codes))"
    hostile = "x'); DROP TABLE customers; -- \\ \t 客户"
    text, _values = render(sql, {"name": hostile, "codes": [hostile, "b"]})
    assert hostile not in text and "{name:String}" in text.replace(" ", "")
    assert "DROP" not in text
    assert stores.click.rows(sql, {"name": hostile, "codes": [hostile]}) == [(hostile, 0)]
    assert stores.click.scalar("SELECT count(*) FROM customers") == stores.duck.scalar(
        "SELECT count(*) FROM customers")


def test_case_folding_is_the_same_on_both(stores: Stores) -> None:
    """The archive's search folds case with lower(): ClickHouse's own lower is ASCII-only."""
    # Reads a stored table, so that it runs on ClickHouse (a statement without tables is
    # answered by the in-process DuckDB).
    sql = ("SELECT lower($text) AS low, upper($text) AS up, contains(lower($text), $part) "
           "AS hit FROM customers WHERE code = (SELECT min(code) FROM customers)")
    params = {"text": "ÉCOLE Ärzte Ωμέγα 客户 ABC", "part": "école"}
    assert stores.click.rows(sql, params) == stores.duck.rows(sql, params)
    assert stores.duck.rows(sql, params)[0][2] is True
