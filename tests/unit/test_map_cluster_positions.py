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

from dashboard import maps
from dashboard.maps import Box, MapSelection
from dashboard.metrics import Filters
from dashboard.scope import operator_scope
from pipelines.db import Database


def test_cluster_counts_and_positions_belong_together(db: Database,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    # Three cells, returned unsorted (cell (5, 1) first); cell (2, 7) has two colour keys.
    # By hand: (5, 1): 3 customers at (50.5, 10.5)
    #          (2, 7): 1 at (20.0, 70.0) + 3 at (21.0, 71.0) -> 4 at (20.75, 70.75)
    #          (0, 0): 1000 at (0.5, 0.5)
    cells = pd.DataFrame({"gx": [5.0, 2.0, 2.0, 0.0], "gy": [1.0, 7.0, 7.0, 0.0],
                          "colour_key": [0, 0, 1, 2], "customers": [3, 1, 3, 1000],
                          "lon": [50.5, 20.0, 21.0, 0.5], "lat": [10.5, 70.0, 71.0, 0.5]})

    def fake_query(_db: Any, name: str, _params: Any) -> pd.DataFrame:
        assert name == "map_cells"
        return cells

    monkeypatch.setattr(maps, "query", fake_query)
    layer = maps.layer(db, operator_scope(db), MapSelection(Filters(date(2024, 5, 1),
                                                                     date(2024, 5, 31))),
                       Box(-180.0, -85.0, 180.0, 85.0), 3)
    found = {(f["properties"]["count"], tuple(f["geometry"]["coordinates"]))
             for f in layer["features"]}
    assert found == {(3, (50.5, 10.5)), (4, (20.75, 70.75)), (1000, (0.5, 0.5))}
    by_count = {f["properties"]["count"]: f["properties"]["keys"] for f in layer["features"]}
    assert by_count[4] == {"0": 1, "1": 3}
