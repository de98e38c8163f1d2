"""Read side of the customer archive: search, one customer's record, form options.

Everything takes the Scope: supervisors and analysts read the customers of their
population; only admins list deleted customers. A customer outside the scope is refused
(ScopeError), never answered.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from dashboard.reports.filters import FilterError, like_pattern
from dashboard.reports.sql import query
from dashboard.scope import Scope, ScopeError
from pipelines.store import Store

SORTS: tuple[str, ...] = ("code", "name", "grade", "updated_at")


@dataclass(frozen=True)
class ArchiveFilters:
    """The archive list's quick search and filters (browser input, checked here)."""

    search: str = ""
    grades: tuple[str, ...] = ()
    unrated: bool = False
    department: str | None = None
    owner: str | None = None
    no_owner: bool = False
    no_location: bool = False
    deleted: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


def _params(db: Store, scope: Scope, filters: ArchiveFilters) -> dict[str, Any]:
    if filters.deleted and not (scope.everything and scope.role in ("admin", "operator")):
        raise ScopeError("only administrators list deleted customers")
    if filters.department is not None:
        scope.check_department(filters.department)
    if filters.owner is not None:
        from dashboard.reports.metrics import checked_employees

        checked_employees(db, scope, (filters.owner,))
    # Control characters cannot be typed into the box; the separator of search_text is one.
    search = "".join(ch for ch in filters.search if ch >= " ").strip()[:100]
    return {
        "everyone": scope.everything,
        "roots": [] if scope.everything else sorted(scope.tops),
        "deleted": filters.deleted,
        "search": search,
        "grades": list(filters.grades),
        "unrated": filters.unrated,
        "department": filters.department,
        "owner": filters.owner,
        "no_owner": filters.no_owner,
        "no_location": filters.no_location,
    }


def search(
    db: Store, scope: Scope, filters: ArchiveFilters, *, sort: str = "code",
    descending: bool = False, offset: int = 0, limit: int | None = 100,
) -> tuple[pd.DataFrame, int]:
    """(one page of customers, how many match) for the archive list."""
    if sort not in SORTS:
        raise FilterError(f"unknown sort column {sort!r}")
    params = _params(db, scope, filters) | {"sort": sort, "descending": descending}
    # One scan finds the page and counts the matches (a search reads every customer's
    # search text once, not twice); a page past the end asks again for the count alone.
    rows = query(db, "customers_search", params | {
        "offset": offset, "limit": limit if limit is not None else 2**62})
    if len(rows):
        total = int(rows["total"].iloc[0])
    else:
        total = 0 if offset == 0 else int(query(db, "customers_search", params | {
            "offset": 0, "limit": 1})["total"].sum())
    return rows.drop(columns="total"), total


def check_customer(db: Store, scope: Scope, code: str) -> None:
    """Refuse a customer outside the scope (or unknown)."""
    found = query(db, "customer_in_scope", {"code": code, "everyone": scope.everything,
                                            "departments": scope.department_list})
    if not int(found["found"].iloc[0]):
        raise ScopeError(f"customer {code!r} is outside your scope")


def record(db: Store, scope: Scope, code: str) -> dict[str, Any]:
    """One customer: its fields, owners (direct and shared), department, latest visits."""
    check_customer(db, scope, code)
    rows = query(db, "customer_record", {"code": code})
    customer = rows.iloc[0].to_dict()
    # Non-deleted customers are read through their integer id in the derived tables.
    which = {"code": code, "deleted": bool(customer["deleted"])}
    days = query(db, "customer_visit_days", which)
    return {
        "customer": customer,
        "owners": query(db, "customer_owners", which),
        # Only visits made by the scope's employees are listed (others are only counted).
        "visits": query(db, "customer_visits_in_scope", {
            "code": code, "days": list(days["visit_date"]), "limit": 20,
            "everyone": scope.everything, "departments": scope.department_list}),
    }


def department_options(db: Store, scope: Scope) -> list[dict[str, str]]:
    frame = query(db, "department_options", {"everyone": scope.everything,
                                             "departments": scope.department_list})
    return [{"label": f"{n} ({c})", "value": c}
            for c, n in zip(frame["code"], frame["name"], strict=True)]


def customer_options(db: Store, scope: Scope, search: Any,
                     selected: Any) -> list[dict[str, str]]:
    """Picker options: the scope's customers matching the search, the selected ones first."""
    chosen = [s for s in selected if isinstance(s, str)] if isinstance(selected, list) else []
    rows = query(db, "customer_options", {
        "everyone": scope.everything, "departments": scope.department_list,
        "selected": chosen[:200], "pattern": like_pattern(str(search or "")[:50]),
        "limit": 30 + len(chosen)})
    return [{"label": f"{n} ({c})", "value": c}
            for c, n in zip(rows["code"], rows["name"], strict=True)]


def customers_export(db: Store, scope: Scope) -> pd.DataFrame:
    """The scope's non-deleted customers, every archive column (export shapes them)."""
    return query(db, "export_customers", {"everyone": scope.everything,
                                          "departments": scope.department_list})


def person_customers_export(db: Store, scope: Scope, employee: str | None) -> pd.DataFrame:
    """The person-customer rows of the scope (or one employee's, caller checked it)."""
    return query(db, "export_person_customers", {"departments": scope.department_list,
                                                 "employee": employee})
