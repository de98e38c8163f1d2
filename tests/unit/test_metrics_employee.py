"""Employee reports (ranking, detail, daily curves, KPIs, trend) on a dataset worked out by hand.

The dataset (DESIGN.md section 2):
    Departments HQ -> R1 (B11, B12), R2 (B21). E1, E2 in B11 (active), E3 in B12 (inactive),
    E4 in B21 (active). Customers C1 (121.0, 31.0) grade A, C2 (121.1, 31.1) grade B,
    C3 without location. Week Mon 2024-05-06 .. Sun 2024-05-12, holiday 2024-05-08 (off):
    workdays = Mon, Tue, Thu, Fri = 4.

    visit  emp cust  day   stay      notes                               mask / reason
    v1     E1  C1    06    30 min    at the customer                     0 valid
    v2     E1  C2    06    9m59s     at the customer                     short_stay
    v3     E1  C1    07    -         no check-out                        no_checkout
    v4     E1  C3    09    20 min    C3 has no location                  no_customer_location
    v5     E2  C1    07    40 min    check-in 0.01 deg north = 1111.95 m checkin_far (gps 500)
    v6     E2  C2    10    15 min    cell, at the customer               0 valid
    v7     E3  C2    09    20 min    inactive employee                   0 valid
    v8     E4  C1    06    30 min    other region                        0 valid
    v9     E4  C1    07    30 min    other region                        0 valid
    v10    E2  C1    09    30 min    check-out 1111.95 m away (gps)      checkout_far
    v11    E2  C2    10    30 min    no check-in location                no_checkin_location

    Plans: E1 06: C1 (v1 -> done), C2 (v2 -> done, invalid visits count); E1 07: C2 (not
    visited that day); E2 10: C2 (v6 -> done), C1 (not); E4 06: C1 (v8 -> done).

Supervisor of R1 sees E1, E2, E3. Hand-computed ranking over the week:
    E1: visits 4, valid 1, daily_avg 4/4 = 1.0, planned 3, done 2, rate 0.6667,
        customers 3, avg stay (30 + 9.98333 + 20) / 3 = 19.99444
    E2: visits 4, valid 1, daily_avg 1.0, planned 2, done 1, rate 0.5, customers 2,
        avg stay (40 + 15 + 30 + 30) / 4 = 28.75
    E3: visits 1, valid 1, daily_avg 0.25, planned 0, done 0, rate null, customers 1, stay 20
    Ranked by visits: E1 1, E2 1 (tie, listed by code), E3 3.
KPIs (R1): visits 9, valid 3 (share 1/3), headcount 2 (E3 inactive), actual 9/(2*4) = 1.125,
    planned 5/(2*4) = 0.625, completion 3/5 = 0.6, company (11 visits, 3 active) 11/12.
"""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from dashboard.reports import metrics
from dashboard.reports.filters import Filters
from dashboard.scope import Scope, ScopeError, resolve_scope
from pipelines.db import Database
from pipelines.users import get_user
from tests.conftest import Factory
from tests.datasets import build_week


@pytest.fixture
def week(db: Database, factory: Factory) -> Database:
    build_week(factory)
    return db


WEEK = Filters(date(2024, 5, 6), date(2024, 5, 12))

def _scope(db: Database, name: str) -> Scope:
    user = get_user(db, name)
    assert user is not None
    return resolve_scope(db, user)


def test_ranking_by_hand(week: Database) -> None:
    frame = metrics.ranking(week, _scope(week, "east"), WEEK)
    rows = {r["employee_code"]: r for r in frame.to_dict("records")}
    assert list(frame["employee_code"]) == ["E1", "E2", "E3"]
    assert list(frame["rank"]) == [1, 1, 3]
    e1, e2, e3 = rows["E1"], rows["E2"], rows["E3"]
    assert (e1["visits"], e1["valid_visits"], e1["planned"], e1["planned_done"]) == (4, 1, 3, 2)
    assert e1["daily_avg"] == pytest.approx(1.0)
    assert e1["completion_rate"] == pytest.approx(2 / 3)
    assert e1["customers_visited"] == 3
    assert e1["avg_stay_minutes"] == pytest.approx((30 + (9 * 60 + 59) / 60 + 20) / 3)
    assert (e2["visits"], e2["valid_visits"], e2["planned"], e2["planned_done"]) == (4, 1, 2, 1)
    assert e2["avg_stay_minutes"] == pytest.approx(28.75)
    assert e2["customers_visited"] == 2
    assert (e3["visits"], e3["planned"], e3["customers_visited"]) == (1, 0, 1)
    assert e3["daily_avg"] == pytest.approx(0.25)
    assert e3["completion_rate"] != e3["completion_rate"]  # NaN: division by zero is null
    assert e3["status"] == "inactive"


def test_rank_follows_the_sort_metric(week: Database) -> None:
    by_valid = metrics.ranking(week, _scope(week, "east"), WEEK, sort="valid_visits")
    assert list(by_valid["rank"]) == [1, 1, 1]
    by_stay = metrics.ranking(week, _scope(week, "east"), WEEK, sort="avg_stay_minutes")
    assert list(by_stay["employee_code"]) == ["E2", "E3", "E1"]
    assert list(by_stay["rank"]) == [1, 2, 3]
    by_rate = metrics.ranking(week, _scope(week, "east"), WEEK, sort="completion_rate")
    assert list(by_rate["employee_code"]) == ["E1", "E2", "E3"]  # null rate last


def test_inactive_employee_without_visits_is_not_ranked(week: Database) -> None:
    other_week = Filters(date(2024, 5, 13), date(2024, 5, 19))
    frame = metrics.ranking(week, _scope(week, "east"), other_week)
    assert list(frame["employee_code"]) == ["E1", "E2"]
    assert list(frame["visits"]) == [0, 0]


def test_kpis_by_hand(week: Database) -> None:
    k = metrics.kpis(week, _scope(week, "east"), WEEK)
    assert (k["visits"], k["valid_visits"], k["headcount"], k["workdays"]) == (9, 3, 2, 4)
    assert k["valid_share"] == pytest.approx(1 / 3)
    assert k["actual_per_capita"] == pytest.approx(1.125)
    assert k["planned_per_capita"] == pytest.approx(0.625)
    assert k["completion_rate"] == pytest.approx(0.6)
    assert k["company_per_capita"] == pytest.approx(11 / 12)


def test_company_average_is_the_same_from_a_narrow_scope(week: Database) -> None:
    narrow = metrics.kpis(week, _scope(week, "east"), Filters(WEEK.date_from, WEEK.date_to,
                                                              department="B12"))
    wide = metrics.kpis(week, _scope(week, "boss"), WEEK)
    assert narrow["company_per_capita"] == pytest.approx(wide["company_per_capita"])
    assert narrow["visits"] == 1 and narrow["headcount"] == 0
    assert narrow["actual_per_capita"] is None  # no active employee: division by zero


def test_daily_curves_by_hand(week: Database) -> None:
    days = metrics.daily(week, _scope(week, "east"), WEEK).set_index("day")
    monday = days.loc[days.index[0]]
    assert monday["visits"] == 2 and monday["company_visits"] == 3
    assert monday["actual_per_capita"] == pytest.approx(1.0)  # 2 / (2 * 1)
    assert monday["planned_per_capita"] == pytest.approx(1.0)  # 2 items / 2
    assert monday["company_per_capita"] == pytest.approx(1.0)  # 3 / 3
    holiday = days.iloc[2]
    assert not holiday["workday"] and pd.isna(holiday["actual_per_capita"])
    assert [bool(w) for w in days["workday"]] == [True, True, False, True, True, False, False]


def test_detail_reasons_and_deleted_customer(week: Database) -> None:
    week.execute("UPDATE customers SET deleted = true WHERE code = 'C2'")
    page = metrics.detail(week, _scope(week, "boss"), WEEK, limit=None)
    assert page.total == 11
    by_id = {r["visit_id"]: r for r in page.rows.to_dict("records")}
    assert by_id["v1"]["valid"] and by_id["v1"]["invalid_reasons"] == []
    assert by_id["v2"]["invalid_reasons"] == ["short_stay"]
    assert by_id["v3"]["invalid_reasons"] == ["no_checkout"]
    assert by_id["v4"]["invalid_reasons"] == ["no_customer_location"]
    assert by_id["v5"]["invalid_reasons"] == ["checkin_far"]
    assert by_id["v5"]["check_in_deviation_m"] == pytest.approx(1111.95, abs=0.01)
    assert by_id["v10"]["invalid_reasons"] == ["checkout_far"]
    assert by_id["v11"]["invalid_reasons"] == ["no_checkin_location"]
    assert by_id["v2"]["stay_minutes"] == pytest.approx(9 + 59 / 60)
    assert by_id["v6"]["customer_deleted"] and by_id["v6"]["customer_name"] == "乙店"
    # Deleted customers' visits stay in the employee reports.
    assert metrics.kpis(week, _scope(week, "boss"), WEEK)["visits"] == 11


def test_detail_filters_sort_and_pages(week: Database) -> None:
    scope = _scope(week, "east")
    invalid = metrics.detail(week, scope, WEEK, validity="invalid", limit=None)
    assert sorted(invalid.rows["visit_id"]) == ["v10", "v11", "v2", "v3", "v4", "v5"]
    far = metrics.detail(week, scope, WEEK, reason="checkin_far")
    assert list(far.rows["visit_id"]) == ["v5"] and far.total == 1
    first = metrics.detail(week, scope, WEEK, sort="stay_minutes", descending=True, limit=2)
    assert first.total == 9 and list(first.rows["visit_id"]) == ["v5", "v1"]
    second = metrics.detail(week, scope, WEEK, sort="stay_minutes", descending=True,
                            offset=2, limit=2)
    assert list(second.rows["visit_id"]) == ["v10", "v11"]


def test_trend_months_and_weeks(week: Database) -> None:
    scope = _scope(week, "east")
    months = metrics.trend(week, scope, WEEK, "month")
    assert len(months) == 12 and months["period"].iloc[0] == "2023-06"
    last = months.iloc[-1]
    # May 1-12: weekdays 1,2,3,6,7,8,9,10 = 8, minus the 8th (holiday) = 7 workdays.
    assert (last["period"], last["start"], last["end"]) == ("2024-05", date(2024, 5, 1),
                                                           date(2024, 5, 12))
    assert (last["workdays"], last["visits"], last["plan_items"]) == (7, 9, 5)
    assert last["actual_per_capita"] == pytest.approx(9 / 14)
    assert months.iloc[-2]["workdays"] == 22 and months.iloc[-2]["actual_per_capita"] == 0
    weeks = metrics.trend(week, scope, WEEK, "week")
    assert weeks["period"].iloc[-1] == "2024-W19" and weeks["workdays"].iloc[-1] == 4


def test_iso_week_across_new_year() -> None:
    periods = metrics.trend_periods(date(2025, 1, 1), "week")
    assert periods[-1] == ("2025-W01", date(2024, 12, 30), date(2025, 1, 1))
    assert periods[-2][0] == "2024-W52"
    assert metrics.trend_periods(date(2021, 1, 3), "week")[-1][0] == "2020-W53"
    months = metrics.trend_periods(date(2024, 1, 15), "month")
    assert [m[0] for m in months][:2] == ["2023-02", "2023-03"] and months[-1][0] == "2024-01"


def test_filters_outside_scope_are_refused(week: Database) -> None:
    scope = _scope(week, "east")
    with pytest.raises(ScopeError):
        metrics.ranking(week, scope, Filters(WEEK.date_from, WEEK.date_to, department="B21"))
    with pytest.raises(ScopeError):
        metrics.ranking(week, scope, Filters(WEEK.date_from, WEEK.date_to, employees=("E4",)))
    with pytest.raises(ScopeError):
        metrics.detail(week, scope, Filters(WEEK.date_from, WEEK.date_to, employees=("NOPE",)))


def test_settings_change_validity_without_reimport(week: Database) -> None:
    from pipelines import business_settings

    current = business_settings.load(week)
    business_settings.save(week, type(current)(**{**current.__dict__,
                                                  "min_valid_stay_minutes": 9.5}), "boss")
    k = metrics.kpis(week, _scope(week, "east"), WEEK)
    assert k["valid_visits"] == 4  # v2 (9 min 59 s) is now long enough


def test_ranking_customers_for_a_whole_month_by_hand(week: Database) -> None:
    """May 2024 holds only the week's visits, and a whole month reads employee_month (one
    counted row per employee) instead of the visits: E1 visited C1, C2, C3 (3); E2 C1, C2
    (2); E3 C2 (1). April has no visits: every count is 0."""
    may = Filters(date(2024, 5, 1), date(2024, 5, 31))
    assert metrics.whole_month(week, may.date_from, may.date_to)
    frame = metrics.ranking(week, _scope(week, "east"), may)
    counted = dict(zip(frame["employee_code"], frame["customers_visited"], strict=True))
    assert counted == {"E1": 3, "E2": 2, "E3": 1}
    april = metrics.ranking(week, _scope(week, "east"), Filters(date(2024, 4, 1),
                                                                date(2024, 4, 30)))
    assert set(april["customers_visited"]) == {0}
