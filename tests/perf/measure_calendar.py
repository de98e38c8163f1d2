"""Time the plans calendar of the busiest employee-month over real HTTP.

Usage: PYTHONPATH=. .venv/bin/python tests/perf/measure_calendar.py DB_PATH
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

import requests

from dashboard.components import ids
from pipelines.db import Database
from tests.dash_client import DashClient, key
from tests.live import live_server, login_with


def main(path: Path) -> None:
    db = Database(path, read_only=True)
    employee, month, items = db.execute(
        "SELECT employee_code, strftime(plan_date, '%Y-%m') AS m, count(*) AS c "
        "FROM plan_items GROUP BY ALL ORDER BY c DESC LIMIT 1").fetchone()
    db.close()
    print("busiest:", employee, month, items, "plan items that month")
    with live_server(path) as server:
        session = requests.Session()
        login_with(server.url, session, "admin", "visitlens-admin")
        dash = DashClient(session, server.url)
        times, size = [], 0
        for _ in range(8):
            began = time.perf_counter()
            response = dash.call(ids.PLAN_CALENDAR, "children", {
                key(ids.filter_employees("plans"), "value"): employee,
                key(ids.PLAN_MONTH, "data"): month, key(ids.PLAN_CHANGES, "data"): 0})
            times.append((time.perf_counter() - began) * 1000)
            size = len(response.content)
        print(f"calendar callback median {statistics.median(times[1:]):.0f} ms, "
              f"max {max(times[1:]):.0f} ms, {size} bytes")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
