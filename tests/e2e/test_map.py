"""The customer map in Debian's Chromium: pick two employees, see their colours, zoom in
from binned areas to single customers, open a popup. Data: tests/datasets.build_map.
Tiles are unreachable here: the markers draw on the plain background.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.datasets import build_map
from tests.e2e.helpers import pick_option
from tests.live import LiveServer, database_file, live_server

pytestmark = pytest.mark.e2e

MARKERS = "#vl-map path.leaflet-interactive"


@pytest.fixture(scope="module")
def map_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    path = tmp_path_factory.mktemp("e2e-map") / "map.duckdb"
    database_file(path, build_map)
    with live_server(path) as running:
        yield running


def pick_employee(page: Any, text: str, label: str) -> None:
    pick_option(page, ".vl-filter-employees .dash-dropdown", text, label)


def test_two_employees_zoom_and_popup(map_server: LiveServer, chromium: Any,
                                      artifacts: Path) -> None:
    context = chromium.new_context(locale="zh-CN", viewport={"width": 1400, "height": 1100})
    errors: list[str] = []
    page = context.new_page()
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        page.goto(map_server.url + "/login")
        page.fill("#username", "east")
        page.fill("#password", "password-1")
        page.click(".vl-login-card button[type=submit]")
        page.wait_for_url("**/visits**")
        page.goto(map_server.url + "/map?from=2024-05-01&to=2024-05-31")
        expect(page.locator("#vl-map-status")).to_contain_text("1,200")

        pick_employee(page, "E1", "张一 (E1)")
        pick_employee(page, "E2", "李二 (E2)")
        page.get_by_text("员工", exact=True).last.click()  # colour by employee
        legend = page.locator("#vl-map-legend .vl-legend-item")
        expect(legend).to_have_count(2)
        expect(legend.first).to_contain_text("张一 (E1)")
        assert "employees=E1%2CE2" in page.url or "employees=E1,E2" in page.url

        # At city scale the server sends areas; zooming in ends in single customers.
        expect(page.locator("#vl-map .vl-cluster").first).to_be_visible()
        page.screenshot(path=str(artifacts / "map-areas.png"))
        for _ in range(8):
            if page.locator(MARKERS).count() > 0:
                break
            page.locator("#vl-map .leaflet-control-zoom-in").click()
            page.wait_for_timeout(900)
        expect(page.locator(MARKERS).first).to_be_visible()
        fills = set(page.eval_on_selector_all(
            MARKERS, "nodes => nodes.map(n => n.getAttribute('fill'))"))
        assert fills == {"#1f77b4", "#d62728"}, fills  # E1's and E2's colours
        page.screenshot(path=str(artifacts / "map-markers.png"))

        page.locator(MARKERS).first.click(force=True)
        popup = page.locator(".leaflet-popup-content .vl-popup")
        expect(popup).to_be_visible()
        expect(popup).to_contain_text("上海客户")
        expect(popup.locator("a")).to_have_attribute("href", "/customers?code=" + popup.locator(
            "strong").inner_text().split("(")[-1].rstrip(")"))
        assert not errors, errors
    finally:
        context.close()
