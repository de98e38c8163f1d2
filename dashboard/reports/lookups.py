"""Small reads behind pickers, labels and lists of the pages and the phone API.

They are not reports (no fields, no export), but they are read SQL, and read SQL lives in
`dashboard.reports` only. The caller has checked the scope of what it passes in (each
function says which check it relies on); these only run the query.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

import pandas as pd

from dashboard.reports.filters import like_pattern
from dashboard.reports.sql import query, query_records
from dashboard.scope import Scope
from pipelines.store import Store


def departments_in_scope(db: Store, scope: Scope) -> list[dict[str, Any]]:
    """The scope's departments (code, path_names: names from the scope's top down)."""
    if scope.is_empty:
        return []
    return query_records(db, "departments_in_scope", {
        "everything": scope.everything, "departments": scope.department_list})


def employees_matching(db: Store, scope: Scope, search: str, selected: Sequence[str],
                       limit: int) -> list[dict[str, Any]]:
    """Employees of the scope whose name or code contains `search`, `selected` first."""
    if scope.is_empty:
        return []
    return query_records(db, "employees_search", {
        "departments": scope.department_list, "selected": list(selected),
        "pattern": like_pattern(search), "limit": limit})


def department_names(db: Store, codes: Sequence[str]) -> dict[str, str]:
    """code -> name of these departments (names are not secret inside a shown ranking)."""
    names = query(db, "department_names", {"codes": sorted(set(codes))})
    return dict(zip(names["code"], names["name"], strict=True))


def department_customers(db: Store, department: str) -> pd.DataFrame:
    """Customers assigned to a department (caller checked the department is in scope)."""
    return query(db, "department_customers", {"department": department})


def shares_of(db: Store, employee: str) -> list[dict[str, Any]]:
    """Who shares customers with the employee and who shares with them (caller checked)."""
    return query_records(db, "shares_of", {"employee": employee})


def customers_located(db: Store, codes: Sequence[str]) -> dict[str, dict[str, Any]]:
    """code -> {code, longitude, latitude} (caller checked every code is in scope)."""
    return {r["code"]: r for r in query_records(db, "customers_located",
                                                {"codes": list(codes)})}


def plans_between(db: Store, employee: str, date_from: date,
                  date_to: date) -> list[dict[str, Any]]:
    """The employee's plan items in the days, plan by plan in order (caller checked)."""
    return query_records(db, "plans_between", {"employee": employee, "date_from": date_from,
                                               "date_to": date_to})


def routes_of(db: Store, employee: str) -> list[dict[str, Any]]:
    """The employee's routes with their customers in order (caller checked)."""
    return query_records(db, "routes_of", {"employee": employee})


def phone_customers(db: Store, employee: str, limit: int,
                    offset: int) -> tuple[int, list[dict[str, Any]]]:
    """(total, one page) of the customers an employee looks after, for the phone API."""
    params: dict[str, Any] = {"employee": employee}
    total = int(query_records(db, "api_customers_count", params)[0]["total"])
    return total, query_records(db, "api_customers", params | {"limit": limit,
                                                               "offset": offset})


def holidays(db: Store) -> pd.DataFrame:
    """The holiday calendar (day, kind, name); company-wide, admins edit it."""
    return query(db, "holidays_list")


def import_history(db: Store, limit: int) -> pd.DataFrame:
    """The latest imports, newest first."""
    return query(db, "import_history_list", {"limit": limit})


def audit_codes(db: Store) -> list[str]:
    """Every action and entity code stored in the audit log (to match searched words)."""
    return [str(c) for c in query(db, "audit_codes", {})["code"]]


def audit_page(db: Store, search: str, codes: Sequence[str], limit: int,
               offset: int) -> tuple[int, pd.DataFrame]:
    """(total, one page) of audit entries matching the text or the codes (admins only)."""
    params: dict[str, Any] = {"search": search, "pattern": like_pattern(search),
                              "codes": list(codes)}
    total = int(query(db, "audit_count", params)["total"].iloc[0])
    return total, query(db, "audit_page", params | {"limit": limit, "offset": offset})
