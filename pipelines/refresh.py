"""Derived tables brought in step after a write, in one order: derive → summaries →
membership.

Three modules keep derived data, and none of them calls another; this one orders them:

1. :mod:`pipelines.derive` — each visit's deviations and validity (``invalid_mask``);
2. :mod:`pipelines.summaries` — the daily and monthly counts, which count valid visits, so
   they follow validity;
3. :mod:`pipelines.membership` — each customer's integer id, memberships and owners; the
   per-customer visit counts of the summaries are keyed by that id, so a customer gets
   its id before its visits are counted.

Every function runs inside the caller's write transaction (``cur``), so the derived
tables change together with the data they derive from.
"""

from __future__ import annotations

from collections.abc import Sequence

from pipelines import derive, membership, summaries
from pipelines.store import Cursor, Store


def validity_changed(cur: Cursor, settings: derive.ValidityLimits,
                     customer_codes: Sequence[str] | None = None) -> None:
    """After a customer moved (its visits' deviations change) or a validity setting
    changed (`customer_codes` None: every visit): validity, then the summaries of the
    affected days."""
    derive.refresh_validity(cur, settings, customer_codes)
    if customer_codes is None:
        summaries.refresh(cur, None)
        return
    days = cur.execute(
        "SELECT DISTINCT visit_date FROM visits WHERE customer_code IN "
        "(SELECT unnest($codes::VARCHAR[]))", {"codes": list(customer_codes)}).fetchall()
    summaries.refresh(cur, [d[0] for d in days])


def visits_added(cur: Cursor, table: str) -> None:
    """After the visits staged in `table` (a name we own, never user text) were inserted:
    ids for their customers that have none yet (written without a refresh), then the
    summaries of their days and customers."""
    missing = cur.execute(
        f"""SELECT DISTINCT s.customer_code FROM {table} AS s
            LEFT JOIN customer_facts AS f ON f.customer_code = s.customer_code
            WHERE f.customer_id IS NULL""").fetchall()
    if missing:
        membership.refresh_customers(cur, [r[0] for r in missing])
    summaries.refresh_for_visits(cur, table)


def rebuild(cur: Cursor) -> None:
    """Recompute every derived customer and summary table from the data (customer ids
    kept): a database from before versioned migrations, or one changed behind the app's
    back."""
    membership.rebuild(cur)
    summaries.refresh(cur, None)
    summaries.recount_employee_months(cur, None)
    summaries.rebuild_customer_days(cur)


def ensure_current(db: Store) -> None:
    """Rebuild the customer tables and the per-customer visit counts when customers,
    deletions or bindings were written without a refresh (rows written by hand, a file
    changed behind the app's back); a few milliseconds when they are in step."""
    if not membership.is_stale(db):
        return
    with db.transaction() as cur:
        if membership.is_stale_on(cur):
            membership.rebuild(cur)
            summaries.rebuild_customer_days(cur)
