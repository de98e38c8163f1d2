"""Daily summary tables: per employee and day, visits and plan items with their outcomes.

The employee reports (daily curves, KPIs, trend) read these small tables instead of ten
million visits. Every write path refreshes exactly the days it touched, inside its own
transaction, so the summaries never drift: visit imports and the phone API (the days of
the new visits), plan changes (the plans' days), validity refreshes (the days of the
affected visits, or all days after a settings change).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import TYPE_CHECKING

import duckdb

if TYPE_CHECKING:
    from pipelines.db import Database


def refresh(cur: duckdb.DuckDBPyConnection, days: Sequence[date] | None = None) -> None:
    """Recompute both summaries for these days (None = every day), inside a transaction."""
    if days is not None and len(days) == 0:
        return
    visits_where = "" if days is None else "WHERE visit_date IN (SELECT unnest($days::DATE[]))"
    plans_where = "" if days is None else "WHERE plan_date IN (SELECT unnest($days::DATE[]))"
    params = None if days is None else {"days": sorted(set(days))}
    cur.execute(f"DELETE FROM visit_day_summary {visits_where}", params)
    cur.execute(
        f"""
        INSERT INTO visit_day_summary
        SELECT visit_date, employee_code, count(*),
               count(*) FILTER (WHERE invalid_mask = 0),
               coalesce(sum(stay_minutes), 0), count(stay_minutes)
        FROM visits {visits_where}
        GROUP BY visit_date, employee_code
        """,
        params,
    )
    cur.execute(f"DELETE FROM plan_day_summary {plans_where}", params)
    cur.execute(
        f"""
        INSERT INTO plan_day_summary
        WITH items AS (SELECT * FROM plan_items {plans_where}),
        done AS (
            SELECT DISTINCT employee_code, customer_code, visit_date
            FROM visits
            WHERE visit_date IN (SELECT DISTINCT plan_date FROM items)
        )
        SELECT i.plan_date, i.employee_code, count(*), count(d.employee_code)
        FROM items AS i
        LEFT JOIN done AS d ON d.employee_code = i.employee_code
                           AND d.customer_code = i.customer_code
                           AND d.visit_date = i.plan_date
        GROUP BY i.plan_date, i.employee_code
        """,
        params,
    )


def refresh_for_visits(cur: duckdb.DuckDBPyConnection, table: str) -> None:
    """Refresh the days of the visits staged in `table` (a name we own, never user text)."""
    rows = cur.execute(f"SELECT DISTINCT CAST(check_in_at AS DATE) FROM {table}").fetchall()
    refresh(cur, [r[0] for r in rows])


def ensure_built(db: Database) -> None:
    """Build the summaries of a database that has visits or plans but no summaries yet
    (an older file, or data loaded before the summaries existed)."""
    empty = db.scalar("SELECT count(*) FROM visit_day_summary") == 0 and db.scalar(
        "SELECT count(*) FROM plan_day_summary") == 0
    has_data = bool(db.scalar("SELECT EXISTS (SELECT 1 FROM visits) OR "
                              "EXISTS (SELECT 1 FROM plan_items)"))
    if empty and has_data:
        with db.transaction() as cur:
            refresh(cur, None)
