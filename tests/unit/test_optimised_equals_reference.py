"""Speed never changes a number: the optimised queries (daily summary tables, one-pass
department populations) answer exactly what straightforward reference SQL over the base
tables answers (tests/unit/reference_sql/, the earlier plain versions), on the seeded
small demo, for several scopes and ranges — also after an incremental import and a
settings change, so the summaries are shown to stay in step.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import pytest

from dashboard import metrics
from dashboard.scope import Scope, operator_scope, resolve_scope
from dashboard.sql import load_sql
from pipelines import business_settings
from pipelines.db import Database
from pipelines.generate import build_demo
from pipelines.imports import run_import
from pipelines.users import get_user

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
    optimised = db.df(load_sql(name), params).sort_values(keys).reset_index(drop=True)
    reference = db.df((REFERENCE / f"{name}.sql").read_text("utf-8"), params)
    reference = reference.sort_values(keys).reset_index(drop=True)
    pd.testing.assert_frame_equal(optimised, reference, check_dtype=False, rtol=1e-9)


def check_all(db: Database) -> None:
    for scope in scopes(db):
        for first, last in ((date(2024, 6, 1), ANCHOR), (date(2024, 1, 1), ANCHOR),
                            (date(2024, 6, 10), date(2024, 6, 16))):
            filters = metrics.Filters(first, last)
            employees = metrics.group_employees(db, scope, filters)
            span = {"employees": employees, "date_from": first, "date_to": last}
            same(db, "daily_group", span, ["day"])
            same(db, "ranking", span, ["employee_code"])
            rows = [c for c, _ in metrics.summary_rows(db, scope, filters, "department")]
            same(db, "summary_by_department",
                 {"rows": rows, "date_from": first, "date_to": last, "bucket_lows": [],
                  "bucket_highs": []}, ["row_code", "grade"])


def test_optimised_equals_reference(demo: Database) -> None:
    check_all(demo)


def test_still_equal_after_an_incremental_import_and_a_settings_change(demo: Database) -> None:
    employee, customer = demo.execute(
        "SELECT b.employee_code, b.customer_code FROM bindings b JOIN employees e "
        "ON e.code = b.employee_code WHERE e.status = 'active' LIMIT 1").fetchone()
    day = ANCHOR - timedelta(days=3)
    lines = ["employee_code,customer_code,check_in_at,check_out_at"] + [
        f"{employee},{customer},{day} {9 + i}:00:00,{day} {9 + i}:30:00" for i in range(3)]
    result = run_import(demo, "visits", "\n".join(lines).encode(), "day.csv", "tests")
    assert result.ok and result.inserted == 3
    check_all(demo)  # the import refreshed only its own day
    current = business_settings.load(demo)
    business_settings.save(demo, replace(current, min_valid_stay_minutes=35.0), "tests")
    check_all(demo)
