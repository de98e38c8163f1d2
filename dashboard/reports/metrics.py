"""Report functions: (Database, Scope, Filters) -> DataFrame, shared by pages and the CLI.

Every number follows DESIGN.md section 2. SQL does the aggregation over visits (see
dashboard/queries); Python only combines small per-employee or per-day results.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd

from dashboard.reports.filters import FilterError, Filters
from dashboard.reports.sql import load_sql, query, query_batches
from dashboard.scope import Scope, ScopeError
from pipelines import business_settings
from pipelines.derive import REASON_BIT, reasons_of
from pipelines.store import Store

RANKING_METRICS: tuple[str, ...] = (
    "visits",
    "valid_visits",
    "daily_avg",
    "planned",
    "planned_done",
    "completion_rate",
    "customers_visited",
    "avg_stay_minutes",
)
DETAIL_SORTS: tuple[str, ...] = (
    "check_in_at",
    "check_out_at",
    "employee_code",
    "customer_code",
    "stay_minutes",
    "check_in_deviation_m",
    "check_out_deviation_m",
    "valid",
)
def safe_div(numerator: float, denominator: float) -> float | None:
    """Division where a zero denominator gives None (DESIGN: division by zero is null)."""
    return None if not denominator else numerator / denominator


# -- groups and calendars ----------------------------------------------------------------
def group_departments(db: Store, scope: Scope, department: str | None) -> list[str]:
    """The departments a report covers: the filter's subtree within the scope."""
    if department is None:
        return scope.department_list
    scope.check_department(department)
    subtree = set(query(db, "department_subtree", {"department": department})["code"])
    return sorted(subtree & scope.departments)


def checked_employees(db: Store, scope: Scope, codes: tuple[str, ...]) -> list[str]:
    """The employee filter, sorted; any code outside the scope (or unknown) is refused."""
    wanted = sorted(set(codes))
    if wanted:
        known = query(db, "employees_by_code", {"employees": wanted})
        outside = set(wanted) - {
            code for code, dep in zip(known["code"], known["department_code"], strict=True)
            if dep in scope.departments
        }
        if outside:
            raise ScopeError(f"employee(s) outside your scope: {', '.join(sorted(outside))}")
    return wanted


def group_employees(db: Store, scope: Scope, filters: Filters) -> list[str]:
    """Employee codes of the report group; an employee outside the scope is refused.

    Read as plain tuples: a company has thousands of codes, and a DataFrame column of
    strings costs milliseconds to turn back into a list on every callback.
    """
    departments = group_departments(db, scope, filters.department)
    wanted = checked_employees(db, scope, filters.employees)
    rows = db.rows(load_sql("group_employees"), {"departments": departments, "employees": wanted})
    return [r[0] for r in rows]


def _as_date(value: Any) -> date:
    """A day from a query (date, datetime or Timestamp) as a plain date."""
    return value if type(value) is date else pd.Timestamp(value).date()


def _workday_map(db: Store, start: date, end: date) -> dict[date, bool]:
    """{day: is a working day} for [start, end], in day order, without pandas per day."""
    weekdays = set(business_settings.load(db).workdays)
    flags = {start + timedelta(days=i): False for i in range((end - start).days + 1)}
    for day in flags:
        flags[day] = day.isoweekday() in weekdays  # Monday = 1, as the workdays setting
    holidays = db.rows(load_sql("holidays_between"), {"date_from": start, "date_to": end})
    for day, kind in holidays:
        flags[_as_date(day)] = kind == "work"
    return flags


def workday_flags(db: Store, start: date, end: date) -> pd.Series:
    """For each day of [start, end]: is it a working day (weekdays setting + holidays)."""
    flags = _workday_map(db, start, end)
    return pd.Series(list(flags.values()), index=list(flags), dtype=bool)


def headcount(db: Store, employees: list[str] | None) -> int:
    """Active employees of the group (None = the whole company)."""
    frame = query(db, "headcount", {"everyone": employees is None, "employees": employees or []})
    return int(frame["headcount"].iloc[0])


def _headcounts(db: Store, employees: list[str]) -> tuple[int, int]:
    """(active employees of the group, of the whole company) in one query."""
    row = db.rows(load_sql("headcounts"), {"employees": employees})[0]
    return int(row[0] or 0), int(row[1] or 0)


# -- employee reports --------------------------------------------------------------------
RANKING_COLUMNS: tuple[str, ...] = (
    "employee_code", "employee_name", "department_code", "visits", "valid_visits", "daily_avg",
    "planned", "planned_done", "completion_rate", "customers_visited", "avg_stay_minutes",
    "rank", "status")


# From this many employees in a group, a ranking page counts distinct customers for its
# own rows only (see ranking_page); below it, the visits scan costs the same either way
# and one query is cheaper than two.
RANKING_PAGE_COUNTS_FROM = 500


def ranking(db: Store, scope: Scope, filters: Filters, sort: str = "visits") -> pd.DataFrame:
    """The employee ranking (DESIGN.md section 2), sorted and ranked by `sort`."""
    _check_sort(sort)
    return _whole_ranking(db, group_employees(db, scope, filters), filters, sort)


def _whole_ranking(db: Store, employees: list[str], filters: Filters,
                   sort: str) -> pd.DataFrame:
    frame = query(db, "ranking", _ranking_params(db, employees, filters))
    return _ranked(db, frame, filters, sort)


def ranking_page(db: Store, scope: Scope, filters: Filters, sort: str = "visits",
                 start: int = 0, end: int | None = None) -> tuple[pd.DataFrame, int]:
    """Rows [start, end) of ranking() and how many rows it has: the same rows and ranks.

    Distinct customers are the one count that needs the visits (~40 ms for a company's
    month): unless the ranking is by them, or the group is small, they are counted for
    the page's rows only, after ranking every employee on the daily summaries.
    """
    _check_sort(sort)
    employees = group_employees(db, scope, filters)
    if sort == "customers_visited" or len(employees) < RANKING_PAGE_COUNTS_FROM:
        whole = _whole_ranking(db, employees, filters, sort)
        return whole.iloc[start:end].reset_index(drop=True), len(whole)
    params = _ranking_params(db, employees, filters)
    frame = query(db, "ranking_counts", params_for("ranking_counts", params))
    frame["customers_visited"] = 0  # placeholder, counted below for the page's rows
    ranked = _ranked(db, frame, filters, sort)
    page = ranked.iloc[start:end].reset_index(drop=True)
    codes = page["employee_code"].tolist()
    counted = dict(db.rows(load_sql("ranking_customers"), params | {"employees": codes}))
    page["customers_visited"] = pd.Series([int(counted.get(c, 0)) for c in codes],
                                          dtype=ranked["customers_visited"].dtype)
    return page, len(ranked)


def _ranking_params(db: Store, employees: list[str], filters: Filters) -> dict[str, Any]:
    return {"employees": employees, "date_from": filters.date_from,
            "date_to": filters.date_to,
            "whole_month": whole_month(db, filters.date_from, filters.date_to)}


def _check_sort(sort: str) -> None:
    if sort not in RANKING_METRICS:
        raise FilterError(f"unknown sort metric {sort!r}; use one of {', '.join(RANKING_METRICS)}")


def _ranked(db: Store, frame: pd.DataFrame, filters: Filters, sort: str) -> pd.DataFrame:
    """Ratios, order (by `sort`, ties by code) and competition rank of ranking rows."""
    workdays = sum(_workday_map(db, filters.date_from, filters.date_to).values())
    frame["daily_avg"] = frame["visits"] / workdays if workdays else np.nan
    frame["completion_rate"] = (frame["planned_done"] / frame["planned"].replace(0, np.nan))
    frame["avg_stay_minutes"] = frame["avg_stay_minutes"].astype(float)
    frame = frame.sort_values([sort, "employee_code"], ascending=[False, True],
                              na_position="last", kind="stable")
    frame["rank"] = frame[sort].rank(method="min", ascending=False, na_option="bottom")
    frame["rank"] = frame["rank"].astype(int)
    return frame[list(RANKING_COLUMNS)].reset_index(drop=True)


@dataclass(frozen=True)
class DetailPage:
    rows: pd.DataFrame
    total: int


def detail(
    db: Store,
    scope: Scope,
    filters: Filters,
    *,
    validity: str = "all",
    reason: str | None = None,
    sort: str = "check_in_at",
    descending: bool = False,
    offset: int = 0,
    limit: int | None = 100,
) -> DetailPage:
    """One page of the visit detail, and how many rows all pages hold."""
    if validity not in ("all", "valid", "invalid"):
        raise FilterError(f"unknown validity filter {validity!r}")
    if reason is not None and reason not in REASON_BIT:
        raise FilterError(f"unknown reason {reason!r}")
    if sort not in DETAIL_SORTS:
        raise FilterError(f"unknown sort column {sort!r}")
    if offset < 0 or (limit is not None and not 0 < limit <= 10_000_000):
        raise FilterError("bad page")
    params: dict[str, Any] = {
        "employees": group_employees(db, scope, filters),
        "date_from": filters.date_from,
        "date_to": filters.date_to,
        "validity": validity,
        "reason_bit": REASON_BIT[reason] if reason else 0,
    }
    total = int(db.rows(load_sql("detail_count"), params)[0][0])
    page_params = params | {"sort": sort, "descending": descending, "offset": offset,
                            "limit": limit if limit is not None else max(total, 1)}
    if limit is None:  # every row (the command line): one pass joining all names
        rows = query(db, "detail", page_params)
    else:
        rows = _with_customers(db, query(db, "detail_page", page_params))
    rows["invalid_reasons"] = [reasons_of(int(m)) for m in rows["invalid_mask"]]
    return DetailPage(rows.drop(columns=["invalid_mask"]), total)


def _with_customers(db: Store, page: pd.DataFrame) -> pd.DataFrame:
    """A detail page with its customers' name, deleted flag and address, as detail.sql.

    Looked up for the page's own codes in a second query: joining a million customers to
    a page of 100 rows in one query reads every customer's name and address (~60 ms).
    """
    codes = sorted({c for c in page["customer_code"].tolist() if isinstance(c, str)})
    found = {r[0]: r[1:] for r in db.rows(load_sql("detail_customers"), {"codes": codes})}
    missing = (None, None, None)
    looked_up = [found.get(c, missing) for c in page["customer_code"].tolist()]
    text = page["customer_code"].dtype  # the text dtype a query gives (str, or object)
    position = page.columns.get_loc("customer_code") + 1
    page.insert(position, "customer_name",
                pd.Series([r[0] for r in looked_up], dtype=text, index=page.index))
    page.insert(position + 1, "customer_deleted",
                pd.Series([bool(r[1]) for r in looked_up], dtype=bool, index=page.index))
    page.insert(position + 2, "customer_address",
                pd.Series([r[2] for r in looked_up], dtype=text, index=page.index))
    return page


def detail_batches(
    db: Store, scope: Scope, filters: Filters, batch_rows: int = 50_000
) -> tuple[int, Iterator[pd.DataFrame]]:
    """Every detail row of the filters, as (total, batches in check-in order) for exports."""
    params: dict[str, Any] = {
        "employees": group_employees(db, scope, filters),
        "date_from": filters.date_from, "date_to": filters.date_to,
        "validity": "all", "reason_bit": 0,
    }
    total = int(query(db, "detail_count", params)["total"].iloc[0])
    page = params | {"sort": "check_in_at", "descending": False, "offset": 0,
                     "limit": max(total, 1)}

    def batches() -> Iterator[pd.DataFrame]:
        for frame in query_batches(db, "detail", page, batch_rows):
            frame["invalid_reasons"] = [reasons_of(int(m)) for m in frame["invalid_mask"]]
            yield frame.drop(columns=["invalid_mask"])

    return total, batches()


def daily(db: Store, scope: Scope, filters: Filters) -> pd.DataFrame:
    """Per day: the group's and the company's visits and per-capita values (the 3 curves).

    A day that is not a working day has workdays = 0, so its per-capita values are null.
    """
    return _daily(db, group_employees(db, scope, filters), filters)[0]


def _daily(db: Store, employees: list[str],
           filters: Filters) -> tuple[pd.DataFrame, int, int]:
    """daily() for a resolved group, with (group headcount, company headcount): the
    headline, the KPIs and the trend share one pass instead of repeating the queries."""
    frame = query(db, "daily_group", {"employees": employees, "date_from": filters.date_from,
                                      "date_to": filters.date_to})
    flags = _workday_map(db, filters.date_from, filters.date_to)
    frame["workday"] = [flags[_as_date(d)] for d in frame["day"].tolist()]
    group_heads, company_heads = _headcounts(db, employees)
    frame["actual_per_capita"] = [
        safe_div(v, group_heads * w) for v, w in zip(frame["visits"], frame["workday"], strict=True)
    ]
    frame["planned_per_capita"] = [
        safe_div(p, group_heads * w)
        for p, w in zip(frame["plan_items"], frame["workday"], strict=True)
    ]
    frame["company_per_capita"] = [
        safe_div(v, company_heads * w)
        for v, w in zip(frame["company_visits"], frame["workday"], strict=True)
    ]
    return frame, group_heads, company_heads


def kpis(db: Store, scope: Scope, filters: Filters) -> dict[str, Any]:
    """Headline numbers of the employee visit summary over the whole range."""
    return headline(db, scope, filters)[0]


def headline(db: Store, scope: Scope,
             filters: Filters) -> tuple[dict[str, Any], pd.DataFrame]:
    """(kpis(), daily()) from one pass: the page's headline shows both for the same filters."""
    days, heads, company_heads = _daily(db, group_employees(db, scope, filters), filters)
    return _kpis_of(days, heads, company_heads), days


def _kpis_of(days: pd.DataFrame, heads: int, company_heads: int) -> dict[str, Any]:
    workdays = int(days["workday"].sum())
    visits, valid = int(days["visits"].sum()), int(days["valid_visits"].sum())
    planned, done = int(days["plan_items"].sum()), int(days["plan_done"].sum())
    return {
        "visits": visits,
        "valid_visits": valid,
        "valid_share": safe_div(valid, visits),
        "headcount": heads,
        "workdays": workdays,
        "actual_per_capita": safe_div(visits, heads * workdays),
        "planned_per_capita": safe_div(planned, heads * workdays),
        "plan_items": planned,
        "plan_done": done,
        "completion_rate": safe_div(done, planned),
        "company_per_capita": safe_div(int(days["company_visits"].sum()),
                                       company_heads * workdays),
    }


def trend_periods(to: date, granularity: str) -> list[tuple[str, date, date]]:
    """The 12 periods ending with the one that contains `to`: (label, start, end).

    The last period is cut at `to`. Months are labelled YYYY-MM, ISO weeks YYYY-Www.
    """
    periods: list[tuple[str, date, date]] = []
    if granularity == "month":
        year, month = to.year, to.month
        for _ in range(12):
            start = date(year, month, 1)
            nxt = date(year + (month == 12), month % 12 + 1, 1)
            periods.append((f"{year:04d}-{month:02d}", start, min(nxt - timedelta(days=1), to)))
            year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    elif granularity == "week":
        monday = to - timedelta(days=to.weekday())
        for i in range(12):
            start = monday - timedelta(weeks=i)
            iso_year, iso_week, _ = start.isocalendar()
            periods.append((f"{iso_year:04d}-W{iso_week:02d}", start,
                            min(start + timedelta(days=6), to)))
    else:
        raise FilterError(f"unknown granularity {granularity!r}; use month or week")
    return periods[::-1]


def trend(db: Store, scope: Scope, filters: Filters, granularity: str = "month") -> pd.DataFrame:
    """12 months or ISO weeks ending with the period containing `date_to` (`date_from` unused)."""
    periods = trend_periods(filters.date_to, granularity)
    span = Filters(periods[0][1], filters.date_to, filters.department, filters.employees)
    days, heads, company_heads = _daily(db, group_employees(db, scope, span), span)
    columns = {c: days[c].tolist() for c in ("workday", "visits", "plan_items", "plan_done",
                                             "company_visits")}
    index = {_as_date(d): i for i, d in enumerate(days["day"].tolist())}
    rows = []
    for label, start, end in periods:
        # daily_group has one row per day of the span, so a period is a slice of it.
        first, last = index[start], index[end] + 1
        part = {c: sum(values[first:last]) for c, values in columns.items()}
        workdays = int(part["workday"])
        visits, items = int(part["visits"]), int(part["plan_items"])
        rows.append({
            "period": label,
            "start": start,
            "end": end,
            "workdays": workdays,
            "headcount": heads,
            "visits": visits,
            "plan_items": items,
            "plan_done": int(part["plan_done"]),
            "actual_per_capita": safe_div(visits, heads * workdays),
            "planned_per_capita": safe_div(items, heads * workdays),
            "company_per_capita": safe_div(int(part["company_visits"]),
                                           company_heads * workdays),
            "completion_rate": safe_div(int(part["plan_done"]), items),
        })
    return pd.DataFrame(rows)


# -- customer reports --------------------------------------------------------------------
ALL_GRADES = "*"


CUSTOMER_SORTS: tuple[str, ...] = ("last_visit", "visits", "customer_code", "name", "grade")
_MAX_COUNT = 2**31 - 1


def bucket_ranges(db: Store, buckets: tuple[str, ...]) -> tuple[list[int], list[int]]:
    """(lows, highs) of the selected frequency buckets by label; unknown labels refused."""
    settings = business_settings.load(db)
    by_label = {settings.bucket_label(lo, hi): (lo, hi) for lo, hi in settings.frequency_buckets}
    unknown = [b for b in buckets if b not in by_label]
    if unknown:
        raise FilterError(f"unknown frequency bucket(s): {', '.join(map(str, unknown))}")
    chosen = [by_label[b] for b in dict.fromkeys(buckets)]
    return [lo for lo, _ in chosen], [_MAX_COUNT if hi is None else hi for _, hi in chosen]


def _bucket_params(lows: list[int], highs: list[int]) -> dict[str, Any]:
    """The selected buckets as plain SQL filters: every selected finite count listed
    (buckets are a handful of small ranges), and the low end of a selected open bucket."""
    counts = sorted({n for lo, hi in zip(lows, highs, strict=True) if hi != _MAX_COUNT
                     for n in range(lo, hi + 1)})
    open_lows = [lo for lo, hi in zip(lows, highs, strict=True) if hi == _MAX_COUNT]
    return {"bucketed": bool(lows), "bucket_counts": counts,
            "bucket_from": min(open_lows) if open_lows else None,
            "zero_selected": not lows or 0 in counts or (bool(open_lows) and min(open_lows) == 0)}


_PARAM = re.compile(r"\$([A-Za-z_]\w*)")


def params_for(name: str, params: dict[str, Any]) -> dict[str, Any]:
    """The parameters that queries/NAME.sql names (DuckDB refuses extra ones)."""
    wanted = set(_PARAM.findall(load_sql(name)))
    return {k: v for k, v in params.items() if k in wanted}


def whole_month(db: Store, date_from: date, date_to: date) -> bool:
    """Whether the range counts exactly one calendar month's visits, so that the customer
    reports read customer_month (one row per customer) instead of summing customer_day:
    it starts on the 1st, ends in the same month, and no visit of that month lies after
    its end ("this month" on its last day of data, "last month")."""
    if date_from.day != 1 or (date_to.year, date_to.month) != (date_from.year, date_from.month):
        return False
    end = date_from.replace(day=calendar.monthrange(date_from.year, date_from.month)[1])
    return date_to >= end or not db.scalar(  # every visit has its day summarised here
        "SELECT EXISTS (SELECT 1 FROM visit_day_summary WHERE visit_date > $after "
        "AND visit_date <= $end)", {"after": date_to, "end": end})


def population_params(
    db: Store, scope: Scope, filters: Filters, buckets: tuple[str, ...] = ()
) -> dict[str, Any]:
    """Parameters of the customer queries: the scope narrowed by the filters and buckets.

    The population is the whole company (`everyone`), else the chosen employees'
    (`by_employee`), else the subtrees of `roots` (the department filter, or the scope's
    top departments): one root is a single filtered scan of customer_membership (`root`).
    """
    departments = group_departments(db, scope, filters.department)
    employees = checked_employees(db, scope, filters.employees)
    lows, highs = bucket_ranges(db, buckets)
    everyone = scope.everything and filters.department is None and not employees
    roots: list[str] = []
    if not everyone and not employees:
        roots = [filters.department] if filters.department else sorted(scope.tops)
    return {
        "everyone": everyone,
        "departments": departments,
        "employees": employees,
        "by_employee": not everyone and bool(employees),
        "one_root": len(roots) == 1,
        "root": roots[0] if len(roots) == 1 else None,
        "many_roots": len(roots) != 1 and not everyone and not employees,
        "roots": roots,
        "date_from": filters.date_from,
        "date_to": filters.date_to,
        "whole_month": whole_month(db, filters.date_from, filters.date_to),
        "bucket_lows": lows,
        "bucket_highs": highs,
        **_bucket_params(lows, highs),
    }


def frequency(db: Store, scope: Scope, filters: Filters) -> pd.DataFrame:
    """Customers of the population per visit-count bucket (the frequency pie)."""
    settings = business_settings.load(db)
    params = population_params(db, scope, filters)
    found = db.rows(load_sql("customer_visit_histogram"),
                    params_for("customer_visit_histogram", params))
    rows = []
    for low, high in settings.frequency_buckets:
        top = high if high is not None else np.iinfo(np.int64).max
        rows.append({"bucket": settings.bucket_label(low, high), "low": low, "high": high,
                     "customers": int(sum(n for count, n in found if low <= count <= top))})
    return pd.DataFrame(rows)


def _grade_order(db: Store) -> list[str | None]:
    return [*business_settings.load(db).grades, None]


def grades(db: Store, scope: Scope, filters: Filters,
           buckets: tuple[str, ...] = ()) -> pd.DataFrame:
    """Per grade (unrated = None, listed last): customers, visits, average visits."""
    found = query(db, "customer_grades",
                  params_for("customer_grades", population_params(db, scope, filters, buckets)))
    by_grade = {None if pd.isna(g) else g: r for g, r in
                zip(found["grade"], found.to_dict("records"), strict=True)}
    rows = []
    for grade in _grade_order(db):
        row = by_grade.get(grade, {"customers": 0, "visits": 0})
        customers, visits = int(row["customers"]), int(row["visits"])
        rows.append({"grade": grade, "customers": customers, "visits": visits,
                     "avg_visits": safe_div(visits, customers)})
    return _keep_none(pd.DataFrame(rows), "grade")


def _keep_none(frame: pd.DataFrame, column: str) -> pd.DataFrame:
    """Keep None (unrated) as None: pandas would turn it into NaN in a text column."""
    frame[column] = pd.Series(frame[column].tolist(), dtype=object, index=frame.index)
    frame[column] = frame[column].where(frame[column].notna(), None)
    return frame


def summary_rows(db: Store, scope: Scope, filters: Filters, by: str) -> list[tuple[str, str]]:
    """(code, name) of the summary table's rows (DESIGN.md section 2)."""
    if by == "employee":
        departments = group_departments(db, scope, filters.department)
        employees = checked_employees(db, scope, filters.employees)
        frame = query(db, "employee_rows", {"departments": departments, "employees": employees})
        return list(zip(frame["code"], frame["name"], strict=True))
    if by != "department":
        raise FilterError(f"unknown summary rows {by!r}; use department or employee")
    if filters.department is not None:
        scope.check_department(filters.department)
        parent: str | None = filters.department
    elif len(scope.tops) == 1:
        parent = scope.tops[0]
    else:
        parent = None
    if parent is None:
        frame = query(db, "department_names", {"codes": list(scope.tops)})
    else:
        frame = query(db, "department_children", {"department": parent})
    return [(c, n) for c, n in zip(frame["code"], frame["name"], strict=True)
            if c in scope.departments]


_UNRATED = "\x00unrated"  # stands for None while grades are matched (never a real grade)


def _grade_cells(counts: pd.DataFrame, keys: list[Any], key: str | None,
                 grade_order: list[str | None]) -> np.ndarray:
    """Per key (in order), per grade and all grades (the last): (customers, visited
    customers, visits), from the query's (key, grade, ...) rows. Built with numpy: by
    employee a company has thousands of blocks."""
    width = len(grade_order) + 1
    cells = np.zeros((len(keys), width, 3), dtype=np.int64)
    if len(counts):
        key_pos = {k: i for i, k in enumerate(keys)}
        grade_pos = {_UNRATED if g is None else g: i for i, g in enumerate(grade_order)}
        ki = (counts[key].map(key_pos) if key else pd.Series(0, index=counts.index))
        grades = counts["grade"].astype(object).where(counts["grade"].notna(), _UNRATED)
        gi = grades.map(grade_pos)
        values = counts[["customers", "visited_customers", "visits"]].to_numpy(np.int64)
        known = ki.notna().to_numpy()
        rated = known & gi.notna().to_numpy()
        np.add.at(cells, (ki[rated].astype(int).to_numpy(), gi[rated].astype(int).to_numpy()),
                  values[rated])
        np.add.at(cells, (ki[known].astype(int).to_numpy(), width - 1), values[known])
    return cells.reshape(-1, 3)


def summary(db: Store, scope: Scope, filters: Filters, by: str = "department",
            buckets: tuple[str, ...] = (), only: slice | None = None) -> pd.DataFrame:
    """The visited summary table: the totals row block first, then one block per row.

    Each block has one row per grade (unrated = None) and one for all grades ('*'). The
    totals are the whole population's distinct customers, never a sum of the rows.

    Args:
        only: only these of the table's rows (a page of 5 000 people costs a fraction of
            all of them); ``slice(0, 0)`` for the totals alone. None = every row.
    """
    grade_order = _grade_order(db)
    rows = summary_rows(db, scope, filters, by)
    if only is not None:
        rows = rows[only]
    params = population_params(db, scope, filters, buckets)
    # One query for the totals (row_code NULL) and the rows: the visits are counted once.
    counts = query(db, "summary", params_for("summary", params | {
        "rows": [c for c, _ in rows], "department_rows": by == "department"}))
    is_total = counts["row_code"].isna()
    total_name = ""
    if filters.department:
        names = query(db, "department_names", {"codes": [filters.department]})
        total_name = str(names["name"].iloc[0]) if len(names) else ""
    width = len(grade_order) + 1
    cells = np.concatenate([
        _grade_cells(counts[is_total], [None], None, grade_order),
        _grade_cells(counts[~is_total], [c for c, _ in rows], "row_code", grade_order)])
    # Text columns as object arrays, repeated per grade: a by-employee table has 25 000
    # rows, and building them from Python lists cost more than the query.
    blocks = 1 + len(rows)
    codes = np.array([filters.department or ""] + [c for c, _ in rows], dtype=object)
    names_ = np.array([total_name] + [n for _, n in rows], dtype=object)
    kinds = np.array(["total"] + [by] * len(rows), dtype=object)
    customers, visits = cells[:, 0], cells[:, 2]
    with np.errstate(divide="ignore", invalid="ignore"):
        average = np.where(customers > 0, visits / np.maximum(customers, 1), np.nan)
    frame = pd.DataFrame({
        "row_type": np.repeat(kinds, width), "code": np.repeat(codes, width),
        "name": np.repeat(names_, width),
        "grade": np.tile(np.array([*grade_order, ALL_GRADES], dtype=object), blocks),
        "customers": customers, "visited_customers": cells[:, 1], "visits": visits,
        "avg_visits": average})
    return _keep_none(frame, "grade")


@dataclass(frozen=True)
class CustomerPage:
    rows: pd.DataFrame
    total: int


def customer_list(
    db: Store,
    scope: Scope,
    filters: Filters,
    buckets: tuple[str, ...] = (),
    *,
    sort: str = "last_visit",
    descending: bool = False,
    offset: int = 0,
    limit: int | None = 100,
) -> CustomerPage:
    """The population's customers (in the selected buckets), neglected ones first."""
    if sort not in CUSTOMER_SORTS:
        raise FilterError(f"unknown sort column {sort!r}")
    params = population_params(db, scope, filters, buckets)
    total = int(db.rows(load_sql("customer_list_count"),
                        params_for("customer_list_count", params))[0][0])
    rows = query(db, "customer_list", params_for("customer_list", params | {
        "sort": sort, "descending": descending, "offset": offset,
        "limit": limit if limit is not None else max(total, 1),
        "need_counts": params["bucketed"] or sort == "visits"}))
    return CustomerPage(_keep_none(rows, "grade"), total)
