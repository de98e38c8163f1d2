"""The map's server-side binning: counts add up, scope holds, sizes stay bounded, GCJ-02.

Dataset (by hand): E1 in B11 (R1) owns C1..C4, E2 in B21 (R2) owns C5, C6.
    C1 (121.40, 31.20)  C2 (121.41, 31.21)  C3 (121.60, 31.30)  C4 (120.15, 30.27)
    C5 (121.45, 31.22)  C6 (116.40, 39.90)
Box 121.0..122.0 x 31.0..32.0 holds C1, C2, C3 (R1) and C5 (R2).
"""

from __future__ import annotations

import json
from datetime import date

import pytest

from dashboard.reports import maps
from dashboard.reports.filters import Filters
from dashboard.reports.maps import Box, MapSelection
from dashboard.scope import Scope, ScopeError, resolve_scope
from pipelines import geo, refresh
from pipelines.db import Database
from pipelines.users import add_user, get_user
from tests.conftest import Factory

PERIOD = Filters(date(2024, 5, 1), date(2024, 5, 31))
SHANGHAI = Box(121.0, 31.0, 122.0, 32.0)


@pytest.fixture
def located(db: Database, factory: Factory) -> Database:
    factory.org()
    factory.load("employees", "code,name,department_code\nE1,张一,B11\nE2,李二,B21\n")
    factory.load("customers", "code,name,grade,longitude,latitude,owner_codes\n"
                 "C1,<b>一</b>,A,121.40,31.20,E1\nC2,二,B,121.41,31.21,E1\n"
                 "C3,三,,121.60,31.30,E1\nC4,四,C,120.15,30.27,E1\n"
                 "C5,五,A,121.45,31.22,E2\nC6,六,A,116.40,39.90,E2\n")
    factory.load("visits", "employee_code,customer_code,check_in_at\n"
                 "E1,C1,2024-05-06 09:00:00\nE1,C2,2024-04-06 09:00:00\n")
    add_user(db, "east", "password-1", "supervisor", ("R1",))
    add_user(db, "boss", "password-2", "admin")
    return db


def _scope(db: Database, name: str) -> Scope:
    user = get_user(db, name)
    assert user is not None
    return resolve_scope(db, user)


def _codes(layer: dict) -> set[str]:
    return {f["properties"]["code"] for f in layer["features"]}


def test_markers_in_the_box_and_in_scope(located: Database) -> None:
    boss = maps.layer(located, _scope(located, "boss"), MapSelection(PERIOD), SHANGHAI, 9)
    assert boss["mode"] == "markers" and _codes(boss) == {"C1", "C2", "C3", "C5"}
    east = maps.layer(located, _scope(located, "east"), MapSelection(PERIOD), SHANGHAI, 9)
    assert _codes(east) == {"C1", "C2", "C3"}  # C5 is R2's: never shown to R1
    recency = {f["properties"]["code"]: f["properties"]["key"] for f in east["features"]}
    assert recency == {"C1": 0, "C2": 1, "C3": 2}  # visited / overdue / never
    popup = next(f["properties"] for f in east["features"] if f["properties"]["code"] == "C1")
    assert popup["name"] == "<b>一</b>" and popup["owners"] == "张一"  # text, drawn as text


def test_cells_add_up_and_hold_the_scope(located: Database,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(maps, "MAX_MARKERS", 0)  # force binning on this tiny dataset
    whole = Box(73.0, 18.0, 135.0, 53.5)
    boss = maps.layer(located, _scope(located, "boss"), MapSelection(PERIOD), whole, 5)
    assert boss["mode"] == "cells"
    assert sum(f["properties"]["count"] for f in boss["features"]) == 6 == boss["customers"]
    east = maps.layer(located, _scope(located, "east"), MapSelection(PERIOD), whole, 5)
    assert sum(f["properties"]["count"] for f in east["features"]) == 4  # C1..C4
    near = maps.layer(located, _scope(located, "east"), MapSelection(PERIOD), SHANGHAI, 14)
    assert sum(f["properties"]["count"] for f in near["features"]) == 3
    for feature in near["features"]:
        assert sum(feature["properties"]["keys"].values()) == feature["properties"]["count"]


def test_employees_grades_and_forged_selection(located: Database) -> None:
    east = _scope(located, "east")
    by_e1 = maps.layer(located, east, MapSelection(Filters(PERIOD.date_from, PERIOD.date_to,
                                                           employees=("E1",)),
                                                   grades=("A", "B")), SHANGHAI, 9)
    assert _codes(by_e1) == {"C1", "C2"}
    assert {f["properties"]["key"] for f in by_e1["features"]} == {1}  # E1 is colour 1
    unrated = maps.layer(located, east, MapSelection(PERIOD, unrated=True), SHANGHAI, 9)
    assert _codes(unrated) == {"C3"}
    with pytest.raises(ScopeError):
        maps.layer(located, east, MapSelection(Filters(PERIOD.date_from, PERIOD.date_to,
                                                       employees=("E2",))), SHANGHAI, 9)


def test_gcj02_display_round_trip(located: Database) -> None:
    """Shifted for GCJ-02 tiles, and the shifted box still finds the point."""
    shown = maps.layer(located, _scope(located, "east"), MapSelection(PERIOD),
                       Box(121.39, 31.19, 121.42, 31.22), 15, coords="gcj02")
    c1 = next(f for f in shown["features"] if f["properties"]["code"] == "C1")
    lon, lat = c1["geometry"]["coordinates"]
    expected = geo.wgs84_to_gcj02(121.40, 31.20)
    assert abs(lon - float(expected[0])) < 1e-6 and abs(lat - float(expected[1])) < 1e-6
    back = geo.gcj02_to_wgs84(lon, lat)
    assert geo.haversine_m(back[0], back[1], 121.40, 31.20)[0] < 0.2
    wgs = Box(lon - 0.001, lat - 0.001, lon + 0.001, lat + 0.001).to_wgs84("gcj02")
    assert wgs.west < 121.40 < wgs.east and wgs.south < 31.20 < wgs.north


def test_a_million_customers_stay_under_500_kb(db: Database, factory: Factory) -> None:
    """1 000 000 customers spread over China: every zoom's answer is at most 500 KB."""
    factory.org()
    factory.load("employees", "code,name,department_code\nE1,张一,B11\n")
    db.execute("""
        INSERT INTO customers (code, name, grade, longitude, latitude)
        SELECT 'M' || i, '客户' || i, 'A', 100 + (i % 1000) * 0.03, 22 + (i // 1000) * 0.02
        FROM range(1000000) AS t(i)
    """)
    db.execute("INSERT INTO bindings (employee_code, customer_code) "
               "SELECT 'E1', code FROM customers")
    refresh.ensure_current(db)  # written by hand: the derived tables follow
    boss_scope = Scope("x", "admin", True, ("HQ",),
                       frozenset({"HQ", "R1", "R2", "B11", "B12", "B21"}))
    views = [(Box(73.0, 18.0, 135.0, 53.5), 4), (Box(100.0, 22.0, 130.0, 42.0), 6),
             (Box(110.0, 30.0, 115.0, 33.0), 9), (Box(110.0, 30.0, 110.3, 30.2), 13),
             (Box(110.0, 30.0, 110.03, 30.02), 16)]
    for box, zoom in views:
        layer = maps.layer(db, boss_scope, MapSelection(PERIOD), box, zoom)
        size = len(json.dumps(layer, ensure_ascii=False).encode("utf-8"))
        assert size <= 500_000, (box, zoom, size)
        if layer["mode"] == "cells":
            assert sum(f["properties"]["count"] for f in layer["features"]) == layer["customers"]
    assert layer["mode"] == "markers" and 0 < len(layer["features"]) <= maps.MAX_MARKERS
