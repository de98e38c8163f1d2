"""The visit reports of DESIGN.md sections 2 and 5, registered over metrics.py.

Their fields are DESIGN.md section 5's lists (the JSON contract); their labels head the
page grids, the downloads and any other table of them, in the reader's language.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import pandas as pd

from dashboard.i18n import N_
from dashboard.reports import Parameter, Report, metrics

LABELS: Mapping[str, str] = {
    "rank": N_("Rank"),
    "employee_code": N_("Employee code"),
    "employee_name": N_("Employee"),
    "department_code": N_("Department code"),
    "department_name": N_("Department"),
    "visits": N_("Visits"),
    "valid_visits": N_("Valid visits"),
    "daily_avg": N_("Daily average"),
    "planned": N_("Planned"),
    "planned_done": N_("Planned and done"),
    "completion_rate": N_("Completion rate"),
    "customers_visited": N_("Customers visited"),
    "avg_stay_minutes": N_("Average stay (min)"),
    "visit_id": N_("Visit ID"),
    "customer_code": N_("Customer code"),
    "customer_name": N_("Customer"),
    "customer_deleted": N_("Customer deleted"),
    "customer_address": N_("Address"),
    "check_in_at": N_("Check-in time"),
    "check_out_at": N_("Check-out time"),
    "stay_minutes": N_("Stay (min)"),
    "check_in_source": N_("Check-in source"),
    "check_in_deviation_m": N_("Check-in deviation (m)"),
    "check_out_source": N_("Check-out source"),
    "check_out_deviation_m": N_("Check-out deviation (m)"),
    "valid": N_("Valid"),
    "invalid_reasons": N_("Reasons"),
    "period": N_("Period"),
    "start": N_("Period start"),
    "end": N_("Period end"),
    "workdays": N_("Workdays"),
    "headcount": N_("Headcount"),
    "plan_items": N_("Plan items"),
    "actual_per_capita": N_("Actual per-capita daily visits"),
    "planned_per_capita": N_("Planned per-capita daily visits"),
    "company_per_capita": N_("Company average"),
    "bucket": N_("Visits per customer"),
    "customers": N_("Customers"),
    "grade": N_("Grade"),
    "avg_visits": N_("Average visits"),
    "row_type": N_("Row type"),
    "code": N_("Code"),
    "name": N_("Name"),
    "visited_customers": N_("Visited"),
}


def _report(name: str, text: str, fields: tuple[str, ...], run: Callable[..., pd.DataFrame],
            *parameters: Parameter) -> Report:
    return Report(name, text, fields, {f: LABELS[f] for f in fields}, run, parameters)


SORT = Parameter("sort", "ranking: the metric that orders the rows (default visits)",
                 metavar="METRIC")
GRANULARITY = Parameter("granularity", "trend: one row per month or per week",
                        choices=("month", "week"), default="month")
BY = Parameter("by", "summary: one row block per department or per employee",
               choices=("department", "employee"), default="department")

REPORTS: tuple[Report, ...] = (
    _report("ranking", "employees ranked by a metric",
            ("employee_code", "employee_name", "department_code", "visits", "valid_visits",
             "daily_avg", "planned", "planned_done", "completion_rate", "customers_visited",
             "avg_stay_minutes", "rank"),
            metrics.ranking, SORT),
    _report("detail", "every visit, with its validity",
            ("visit_id", "employee_code", "customer_code", "customer_name", "customer_deleted",
             "check_in_at", "check_out_at", "stay_minutes", "check_in_source",
             "check_in_deviation_m", "check_out_source", "check_out_deviation_m", "valid",
             "invalid_reasons"),
            lambda db, scope, filters: metrics.detail(db, scope, filters, limit=None).rows),
    _report("trend", "per-capita daily visits per period",
            ("period", "start", "end", "workdays", "headcount", "visits", "plan_items",
             "actual_per_capita", "planned_per_capita", "company_per_capita"),
            metrics.trend, GRANULARITY),
    _report("frequency", "customers by how often they were visited",
            ("bucket", "customers"), metrics.frequency),
    _report("grades", "customers and visits per grade",
            ("grade", "customers", "visits", "avg_visits"), metrics.grades),
    _report("summary", "the customer visited summary",
            ("row_type", "code", "name", "grade", "customers", "visited_customers", "visits",
             "avg_visits"),
            metrics.summary, BY),
)
