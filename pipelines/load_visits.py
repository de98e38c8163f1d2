"""Import step for visits: skip what is already stored, derive stay, deviations, validity.

A visit already in the database (by visit_id, or by employee, customer and check-in time
when it has none) is skipped and counted, so a resent file adds nothing. The same SQL
serves the demo generator, which stages its generated rows under the same names.
"""

from __future__ import annotations

from pipelines import derive, refresh
from pipelines.business_settings import BusinessSettings
from pipelines.context import WriteContext
from pipelines.coords import stage_wgs84
from pipelines.store import Cursor

VISIT_COLUMNS = (
    "visit_id", "employee_code", "customer_code", "check_in_at", "check_in_lon",
    "check_in_lat", "check_in_source", "check_out_at", "check_out_lon", "check_out_lat",
    "check_out_source",
)


def prepare_visits(cur: Cursor, settings: BusinessSettings) -> None:
    """Create `imp_new`: the staged visits that are not in the database yet (only the
    columns the insert reads: a ten-million-row file is not copied with its text).

    Stored visits are looked up by the staged keys, within the staged keys' range: the
    range lets DuckDB skip the row groups of other ids and times (zonemaps), and the
    join's hash table holds the file's keys, not the ten million stored ones.
    """
    stage_wgs84(cur, [("check_in_lon", "check_in_lat"), ("check_out_lon", "check_out_lat")])
    bounds = cur.execute("SELECT min(check_in_at), max(check_in_at), min(visit_id), "
                         "max(visit_id) FROM imp").fetchone()
    low, high, id_low, id_high = bounds if bounds else (None, None, None, None)
    cur.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE imp_new AS
        WITH stored_ids AS (
            SELECT visit_id FROM visits
            WHERE visit_id BETWEEN $id_low AND $id_high
              AND visit_id IN (SELECT visit_id FROM imp_wgs WHERE visit_id IS NOT NULL)
        )
        SELECT {", ".join(f"i.{c}" for c in VISIT_COLUMNS)} FROM imp_wgs AS i
        WHERE NOT (i.visit_id IS NOT NULL AND i.visit_id IN (SELECT visit_id FROM stored_ids))
          AND NOT (i.visit_id IS NULL AND EXISTS (
                      SELECT 1 FROM visits AS v
                      WHERE v.check_in_at BETWEEN $low AND $high
                        AND v.visit_id IS NULL
                        AND v.employee_code = i.employee_code
                        AND v.customer_code = i.customer_code
                        AND v.check_in_at = i.check_in_at))
        """,
        {"low": low, "high": high, "id_low": id_low, "id_high": id_high},
    )


def insert_new_visits(
    cur: Cursor, settings: BusinessSettings, import_id: int | None
) -> int:
    """Insert `imp_new` (columns VISIT_COLUMNS, WGS-84) into visits with derived columns."""
    cols = ", ".join(VISIT_COLUMNS)
    dev_in = derive.haversine_sql("check_in_lon", "check_in_lat", "cust_lon", "cust_lat")
    dev_out = derive.haversine_sql("check_out_lon", "check_out_lat", "cust_lon", "cust_lat")
    params: dict[str, object] = dict(derive.validity_params(settings))
    params["import_id"] = import_id
    cur.execute(
        f"""
        INSERT INTO visits ({cols}, visit_date, stay_minutes, check_in_deviation_m,
                            check_out_deviation_m, invalid_mask, import_id)
        SELECT {cols}, visit_date, stay_minutes, check_in_deviation_m, check_out_deviation_m,
               {derive.MASK_SQL}, $import_id
        FROM (
            SELECT n.*, CAST(n.check_in_at AS DATE) AS visit_date,
                   (epoch(n.check_out_at) - epoch(n.check_in_at)) / 60.0 AS stay_minutes,
                   {dev_in} AS check_in_deviation_m,
                   {dev_out} AS check_out_deviation_m
            FROM (SELECT {cols}, c.longitude AS cust_lon, c.latitude AS cust_lat
                  FROM imp_new LEFT JOIN customers AS c ON c.code = imp_new.customer_code) AS n
        )
        ORDER BY check_in_at
        """,
        params,
    )
    row = cur.fetchone()
    refresh.visits_added(cur, "imp_new")
    return int(row[0]) if row else 0


def write_visits(cur: Cursor, ctx: WriteContext) -> int:
    return insert_new_visits(cur, ctx.settings, ctx.import_id)
