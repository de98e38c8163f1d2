"""Speed never changes a number, employee side: the employee visit summary's reports as
optimised (detail page and its customers in two queries, ranking pages counting distinct
customers for their own rows, the headline, KPIs, curves and trend from one pass,
workdays and headcounts computed once) answer exactly what plain
reference SQL over the base tables answers (tests/unit/reference_sql/employee_*.sql), on
the seeded small demo, for several scopes, filters, ranges, sorts and pages — also after
an incremental import and a customer deletion.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from dashboard.reports import metrics
from dashboard.reports.filters import Filters
from dashboard.scope import Scope, operator_scope, resolve_scope
from pipelines import business_settings
from pipelines import customers as customer_edits
from pipelines.db import Database
from pipelines.derive import REASON_BIT, reasons_of
from pipelines.generate import build_demo
from pipelines.imports import run_import
from pipelines.users import get_user

TESTS = Scope("tests", "admin", True)  # the admin that edits in these tests

REFERENCE = Path(__file__).with_name("reference_sql")
ANCHOR = date(2024, 6, 30)
RANGES = ((date(2024, 6, 1), ANCHOR), (date(2024, 5, 27), date(2024, 6, 9)),
          (date(2024, 6, 12), date(2024, 6, 12)), (date(2024, 1, 1), ANCHOR))


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    path = tmp_path_factory.mktemp("employee_ref") / "demo.duckdb"
    build_demo(str(path), size="small", seed=7, samples_dir=None, anchor=ANCHOR)
    db = Database(path)
    yield db
    db.close()


def gap(value: Any) -> Any:
    """A null of a float column (NaN) as the None that division by zero gives."""
    return None if value is None or pd.isna(value) else value


def reference(db: Database, name: str, params: dict[str, Any]) -> pd.DataFrame:
    return db.df((REFERENCE / f"employee_{name}.sql").read_text("utf-8"), params)


def cases(db: Database) -> Iterator[tuple[Scope, Filters]]:
    """Company, region and team scopes over every range, a department and two employees."""
    scopes = [operator_scope(db)] + [resolve_scope(db, get_user(db, name))  # type: ignore[arg-type]
                                     for name in ("supervisor", "analyst")]
    for scope in scopes:
        for first, last in RANGES:
            yield scope, Filters(first, last)
    company = scopes[0]
    department = sorted(company.departments - set(company.tops))[0]
    two = tuple(r[0] for r in db.rows("SELECT code FROM employees ORDER BY code LIMIT 2"))
    yield company, Filters(RANGES[0][0], RANGES[0][1], department=department)
    yield company, Filters(RANGES[3][0], RANGES[3][1], employees=two)


def reference_detail(db: Database, scope: Scope, filters: Filters,
                     **page: Any) -> pd.DataFrame:
    params = {"employees": metrics.group_employees(db, scope, filters),
              "date_from": filters.date_from, "date_to": filters.date_to,
              "validity": page.get("validity", "all"),
              "reason_bit": REASON_BIT[page["reason"]] if page.get("reason") else 0,
              "sort": page.get("sort", "check_in_at"),
              "descending": page.get("descending", False),
              "offset": page.get("offset", 0), "limit": page.get("limit", 100)}
    rows = reference(db, "detail", params)
    rows["invalid_reasons"] = [reasons_of(int(m)) for m in rows["invalid_mask"]]
    return rows.drop(columns=["invalid_mask"])


PAGES: tuple[dict[str, Any], ...] = (
    {},
    {"offset": 100},
    {"sort": "stay_minutes", "descending": True, "validity": "invalid"},
    {"sort": "customer_code", "offset": 37, "limit": 50},
    {"sort": "check_out_deviation_m", "validity": "valid"},
    {"sort": "valid", "descending": True, "reason": "short_stay"},
    {"sort": "employee_code", "descending": True, "limit": 500},
)


def check_detail(db: Database) -> None:
    for scope, filters in cases(db):
        for page in PAGES:
            found = metrics.detail(db, scope, filters, **page)
            expected = reference_detail(db, scope, filters, **page)
            pd.testing.assert_frame_equal(found.rows, expected)
            assert found.total >= len(found.rows)


def reference_kpis(db: Database, employees: list[str], first: date,
                   last: date) -> dict[str, Any]:
    workdays = list(business_settings.load(db).workdays)
    row = reference(db, "period", {"employees": employees, "date_from": first,
                                   "date_to": last, "workdays": workdays}).iloc[0]
    n = {k: int(v) for k, v in row.items()}
    per = n["headcount"] * n["workdays"]
    return {
        "visits": n["visits"], "valid_visits": n["valid_visits"],
        "valid_share": metrics.safe_div(n["valid_visits"], n["visits"]),
        "headcount": n["headcount"], "workdays": n["workdays"],
        "actual_per_capita": metrics.safe_div(n["visits"], per),
        "planned_per_capita": metrics.safe_div(n["plan_items"], per),
        "plan_items": n["plan_items"], "plan_done": n["plan_done"],
        "completion_rate": metrics.safe_div(n["plan_done"], n["plan_items"]),
        "company_per_capita": metrics.safe_div(
            n["company_visits"], n["company_headcount"] * n["workdays"]),
    }


def check_headline_and_trend(db: Database) -> None:
    for scope, filters in cases(db):
        employees = metrics.group_employees(db, scope, filters)
        expected = reference_kpis(db, employees, filters.date_from, filters.date_to)
        kpis, days = metrics.headline(db, scope, filters)
        assert kpis == expected
        assert metrics.kpis(db, scope, filters) == expected
        pd.testing.assert_frame_equal(days, metrics.daily(db, scope, filters))
        assert len(days) == (filters.date_to - filters.date_from).days + 1
        for row in days.itertuples() if len(days) <= 31 else ():  # each day of short ranges
            one = reference_kpis(db, employees, row.day, row.day)
            assert (row.visits, row.valid_visits, row.workday) == (
                one["visits"], one["valid_visits"], one["workdays"] == 1)
            assert gap(row.actual_per_capita) == one["actual_per_capita"]
            assert gap(row.planned_per_capita) == one["planned_per_capita"]
            assert gap(row.company_per_capita) == one["company_per_capita"]
        for granularity in ("month", "week"):
            trend = metrics.trend(db, scope, filters, granularity)
            periods = metrics.trend_periods(filters.date_to, granularity)
            assert list(trend["period"]) == [label for label, _, _ in periods]
            for row, (_, start, end) in zip(trend.to_dict("records"), periods, strict=True):
                ref = reference_kpis(db, employees, start, end)
                assert (row["start"], row["end"]) == (start, end)
                assert row["workdays"] == ref["workdays"]
                assert row["headcount"] == ref["headcount"]
                assert (row["visits"], row["plan_items"], row["plan_done"]) == (
                    ref["visits"], ref["plan_items"], ref["plan_done"])
                for key in ("actual_per_capita", "planned_per_capita", "company_per_capita",
                            "completion_rate"):
                    assert gap(row[key]) == ref[key], (granularity, row["period"], key)


def check_ranking_workdays(db: Database) -> None:
    workdays = list(business_settings.load(db).workdays)
    for scope, filters in cases(db):
        ranking = metrics.ranking(db, scope, filters)
        ref = reference(db, "period", {"employees": [], "date_from": filters.date_from,
                                       "date_to": filters.date_to, "workdays": workdays})
        days = int(ref["workdays"].iloc[0])
        expected = [metrics.safe_div(v, days) for v in ranking["visits"]]
        assert [gap(v) for v in ranking["daily_avg"]] == expected


def check_ranking_pages(db: Database) -> None:
    """ranking_page: the rows and ranks of the whole ranking (ranking.sql, itself checked
    against reference SQL by test_optimised_equals_reference), page by page, every sort."""
    for scope, filters in cases(db):
        for sort in metrics.RANKING_METRICS:
            whole = metrics.ranking(db, scope, filters, sort)
            for start, end in ((0, 15), (0, 100), (7, 20), (len(whole) - 3, len(whole) + 50)):
                page, total = metrics.ranking_page(db, scope, filters, sort, max(start, 0), end)
                expected = whole.iloc[max(start, 0):end].reset_index(drop=True)
                pd.testing.assert_frame_equal(page, expected)
                assert total == len(whole)


@pytest.mark.parametrize("counts_from", [0, 10**9])  # page counts / whole ranking
def test_ranking_pages_equal_the_whole_ranking(demo: Database, counts_from: int,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(metrics, "RANKING_PAGE_COUNTS_FROM", counts_from)
    check_ranking_pages(demo)


def test_detail_pages_equal_reference(demo: Database) -> None:
    check_detail(demo)


def test_headline_kpis_curves_and_trend_equal_reference(demo: Database) -> None:
    check_headline_and_trend(demo)


def test_ranking_daily_average_uses_the_reference_workdays(demo: Database) -> None:
    check_ranking_workdays(demo)


def test_headcounts_equal_reference(demo: Database) -> None:
    for scope, filters in cases(demo):
        employees = metrics.group_employees(demo, scope, filters)
        assert metrics._headcounts(demo, employees) == (
            metrics.headcount(demo, employees), metrics.headcount(demo, None))
    assert metrics._headcounts(demo, []) == (0, metrics.headcount(demo, None))


def test_workday_flags_follow_weekdays_and_the_holiday_calendar(demo: Database) -> None:
    flags = metrics.workday_flags(demo, date(2024, 1, 1), ANCHOR)
    workdays = list(business_settings.load(demo).workdays)
    ref = reference(demo, "period", {"employees": [], "date_from": date(2024, 1, 1),
                                     "date_to": ANCHOR, "workdays": workdays})
    assert int(flags.sum()) == int(ref["workdays"].iloc[0])
    assert list(flags.index) == [date(2024, 1, 1) + timedelta(days=i)
                                 for i in range((ANCHOR - date(2024, 1, 1)).days + 1)]


def test_still_equal_after_an_import_and_a_customer_deletion(demo: Database) -> None:
    [(employee, customer)] = demo.rows(
        "SELECT b.employee_code, b.customer_code FROM bindings b JOIN employees e "
        "ON e.code = b.employee_code WHERE e.status = 'active' ORDER BY 1, 2 LIMIT 1")
    day = ANCHOR - timedelta(days=2)
    lines = ["employee_code,customer_code,check_in_at,check_out_at"] + [
        f"{employee},{customer},{day} {8 + i}:00:00,{day} {8 + i}:04:00" for i in range(3)]
    result = run_import(demo, "visits", "\n".join(lines).encode(), "day.csv", "tests")
    assert result.ok and result.inserted == 3
    assert customer_edits.delete_customers(demo, [customer], TESTS) == 1
    check_detail(demo)
    with pytest.MonkeyPatch.context() as patch:  # the small demo's groups are small
        patch.setattr(metrics, "RANKING_PAGE_COUNTS_FROM", 0)
        check_ranking_pages(demo)
    check_headline_and_trend(demo)
