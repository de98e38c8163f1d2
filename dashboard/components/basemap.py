"""The maps' offline base layer: provinces of China and East Asia's coastlines.

Map tiles come from the internet; on a closed network the map would be a blank square.
assets/basemap_china.json (Natural Earth, built by scripts/build_basemap.py) is drawn in
its own pane above the tiles and under the markers. Its URL carries the file's hash, so the
browser may keep it for a year (:func:`cache_versioned_assets`).
"""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path

import dash_leaflet as dl
from flask import Flask, Response, request

BASEMAP = Path(__file__).resolve().parents[1] / "assets" / "basemap_china.json"
PANE = "vl-base"
YEAR = 365 * 24 * 3600


@cache
def basemap_url() -> str:
    """The base layer's URL, versioned by the file's content."""
    digest = hashlib.sha256(BASEMAP.read_bytes()).hexdigest()[:16]
    return f"/assets/{BASEMAP.name}?v={digest}"


def base_layer() -> dl.Pane:
    """The base layer for a dl.Map's children (fetched by the browser, not in the layout)."""
    return dl.Pane(name=PANE, style={"zIndex": 250}, children=[
        dl.GeoJSON(url=basemap_url(), pane=PANE, style={"variable": "visitlens_map.baseStyle"},
                   onEachFeature={"variable": "visitlens_map.baseFeature"}),
    ])


def cache_versioned_assets(server: Flask) -> None:
    """Assets asked for with a version (?v=hash) never change: cache them for a year."""

    def long_cache(response: Response) -> Response:
        if request.path.startswith("/assets/") and request.args.get("v") \
                and response.status_code == 200:
            response.cache_control.no_cache = None
            response.cache_control.public = True
            response.cache_control.max_age = YEAR
            response.cache_control.immutable = True
        return response

    server.after_request(long_cache)
