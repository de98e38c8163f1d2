"""Time to a usable page in Chromium: navigation to the first chart drawn and grid rows shown.

Usage:
    .venv/bin/python -m tests.perf.first_load DB_PATH [--src NAME=DIR ...] [--runs 3]

DB_PATH is a demo database (`visitlens --db DB_PATH demo --size small`). The server is
`python -m dashboard.cli serve` run from each --src in turn (default: this checkout), so
another commit is measured in the same run: `git archive COMMIT | tar -x -C DIR`.
Logged in as the demo admin, for each page: a cold load (empty HTTP cache) over a 10 Mbit/s
link, a cold load without a limit and warm loads (cache kept): milliseconds from navigation
start until the page's first chart (or map markers) and first grid rows are on screen
(median of the warm ones), and the bytes the cold load transferred (on the wire).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.live import LiveServer, _stop, _wait_for_health, _wait_for_url

# page -> (selector of the first chart drawn, selector of grid rows with data)
PAGES: dict[str, tuple[str | None, str | None]] = {
    "/visits": (".js-plotly-plot .scatterlayer .trace", ".ag-row [col-id=visits]"),
    "/customers/visited": (".js-plotly-plot .pielayer .trace", ".ag-row [col-id=customer_code]"),
    "/map": (".leaflet-overlay-pane path, .leaflet-marker-pane .leaflet-marker-icon", None),
    "/customers": (None, ".ag-row [col-id=name]"),
}
USABLE = """(sel) => {
  const [chart, rows] = sel;
  const row = rows && document.querySelector(rows);
  return (!chart || document.querySelector(chart))
    && (!rows || (row && row.textContent.trim() !== ''));
}"""
# 10 Mbit/s down and up, 20 ms round trip (Chrome's network throttling); and no limit.
SLOW_LINK = {"offline": False, "latency": 20, "downloadThroughput": 10e6 / 8,
             "uploadThroughput": 10e6 / 8}
FAST_LINK = {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1}
TRANSFERRED = """() => {
  const nav = performance.getEntriesByType('navigation')[0];
  return performance.getEntriesByType('resource').reduce((n, r) => n + r.transferSize,
                                                          nav ? nav.transferSize : 0);
}"""


@contextmanager
def server(db_path: Path, src: Path) -> Iterator[LiveServer]:
    """`python -m dashboard.cli serve` with the code of `src` first on the path."""
    log = db_path.with_suffix(".first-load.log")
    env = {k: v for k, v in os.environ.items() if not k.startswith("VISITLENS_")}
    env["PYTHONPATH"] = str(src)
    with log.open("w", encoding="utf-8") as log_file:
        process = subprocess.Popen(
            [sys.executable, "-m", "dashboard.cli", "--db", str(db_path), "serve",
             "--host", "127.0.0.1", "--port", "0"],
            stdout=subprocess.PIPE, stderr=log_file, text=True, env=env, cwd=str(src))
        try:
            running = LiveServer(_wait_for_url(process, 60), process, log)
            _wait_for_health(running, 60)
            yield running
        finally:
            _stop(process)


def usable_ms(page: Any, url: str, selectors: tuple[str | None, str | None]) -> float:
    """Milliseconds from navigation start until the chart and the rows are there."""
    page.goto(url, wait_until="commit")
    page.wait_for_function(USABLE, arg=list(selectors), timeout=60_000, polling=20)
    return float(page.evaluate("() => performance.now()"))


def measure(db_path: Path, src: Path, runs: int) -> dict[str, dict[str, float]]:
    from playwright.sync_api import sync_playwright

    results: dict[str, dict[str, float]] = {}
    with server(db_path, src) as running, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            for path, selectors in PAGES.items():
                context = browser.new_context(locale="zh-CN",
                                              viewport={"width": 1400, "height": 900})
                page = context.new_page()
                page.goto(running.url + "/login")
                page.fill("#username", "admin")
                page.fill("#password", "visitlens-admin")
                page.click(".vl-login-card button[type=submit]")
                page.wait_for_url("**/visits**")
                page.wait_for_load_state("networkidle")
                cold_page = context.new_page()  # logged in, and its HTTP cache emptied:
                cdp = context.new_cdp_session(cold_page)
                cdp.send("Network.enable")
                cdp.send("Network.clearBrowserCache")
                cdp.send("Network.emulateNetworkConditions", SLOW_LINK)
                slow = usable_ms(cold_page, running.url + path, selectors)
                cold_page.wait_for_load_state("networkidle")
                cdp.send("Network.emulateNetworkConditions", FAST_LINK)
                cdp.send("Network.clearBrowserCache")
                cold = usable_ms(cold_page, running.url + path, selectors)
                cold_page.wait_for_load_state("networkidle")
                transferred = float(cold_page.evaluate(TRANSFERRED))
                warm = [usable_ms(cold_page, running.url + path, selectors)
                        for _ in range(runs)]
                results[path] = {"slow_ms": slow, "cold_ms": cold,
                                 "warm_ms": statistics.median(warm),
                                 "cold_kb": transferred / 1024}
                context.close()
        finally:
            browser.close()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("db", type=Path)
    parser.add_argument("--src", action="append", default=[],
                        help="NAME=DIR: code to serve (several: measured one after another)")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    sources = [tuple(s.split("=", 1)) for s in args.src] or [
        ("this checkout", str(Path(__file__).resolve().parents[2]))]
    started = time.monotonic()
    print(f"| code | page | cold, 10 Mbit/s, ms | cold, ms | warm, ms (median of {args.runs}) "
          "| cold transfer, KB |")
    print("|---|---|---:|---:|---:|---:|")
    for name, src in sources:
        for path, r in measure(args.db, Path(src).resolve(), args.runs).items():
            print(f"| {name} | {path} | {r['slow_ms']:.0f} | {r['cold_ms']:.0f} | "
                  f"{r['warm_ms']:.0f} | "
                  f"{r['cold_kb']:.0f} |", flush=True)
    print(f"({time.monotonic() - started:.0f} s)")


if __name__ == "__main__":
    main()
