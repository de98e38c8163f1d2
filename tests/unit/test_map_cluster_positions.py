"""Each cluster sits at the mean of its own customers, whatever order the cells come in.

Found by the ClickHouse parity suite: the cluster totals were grouped in order of
appearance while the mean positions were grouped sorted, so when the database returned
cells unsorted, a cluster was drawn at another cluster's place with the wrong count.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pandas as pd
import pytest

from dashboard.reports import maps
from dashboard.reports.filters import Filters
from dashboard.reports.maps import Box, MapSelection
from dashboard.scope import operator_scope
from pipelines.db import Database


def test_cluster_counts_and_positions_belong_together(db: Database,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    # Three cells of 11.25 degrees (zoom 3), returned unsorted (cell (5, 1) first); cell
    # (2, 3) has two colour keys. Every mean lies in the middle of its cell, where a
    # cluster is drawn at its mean (test_clusters_never_overlap covers the rest). By hand:
    #          (5, 1): 3 customers at (61.5, 16.5)
    #          (2, 3): 1 at (27.0, 39.0) + 3 at (28.0, 40.0) -> 4 at (27.75, 39.75)
    #          (0, 0): 1000 at (5.5, 5.5)
    cells = pd.DataFrame({"gx": [5.0, 2.0, 2.0, 0.0], "gy": [1.0, 3.0, 3.0, 0.0],
                          "colour_key": [0, 0, 1, 2], "customers": [3, 1, 3, 1000],
                          "lon": [61.5, 27.0, 28.0, 5.5], "lat": [16.5, 39.0, 40.0, 5.5]})

    def fake_query(_db: Any, name: str, _params: Any) -> pd.DataFrame:
        assert name == "map_cells"
        return cells

    monkeypatch.setattr(maps, "query", fake_query)
    layer = maps.layer(db, operator_scope(db), MapSelection(Filters(date(2024, 5, 1),
                                                                     date(2024, 5, 31))),
                       Box(-180.0, -85.0, 180.0, 85.0), 3)
    found = {(f["properties"]["count"], tuple(f["geometry"]["coordinates"]))
             for f in layer["features"]}
    assert found == {(3, (61.5, 16.5)), (4, (27.75, 39.75)), (1000, (5.5, 5.5))}
    by_count = {f["properties"]["count"]: f["properties"]["keys"] for f in layer["features"]}
    assert by_count[4] == {"0": 1, "1": 3}


def test_clusters_never_overlap(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 15 item 12: two crowds just either side of a cell border made two clusters a
    pixel apart, the second hiding the first's count. Each stays near its cell's centre."""
    zoom = 6
    cell = maps.cell_degrees(zoom)
    border = 20 * cell  # between cells 19 and 20
    cells = pd.DataFrame({"gx": [19.0, 20.0], "gy": [5.0, 5.0], "colour_key": [0, 0],
                          "customers": [2380, 2590],
                          "lon": [border - cell / 1000, border + cell / 1000],
                          "lat": [5.5 * cell, 5.5 * cell]})
    monkeypatch.setattr(maps, "query", lambda _db, _name, _params: cells)
    layer = maps.layer(db, operator_scope(db), MapSelection(Filters(date(2024, 5, 1),
                                                                     date(2024, 5, 31))),
                       Box(-180.0, -85.0, 180.0, 85.0), zoom)
    (x1, _y1), (x2, _y2) = sorted(tuple(f["geometry"]["coordinates"])
                                  for f in layer["features"])
    pixels_apart = (x2 - x1) / cell * maps.CELL_PIXELS
    assert pixels_apart >= maps.CLUSTER_PIXELS - 0.01
    assert 19 * cell <= x1 < border <= x2 < 21 * cell  # each in its own cell
