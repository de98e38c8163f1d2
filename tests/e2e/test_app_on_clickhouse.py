"""The whole app on ClickHouse (chDB) in Debian's Chromium: `VISITLENS_ENGINE=clickhouse`.

The seeded small demo is copied from DuckDB into chDB; `visitlens serve` then runs on chDB
alone. The admin signs in and opens every page; the report pages must show the same
numbers as the same server on DuckDB shows (the ranking's first rows, the pie's total),
and the server log must hold no traceback.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from pipelines.generate import build_demo
from tests.live import VISITLENS, LiveServer, live_server

pytestmark = pytest.mark.e2e
pytest.importorskip("chdb")

ANCHOR = date(2024, 6, 30)
RANGE = "from=2024-06-01&to=2024-06-30"
PAGES = ("/visits", "/customers/visited", "/map", "/customers", "/customers/import",
         "/assignments", "/plans", "/settings", "/audit")


@pytest.fixture(scope="module")
def demo_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("on-ch") / "demo.duckdb"
    build_demo(str(path), size="small", seed=11, samples_dir=None, anchor=ANCHOR)
    return path


@pytest.fixture(scope="module")
def servers(demo_file: Path) -> Iterator[tuple[LiveServer, LiveServer]]:
    """The same archive served from DuckDB and from chDB (copied by the command line, in
    its own process: chDB allows one folder per process)."""
    url = f"chdb:{demo_file.parent / 'clickhouse'}"
    copied = subprocess.run([VISITLENS, "--db", str(demo_file), "clickhouse", "copy",
                             str(demo_file), "--url", url, "--json"],
                            capture_output=True, text=True, timeout=300)
    assert copied.returncode == 0, copied.stderr
    assert json.loads(copied.stdout)["visits"] > 10_000
    engine = {"VISITLENS_ENGINE": "clickhouse", "VISITLENS_CLICKHOUSE_URL": url}
    with live_server(demo_file) as on_duckdb, \
            live_server(demo_file.with_name("unused.duckdb"), env=engine) as on_clickhouse:
        yield on_duckdb, on_clickhouse


def signed_in(chromium: Any, server: LiveServer) -> Page:
    context = chromium.new_context(locale="zh-CN", viewport={"width": 1400, "height": 1000})
    page: Page = context.new_page()
    page.goto(server.url + "/login")
    page.fill("#username", "admin")
    page.fill("#password", "visitlens-admin")
    page.click(".vl-login-card button[type=submit]")
    page.wait_for_url("**/visits**")
    return page


def first_ranking_rows(page: Page, server: LiveServer) -> list[str]:
    page.goto(f"{server.url}/visits?{RANGE}&tab=ranking")
    rows = page.locator("#vl-visits-ranking-grid .ag-center-cols-container .ag-row")
    # The grid shows empty loading rows until the block arrives: wait for text in the 5th.
    expect(rows.nth(4)).to_contain_text(re.compile(r"\S"), timeout=30_000)
    return [rows.nth(i).inner_text() for i in range(5)]


def kpi_text(page: Page, server: LiveServer) -> str:
    page.goto(f"{server.url}/visits?{RANGE}")
    cards = page.locator("#vl-visits-kpis")
    expect(cards).to_contain_text("%", timeout=20_000)
    return cards.inner_text()


def test_every_page_on_clickhouse_and_the_same_numbers(
        chromium: Any, servers: tuple[LiveServer, LiveServer], artifacts: Path) -> None:
    on_duckdb, on_clickhouse = servers
    duck_page, click_page = signed_in(chromium, on_duckdb), signed_in(chromium, on_clickhouse)
    try:
        assert kpi_text(click_page, on_clickhouse) == kpi_text(duck_page, on_duckdb)
        ranking = first_ranking_rows(click_page, on_clickhouse)
        assert len(ranking) == 5
        assert ranking == first_ranking_rows(duck_page, on_duckdb)

        for path in PAGES:
            click_page.goto(f"{on_clickhouse.url}{path}?{RANGE}")
            expect(click_page.locator("h1, h2").first).to_be_visible(timeout=20_000)
            click_page.wait_for_load_state("networkidle")
            assert "500" not in click_page.title()
        click_page.goto(f"{on_clickhouse.url}/customers/visited?{RANGE}")
        expect(click_page.locator("#vl-cv-list-grid .ag-row").first).to_be_visible(
            timeout=20_000)
        expect(click_page.locator("#vl-cv-pie .slice").first).to_be_visible(timeout=20_000)
        click_page.screenshot(path=str(artifacts / "clickhouse-customers-visited.png"))
        log = on_clickhouse.log_text()
        assert "Traceback" not in log, log[-3000:]
    finally:
        duck_page.context.close()
        click_page.context.close()
