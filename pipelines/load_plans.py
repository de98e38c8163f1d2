"""Import steps for visit plans and the holiday calendar.

Plan rows with the same employee, date and plan name form one plan, its items in file
order. A plan item (employee, date, customer) or a holiday date already stored is skipped.
"""

from __future__ import annotations

from pipelines import summaries
from pipelines.business_settings import BusinessSettings
from pipelines.context import WriteContext
from pipelines.store import Cursor


def prepare_plans(cur: Cursor, settings: BusinessSettings) -> None:
    cur.execute(
        """
        CREATE OR REPLACE TEMP TABLE imp_new AS
        SELECT i.* FROM imp AS i
        WHERE NOT EXISTS (SELECT 1 FROM plan_items AS p
                          WHERE p.employee_code = i.employee_code AND p.plan_date = i.date
                            AND p.customer_code = i.customer_code)
        """
    )


def write_plans(cur: Cursor, ctx: WriteContext) -> int:
    now = ctx.now
    # New plans: one per (employee, date, plan name) not stored yet, in file order.
    cur.execute(
        """
        INSERT INTO plans (plan_id, employee_code, plan_date, plan_name, route_name, created_at)
        SELECT nextval('seq_plan'), employee_code, date, plan_name, route_name, $now
        FROM (
            SELECT employee_code, date, plan_name, min(_row) AS first_row,
                   arg_min(route_name, _row) FILTER (WHERE route_name IS NOT NULL) AS route_name
            FROM imp_new GROUP BY ALL
        ) AS g
        WHERE NOT EXISTS (SELECT 1 FROM plans AS p WHERE p.employee_code = g.employee_code
                          AND p.plan_date = g.date AND p.plan_name = g.plan_name)
        ORDER BY first_row
        """,
        {"now": now},
    )
    cur.execute(
        """
        INSERT INTO plan_items (plan_id, position, employee_code, plan_date, customer_code)
        SELECT p.plan_id,
               coalesce((SELECT max(position) FROM plan_items AS x WHERE x.plan_id = p.plan_id), 0)
                 + row_number() OVER (PARTITION BY p.plan_id ORDER BY n._row),
               n.employee_code, n.date, n.customer_code
        FROM imp_new AS n
        JOIN plans AS p ON p.employee_code = n.employee_code AND p.plan_date = n.date
                       AND p.plan_name = n.plan_name
        """
    )
    row = cur.fetchone()
    days = [r[0] for r in cur.execute("SELECT DISTINCT date FROM imp_new").fetchall()]
    summaries.refresh(cur, days)
    return int(row[0]) if row else 0


def prepare_holidays(cur: Cursor, settings: BusinessSettings) -> None:
    cur.execute(
        "CREATE OR REPLACE TEMP TABLE imp_new AS SELECT * FROM imp "
        "WHERE date NOT IN (SELECT day FROM holidays)"
    )


def write_holidays(cur: Cursor, ctx: WriteContext) -> int:
    cur.execute("INSERT INTO holidays (day, kind, name) SELECT date, kind, name FROM imp_new")
    row = cur.fetchone()
    return int(row[0]) if row else 0
