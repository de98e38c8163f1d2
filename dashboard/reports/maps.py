"""The customer map's data: scoped customers in the visible box, binned on the server.

At most MAX_MARKERS customers travel one by one; beyond that DuckDB bins the box into
square cells sized for the zoom (about 64 screen pixels) and only the cells travel, so a
region of the large demo (hundreds of thousands of customers) stays a few kilobytes.
Coordinates are stored in WGS-84; when the tiles are a Chinese provider's (GCJ-02) the
points are shifted for display and the visible box is shifted back for the query.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from dashboard.reports import metrics
from dashboard.reports.filters import FilterError, Filters
from dashboard.reports.metrics import params_for
from dashboard.reports.sql import query
from dashboard.scope import Scope
from pipelines import geo
from pipelines.store import Store

MAX_MARKERS = 800
CELL_PIXELS = 64
CLUSTER_PIXELS = 40  # the widest cluster icon (assets/visitlens_map.js): never overlapping
PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b",
           "#e377c2", "#bcbd22", "#7f7f7f", "#393b79", "#637939")
RECENCY_COLOURS = ("#2ca02c", "#f59e0b", "#d62728")  # visited / overdue / never
MAX_MAP_EMPLOYEES = len(PALETTE)


@dataclass(frozen=True)
class Box:
    """A map box in degrees (west < east, south < north)."""

    west: float
    south: float
    east: float
    north: float

    @classmethod
    def from_leaflet(cls, bounds: Any) -> Box:
        """From dash-leaflet's [[south, west], [north, east]] (browser input: checked)."""
        try:
            (south, west), (north, east) = bounds
            values = [float(v) for v in (west, south, east, north)]
        except (TypeError, ValueError):
            raise FilterError("bad map bounds") from None
        if not all(np.isfinite(values)):
            raise FilterError("bad map bounds")
        west, south, east, north = values
        west, east = max(-180.0, min(west, east)), min(180.0, max(west, east))
        south, north = max(-90.0, min(south, north)), min(90.0, max(south, north))
        return cls(west, south, east, north)

    def to_wgs84(self, coords: str) -> Box:
        """The box in WGS-84 for querying (display coordinates may be GCJ-02)."""
        if coords != "gcj02":
            return self
        lons, lats = geo.gcj02_to_wgs84([self.west, self.east], [self.south, self.north])
        margin = 0.01  # the shift is under 1 km; never lose a point at the edge
        return Box(float(lons[0]) - margin, float(lats[0]) - margin,
                   float(lons[1]) + margin, float(lats[1]) + margin)


@dataclass(frozen=True)
class MapSelection:
    """What the map shows: filters, frequency buckets, grades and the colouring."""

    filters: Filters
    buckets: tuple[str, ...] = ()
    grades: tuple[str, ...] = ()
    unrated: bool = False
    by_employee: bool = True


def _params(db: Store, scope: Scope, selection: MapSelection) -> dict[str, Any]:
    if len(selection.filters.employees) > MAX_MAP_EMPLOYEES:
        raise FilterError(f"at most {MAX_MAP_EMPLOYEES} employees can be shown at once")
    params = metrics.population_params(db, scope, selection.filters, selection.buckets)
    params["employees"] = list(selection.filters.employees)  # in selection order (colours)
    params["grades"] = list(selection.grades)
    params["unrated"] = selection.unrated
    params["grade_filter"] = bool(selection.grades) or selection.unrated
    return params


def _display(lons: Any, lats: Any, coords: str) -> tuple[np.ndarray, np.ndarray]:
    lon, lat = np.asarray(lons, float), np.asarray(lats, float)
    if coords == "gcj02" and lon.size:
        return geo.wgs84_to_gcj02(lon, lat)
    return lon, lat


def cell_degrees(zoom: int) -> float:
    """The bin size for a zoom level: about CELL_PIXELS screen pixels (256-pixel tiles)."""
    return 360.0 / float(2 ** max(0, min(zoom, 22))) / 256 * CELL_PIXELS


def _inside_cell(mean: Any, cell_index: Any, zoom: int) -> Any:
    """A cluster's place: its customers' mean, kept in the middle of its cell.

    Each cluster stays within (CELL_PIXELS - CLUSTER_PIXELS) / 2 pixels of its cell's
    centre, so two clusters are always at least CLUSTER_PIXELS apart and no icon hides
    another's count (issue 15 item 12); at most a dozen pixels from the true mean.
    """
    cell = cell_degrees(zoom)
    margin = (1 - CLUSTER_PIXELS / CELL_PIXELS) / 2
    centre = (cell_index + 0.5) * cell
    return np.clip(mean, centre - margin * cell, centre + margin * cell)


def layer(db: Store, scope: Scope, selection: MapSelection, box: Box, zoom: int,
          coords: str = "wgs84") -> dict[str, Any]:
    """GeoJSON for the box: single customers when few enough, else binned cells.

    Returns {"type": "FeatureCollection", "features": [...], "customers": n, "mode":
    "markers"|"cells"}; each feature's properties say kind, colour key(s) and counts.
    """
    by_employee = selection.by_employee and bool(selection.filters.employees)
    where = box.to_wgs84(coords)
    params = _params(db, scope, selection) | {
        "west": where.west, "south": where.south, "east": where.east, "north": where.north}
    cells = query(db, "map_cells", params_for("map_cells", params | {
        "cell": cell_degrees(zoom), "colour_by_employee": by_employee}))
    total = int(cells["customers"].sum()) if len(cells) else 0
    if total <= MAX_MARKERS:
        points = query(db, "map_points", params_for("map_points", params | {"limit": MAX_MARKERS}))
        lon, lat = _display(points["lon"], points["lat"], coords)
        features = []
        for i, row in enumerate(points.to_dict("records")):
            key = row["emp_index"] if by_employee else row["recency"]
            last = row["last_visit"]
            features.append({"type": "Feature",
                             "geometry": {"type": "Point",
                                          "coordinates": [round(float(lon[i]), 6),
                                                          round(float(lat[i]), 6)]},
                             "properties": {
                                 "kind": "customer", "key": int(key),
                                 "code": row["customer_code"], "name": row["name"],
                                 "grade": row["grade"], "address": row["address"],
                                 "owners": row["owners"], "visits": int(row["visits"]),
                                 "last_visit": None if last is None or last != last
                                 else str(last)[:10]}})
        return {"type": "FeatureCollection", "features": features, "customers": total,
                "mode": "markers"}
    merged = cells.groupby(["gx", "gy"], sort=False)
    totals = merged["customers"].sum()
    lon_mean = (cells["lon"] * cells["customers"]).groupby([cells["gx"], cells["gy"]]).sum() \
        / totals
    lat_mean = (cells["lat"] * cells["customers"]).groupby([cells["gx"], cells["gy"]]).sum() \
        / totals
    keys = cells.groupby(["gx", "gy", "colour_key"])["customers"].sum()
    # The means come back sorted by cell; the totals in order of appearance: align them,
    # or a cluster is drawn at another cluster's place.
    lon_mean, lat_mean = lon_mean.reindex(totals.index), lat_mean.reindex(totals.index)
    gx = totals.index.get_level_values(0).to_numpy(dtype=float)
    gy = totals.index.get_level_values(1).to_numpy(dtype=float)
    lon, lat = _display(_inside_cell(lon_mean.to_numpy(), gx, zoom),
                        _inside_cell(lat_mean.to_numpy(), gy, zoom), coords)
    features = []
    for i, cell in enumerate(totals.index):
        by_key = keys.loc[cell]
        features.append({"type": "Feature",
                         "geometry": {"type": "Point",
                                      "coordinates": [round(float(lon[i]), 5),
                                                      round(float(lat[i]), 5)]},
                         "properties": {"kind": "cluster", "count": int(totals.loc[cell]),
                                        "keys": {str(int(k)): int(n)
                                                 for k, n in by_key.items()}}})
    return {"type": "FeatureCollection", "features": features, "customers": total,
            "mode": "cells"}


def extent(db: Store, scope: Scope, selection: MapSelection,
           coords: str = "wgs84") -> Box | None:
    """The box around the selection's located customers (None when there are none)."""
    world = {"west": -180.0, "south": -90.0, "east": 180.0, "north": 90.0}
    found = query(db, "map_extent", params_for("map_extent", _params(db, scope, selection) | world)
                  ).iloc[0]
    if not found["customers"]:
        return None
    lon, lat = _display([found["west"], found["east"]], [found["south"], found["north"]],
                        coords)
    return Box(float(lon[0]), float(lat[0]), float(lon[1]), float(lat[1]))
