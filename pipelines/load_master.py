"""Import steps for master data: departments, employees, customers.

Each step reads the staged relation `imp` (validate.stage) inside the caller's
transaction. Codes that already exist were refused by detect, so every row is new.
"""

from __future__ import annotations

from pipelines import derive, membership
from pipelines.business_settings import BusinessSettings
from pipelines.context import WriteContext
from pipelines.coords import stage_wgs84
from pipelines.store import Cursor


def prepare_departments(cur: Cursor, settings: BusinessSettings) -> None:
    cur.execute("CREATE OR REPLACE TEMP TABLE imp_new AS SELECT * FROM imp")


def write_departments(cur: Cursor, ctx: WriteContext) -> int:
    cur.execute(
        "INSERT INTO departments (code, name, parent_code, created_at) "
        "SELECT code, name, parent_code, ? FROM imp_new ORDER BY _row",
        [ctx.now],
    )
    inserted = _count(cur)
    derive.refresh_department_tree(cur)
    return inserted


def prepare_employees(cur: Cursor, settings: BusinessSettings) -> None:
    cur.execute("CREATE OR REPLACE TEMP TABLE imp_new AS SELECT * FROM imp")


def write_employees(cur: Cursor, ctx: WriteContext) -> int:
    cur.execute(
        "INSERT INTO employees (code, name, department_code, status, created_at) "
        "SELECT code, name, department_code, coalesce(status, 'active'), ? "
        "FROM imp_new ORDER BY _row",
        [ctx.now],
    )
    return _count(cur)


def prepare_customers(cur: Cursor, settings: BusinessSettings) -> None:
    stage_wgs84(cur, [("longitude", "latitude")])
    cur.execute("CREATE OR REPLACE TEMP TABLE imp_new AS SELECT * FROM imp_wgs")


def write_customers(cur: Cursor, ctx: WriteContext) -> int:
    now = ctx.now
    cur.execute(
        """
        INSERT INTO customers (code, name, grade, address, longitude, latitude, contact, phone,
                               department_code, note, created_at, updated_at, updated_by)
        SELECT code, name, grade, address, longitude, latitude, contact, phone,
               department_code, note, $now, $now, $user
        FROM imp_new ORDER BY _row
        """,
        {"now": now, "user": ctx.username},
    )
    inserted = _count(cur)
    cur.execute(
        """
        INSERT INTO bindings (employee_code, customer_code, created_at)
        SELECT DISTINCT trim(o.c), i.code, $now
        FROM imp_new AS i, unnest(string_split(replace(i.owner_codes, '；', ';'), ';')) AS o(c)
        WHERE i.owner_codes IS NOT NULL AND trim(o.c) <> ''
        """,
        {"now": now},
    )
    membership.refresh_staged(cur, "imp_new")  # ids, memberships and owners of the new rows
    return inserted


def _count(cur: Cursor) -> int:
    row = cur.fetchone()
    return int(row[0]) if row else 0
