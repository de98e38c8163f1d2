"""Speed never changes a number: the optimised queries (daily summary tables, one-pass
department populations, the customer tables of pipelines.membership) answer exactly what
straightforward reference SQL over the base tables answers (tests/unit/reference_sql/,
the earlier plain versions), on the seeded small demo, for several scopes and ranges —
also after an incremental import and a settings change, so the summaries are shown to
stay in step. And every write path leaves the customer tables equal to a rebuild.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from dashboard.reports import archive, maps, metrics
from dashboard.reports.filters import Filters, like_pattern
from dashboard.reports.sql import load_sql
from dashboard.scope import Scope, operator_scope, resolve_scope
from pipelines import business_settings, membership, phone, refresh, summaries
from pipelines import customers as edits
from pipelines.db import Database
from pipelines.generate import build_demo
from pipelines.imports import run_import
from pipelines.users import get_user

TESTS = Scope("tests", "admin", True)  # the admin that edits in these tests

REFERENCE = Path(__file__).with_name("reference_sql")
ANCHOR = date(2024, 6, 30)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Database:
    path = tmp_path_factory.mktemp("ref") / "demo.duckdb"
    build_demo(str(path), size="small", seed=7, samples_dir=None, anchor=ANCHOR)
    return Database(path)


def scopes(db: Database) -> list[Scope]:
    return [operator_scope(db)] + [resolve_scope(db, get_user(db, name))  # type: ignore[arg-type]
                                   for name in ("supervisor", "analyst")]


def same(db: Database, name: str, params: dict[str, object], keys: list[str]) -> None:
    sql, reference_sql = load_sql(name), (REFERENCE / f"{name}.sql").read_text("utf-8")
    optimised = db.df(sql, _only(sql, params)).sort_values(keys).reset_index(drop=True)
    reference = db.df(reference_sql, _only(reference_sql, params))
    reference = reference.sort_values(keys).reset_index(drop=True)
    pd.testing.assert_frame_equal(optimised, reference, check_dtype=False, rtol=1e-9)


def check_all(db: Database) -> None:
    for scope in scopes(db):
        # whole months (employee_month) and other ranges (the visits)
        for first, last in ((date(2024, 6, 1), ANCHOR), (date(2024, 1, 1), ANCHOR),
                            (date(2024, 6, 10), date(2024, 6, 16)),
                            (date(2024, 5, 1), date(2024, 5, 31))):
            filters = Filters(first, last)
            employees = metrics.group_employees(db, scope, filters)
            span = {"employees": employees, "date_from": first, "date_to": last,
                    "whole_month": metrics.whole_month(db, first, last)}
            same(db, "daily_group", span, ["day"])
            same(db, "ranking", span, ["employee_code"])
            # the ranking page's customer counts (ranking_customers.sql) agree as well
            counted = dict(db.rows(load_sql("ranking_customers"), span))
            reference = db.df((REFERENCE / "ranking.sql").read_text("utf-8"),
                              _only((REFERENCE / "ranking.sql").read_text("utf-8"), span))
            assert counted == {c: n for c, n in zip(reference["employee_code"],
                                                    reference["customers_visited"],
                                                    strict=True) if n > 0}


def test_optimised_equals_reference(demo: Database) -> None:
    check_all(demo)


def test_still_equal_after_an_incremental_import_and_a_settings_change(demo: Database) -> None:
    employee, customer = demo.execute(
        "SELECT b.employee_code, b.customer_code FROM bindings b JOIN employees e "
        "ON e.code = b.employee_code WHERE e.status = 'active' AND NOT EXISTS ("
        "SELECT 1 FROM visits v WHERE v.employee_code = b.employee_code "
        "AND v.customer_code = b.customer_code AND v.visit_date >= DATE '2024-06-01') "
        "ORDER BY b.employee_code, b.customer_code "  # a new customer this month: counts move
        "LIMIT 1").fetchone()  # type: ignore[misc]
    day = ANCHOR - timedelta(days=3)
    lines = ["employee_code,customer_code,check_in_at,check_out_at"] + [
        f"{employee},{customer},{day} {9 + i}:00:00,{day} {9 + i}:30:00" for i in range(3)]
    result = run_import(demo, "visits", "\n".join(lines).encode(), "day.csv", "tests")
    assert result.ok and result.inserted == 3
    check_all(demo)  # the import refreshed only its own day
    check_customer_reports(demo, quick=True)
    current = business_settings.load(demo)
    business_settings.save(demo, replace(current, min_valid_stay_minutes=35.0), "tests")
    check_all(demo)


# -- customer reports ----------------------------------------------------------------------
def _only(sql: str, params: dict[str, Any]) -> dict[str, Any]:
    wanted = set(re.findall(r"\$(\w+)", sql))
    return {k: v for k, v in params.items() if k in wanted}


def same_rows(db: Database, name: str, params: dict[str, Any], keys: list[str] | None,
              ) -> None:
    """The optimised query equals the reference: sorted by `keys`, or in its own order."""
    sql = load_sql(name)
    reference_sql = (REFERENCE / f"{name}.sql").read_text("utf-8")
    optimised = db.df(sql, _only(sql, params))
    reference = db.df(reference_sql, _only(reference_sql, params))
    if keys:
        optimised = optimised.sort_values(keys).reset_index(drop=True)
        reference = reference.sort_values(keys).reset_index(drop=True)
    pd.testing.assert_frame_equal(optimised, reference, check_dtype=False, rtol=1e-9,
                                  obj=f"{name} {params}")


def same_summary(db: Database, by: str, params: dict[str, Any]) -> None:
    """The summary query's rows equal the reference rows, its totals (row_code NULL) the
    reference per-grade counts of the whole population."""
    sql = load_sql("summary")
    found = db.df(sql, _only(sql, params | {"department_rows": by == "department"}))
    keys = ["row_code", "grade"]
    rows = found[found["row_code"].notna()].sort_values(keys).reset_index(drop=True)
    totals = found[found["row_code"].isna()].drop(columns=["row_code"])
    totals = totals.sort_values(["grade"]).reset_index(drop=True)
    reference_sql = (REFERENCE / f"summary_by_{by}.sql").read_text("utf-8")
    reference = db.df(reference_sql, _only(reference_sql, params))
    reference = reference.sort_values(keys).reset_index(drop=True)
    pd.testing.assert_frame_equal(rows, reference, check_dtype=False, obj=f"{by} {params}")
    grades_sql = (REFERENCE / "customer_grades.sql").read_text("utf-8")
    expected = db.df(grades_sql, _only(grades_sql, params))
    expected = expected.sort_values(["grade"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(totals, expected, check_dtype=False,
                                  obj=f"{by} totals {params}")


# Whole months (June: the data's last month; May) read customer_month, the others
# customer_day: both paths are compared with the reference.
RANGES = ((date(2024, 6, 1), ANCHOR), (date(2024, 1, 1), ANCHOR),
          (date(2024, 6, 10), date(2024, 6, 16)), (date(2024, 5, 20), date(2024, 6, 12)),
          (date(2024, 5, 1), date(2024, 5, 31)), (date(2024, 6, 1), date(2024, 6, 20)))


def test_whole_month_ranges(demo: Database) -> None:
    """Which ranges read customer_month: one calendar month with no visit after the end."""
    assert metrics.whole_month(demo, date(2024, 6, 1), ANCHOR)
    assert metrics.whole_month(demo, date(2024, 5, 1), date(2024, 5, 31))
    assert not metrics.whole_month(demo, date(2024, 6, 1), date(2024, 6, 20))  # visits after
    assert not metrics.whole_month(demo, date(2024, 5, 2), date(2024, 5, 31))
    assert not metrics.whole_month(demo, date(2024, 5, 1), date(2024, 6, 30))
    # "this month" before the month is over: no visits after its end yet
    assert metrics.whole_month(demo, date(2024, 7, 1), date(2024, 7, 5))
    assert demo.scalar("SELECT count(*) FROM customer_month WHERE month = $m",
                       {"m": date(2024, 6, 1)}) == demo.scalar(
        "SELECT count(DISTINCT customer_id) FROM customer_day "
        "WHERE visit_date BETWEEN $a AND $b", {"a": date(2024, 6, 1), "b": ANCHOR})
BUCKETS: tuple[tuple[str, ...], ...] = ((), ("0",), ("1", "3-5"), ("11+",), ("0", "6-10"))


def customer_filters(db: Database, scope: Scope, first: date, last: date,
                     ) -> list[Filters]:
    """The whole scope, one department below its top, and two of its employees."""
    found = [Filters(first, last)]
    below = sorted(d for d in scope.departments if d not in scope.tops)
    if below:
        found.append(Filters(first, last, department=below[0]))
    employees = metrics.group_employees(db, scope, Filters(first, last))
    if len(employees) >= 2:
        found.append(Filters(first, last, employees=(employees[0], employees[-1])))
    return found


def check_customer_reports(db: Database, quick: bool = False) -> None:
    """Every customer query against its reference: all scopes, ranges and filters; every
    bucket choice, sort and page on the first range (a subset when `quick`)."""
    for scope in scopes(db):
        for n, (first, last) in enumerate(RANGES[:2] if quick else RANGES):
            for k, filters in enumerate(customer_filters(db, scope, first, last)):
                full = n == 0 and not quick
                base = metrics.population_params(db, scope, filters)
                same_rows(db, "customer_visit_histogram", base, ["visit_count"])
                for buckets in BUCKETS if full else BUCKETS[:2]:
                    params = metrics.population_params(db, scope, filters, buckets)
                    same_rows(db, "customer_grades", params, ["grade"])
                    same_rows(db, "customer_list_count", params, None)
                    for by in ("department", "employee"):
                        rows = [c for c, _ in metrics.summary_rows(db, scope, filters, by)]
                        same_summary(db, by, params | {"rows": rows})
                sorts = metrics.CUSTOMER_SORTS if full and k == 0 else ("last_visit",)
                for buckets in BUCKETS[:2]:
                    params = metrics.population_params(db, scope, filters, buckets)
                    for sort in sorts:
                        for descending, offset in ((False, 0), (True, 150)):
                            same_rows(db, "customer_list", params | {
                                "sort": sort, "descending": descending,
                                "offset": offset, "limit": 100,
                                "need_counts": bool(buckets) or sort == "visits"}, None)
            if n < 2:
                check_map(db, scope, Filters(first, last))
        check_archive(db, scope)
        check_records(db, scope)


BOXES = ((maps.Box(73.0, 18.0, 135.0, 53.5), 5), (maps.Box(118.0, 28.0, 124.0, 34.0), 9),
         (maps.Box(121.3, 31.1, 121.6, 31.35), 14))


def check_map(db: Database, scope: Scope, filters: Filters) -> None:
    employees = metrics.group_employees(db, scope, filters)[:3]
    selections = [maps.MapSelection(filters),
                  maps.MapSelection(filters, buckets=("0", "2"), grades=("A",), unrated=True),
                  maps.MapSelection(Filters(filters.date_from, filters.date_to,
                                                    employees=tuple(employees)))]
    for selection in selections:
        params = maps._params(db, scope, selection)
        same_rows(db, "map_extent", params | {"west": -180.0, "south": -90.0, "east": 180.0,
                                              "north": 90.0}, None)
        for box, zoom in BOXES:
            where = params | {"west": box.west, "south": box.south, "east": box.east,
                              "north": box.north}
            for colour in (False, True):
                same_rows(db, "map_cells", where | {
                    "cell": maps.cell_degrees(zoom), "colour_by_employee": colour},
                    ["gx", "gy", "colour_key"])
            same_rows(db, "map_points", where | {"limit": maps.MAX_MARKERS}, None)


def check_records(db: Database, scope: Scope) -> None:
    """A customer record's queries: in scope or not, deleted or not, with or without visits."""
    codes = [r[0] for r in db.rows(
        "(SELECT code FROM customers WHERE deleted ORDER BY code LIMIT 3) UNION ALL "
        "(SELECT code FROM customers WHERE NOT deleted ORDER BY hash(code) LIMIT 12) "
        "UNION ALL SELECT 'no such code'")]
    codes += list(archive.search(db, scope, archive.ArchiveFilters(), limit=4)[0]["code"])
    found = 0
    for code in codes:
        deleted = bool(db.scalar("SELECT coalesce(any_value(deleted), false) FROM customers "
                                 "WHERE code = $code", {"code": code}))
        which = {"code": code, "deleted": deleted, "everyone": scope.everything,
                 "departments": scope.department_list}
        same_rows(db, "customer_in_scope", which, None)
        found += int(db.df(load_sql("customer_in_scope"), _only(
            load_sql("customer_in_scope"), which))["found"].iloc[0])
        same_rows(db, "customer_owners", which, None)
        days = db.df(load_sql("customer_visit_days"), {"code": code, "deleted": deleted})
        same_rows(db, "customer_visits_in_scope",
                  which | {"days": list(days["visit_date"]), "limit": 20}, None)
    assert found >= 4  # the scope's own customers are found


def check_archive(db: Database, scope: Scope) -> None:
    owner = metrics.group_employees(db, scope, Filters(ANCHOR, ANCHOR))[0]
    deleted = [archive.ArchiveFilters(deleted=True)] if scope.everything else []
    for filters in [archive.ArchiveFilters(), archive.ArchiveFilters(search="店"),
                    # case-insensitive on codes; a phone fragment; LIKE wildcards as text
                    archive.ArchiveFilters(search="c00"), archive.ArchiveFilters(search="138"),
                    archive.ArchiveFilters(search="_%"),
                    archive.ArchiveFilters(grades=("A", "B"), unrated=True),
                    archive.ArchiveFilters(owner=owner), archive.ArchiveFilters(no_owner=True),
                    archive.ArchiveFilters(department=sorted(scope.departments)[-1]),
                    *deleted]:
        params = archive._params(db, scope, filters) | {
            "departments": scope.department_list, "pattern": like_pattern(filters.search)}
        rows, total = archive.search(db, scope, filters)
        past_the_end, counted = archive.search(db, scope, filters, offset=total + 5)
        assert len(past_the_end) == 0 and counted == total
        assert len(rows) == min(total, 100) and "total" not in rows.columns
        for sort in archive.SORTS:
            same_rows(db, "customers_search", params | {
                "sort": sort, "descending": sort == "name", "offset": 0, "limit": 100}, None)


def test_customer_reports_equal_reference(demo: Database) -> None:
    check_customer_reports(demo)


# -- the customer tables after every write path ---------------------------------------------
_TABLES = {
    "customer_facts": "SELECT * EXCLUDE (customer_id) FROM customer_facts",
    "customer_membership": """SELECT m.department_code, f.customer_code, m.grade
                              FROM customer_membership AS m
                              JOIN customer_facts AS f USING (customer_id)""",
    "employee_customers": """SELECT e.employee_code, f.customer_code, e.grade
                             FROM employee_customers AS e
                             JOIN customer_facts AS f USING (customer_id)""",
    "customer_day": """SELECT d.visit_date, f.customer_code, d.grade, d.visits
                       FROM customer_day AS d JOIN customer_facts AS f USING (customer_id)""",
    "customer_month": """SELECT m.month, f.customer_code, m.grade, m.visits
                         FROM customer_month AS m JOIN customer_facts AS f USING (customer_id)""",
}


def _snapshot(db: Database) -> dict[str, list[tuple[Any, ...]]]:
    return {name: sorted(db.rows(sql), key=repr) for name, sql in _TABLES.items()}


def assert_equal_to_rebuild(db: Database) -> None:
    """The incrementally kept tables equal a from-scratch rebuild (ids kept), and ids are
    unique and dense."""
    kept = _snapshot(db)
    assert not membership.is_stale(db)
    ids = db.rows("SELECT count(*), count(DISTINCT customer_id), max(customer_id) "
                  "FROM customer_facts")[0]
    assert ids[0] == ids[1] == (ids[2] or 0) == db.scalar("SELECT count(*) FROM customers")
    with db.transaction() as cur:
        membership.rebuild(cur)
        summaries.rebuild_customer_days(cur)
    rebuilt = _snapshot(db)
    for name in _TABLES:
        assert kept[name] == rebuilt[name], name


@pytest.fixture
def small(tmp_path: Path) -> Iterator[Database]:
    path = tmp_path / "small.duckdb"
    build_demo(str(path), size="small", seed=11, samples_dir=None, anchor=ANCHOR)
    database = Database(path)
    yield database
    database.close()


def test_every_write_path_keeps_the_customer_tables_equal_to_a_rebuild(small: Database,
                                                                      ) -> None:
    db = small
    assert_equal_to_rebuild(db)  # the demo generator
    codes = [r[0] for r in db.rows("SELECT code FROM customers ORDER BY code LIMIT 6")]
    employees = [r[0] for r in db.rows("SELECT code FROM employees ORDER BY code LIMIT 3")]
    record = edits.get_customer(db, codes[0])
    assert record is not None
    other_department = db.scalar("SELECT max(code) FROM departments")
    edits.update_customer(db, codes[0], {"grade": "D" if record["grade"] != "D" else "A",
                                         "department_code": other_department,
                                         "name": "改名", "longitude": "100.5",
                                         "latitude": "30.5"},
                          record["version"], TESTS)
    assert_equal_to_rebuild(db)
    assert edits.delete_customers(db, codes[1:3], TESTS) == 2
    assert_equal_to_rebuild(db)
    assert edits.restore_customers(db, codes[1:2], TESTS) == 1
    assert_equal_to_rebuild(db)
    edits.bind(db, employees[0], codes[3:5], TESTS)
    assert_equal_to_rebuild(db)
    edits.unbind(db, employees[0], codes[3:4], TESTS)
    assert_equal_to_rebuild(db)
    edits.add_shares(db, employees[1], [employees[2]], TESTS)
    edits.revoke_share(db, employees[1], employees[2], TESTS)
    assert_equal_to_rebuild(db)
    edits.assign_department(db, other_department, codes[4:6], TESTS)
    edits.assign_department(db, None, codes[5:6], TESTS)
    assert_equal_to_rebuild(db)
    edits.add_customer(db, {"code": "NEW0001", "name": "新店", "grade": "B",
                            "department_code": other_department}, [employees[1]], TESTS)
    assert_equal_to_rebuild(db)
    result = run_import(db, "customers", ("code,name,grade,owner_codes\n"
                                         f"NEW0002,甲,A,{employees[0]}\nNEW0003,乙,,\n").encode(),
                        "c.csv", "tests")
    assert result.ok
    assert_equal_to_rebuild(db)
    # An employee moves to another department (no page does it yet; the refresh exists).
    with db.transaction() as cur:
        cur.execute("UPDATE employees SET department_code = ? WHERE code = ?",
                    [other_department, employees[0]])
        membership.refresh_employees(cur, [employees[0]])
    assert_equal_to_rebuild(db)
    # Visits: a file import on two days (one new), then a phone check-in and check-out.
    day = ANCHOR - timedelta(days=2)
    lines = ["employee_code,customer_code,check_in_at"] + [
        f"{employees[0]},{code},{d} 10:0{i}:00" for i, code in enumerate(codes[1:5])
        for d in (day, ANCHOR + timedelta(days=1))]
    assert run_import(db, "visits", "\n".join(lines).encode(), "v.csv", "tests").ok
    assert_equal_to_rebuild(db)
    at = datetime.combine(ANCHOR + timedelta(days=2), datetime.min.time()).replace(hour=9)
    outcome = phone.record_visits(
        db, employees[0], [phone.PhoneVisit("phone-1", codes[4], phone.VisitEnd(at))],
        "tests", "api:test", now=at + timedelta(minutes=5))
    assert outcome
    assert_equal_to_rebuild(db)
    # A deleted customer visited, then restored: its visits count again.
    edits.delete_customers(db, codes[2:3], TESTS)
    lines = ["employee_code,customer_code,check_in_at",
             f"{employees[1]},{codes[2]},{ANCHOR + timedelta(days=3)} 11:00:00"]
    assert run_import(db, "visits", "\n".join(lines).encode(), "w.csv", "tests").ok
    assert_equal_to_rebuild(db)
    edits.restore_customers(db, codes[2:3], TESTS)
    assert_equal_to_rebuild(db)
    check_customer_reports(db, quick=True)


def test_rows_written_by_hand_are_noticed_and_rebuilt(small: Database) -> None:
    code = small.scalar("SELECT min(code) FROM customers")
    small.execute("UPDATE customers SET deleted = true WHERE code = ?", [code])
    assert membership.is_stale(small)
    refresh.ensure_current(small)
    assert not membership.is_stale(small)
    assert small.scalar("SELECT count(*) FROM customer_membership m JOIN customer_facts f "
                        "USING (customer_id) WHERE f.customer_code = ?", [code]) == 0
    check_customer_reports(small, quick=True)
