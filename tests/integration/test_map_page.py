"""The map callback over real HTTP: binning for the box, markers close in, forged
employees get no points, and answers stay small. Data: tests/datasets.build_map."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from dashboard.components import ids
from tests.dash_client import DashClient, key
from tests.datasets import build_map
from tests.live import LiveServer, dash_client, database_file, live_server

PAGE = "map"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    path = tmp_path_factory.mktemp("map") / "map.duckdb"
    database_file(path, build_map)
    with live_server(path) as running:
        yield running



def draw(dash: DashClient, bounds: list[list[float]], zoom: int,
         employees: list[str] | None = None, colour: str = "employee") -> dict[str, Any]:
    response = dash.call(ids.MAP_POINTS, "data", {
        key(ids.filter_department(PAGE), "value"): None,
        key(ids.filter_dates(PAGE), "start_date"): "2024-05-01",
        key(ids.filter_dates(PAGE), "end_date"): "2024-05-31",
        key(ids.filter_employees(PAGE), "value"): employees or [],
        key(ids.MAP_GRADES, "value"): [], key(ids.MAP_BUCKETS, "data"): [],
        key(ids.MAP_COLOUR, "value"): colour,
        key(ids.MAP, "bounds"): bounds, key(ids.MAP, "zoom"): zoom},
        changed=(ids.MAP, "bounds"))
    assert response.status_code == 200, response.text
    assert len(response.content) < 500_000
    return dash.outputs(response)


def test_city_is_binned_and_close_in_shows_markers(server: LiveServer) -> None:
    east = dash_client(server, "east", "password-1")
    city = draw(east, [[31.0, 121.2], [31.3, 121.7]], 11, ["E1", "E2"])
    layer = city[f"{ids.MAP_POINTS}.data"]
    assert layer["mode"] == "cells" and layer["customers"] == 1200
    assert sum(f["properties"]["count"] for f in layer["features"]) == 1200
    hideout = city[f"{ids.MAP_POINTS}.hideout"]
    assert hideout["by_employee"] and hideout["key_names"] == {"1": "张一 (E1)",
                                                               "2": "李二 (E2)"}
    close = draw(east, [[31.10, 121.30], [31.13, 121.36]], 15, ["E1", "E2"])
    markers = close[f"{ids.MAP_POINTS}.data"]
    assert markers["mode"] == "markers" and 0 < len(markers["features"]) <= 800
    assert {f["properties"]["key"] for f in markers["features"]} == {1, 2}


def test_forged_employee_gets_no_points(server: LiveServer) -> None:
    bj = dash_client(server, "bj", "password-3")
    out = draw(bj, [[31.0, 121.2], [31.3, 121.7]], 11, ["E1"])
    assert out[f"{ids.MAP_POINTS}.data"] is None
    assert "超出您的数据范围" in json.dumps(out[f"{ids.MAP_STATUS}.children"],
                                     ensure_ascii=False)
    own = draw(bj, [[18.0, 73.0], [53.5, 135.0]], 5, colour="recency")
    assert own[f"{ids.MAP_POINTS}.data"]["customers"] == 5  # only B21's Beijing customers
    shanghai = draw(bj, [[31.0, 121.2], [31.3, 121.7]], 11, colour="recency")
    assert shanghai[f"{ids.MAP_POINTS}.data"]["customers"] == 0


def test_bad_bounds_and_zoom_are_refused_quietly(server: LiveServer) -> None:
    east = dash_client(server, "east", "password-1")
    for bounds in ("x", [[1, 2]], [["a", "b"], ["c", "d"]], None):
        out = draw(east, bounds, 5)  # type: ignore[arg-type]
        assert f"{ids.MAP_STATUS}.children" in out
