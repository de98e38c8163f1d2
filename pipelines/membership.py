"""Customer-side derived tables: integer customer keys, department memberships, owners.

The customer reports (frequency pie, grades, visited summary, customer list, map) group a
million customers and ten million visits. Joining on customer codes (text) costs most of
their time, so these small tables give every customer a dense integer id and copy in what
the reports filter and group by:

- ``customer_facts``: one row per customer (deleted ones too): id, code, name, address,
  department, phone, last change, grade, deleted, location, how many direct owners, and
  first / last / second-to-last visit day (these three kept by pipelines.summaries with
  ``customer_day``, the visits per customer and day of non-deleted customers, and
  ``customer_month``, the same per calendar month).
- ``customer_membership``: (department, customer) for every department whose population
  holds the customer (DESIGN.md section 2: assigned to its subtree, or bound directly to
  one of its employees), so a subtree's population is one filtered scan. Non-deleted only.
- ``employee_customers``: (employee, customer) direct bindings of non-deleted customers;
  shares are read from ``shares`` at query time (a handful of rows).

Every write that changes customers, bindings or an employee's department calls
:func:`refresh_customers` or :func:`refresh_employees` inside its own transaction. Ids never
change once given, so the per-day visit counts stay valid when a customer is edited.
:func:`pipelines.refresh.ensure_current` rebuilds everything when a file was changed
behind the app's back (counts that do not match, :func:`is_stale`). It runs when a store
is opened (:func:`pipelines.upgrade.upgrade`: app start, every command, a restore), never
on a report's read path; code that writes these tables by hand (test fixtures) calls it
afterwards. This module calls no other that keeps derived data (pipelines.refresh orders
them).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pipelines.store import Cursor, Store

# The customers to refresh are staged in this temp table (a name we own, never user text).
_STAGE = "membership_codes"

# What the archive's quick search scans: one lower-case text per customer, the fields
# joined by the unit separator (never typed, and stripped from searches) so that a search
# cannot match across two fields.
SEARCH_SEPARATOR = chr(31)
_SEARCH_TEXT = ("lower(concat_ws(chr(31), c.code, coalesce(c.name, ''), coalesce(c.phone, ''), "
                "coalesce(c.address, '')))")

# One statement per step; each reads the staged codes (all customers for a rebuild).
_UPSERT_FACTS = f"""
    INSERT INTO customer_facts (customer_id, customer_code, name, address, department_code,
                                phone, updated_at, grade, deleted, longitude, latitude,
                                owners, search_text)
    SELECT (SELECT coalesce(max(customer_id), 0) FROM customer_facts)
               + row_number() OVER (ORDER BY c.code),
           c.code, c.name, c.address, c.department_code, c.phone, c.updated_at, c.grade,
           c.deleted, c.longitude, c.latitude, 0, {_SEARCH_TEXT}
    FROM customers AS c
    WHERE c.code IN (SELECT code FROM {_STAGE})
      AND c.code NOT IN (SELECT customer_code FROM customer_facts
                         WHERE customer_code IN (SELECT code FROM {_STAGE}))
"""

_UPDATE_FACTS = f"""
    UPDATE customer_facts AS f
    SET name = n.name, address = n.address, department_code = n.department_code,
        phone = n.phone, updated_at = n.updated_at, grade = n.grade, deleted = n.deleted,
        longitude = n.longitude, latitude = n.latitude, owners = n.owners,
        search_text = n.search_text
    FROM (SELECT c.code, c.name, c.address, c.department_code, c.phone, c.updated_at,
                 c.grade, c.deleted,
                 c.longitude, c.latitude, {_SEARCH_TEXT} AS search_text,
                 coalesce(o.owners, 0) AS owners
          FROM customers AS c
          LEFT JOIN (SELECT customer_code, count(*) AS owners FROM bindings
                     WHERE customer_code IN (SELECT code FROM {_STAGE})
                     GROUP BY customer_code) AS o ON o.customer_code = c.code
          WHERE c.code IN (SELECT code FROM {_STAGE})) AS n
    WHERE n.code = f.customer_code
"""

_INSERT_MEMBERSHIP = f"""
    INSERT INTO customer_membership (department_code, customer_id, grade)
    WITH direct AS (
        SELECT c.code AS customer_code, c.department_code
        FROM customers AS c
        WHERE c.department_code IS NOT NULL AND NOT c.deleted
          AND c.code IN (SELECT code FROM {_STAGE})
        UNION
        SELECT b.customer_code, e.department_code
        FROM bindings AS b
        JOIN employees AS e ON e.code = b.employee_code
        JOIN customers AS c ON c.code = b.customer_code
        WHERE NOT c.deleted AND b.customer_code IN (SELECT code FROM {_STAGE})
    )
    SELECT DISTINCT t.ancestor_code, f.customer_id, f.grade
    FROM direct AS d
    JOIN department_tree AS t ON t.descendant_code = d.department_code
    JOIN customer_facts AS f ON f.customer_code = d.customer_code
    ORDER BY t.ancestor_code, f.customer_id
"""

_INSERT_OWNERS = f"""
    INSERT INTO employee_customers (employee_code, customer_id, grade)
    SELECT b.employee_code, f.customer_id, f.grade
    FROM bindings AS b
    JOIN customer_facts AS f ON f.customer_code = b.customer_code
    WHERE NOT f.deleted AND b.customer_code IN (SELECT code FROM {_STAGE})
    ORDER BY b.employee_code, f.customer_id
"""


# customer_day holds non-deleted customers only (no report counts a deleted one): a
# deletion drops its rows, a restore (a customer with visits but no rows) recounts them.
_DROP_DELETED_DAYS = f"""
    DELETE FROM customer_day WHERE customer_id IN (
        SELECT customer_id FROM customer_facts
        WHERE deleted AND customer_code IN (SELECT code FROM {_STAGE}))
"""

_RESTORED_DAYS = f"""
    INSERT INTO customer_day (visit_date, customer_id, grade, visits)
    WITH restored AS (
        SELECT customer_id, customer_code, grade FROM customer_facts
        WHERE NOT deleted AND last_visit IS NOT NULL
          AND customer_code IN (SELECT code FROM {_STAGE})
          AND customer_id NOT IN (
              SELECT customer_id FROM customer_day WHERE customer_id IN (
                  SELECT customer_id FROM customer_facts
                  WHERE customer_code IN (SELECT code FROM {_STAGE})))
    )
    SELECT v.visit_date, r.customer_id, any_value(r.grade), count(*)
    FROM visits AS v
    JOIN restored AS r ON r.customer_code = v.customer_code
    GROUP BY v.visit_date, r.customer_id
    ORDER BY v.visit_date, r.customer_id
"""

# customer_month follows customer_day (pipelines.summaries keeps it for imports).
_DROP_DELETED_MONTHS = _DROP_DELETED_DAYS.replace("customer_day", "customer_month")

_RESTORED_MONTHS = f"""
    INSERT INTO customer_month (month, customer_id, grade, visits)
    SELECT date_trunc('month', visit_date)::DATE AS month, customer_id,
           any_value(grade) AS grade, sum(visits)::INTEGER AS visits
    FROM customer_day
    WHERE customer_id IN (SELECT customer_id FROM customer_facts
                          WHERE NOT deleted AND customer_code IN (SELECT code FROM {_STAGE}))
      AND customer_id NOT IN (
          SELECT customer_id FROM customer_month WHERE customer_id IN (
              SELECT customer_id FROM customer_facts
              WHERE customer_code IN (SELECT code FROM {_STAGE})))
    GROUP BY ALL
    ORDER BY month, customer_id
"""

_UPDATE_DAY_GRADES = f"""
    UPDATE customer_day AS d SET grade = f.grade
    FROM (SELECT customer_id, grade FROM customer_facts
          WHERE customer_code IN (SELECT code FROM {_STAGE})) AS f
    WHERE d.customer_id = f.customer_id AND d.grade IS DISTINCT FROM f.grade
"""
_UPDATE_MONTH_GRADES = _UPDATE_DAY_GRADES.replace("customer_day", "customer_month")


def _stage(cur: Cursor, codes: Iterable[str] | None,
           table: str | None = None) -> None:
    if codes is None:
        source = table or "customers"
        cur.execute(f"CREATE OR REPLACE TEMP TABLE {_STAGE} AS SELECT DISTINCT code FROM {source}")
    else:
        cur.execute(f"CREATE OR REPLACE TEMP TABLE {_STAGE} AS "
                    "SELECT DISTINCT unnest($codes::VARCHAR[]) AS code",
                    {"codes": sorted(set(codes))})


def _apply(cur: Cursor, everything: bool) -> None:
    """Recompute the staged customers' facts, memberships and owners."""
    cur.execute(_UPSERT_FACTS)
    cur.execute(_UPDATE_FACTS)
    if everything:
        cur.execute("DELETE FROM customer_membership")
        cur.execute("DELETE FROM employee_customers")
    else:
        cur.execute(f"""DELETE FROM customer_membership WHERE customer_id IN (
                           SELECT customer_id FROM customer_facts
                           WHERE customer_code IN (SELECT code FROM {_STAGE}))""")
        cur.execute(f"""DELETE FROM employee_customers WHERE customer_id IN (
                           SELECT customer_id FROM customer_facts
                           WHERE customer_code IN (SELECT code FROM {_STAGE}))""")
    cur.execute(_INSERT_MEMBERSHIP)
    cur.execute(_INSERT_OWNERS)
    if not everything:  # a rebuild recounts customer_day afterwards
        for statement in (_DROP_DELETED_DAYS, _RESTORED_DAYS, _UPDATE_DAY_GRADES,
                          _DROP_DELETED_MONTHS, _RESTORED_MONTHS, _UPDATE_MONTH_GRADES):
            cur.execute(statement)
    cur.execute(f"DROP TABLE IF EXISTS {_STAGE}")


def refresh_customers(cur: Cursor, codes: Iterable[str]) -> None:
    """Bring these customers' rows up to date (after an add, edit, delete, restore, bind,
    unbind or department assignment), inside the caller's transaction."""
    wanted = list(codes)
    if not wanted:
        return
    _stage(cur, wanted)
    _apply(cur, everything=False)


def refresh_staged(cur: Cursor, table: str) -> None:
    """refresh_customers for the codes in column `code` of `table` (a staged import: a
    name we own, never user text), without passing a million codes as a parameter."""
    _stage(cur, None, table)
    _apply(cur, everything=False)


def refresh_employees(cur: Cursor, employee_codes: Iterable[str]) -> None:
    """After an employee's department changed: refresh every customer bound to them."""
    rows = cur.execute(
        "SELECT DISTINCT customer_code FROM bindings "
        "WHERE employee_code IN (SELECT unnest($codes::VARCHAR[]))",
        {"codes": sorted(set(employee_codes))}).fetchall()
    refresh_customers(cur, [r[0] for r in rows])


def rebuild(cur: Cursor) -> None:
    """Recompute every customer's rows (ids kept), inside the caller's transaction.

    About a second for a million customers; used for new and upgraded files, the demo
    generator and files changed outside the app. The visit columns of customer_facts are
    rebuilt by pipelines.summaries.
    """
    _stage(cur, None)
    _apply(cur, everything=True)


_STALE_SQL = """
    SELECT (SELECT count(*) FROM customers) <> (SELECT count(*) FROM customer_facts)
        OR (SELECT count(*) FROM customers WHERE deleted)
           <> (SELECT count(*) FROM customer_facts WHERE deleted)
        OR (SELECT count(*) FROM bindings)
           <> (SELECT coalesce(sum(owners), 0) FROM customer_facts)
"""


def is_stale(db: Store) -> bool:
    """Whether customers, deletions or bindings were written without a refresh (rows
    written by hand, a file changed behind the app's back); a few milliseconds."""
    return bool(db.scalar(_STALE_SQL))


def is_stale_on(cur: Cursor) -> bool:
    """:func:`is_stale`, inside the caller's transaction."""
    row = cur.execute(_STALE_SQL).fetchone()
    return bool(row and row[0])
