"""Derived data: stay, deviations and validity of visits, and the department tree closure.

Reports never compute a great-circle distance: deviations are stored with each visit at
import and recomputed here when a customer's location changes; the validity bit mask is
recomputed when a setting it depends on changes (DESIGN.md section 2).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from pipelines.store import Cursor

EARTH_RADIUS_M = 6_371_008.8

# Invalid reasons, in the order DESIGN.md section 2 lists them; bit i = 1 << i.
REASONS: tuple[str, ...] = (
    "no_checkout",
    "short_stay",
    "no_checkin_location",
    "no_customer_location",
    "checkin_far",
    "checkout_far",
)
REASON_BIT = {name: 1 << i for i, name in enumerate(REASONS)}


def reasons_of(mask: int) -> list[str]:
    """The reason codes carried by an invalid_mask, in DESIGN order."""
    return [name for name in REASONS if mask & REASON_BIT[name]]


def haversine_sql(lon1: str, lat1: str, lon2: str, lat2: str) -> str:
    """SQL expression: great-circle distance in metres (NULL when any input is NULL)."""
    return (
        f"(2 * {EARTH_RADIUS_M} * asin(sqrt("
        f"pow(sin(radians({lat2} - {lat1}) / 2), 2) + "
        f"cos(radians({lat1})) * cos(radians({lat2})) * "
        f"pow(sin(radians({lon2} - {lon1}) / 2), 2))))"
    )


def _limit_sql(source_col: str) -> str:
    return (f"(CASE {source_col} WHEN 'net' THEN $lim_net WHEN 'cell' THEN $lim_cell "
            "ELSE $lim_gps END)")


# The invalid_mask of a visit row; needs columns of `visits` plus cust_lon / cust_lat and
# the parameters of validity_params().
MASK_SQL = f"""(
    (CASE WHEN check_out_at IS NULL THEN 1 ELSE 0 END)
  | (CASE WHEN stay_minutes IS NOT NULL AND stay_minutes < $min_stay THEN 2 ELSE 0 END)
  | (CASE WHEN check_in_lon IS NULL THEN 4 ELSE 0 END)
  | (CASE WHEN cust_lon IS NULL THEN 8 ELSE 0 END)
  | (CASE WHEN check_in_deviation_m > {_limit_sql("check_in_source")} THEN 16 ELSE 0 END)
  | (CASE WHEN check_out_deviation_m > {_limit_sql("check_out_source")} THEN 32 ELSE 0 END)
)::UTINYINT"""


class ValidityLimits(Protocol):
    """The settings validity depends on (pipelines.business_settings.BusinessSettings has
    them; named here so that derive does not depend on where settings are kept)."""

    @property
    def min_valid_stay_minutes(self) -> float: ...

    @property
    def deviation_limit_net_m(self) -> float: ...

    @property
    def deviation_limit_cell_m(self) -> float: ...

    @property
    def deviation_limit_gps_m(self) -> float: ...


def validity_params(settings: ValidityLimits) -> dict[str, float]:
    return {
        "min_stay": float(settings.min_valid_stay_minutes),
        "lim_net": float(settings.deviation_limit_net_m),
        "lim_cell": float(settings.deviation_limit_cell_m),
        "lim_gps": float(settings.deviation_limit_gps_m),
    }


def refresh_validity(
    cur: Cursor,
    settings: ValidityLimits,
    customer_codes: Sequence[str] | None = None,
) -> None:
    """Recompute deviations (when customers are given) and invalid_mask of visits; the
    summaries follow through pipelines.refresh.validity_changed.

    Args:
        cur: a cursor inside the caller's write transaction.
        settings: the settings to apply.
        customer_codes: only the visits of these customers (after a location change);
            None = every visit (after a settings change).
    """
    where = "" if customer_codes is None else "AND v.customer_code IN (SELECT unnest($codes))"
    params: dict[str, object] = dict(validity_params(settings))
    if customer_codes is not None:
        params["codes"] = list(customer_codes)
        dev_in = haversine_sql("v.check_in_lon", "v.check_in_lat", "c.longitude", "c.latitude")
        dev_out = haversine_sql("v.check_out_lon", "v.check_out_lat", "c.longitude",
                                "c.latitude")
        cur.execute(
            f"""
            UPDATE visits AS v SET
                check_in_deviation_m = {dev_in},
                check_out_deviation_m = {dev_out}
            FROM customers AS c
            WHERE c.code = v.customer_code {where}
            """,
            {"codes": params["codes"]},
        )
    cur.execute(
        f"""
        UPDATE visits AS v SET invalid_mask = m.mask
        FROM (
            SELECT v.rowid AS rid, {MASK_SQL} AS mask
            FROM visits AS v
            LEFT JOIN (SELECT code, longitude AS cust_lon FROM customers) AS c
                ON c.code = v.customer_code
            WHERE true {where}
        ) AS m
        WHERE v.rowid = m.rid AND v.invalid_mask <> m.mask
        """,
        params,
    )


def refresh_department_tree(cur: Cursor) -> None:
    """Rebuild the (ancestor, descendant, depth) closure of the department tree."""
    cur.execute("DELETE FROM department_tree")
    cur.execute(
        """
        INSERT INTO department_tree
        WITH RECURSIVE walk(ancestor_code, descendant_code, depth) AS (
            SELECT code, code, 0 FROM departments
            UNION ALL
            SELECT d.parent_code, w.descendant_code, w.depth + 1
            FROM walk AS w JOIN departments AS d ON d.code = w.ancestor_code
            WHERE d.parent_code IS NOT NULL AND w.depth < 64
        )
        SELECT ancestor_code, descendant_code, depth FROM walk
        """
    )
