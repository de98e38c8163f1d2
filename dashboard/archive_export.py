"""The customer archive's exports: the customer list and the person-customer table.

Both are scoped like every report (DESIGN.md section 3): a user exports only the customers
of their population and the employees and departments of their scope. The command line and
the pages share these frames; :func:`render` writes them as the command line's files.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from dashboard.output import clean_value
from dashboard.reports import archive, metrics
from dashboard.scope import Scope
from pipelines.formats import to_csv_bytes, to_xlsx_bytes
from pipelines.store import Store

CUSTOMER_FIELDS: tuple[str, ...] = (
    "code", "name", "grade", "address", "longitude", "latitude", "contact", "phone",
    "department_code", "owner_codes", "note",
)
PERSON_CUSTOMER_FIELDS: tuple[str, ...] = (
    "employee_code", "employee_name", "customer_code", "customer_name", "how", "shared_from",
    "department_code",
)
FORMATS: tuple[str, ...] = ("csv", "xlsx", "json")


def _text_none(frame: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    """Missing text as None (pandas reads SQL NULL text as NaN), so output shows null."""
    for column in columns:
        values = frame[column].astype(object)
        frame[column] = values.where(values.notna(), None)
    return frame


def customers_frame(db: Store, scope: Scope) -> pd.DataFrame:
    """The scope's non-deleted customers (CUSTOMER_FIELDS; owner_codes a sorted list)."""
    frame = archive.customers_export(db, scope)
    frame["owner_codes"] = [list(v) for v in frame["owner_codes"]]
    text = [f for f in CUSTOMER_FIELDS if f not in ("longitude", "latitude", "owner_codes")]
    return _text_none(frame, text)[list(CUSTOMER_FIELDS)]


def person_customers_frame(db: Store, scope: Scope,
                           employee: str | None = None) -> pd.DataFrame:
    """Who looks after which customer, for the employees and departments of the scope.

    Rows (PERSON_CUSTOMER_FIELDS): each employee's direct customers (how "direct"), the
    customers of those sharing with them (how "shared", shared_from = who shares), and per
    department of the scope its assigned customers (how "department", no employee).

    Args:
        db: the database.
        scope: the user's scope.
        employee: only this employee's rows (no department rows).

    Raises:
        ScopeError: `employee` is unknown or outside the scope.
    """
    if employee is not None:
        metrics.checked_employees(db, scope, (employee,))
    frame = archive.person_customers_export(db, scope, employee)
    return _text_none(frame, PERSON_CUSTOMER_FIELDS)[list(PERSON_CUSTOMER_FIELDS)]


EXPORTS: dict[str, tuple[Callable[[Store, Scope], pd.DataFrame], tuple[str, ...]]] = {
    "customers": (customers_frame, CUSTOMER_FIELDS),
    "person-customers": (person_customers_frame, PERSON_CUSTOMER_FIELDS),
}


def _json_value(value: Any) -> Any:
    """A cell for JSON: lists stay lists and coordinates keep every digit (they are data,
    not computed metrics, so an export must give back what the archive holds)."""
    if isinstance(value, (list, tuple, np.ndarray)):
        return [_json_value(v) for v in value]
    if isinstance(value, (float, np.floating)):
        return None if math.isnan(value) else float(value)
    return clean_value(value)


def export_rows(frame: pd.DataFrame, fields: Sequence[str]) -> list[dict[str, Any]]:
    """The frame's rows as JSON-ready dictionaries (not neutralised: JSON runs no formulas)."""
    columns = [frame[f].tolist() for f in fields]
    return [{f: _json_value(v) for f, v in zip(fields, row, strict=True)}
            for row in zip(*columns, strict=True)]


def flat_frame(frame: pd.DataFrame, fields: Sequence[str]) -> pd.DataFrame:
    """The frame for a spreadsheet: list cells joined with ';' as the import reads them."""
    out = frame[list(fields)].copy()
    for field in fields:
        if out[field].map(lambda v: isinstance(v, list)).any():
            out[field] = [";".join(v) if isinstance(v, list) else v for v in out[field]]
    return out


def render(name: str, frame: pd.DataFrame, fields: Sequence[str], fmt: str) -> bytes:
    """An export as file bytes.

    csv is UTF-8 with BOM and xlsx keeps numbers as numbers; both neutralise formula-like
    cells. json is `{"export": NAME, "rows": [...]}`.
    """
    if fmt == "json":
        document = {"export": name, "rows": export_rows(frame, fields)}
        return (json.dumps(document, ensure_ascii=False, indent=1) + "\n").encode("utf-8")
    if fmt == "csv":
        return to_csv_bytes(flat_frame(frame, fields))
    if fmt == "xlsx":
        return to_xlsx_bytes(flat_frame(frame, fields), sheet_name=name)
    raise ValueError(f"unknown export format {fmt!r}; use one of {', '.join(FORMATS)}")
