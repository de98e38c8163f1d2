"""Daily summary tables: per employee and day, visits and plan items with their outcomes.

The employee reports (daily curves, KPIs, trend) read these small tables instead of ten
million visits. Every write path refreshes exactly the days it touched, inside its own
transaction, so the summaries never drift: visit imports and the phone API (the days of
the new visits), plan changes (the plans' days), validity refreshes (the days of the
affected visits, or all days after a settings change).

The customer reports read ``customer_day`` (visits per customer and day, by integer
customer id; see pipelines.membership) and the first / last / second-to-last visit day in
``customer_facts``. Visits are only ever added (never deleted, their day never changes),
so the visit import path (:func:`refresh_for_visits`) is the only one that moves them.
"""

from __future__ import annotations

import calendar
from collections.abc import Sequence
from datetime import date
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pipelines.store import Cursor


def refresh(cur: Cursor, days: Sequence[date] | None = None) -> None:
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


def refresh_for_visits(cur: Cursor, table: str) -> None:
    """Refresh the days of the visits staged in `table` (a name we own, never user text);
    call it through pipelines.refresh.visits_added, which gives their customers ids."""
    rows = cur.execute(f"SELECT DISTINCT CAST(check_in_at AS DATE) FROM {table}").fetchall()
    days = [r[0] for r in rows]
    refresh(cur, days)
    recount_employee_months(cur, days)
    _add_customer_days(cur, table)


def recount_employee_months(cur: Cursor,
                            days: Sequence[date] | None) -> None:
    """Recount employee_month for the months of these days (None = every month)."""
    if days is not None and len(days) == 0:
        return
    if days is None:
        cur.execute("DELETE FROM employee_month")
        where, params = "", None
    else:
        months = sorted({d.replace(day=1) for d in days})
        ends = [m.replace(day=calendar.monthrange(m.year, m.month)[1]) for m in months]
        params = {"months": months, "first": months[0], "last": ends[-1]}
        cur.execute("DELETE FROM employee_month WHERE month IN "
                    "(SELECT unnest($months::DATE[]))", {"months": months})
        where = ("WHERE visit_date BETWEEN $first AND $last AND date_trunc('month', "
                 "visit_date)::DATE IN (SELECT unnest($months::DATE[]))")
    cur.execute(f"""
        INSERT INTO employee_month (month, employee_code, customers_visited)
        SELECT date_trunc('month', visit_date)::DATE AS month, employee_code,
               count(DISTINCT customer_code)
        FROM visits {where}
        GROUP BY ALL
        ORDER BY month, employee_code
        """, params)


# The (customer, day) pairs touched by an import, and their months (temp tables we own).
_TOUCHED = "customer_days_touched"
_TOUCHED_MONTHS = "customer_months_touched"

# New first / last / second-to-last visit days of the customers in `days` (customer_id,
# day): one row per customer with its days; the caller restricts `days`.
_ENDS = """
    ends AS (
        SELECT customer_id, min(day) AS first_visit, max(day) AS last_visit
        FROM days GROUP BY customer_id
    )
    SELECT e.customer_id, e.first_visit, e.last_visit,
           max(d.day) FILTER (WHERE d.day < e.last_visit) AS prev_visit
    FROM ends AS e JOIN days AS d ON d.customer_id = e.customer_id
    GROUP BY e.customer_id, e.first_visit, e.last_visit
"""


def _add_customer_days(cur: Cursor, table: str) -> None:
    """Recount the (customer, day) pairs of the visits just inserted from `table`, and
    move their customers' first / last / second-to-last visit days. Their customers have
    ids already (pipelines.refresh.visits_added gives them first)."""
    cur.execute(f"""
        CREATE OR REPLACE TEMP TABLE {_TOUCHED} AS
        SELECT DISTINCT f.customer_id, s.customer_code, f.grade, f.deleted,
               CAST(s.check_in_at AS DATE) AS visit_date
        FROM {table} AS s
        LEFT JOIN customer_facts AS f ON f.customer_code = s.customer_code
        """)
    cur.execute(f"""DELETE FROM customer_day AS d USING {_TOUCHED} AS t
                    WHERE d.visit_date = t.visit_date AND d.customer_id = t.customer_id""")
    cur.execute(
        f"""
        INSERT INTO customer_day (visit_date, customer_id, grade, visits)
        SELECT t.visit_date, t.customer_id, any_value(t.grade), count(*)
        FROM visits AS v
        JOIN {_TOUCHED} AS t ON t.customer_code = v.customer_code
                             AND t.visit_date = v.visit_date
        WHERE v.visit_date IN (SELECT DISTINCT visit_date FROM {_TOUCHED}) AND NOT t.deleted
        GROUP BY t.visit_date, t.customer_id
        ORDER BY t.visit_date, t.customer_id
        """
    )
    _recount_months(cur)
    # Visits are only added: the new first / last / second-to-last days are among the
    # stored ones and the touched days.
    cur.execute(
        f"""
        UPDATE customer_facts AS f
        SET first_visit = n.first_visit, last_visit = n.last_visit, prev_visit = n.prev_visit
        FROM (
            WITH days AS (
                SELECT customer_id, visit_date AS day FROM {_TOUCHED}
                UNION
                SELECT customer_id, first_visit FROM customer_facts
                WHERE customer_id IN (SELECT customer_id FROM {_TOUCHED})
                  AND first_visit IS NOT NULL
                UNION
                SELECT customer_id, last_visit FROM customer_facts
                WHERE customer_id IN (SELECT customer_id FROM {_TOUCHED})
                  AND last_visit IS NOT NULL
                UNION
                SELECT customer_id, prev_visit FROM customer_facts
                WHERE customer_id IN (SELECT customer_id FROM {_TOUCHED})
                  AND prev_visit IS NOT NULL
            ),
            {_ENDS}
        ) AS n
        WHERE f.customer_id = n.customer_id
        """
    )
    cur.execute(f"DROP TABLE IF EXISTS {_TOUCHED}")


# A customer's month in customer_month, from its days in customer_day.
MONTH_OF_DAYS = """
    SELECT date_trunc('month', visit_date)::DATE AS month, customer_id,
           any_value(grade) AS grade, sum(visits)::INTEGER AS visits
    FROM customer_day
"""


def _recount_months(cur: Cursor) -> None:
    """Recount the customer_month rows of the (customer, month) pairs in _TOUCHED."""
    cur.execute(f"""CREATE OR REPLACE TEMP TABLE {_TOUCHED_MONTHS} AS
                    SELECT DISTINCT date_trunc('month', visit_date)::DATE AS month, customer_id
                    FROM {_TOUCHED} WHERE customer_id IS NOT NULL""")
    months = [r[0] for r in cur.execute(
        f"SELECT DISTINCT month FROM {_TOUCHED_MONTHS} ORDER BY month").fetchall()]
    if months:
        last = months[-1]
        cur.execute(f"""DELETE FROM customer_month AS m USING {_TOUCHED_MONTHS} AS t
                        WHERE m.month = t.month AND m.customer_id = t.customer_id""")
        cur.execute(f"""
            INSERT INTO customer_month (month, customer_id, grade, visits)
            SELECT t.month, d.customer_id, any_value(d.grade), sum(d.visits)::INTEGER
            FROM customer_day AS d
            JOIN {_TOUCHED_MONTHS} AS t
              ON t.customer_id = d.customer_id
             AND t.month = date_trunc('month', d.visit_date)::DATE
            WHERE d.visit_date BETWEEN $first AND $last
            GROUP BY t.month, d.customer_id
            ORDER BY t.month, d.customer_id
            """, {"first": months[0],
                  "last": last.replace(day=calendar.monthrange(last.year, last.month)[1])})
    cur.execute(f"DROP TABLE IF EXISTS {_TOUCHED_MONTHS}")


def rebuild_customer_days(cur: Cursor) -> None:
    """Recount visits per customer and day from scratch, and every customer's first /
    last / second-to-last visit day (deleted customers too: a restore needs them)."""
    cur.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE {_TOUCHED} AS
        SELECT v.visit_date, f.customer_id, any_value(f.grade) AS grade,
               any_value(f.deleted) AS deleted, count(*) AS visits
        FROM (SELECT visit_date, customer_code FROM visits) AS v
        JOIN customer_facts AS f ON f.customer_code = v.customer_code
        GROUP BY v.visit_date, f.customer_id
        """
    )
    cur.execute("DELETE FROM customer_day")
    cur.execute(f"""INSERT INTO customer_day (visit_date, customer_id, grade, visits)
                    SELECT visit_date, customer_id, grade, visits FROM {_TOUCHED}
                    WHERE NOT deleted ORDER BY visit_date, customer_id""")
    cur.execute("DELETE FROM customer_month")
    cur.execute(f"""INSERT INTO customer_month (month, customer_id, grade, visits)
                    {MONTH_OF_DAYS} GROUP BY ALL ORDER BY month, customer_id""")
    cur.execute(
        f"""
        UPDATE customer_facts AS f
        SET first_visit = n.first_visit, last_visit = n.last_visit, prev_visit = n.prev_visit
        FROM (
            WITH days AS (SELECT customer_id, visit_date AS day FROM {_TOUCHED}),
            {_ENDS}
        ) AS n
        WHERE f.customer_id = n.customer_id
        """
    )
    cur.execute(f"""UPDATE customer_facts SET first_visit = NULL, last_visit = NULL,
                        prev_visit = NULL
                    WHERE last_visit IS NOT NULL
                      AND customer_id NOT IN (SELECT customer_id FROM {_TOUCHED})""")
    cur.execute(f"DROP TABLE IF EXISTS {_TOUCHED}")
