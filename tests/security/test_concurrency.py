"""Concurrency (issue 9, item 9), over real HTTP with threads.

* Two admins save the same customer at the same moment, round after round: exactly one
  wins each round, the other is told the record changed (never a silent overwrite).
* 16 threads mix reads and writes (customers added, holidays set, plans made by a
  supervisor; grids, charts, records read by every role) — 10 seconds here, 2 minutes in
  the soak part: no request fails, readers stay in their scope, and the database holds
  exactly the committed operations.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from dashboard.components import ids
from pipelines.db import Database
from tests.dash_client import DashClient, key
from tests.live import live_server
from tests.security.support import client, copy_world, decoded, grid_request
from tests.security.world import BOSS, BRANCH, DUO, FROM, TO, User, leaks

FORM_FIELDS = ("code", "name", "grade", "address", "longitude", "latitude", "coord_system",
               "contact", "phone", "department_code", "note", "owners")


def form_of(dash: DashClient, code: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the edit form's values, its mode with the loaded version) of a customer."""
    out = dash.outputs(dash.call(ids.CUST_FORM, "hidden", {
        key(ids.CUST_EDIT, "n_clicks"): 1, key(ids.CUST_CODE, "data"): code},
        changed=(ids.CUST_EDIT, "n_clicks")))
    values = {key(ids.cust_field(f), "value"): out.get(f"{ids.cust_field(f)}.value")
              for f in FORM_FIELDS}
    return values, out[f"{ids.CUST_FORM_MODE}.data"]


def save(dash: DashClient, values: dict[str, Any], mode: dict[str, Any]) -> str:
    response = dash.call(ids.CUST_FORM_MESSAGE, "children", {
        **values, key(ids.CUST_SAVE, "n_clicks"): 1, key(ids.CUST_FORM_MODE, "data"): mode,
        key(ids.CUST_CHANGES, "data"): 0}, changed=(ids.CUST_SAVE, "n_clicks"))
    assert response.status_code == 200, response.text[:300]
    return decoded(response)


def test_two_admins_save_the_same_customer_at_once(world_template: Path,
                                                   tmp_path: Path) -> None:
    path = copy_world(world_template, tmp_path)
    rounds, outcomes = 8, Counter[str]()
    winners: list[str] = []
    with live_server(path) as server:
        first, second = client(server, BOSS), client(server, BOSS)
        for round_no in range(rounds):
            forms = [form_of(first, "C-B11-1"), form_of(second, "C-B11-1")]
            assert forms[0][1]["version"] == forms[1][1]["version"] == round_no + 1
            barrier, answers = threading.Barrier(2), ["", ""]

            def edit(who: int, dash: DashClient, forms: Any = forms, barrier: Any = barrier,
                     answers: list[str] = answers, round_no: int = round_no) -> None:
                values, mode = forms[who]
                values = {**values, key(ids.cust_field("name"), "value"):
                          f"客户#B11-1 第{round_no}轮 管理员{who}"}
                barrier.wait()
                answers[who] = save(dash, values, mode)

            threads = [threading.Thread(target=edit, args=(i, d))
                       for i, d in enumerate((first, second))]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=60)
            saved = [i for i, a in enumerate(answers) if "已保存 C-B11-1" in a]
            stale = [i for i, a in enumerate(answers) if "已被他人修改" in a]
            assert len(saved) == 1 and len(stale) == 1, answers
            outcomes[f"admin {saved[0]}"] += 1
            winners.append(f"客户#B11-1 第{round_no}轮 管理员{saved[0]}")
    db = Database(path, read_only=True)
    try:
        assert db.rows("SELECT name, version FROM customers WHERE code = 'C-B11-1'") == [
            (winners[-1], rounds + 1)]
        assert db.scalar("SELECT count(*) FROM audit_log WHERE action = 'customer.update' "
                         "AND entity_key = 'C-B11-1'") == rounds
    finally:
        db.close()


# -- mixed load ------------------------------------------------------------------------------
class Load:
    """The counters of a load run (thread-safe)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.done: Counter[str] = Counter()
        self.failures: list[str] = []

    def count(self, name: str) -> None:
        with self.lock:
            self.done[name] += 1

    def fail(self, text: str) -> None:
        with self.lock:
            self.failures.append(text[:500])


def customer_writer(dash: DashClient, thread: int) -> Callable[[int], str | None]:
    def step(n: int) -> str | None:
        values: dict[str, Any] = {key(ids.cust_field(f), "value"): None
                                  for f in FORM_FIELDS}
        values.update({key(ids.cust_field("code"), "value"): f"L{thread}-{n}",
                       key(ids.cust_field("name"), "value"): f"负载客户{thread}-{n}",
                       key(ids.cust_field("owners"), "value"): "E-B11-1"})
        answer = save(dash, values, {"mode": "add"})
        return "customer" if f"已保存 L{thread}-{n}" in answer else f"customer refused: {answer}"
    return step


def holiday_writer(dash: DashClient, thread: int) -> Callable[[int], str | None]:
    first = date(2040, 1, 1) + timedelta(days=3000 * thread)

    def step(n: int) -> str | None:
        day = (first + timedelta(days=n)).isoformat()
        response = dash.call(ids.HOLIDAY_RESULT, "children", {
            key(ids.HOLIDAY_ADD, "n_clicks"): 1, key(ids.HOLIDAY_DATE, "date"): day,
            key(ids.HOLIDAY_KIND, "value"): "off", key(ids.HOLIDAY_NAME, "value"): "负载",
            key(ids.HOLIDAY_GRID, "selectedRows"): []}, changed=(ids.HOLIDAY_ADD, "n_clicks"))
        text = decoded(response)
        return "holiday" if f"已保存 {day}" in text else f"holiday: {text}"
    return step


def plan_writer(dash: DashClient, employee: str, customer: str,
                thread: int) -> Callable[[int], str | None]:
    def step(n: int) -> str | None:
        day = (date(2030, 1, 1) + timedelta(days=n)).isoformat()
        response = dash.call(ids.PLAN_MESSAGE, "children", {
            key(ids.PLAN_SAVE, "n_clicks"): 1,
            key(ids.PLAN_MODE, "data"): {"kind": "plan", "plan_id": None},
            key(ids.filter_employees("plans"), "value"): employee,
            key(ids.PLAN_DATE, "date"): day, key(ids.PLAN_NAME, "value"): f"负载{thread}-{n}",
            key(ids.PLAN_CUSTOMERS, "value"): [customer], key(ids.PLAN_FROM_ROUTE, "value"): None,
            key(ids.PLAN_SCHEDULE_START, "date"): None, key(ids.PLAN_SCHEDULE_UNTIL, "date"): None,
            key(ids.PLAN_SCHEDULE_DAYS, "value"): [], key(ids.PLAN_CHANGES, "data"): 0},
            changed=(ids.PLAN_SAVE, "n_clicks"))
        text = decoded(response)
        return "plan" if "已保存" in text else f"plan refused: {text}"
    return step


def reader(dash: DashClient, user: User, which: int) -> Callable[[int], str | None]:
    filters: dict[str, Any] = {key(ids.filter_department("visits"), "value"): None,
               key(ids.filter_dates("visits"), "start_date"): FROM,
               key(ids.filter_dates("visits"), "end_date"): TO,
               key(ids.filter_employees("visits"), "value"): []}
    calls: list[tuple[str, str, dict[str, Any], Any]] = [
        (ids.VISITS_DETAIL_GRID, "getRowsResponse", {
            **filters, key(ids.VISITS_VALIDITY, "value"): "all",
            key(ids.VISITS_DETAIL_GRID, "getRowsRequest"): grid_request()},
         (ids.VISITS_DETAIL_GRID, "getRowsRequest")),
        (ids.VISITS_KPIS, "children", filters, None),
        (ids.CUST_GRID, "getRowsResponse", {
            key(ids.CUST_SEARCH, "value"): "", key(ids.CUST_GRADES, "value"): [],
            key(ids.CUST_DEPARTMENT, "value"): None,
            key(ids.filter_employees("customers"), "value"): None,
            key(ids.CUST_FLAGS, "value"): [],
            key(ids.CUST_GRID, "getRowsRequest"): grid_request()}, (ids.CUST_GRID,
                                                                   "getRowsRequest")),
        (ids.CUST_RECORD, "children", {key(ids.CUST_CODE, "data"): "C-B11-1",
                                       key(ids.CUST_CHANGES, "data"): 0}, None),
        (ids.PLAN_CALENDAR, "children", {key(ids.filter_employees("plans"), "value"): "E-B11-1",
                                         key(ids.PLAN_MONTH, "data"): "2030-01",
                                         key(ids.PLAN_CHANGES, "data"): 0}, None),
    ]

    def step(n: int) -> str | None:
        output, prop, values, changed = calls[(which + n) % len(calls)]
        response = dash.call(output, prop, values, changed)
        if response.status_code != 200 or "Traceback" in response.text:
            return f"read {output}: {response.status_code} {response.text[:200]}"
        found = leaks(user, decoded(response), json.dumps(values))
        return f"read {output} leaked {found}" if found else "read"
    return step


def run_load(path: Path, seconds: float) -> Load:
    load = Load()
    stop = threading.Event()
    with live_server(path) as server:
        boss = [client(server, BOSS) for _ in range(5)]
        duo = [client(server, DUO) for _ in range(2)]
        readers_of = [(client(server, u), u) for u in (BOSS, DUO, BRANCH) * 3]
        steps: list[Callable[[int], str | None]] = [
            *(customer_writer(boss[t], t) for t in range(3)),
            *(holiday_writer(boss[3 + t], t) for t in range(2)),
            plan_writer(duo[0], "E-B11-1", "C-B11-1", 0),
            plan_writer(duo[1], "E-B21-1", "C-B21-1", 1),
            *(reader(dash, user, i) for i, (dash, user) in enumerate(readers_of)),
        ]
        assert len(steps) == 16

        def work(step: Callable[[int], str | None]) -> None:
            n = 0
            while not stop.is_set():
                try:
                    outcome = step(n) or "?"
                except Exception as exc:  # a failed request is a finding, not a crash
                    outcome = f"exception {exc!r}"
                if outcome in ("customer", "holiday", "plan", "read"):
                    load.count(outcome)
                else:
                    load.fail(outcome)
                n += 1

        threads = [threading.Thread(target=work, args=(s,)) for s in steps]
        for thread in threads:
            thread.start()
        time.sleep(seconds)
        stop.set()
        for thread in threads:
            thread.join(timeout=120)
        assert not any(t.is_alive() for t in threads)
    return load


def check_committed(path: Path, load: Load) -> None:
    db = Database(path, read_only=True)
    try:
        assert db.scalar("SELECT count(*) FROM customers WHERE code LIKE 'L%'") == \
            load.done["customer"]
        assert db.scalar("SELECT count(*) FROM bindings WHERE customer_code LIKE 'L%'") == \
            load.done["customer"]
        assert db.scalar("SELECT count(*) FROM holidays WHERE day >= '2040-01-01'") == \
            load.done["holiday"]
        assert db.scalar("SELECT count(*) FROM plans WHERE plan_name LIKE '负载%'") == \
            load.done["plan"]
        actions = dict(db.rows("SELECT action, count(*) FROM audit_log GROUP BY action"))
        assert actions.get("customer.add", 0) == load.done["customer"]
        assert "denied" not in actions
    finally:
        db.close()


def test_sixteen_threads_for_ten_seconds(world_template: Path, tmp_path: Path) -> None:
    path = copy_world(world_template, tmp_path)
    load = run_load(path, 10)
    assert load.failures == []
    assert min(load.done[k] for k in ("customer", "holiday", "plan", "read")) > 0, load.done
    check_committed(path, load)


@pytest.mark.soak
def test_sixteen_threads_for_two_minutes_soak(world_template: Path, tmp_path: Path) -> None:
    path = copy_world(world_template, tmp_path)
    load = run_load(path, 120)
    assert load.failures == []
    assert min(load.done[k] for k in ("customer", "holiday", "plan", "read")) > 0, load.done
    check_committed(path, load)
