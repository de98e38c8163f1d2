"""What the page layouts put where (issue 15 item 10), read from the real server's page
router over HTTP: the columns people need first are on screen without scrolling sideways."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest

from dashboard.components import ids
from tests.dash_client import DashClient, key
from tests.live import ADMIN, build_database, dash_client, live_server


@pytest.fixture(scope="module")
def admin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DashClient]:
    path = build_database(tmp_path_factory.mktemp("layouts") / "layouts.duckdb")
    with live_server(path) as server:
        yield dash_client(server, ADMIN.username, ADMIN.password)


def page_layout(dash: DashClient, path: str) -> Any:
    """The layout the page router sends for `path`."""
    out = dash.outputs(dash.call("_pages_content", "children", {
        key("_pages_location", "pathname"): path, key("_pages_location", "search"): ""}))
    return out["_pages_content.children"]


def find(node: Any, component_id: str) -> dict[str, Any]:
    """The component with this id anywhere in a JSON layout."""
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if item.get("props", {}).get("id") == component_id:
                return dict(item["props"])
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    raise KeyError(component_id)


def test_visited_summary_shows_all_grades_first(admin: DashClient) -> None:
    columns = find(page_layout(admin, "/customers/visited"), ids.CV_SUMMARY_GRID)["columnDefs"]
    assert [c.get("field") for c in columns[:2]] == ["name", "code"]
    assert all(c.get("pinned") == "left" for c in columns[:2])
    first_block = columns[2]
    assert first_block["children"][0]["field"] == "all_customers"


def test_visit_detail_shows_validity_and_reasons_next_to_who_and_whom(
    admin: DashClient,
) -> None:
    columns = find(page_layout(admin, "/visits"), ids.VISITS_DETAIL_GRID)["columnDefs"]
    fields = [c["field"] for c in columns]
    assert fields[:5] == ["check_in_at", "employee_label", "customer_label", "valid_label",
                          "reasons_label"]
    assert sum(c.get("width", 200) for c in columns[:5]) <= 1100  # inside a laptop's grid
    assert json.dumps(columns, ensure_ascii=False).count("pinned") == 1


def test_per_capita_kpis_carry_their_unit(admin: DashClient) -> None:
    """Issue 15 item 11: the three per-capita cards say what the number counts."""
    page = "visits"
    out = admin.outputs(admin.call(ids.VISITS_KPIS, "children", {
        key(ids.filter_department(page), "value"): None,
        key(ids.filter_dates(page), "start_date"): "2024-05-01",
        key(ids.filter_dates(page), "end_date"): "2024-05-31",
        key(ids.filter_employees(page), "value"): []}))
    cards = json.dumps(out[f"{ids.VISITS_KPIS}.children"], ensure_ascii=False)
    assert cards.count('"次/人/工作日"') == 3


def test_map_has_an_offline_base_layer_cached_for_a_year(admin: DashClient) -> None:
    """Issue 15 item 12: without tiles the map still shows China's provinces and coasts,
    from a small file the browser keeps (its URL carries its hash)."""
    layout = json.dumps(page_layout(admin, "/map"))
    url = next(u for u in re.findall(r'"url": "([^"]+)"', layout) if "basemap" in u)
    assert url.startswith("/assets/basemap_china.json?v=")
    response = admin.session.get(admin.url + url, timeout=30)
    assert response.status_code == 200
    assert "max-age=31536000" in response.headers["Cache-Control"]
    assert len(response.content) < 400_000
    kinds = [f["properties"]["kind"] for f in response.json()["features"]]
    assert kinds.count("province") >= 31 and "land" in kinds
