"""Customer reports (frequency, grades, summary) on a dataset worked out by hand.

Org HQ -> R1 (B11, B12), R2 (B21); E1 in B11, E2 in B12, E4 in B21; share E4 -> E2.
Range 2024-05-06 .. 2024-05-12 (one extra visit to K0 on 2024-04-30 is outside it).

    customer grade  owners   assigned  visits  note
    K0       A      E1       -         0
    K1       A      E1       -         1
    K2       B      E1, E2   -         2       two owners: counted once in totals
    K3       B      -        B12       3       assigned only
    K5       C      E2       -         5
    K6       C      E1       B21       6       assigned to B21, bound to E1 (R1)
    K10      -      E4       -         10      unrated
    K11      -      E4       -         11      visited by E1, outside R2: still counts
    KD       A      E1       -         4       deleted: in no population
    KU       D      -        -         0       only in the company population

Populations: company {K0 K1 K2 K3 K5 K6 K10 K11 KU} (9); R1 {K0 K1 K2 K3 K5 K6} (6);
B21 {K6 K10 K11}; E1 {K0 K1 K2 K6}; E2 {K2 K5} + shared from E4 {K10 K11}.
"""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from dashboard.reports import metrics
from dashboard.reports.filters import FilterError, Filters
from dashboard.scope import Scope, ScopeError, resolve_scope
from pipelines.db import Database
from pipelines.users import get_user
from tests.conftest import Factory
from tests.datasets import build_customers

RANGE = Filters(date(2024, 5, 6), date(2024, 5, 12))


@pytest.fixture
def customers(db: Database, factory: Factory) -> Database:
    build_customers(factory)
    return db


def _scope(db: Database, name: str) -> Scope:
    user = get_user(db, name)
    assert user is not None
    return resolve_scope(db, user)


def _pie(db: Database, user: str, filters: Filters = RANGE) -> dict[str, int]:
    frame = metrics.frequency(db, _scope(db, user), filters)
    return dict(zip(frame["bucket"], frame["customers"], strict=True))


def test_frequency_bucket_edges(customers: Database) -> None:
    assert _pie(customers, "boss") == {"0": 2, "1": 1, "2": 1, "3-5": 2, "6-10": 2, "11+": 1}
    assert _pie(customers, "east") == {"0": 1, "1": 1, "2": 1, "3-5": 2, "6-10": 1, "11+": 0}
    # Visits by E1 (outside B21) to B21's customers count: "by anyone".
    assert _pie(customers, "bj") == {"0": 0, "1": 0, "2": 0, "3-5": 0, "6-10": 2, "11+": 1}


def test_employee_population_includes_shares(customers: Database) -> None:
    only_e2 = Filters(RANGE.date_from, RANGE.date_to, employees=("E2",))
    assert _pie(customers, "east", only_e2) == {"0": 0, "1": 0, "2": 1, "3-5": 1, "6-10": 1,
                                                "11+": 1}


def test_grades_by_hand(customers: Database) -> None:
    frame = metrics.grades(customers, _scope(customers, "boss"), RANGE)
    rows = {r["grade"]: r for r in frame.to_dict("records")}
    assert list(frame["grade"]) == ["A", "B", "C", "D", None]
    assert (rows["A"]["customers"], rows["A"]["visits"], rows["A"]["avg_visits"]) == (2, 1, 0.5)
    assert (rows["B"]["customers"], rows["B"]["visits"], rows["B"]["avg_visits"]) == (2, 5, 2.5)
    assert (rows["C"]["customers"], rows["C"]["visits"], rows["C"]["avg_visits"]) == (2, 11, 5.5)
    assert (rows["D"]["customers"], rows["D"]["visits"], rows["D"]["avg_visits"]) == (1, 0, 0.0)
    assert (rows[None]["customers"], rows[None]["visits"]) == (2, 21)


def _block(frame, row_type: str, code: str) -> dict[object, tuple[int, int, int]]:  # type: ignore[no-untyped-def]
    part = frame[(frame["row_type"] == row_type) & (frame["code"] == code)]
    return {g: (c, v, n) for g, c, v, n in zip(part["grade"], part["customers"],
                                               part["visited_customers"], part["visits"],
                                               strict=True)}


def test_summary_by_department_for_admin(customers: Database) -> None:
    frame = metrics.summary(customers, _scope(customers, "boss"), RANGE, by="department")
    assert list(dict.fromkeys(frame["code"])) == ["", "R1", "R2"]
    r1, r2, total = (_block(frame, "department", "R1"), _block(frame, "department", "R2"),
                     _block(frame, "total", ""))
    assert r1["*"] == (6, 5, 17) and r1["A"] == (2, 1, 1) and r1["D"] == (0, 0, 0)
    assert r2["*"] == (3, 3, 27) and r2["C"] == (1, 1, 6) and r2[None] == (2, 2, 21)
    assert total["*"] == (9, 7, 38) and total["D"] == (1, 0, 0)
    avg = frame[(frame["row_type"] == "department") & (frame["code"] == "R1")
                & (frame["grade"] == "*")]["avg_visits"].iloc[0]
    assert avg == pytest.approx(17 / 6)


def test_summary_by_employee_totals_are_not_a_sum(customers: Database) -> None:
    frame = metrics.summary(customers, _scope(customers, "east"), RANGE, by="employee")
    e1, e2, total = (_block(frame, "employee", "E1"), _block(frame, "employee", "E2"),
                     _block(frame, "total", ""))
    assert e1["*"] == (4, 3, 9) and e1["A"] == (2, 1, 1)
    assert e2["*"] == (4, 4, 28) and e2[None] == (2, 2, 21)  # K10, K11 through the share
    assert total["*"] == (6, 5, 17)  # R1's population: K2 once, no shared customers


def test_summary_children_of_the_scope_top(customers: Database) -> None:
    frame = metrics.summary(customers, _scope(customers, "east"), RANGE, by="department")
    assert list(dict.fromkeys(frame["code"])) == ["", "B11", "B12"]
    assert _block(frame, "department", "B11")["*"] == (4, 3, 9)
    assert _block(frame, "department", "B12")["*"] == (3, 3, 10)
    selected = metrics.summary(customers, _scope(customers, "east"),
                               Filters(RANGE.date_from, RANGE.date_to, department="B12"))
    assert _block(selected, "total", "B12")["*"] == (3, 3, 10)
    assert set(selected["row_type"]) == {"total"}  # a branch has no child departments


def test_customer_reports_refuse_outside_scope(customers: Database) -> None:
    with pytest.raises(ScopeError):
        metrics.frequency(customers, _scope(customers, "bj"),
                          Filters(RANGE.date_from, RANGE.date_to, department="R1"))
    with pytest.raises(ScopeError):
        metrics.summary(customers, _scope(customers, "bj"),
                        Filters(RANGE.date_from, RANGE.date_to, employees=("E1",)),
                        by="employee")


def test_selected_buckets_narrow_grades_and_summary(customers: Database) -> None:
    """Buckets 0 and 11+: K0 (A), KU (D) with no visits, K11 (unrated) with 11."""
    boss = _scope(customers, "boss")
    frame = metrics.grades(customers, boss, RANGE, buckets=("0", "11+"))
    rows = {r["grade"]: (r["customers"], r["visits"]) for r in frame.to_dict("records")}
    assert rows == {"A": (1, 0), "B": (0, 0), "C": (0, 0), "D": (1, 0), None: (1, 11)}
    table = metrics.summary(customers, boss, RANGE, by="department", buckets=("6-10",))
    assert _block(table, "total", "")["*"] == (2, 2, 16)  # K6 and K10
    assert _block(table, "department", "R1")["*"] == (1, 1, 6)
    assert _block(table, "department", "R2")["*"] == (2, 2, 16)
    with pytest.raises(FilterError):
        metrics.grades(customers, boss, RANGE, buckets=("7",))


def test_customer_list_neglected_first(customers: Database) -> None:
    page = metrics.customer_list(customers, _scope(customers, "boss"), RANGE)
    assert page.total == 9
    first, second = page.rows.iloc[0], page.rows.iloc[1]
    assert first["customer_code"] == "KU" and pd.isna(first["last_visit"])
    assert second["customer_code"] == "K0" and str(second["last_visit"]) == "2024-04-30"
    assert second["days_since"] == 12 and second["visits"] == 0
    k2 = page.rows[page.rows["customer_code"] == "K2"].iloc[0]
    assert k2["owners"] == "张一 (E1), 李二 (E2)" and k2["visits"] == 2
    zero = metrics.customer_list(customers, _scope(customers, "boss"), RANGE, ("0",))
    assert sorted(zero.rows["customer_code"]) == ["K0", "KU"] and zero.total == 2
    east = metrics.customer_list(customers, _scope(customers, "east"), RANGE, sort="visits",
                                 descending=True, limit=2)
    assert east.total == 6 and list(east.rows["customer_code"]) == ["K6", "K5"]


@pytest.mark.parametrize("by", ["department", "employee"])
def test_a_page_of_summary_rows_equals_that_part_of_the_whole(customers: Database,
                                                              by: str) -> None:
    """The page's grid asks for 100 rows at a time; the totals come with every page."""
    scope = _scope(customers, "boss")
    whole = metrics.summary(customers, scope, RANGE, by)
    codes = [c for c in dict.fromkeys(whole.loc[whole["row_type"] == by, "code"])]
    assert len(codes) >= 2
    for only in (slice(0, 0), slice(1, 2), slice(0, len(codes) + 5)):
        part = metrics.summary(customers, scope, RANGE, by, only=only)
        wanted = whole[(whole["row_type"] == "total") | whole["code"].isin(codes[only])]
        pd.testing.assert_frame_equal(part.reset_index(drop=True),
                                      wanted.reset_index(drop=True))


def test_whole_months_read_the_month_table_by_hand(customers: Database) -> None:
    """May 2024 is a whole month (customer_month, one row per customer): its visits are
    the range's, so the pies are the hand-computed ones above. April holds only E2's visit
    to K0: company 9 customers, K0 visited once, 8 never."""
    may = Filters(date(2024, 5, 1), date(2024, 5, 31))
    assert metrics.whole_month(customers, may.date_from, may.date_to)
    assert _pie(customers, "boss", may) == {"0": 2, "1": 1, "2": 1, "3-5": 2, "6-10": 2,
                                            "11+": 1}
    assert _pie(customers, "east", may) == {"0": 1, "1": 1, "2": 1, "3-5": 2, "6-10": 1,
                                            "11+": 0}
    assert _pie(customers, "bj", may) == {"0": 0, "1": 0, "2": 0, "3-5": 0, "6-10": 2,
                                          "11+": 1}
    april = Filters(date(2024, 4, 1), date(2024, 4, 30))
    assert _pie(customers, "boss", april) == {"0": 8, "1": 1, "2": 0, "3-5": 0, "6-10": 0,
                                              "11+": 0}
    boss = _scope(customers, "boss")
    for by in ("department", "employee"):
        pd.testing.assert_frame_equal(metrics.summary(customers, boss, may, by),
                                      metrics.summary(customers, boss, RANGE, by))

