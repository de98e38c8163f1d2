"""Convert the staged import's GCJ-02 / BD-09 coordinates to WGS-84 (view `imp_wgs`)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa

from pipelines import geo
from pipelines.formats import ROW
from pipelines.store import Cursor


def stage_wgs84(cur: Cursor, pairs: Sequence[tuple[str, str]]) -> None:
    """Create the view `imp_wgs`: `imp` with each (lon, lat) pair in WGS-84.

    Only the rows whose coord_system is gcj02 or bd09 leave DuckDB, as numpy arrays.
    """
    cols = ", ".join(f'"{c}"' for pair in pairs for c in pair)
    table = cur.sql(
        f"""SELECT "{ROW}", coord_system, {cols} FROM imp
            WHERE coord_system IN ('gcj02', 'bd09')"""
    ).to_arrow_table()
    if table.num_rows == 0:
        cur.execute("CREATE OR REPLACE TEMP VIEW imp_wgs AS SELECT * FROM imp")
        return
    system = np.asarray(table.column("coord_system").to_pylist(), dtype=object)
    converted: dict[str, pa.Array] = {ROW: table.column(ROW)}
    for lon_col, lat_col in pairs:
        lon = table.column(lon_col).to_numpy(zero_copy_only=False).astype(float)
        lat = table.column(lat_col).to_numpy(zero_copy_only=False).astype(float)
        out_lon, out_lat = lon.copy(), lat.copy()
        for name in ("gcj02", "bd09"):
            mask = (system == name) & ~np.isnan(lon) & ~np.isnan(lat)
            if mask.any():
                out_lon[mask], out_lat[mask] = geo.to_wgs84(lon[mask], lat[mask], name)
        converted[lon_col] = pa.array(out_lon, from_pandas=True)
        converted[lat_col] = pa.array(out_lat, from_pandas=True)
    cur.register("imp_conv", pa.table(converted))
    replaced = ", ".join(f'coalesce(c."{col}", i."{col}") AS "{col}"' for pair in pairs
                         for col in pair)
    cur.execute(
        f"""CREATE OR REPLACE TEMP VIEW imp_wgs AS
            SELECT i.* REPLACE ({replaced})
            FROM imp AS i LEFT JOIN imp_conv AS c USING ("{ROW}")"""
    )
