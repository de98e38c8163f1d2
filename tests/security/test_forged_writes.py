"""Forged record ids in writes and reads (issue 14, item 1 and "beyond the holes").

* The route hijack: /plans' save callback with a mode that carries a plan of the scope and
  a route of another region, with the schedule, save and delete buttons.
* The walker: every server callback the running app registers (from /_dash-dependencies,
  not a hand list) whose inputs or states carry record ids (department, employee,
  customer, plan, route, visit, job), called as the supervisor ``duo`` with values of
  their own scope, then with one id swapped for another region's while the others stay.
  After the requests of each callback the server is stopped and the rows of the other
  region (R3: every row naming B31 or R3, in every table but the audit log and the job
  store) must be unchanged; no response may name anything outside duo's scope.

Data: tests.security.world (duo = D-R1 + D-R2; the other region is R3 with E-B31-1).
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from dashboard.components import ids
from pipelines.db import Database
from tests.dash_client import _parse_id, _split_outputs, key
from tests.live import LiveServer, live_server
from tests.security.support import (
    client,
    copy_world,
    decoded,
    grid_request,
    session_for,
    signature,
    start_export,
)
from tests.security.world import DUO, FROM, SOUTH, TO, leaks

CALLBACK = "/_dash-update-component"
FOREIGN = re.compile(r"B31|(?<![A-Za-z0-9])D-R3(?![0-9])|#R3(?![0-9])")
# Tables whose rows a refused request writes by design (who tried what; whose job it is).
NOT_REGION_DATA = re.compile(r"^(audit_log|jobs|.*session.*|.*attempt.*|.*throttle.*)$")


def region_rows(path: Path) -> dict[str, str]:
    """Per table, a checksum of the rows that name the other region (R3, B31)."""
    db = Database(path, read_only=True)
    try:
        tables = [r[0] for r in db.rows(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' "
            "AND table_type = 'BASE TABLE' ORDER BY table_name")]
        found = {}
        for table in tables:
            if NOT_REGION_DATA.match(table):
                continue
            rows = sorted(r for r in (repr(row) for row in db.rows(f'SELECT * FROM "{table}"'))
                          if FOREIGN.search(r))
            found[table] = hashlib.sha256("\n".join(rows).encode()).hexdigest()
        return found
    finally:
        db.close()


def ids_of(path: Path) -> dict[str, tuple[int, int]]:
    """(inside duo's scope, the other region's) plan and route ids of the world."""
    db = Database(path, read_only=True)
    try:
        def one(sql: str, employee: str) -> int:
            return int(db.scalar(sql, [employee]))
        plan = "SELECT min(plan_id) FROM plans WHERE employee_code = ?"
        route = "SELECT min(route_id) FROM routes WHERE employee_code = ?"
        return {"plan": (one(plan, "E-B11-1"), one(plan, "E-B31-1")),
                "route": (one(route, "E-B11-1"), one(route, "E-B31-1"))}
    finally:
        db.close()


# -- the route hijack ------------------------------------------------------------------------
def test_a_route_of_another_region_cannot_be_scheduled_renamed_or_deleted(
        world_template: Path, tmp_path: Path) -> None:
    """Issue 14 item 1: PLAN_MODE = {kind: route, plan_id: duo's plan, route_id: R3's}."""
    path = copy_world(world_template, tmp_path)
    numbers = ids_of(path)
    before = region_rows(path)
    mode = {"kind": "route", "plan_id": numbers["plan"][0], "route_id": numbers["route"][1]}
    with live_server(path) as server:
        dash = client(server, DUO)
        for button in (ids.PLAN_SCHEDULE, ids.PLAN_SAVE, ids.PLAN_DELETE):
            for forged in (mode, {"kind": "route", "route_id": numbers["route"][1]}):
                response = dash.call(ids.PLAN_MESSAGE, "children", {
                    key(button, "n_clicks"): 1, key(ids.PLAN_MODE, "data"): forged,
                    key(ids.filter_employees("plans"), "value"): "E-B11-1",
                    key(ids.PLAN_NAME, "value"): "劫持", key(ids.PLAN_DATE, "date"): "2024-05-14",
                    key(ids.PLAN_CUSTOMERS, "value"): ["C-B11-1"],
                    key(ids.PLAN_SCHEDULE_START, "date"): "2024-05-14",
                    key(ids.PLAN_SCHEDULE_DAYS, "value"): [], key(ids.PLAN_CHANGES, "data"): 0},
                    changed=(button, "n_clicks"))
                assert response.status_code == 200, response.text[:300]
                text = decoded(response)
                assert "不能为该员工做计划" in text, (button, text[:300])
                assert f"{ids.PLAN_CHANGES}.data" not in dash.outputs(response)
    assert region_rows(path) == before
    db = Database(path, read_only=True)
    try:
        # Each refusal is audited (repeats within a minute may share one counted row).
        assert db.scalar("SELECT count(*) FROM audit_log WHERE action = 'denied' "
                         "AND username = 'duo'") >= 1
        assert db.scalar("SELECT count(*) FROM audit_log WHERE action LIKE 'route.%'") == 2
    finally:
        db.close()


# -- the walker ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Rule:
    """Which inputs carry ids (a regular expression on "id.property"), of which kinds,
    and how one value of each kind is shaped into the input's value."""

    pattern: str
    kinds: tuple[str, ...]
    shape: str  # scalar, list, options, rows, cell, click, pair, owners, plan_mode, ...


RULES = (
    Rule(r'vl-filter-employees"?\}?\.value$', ("employee",), "list"),
    Rule(r'vl-filter-employees"?\}?\.search_value$', ("employee",), "scalar"),
    Rule(r'department(_code)?"?\}?\.value$', ("department",), "scalar"),
    Rule(r"cust-field-owners\.value$", ("employee",), "owners"),
    Rule(r"cust-field-code\.value$", ("customer",), "scalar"),
    Rule(r"share-pick\.(value|search_value)$", ("employee",), "list"),
    Rule(r"revoke-pick\.value$", ("employee",), "pair"),
    Rule(r"(bind|dept)-pick\.value$|plan-customers\.value$", ("customer",), "list"),
    Rule(r"(bind|dept)-pick\.search_value$|plan-customers\.search_value$|cust-search\.value$",
         ("customer",), "scalar"),
    Rule(r"plan-customers\.options$", ("customer",), "options"),
    Rule(r"route-pick\.value$|from-route\.value$", ("route",), "scalar"),
    Rule(r"plan-mode\.data$", ("plan", "route"), "plan_mode"),
    Rule(r"cust-form-mode\.data$", ("customer",), "customer_mode"),
    Rule(r"cust-code\.data$", ("customer",), "scalar"),
    Rule(r"\.selectedRows$", ("customer", "employee"), "rows"),
    Rule(r"\.cellClicked$", ("customer", "employee", "visit"), "cell"),
    Rule(r"\.clickData$", ("employee",), "click"),
    Rule(r"-job\.data$", ("job",), "scalar"),
    Rule(r'"plan":\["ALL"\]', ("plan",), "item"),
)
# Any input whose name says it may carry a record id must match a rule above, so a new
# callback cannot slip past the walker unseen.
# Counters, grid blocks and clicks carry no id (a clicked pattern item is walked apart).
NOT_IDS = re.compile(r"grid-version\.data$|\.getRowsRequest$|\.n_clicks$|\.n_intervals$")
ID_HINT = re.compile(r"department|employee|customer|cust-code|route|plan-mode|plan-open|"
                     r"visit[-_]id|job|selectedRows|cellClicked|clickData|pick|owners")


def shaped(shape: str, values: dict[str, Any], swap: str | None) -> Any:
    """The input's value from one id per kind (values: kind -> id); an input of one id
    takes the swapped kind's."""
    first = values[swap] if swap is not None else next(iter(values.values()))
    if shape in ("scalar", "item"):
        return first
    if shape == "list":
        return [first]
    if shape == "options":
        return [{"label": first, "value": first}]
    if shape == "owners":
        return first
    if shape == "pair":
        return f"{first}>E-B12-1"
    if shape == "rows":
        return [{"customer_code": values.get("customer"), "code": values.get("customer"),
                 "employee_code": values.get("employee"), "how": "direct"}]
    if shape == "cell":
        return {"rowId": first, "colId": "name", "value": first, "rowIndex": 0}
    if shape == "click":
        return {"points": [{"customdata": first, "x": first, "y": first, "label": first}]}
    if shape == "plan_mode":
        return {"kind": "route", "plan_id": values["plan"], "route_id": values["route"]}
    if shape == "customer_mode":
        return {"mode": "edit", "code": first, "version": 1}
    raise AssertionError(shape)


def rule_of(slot: str) -> Rule | None:
    return next((r for r in RULES if re.search(r.pattern, slot)), None)


DEFAULTS = {"n_clicks": 1, "submit_n_clicks": 1, "n_intervals": 1, "start_date": FROM,
            "end_date": TO, "date": "2024-05-14", "getRowsRequest": grid_request()}
CLICKS = ("n_clicks", "submit_n_clicks")  # what a person does; a timer only polls
EVENTS = ("n_clicks", "submit_n_clicks", "n_intervals", "getRowsRequest", "cellClicked",
          "clickData", "search_value")


def default(slot: dict[str, Any]) -> Any:
    """A plausible value of an input that carries no id."""
    prop, name = slot["property"], slot["id"]
    if prop in DEFAULTS:
        return DEFAULTS[prop]
    if name == ids.PLAN_MONTH:
        return "2024-05"
    if prop == "value" and "name" in name:
        return "伪造"
    if prop == "value" and "schedule-days" in name:
        return []
    return None


def concrete(ident: str) -> Any:
    """The id as the renderer sends it: MATCH becomes one page, ALL stays a pattern."""
    parsed = _parse_id(ident)
    if isinstance(parsed, dict):
        parsed = {k: ("visits" if v == ["MATCH"] else v) for k, v in parsed.items()}
    return parsed


@dataclass
class Walk:
    """The world's ids: kind -> (inside duo's scope, another region's)."""

    pairs: dict[str, tuple[Any, Any]]

    def value(self, rule: Rule, swap: str | None) -> Any:
        return shaped(rule.shape, {k: self.pairs[k][1 if k == swap else 0]
                                   for k in rule.kinds}, swap)


def requests_for(dep: dict[str, Any], walk: Walk) -> list[dict[str, Any]]:
    """The callback with its own scope's ids, then each id swapped alone (one per kind of
    each id-carrying input), once per event input as the trigger."""
    slots = [*dep["inputs"], *dep.get("state", [])]
    names = [f"{s['id']}.{s['property']}" for s in slots]
    rules = [rule_of(n) for n in names]
    unclassified = [n for n, r in zip(names, rules, strict=True) if r is None
                    and ID_HINT.search(re.sub(r'"page":"\w+"', "", n)) and "ALL" not in n
                    and not NOT_IDS.search(n)]
    assert not unclassified, f"add a rule for {unclassified} ({signature(dep)})"
    swaps: list[tuple[int | None, str | None]] = [
        (i, kind) for i, r in enumerate(rules) if r is not None for kind in r.kinds]
    if not swaps:
        return []
    variants = [(None, None), *swaps]
    triggers = [i for i, s in enumerate(dep["inputs"]) if s["property"] in EVENTS
                and (rules[i] is not None or "ALL" not in s["id"])] or [0]
    bodies = []
    for trigger in triggers:
        for position, kind in variants:
            items = []
            for i, (slot, rule) in enumerate(zip(slots, rules, strict=True)):
                ident = concrete(slot["id"])
                swap = kind if i == position else None
                if isinstance(ident, dict) and ["ALL"] in ident.values():
                    value: Any = []
                    if rule is not None and i == trigger:  # one clicked item, its id a record
                        wild = next(k for k, v in ident.items() if v == ["ALL"])
                        record = walk.value(rule, swap)
                        value = [{"id": {**ident, wild: record}, "property": slot["property"],
                                  "value": 1}]
                    items.append({"id": ident, "property": slot["property"], "value": value})
                    continue
                value = walk.value(rule, swap) if rule is not None else default(slot)
                items.append({"id": ident, "property": slot["property"], "value": value})
            trigger_item = items[trigger]
            changed = trigger_item["value"][0]["id"] if isinstance(
                trigger_item["value"], list) and trigger_item["value"] and isinstance(
                trigger_item["value"][0], dict) and "property" in trigger_item["value"][0] \
                else trigger_item["id"]
            outputs: list[Any] = [{"id": concrete(json.dumps(i) if isinstance(i, dict) else i),
                                   "property": p} for i, p in _split_outputs(dep["output"])]
            outputs = [[o] if ["ALL"] in (o["id"].values() if isinstance(o["id"], dict)
                                          else []) else o for o in outputs]
            output = dep["output"].replace('["MATCH"]', '"visits"')
            bodies.append({"output": output,
                           "outputs": outputs if dep["output"].startswith("..") else outputs[0],
                           "inputs": items[:len(dep["inputs"])],
                           "state": items[len(dep["inputs"]):],
                           "changedPropIds": [key(changed, trigger_item["property"])]})
    return bodies


@pytest.fixture
def world(world_template: Path, tmp_path: Path) -> Path:
    return copy_world(world_template, tmp_path)


def jobs(server: LiveServer) -> tuple[str, str]:
    """A visits export job of duo's and one of south's (another region's supervisor)."""
    found = []
    for user, department in ((DUO, "D-R1"), (SOUTH, "D-R3")):
        dash = client(server, user)
        out = dash.outputs(start_export(dash, "visits", {
            key(ids.filter_department("visits"), "value"): department,
            key(ids.filter_dates("visits"), "start_date"): FROM,
            key(ids.filter_dates("visits"), "end_date"): TO}))
        job = out[f"{ids.VISITS_EXPORT_JOB}.data"]
        assert isinstance(job, str), out
        found.append(job)
    return found[0], found[1]


def test_forged_ids_in_every_callback_touch_no_other_region(world: Path) -> None:
    numbers = ids_of(world)
    with live_server(world) as server:
        dependencies = [d for d in session_for(server, DUO).get(
            server.url + "/_dash-dependencies", timeout=30).json()
            if not d.get("clientside_function")]
        job_pair = jobs(server)
    walk = Walk({"department": ("D-B11", "D-B31"), "employee": ("E-B11-1", "E-B31-1"),
                 "customer": ("C-B11-1", "C-B31-1"), "visit": ("V-B11-1", "V-B31-1"),
                 "job": job_pair, **numbers})
    before = region_rows(world)
    walked: set[str] = set()
    sent = 0
    # Callbacks a click runs may write: the database is checked after each of them (a
    # server of its own: DuckDB lets one process open the file); the others (filters,
    # grids, polls) read, and are checked once at the end.
    planned = [(signature(dep), bodies) for dep in dependencies
               if (bodies := requests_for(dep, walk))]
    writers = [p for p in planned if any(
        i["property"] in CLICKS for i in p[1][0]["inputs"])]
    readers = [p for p in planned if p not in writers]
    for group in [[w] for w in writers] + [readers]:
        with live_server(world) as server:
            session = session_for(server, DUO)
            for name, bodies in group:
                walked.add(name)
                for body in bodies:
                    response = session.post(server.url + CALLBACK, json=body, timeout=60)
                    sent += 1
                    request = json.dumps(body, ensure_ascii=False)
                    assert response.status_code < 500, (name, request[:400])
                    found = leaks(DUO, decoded(response), request)
                    assert not found, (name, found, request[:400])
        assert region_rows(world) == before, ([n for n, _b in group], "changed another region")
    # The walk reached the writes and the readers that take ids (a floor, not a list).
    for name in ("vl-plan-message.children", "vl-assign-message.children",
                 "vl-cust-message.children", "vl-plan-mode.data", "vl-cust-record.children"):
        assert any(w.startswith(name) or f"..{name}" in w for w in walked), name
    assert sent > 150


# -- existence oracles (issue 14 item 6) -----------------------------------------------------
def test_suggest_answers_alike_for_a_customer_elsewhere_and_one_that_does_not_exist(
        world_template: Path, tmp_path: Path) -> None:
    """/plans' suggested order used to look customers up before checking the scope: a code
    of another region made it stop (no answer), an unknown code was skipped (an answer)."""
    with live_server(copy_world(world_template, tmp_path)) as server:
        dash = client(server, DUO)
        answers = []
        for probe in ("C-B31-1", "C-NOPE-9"):
            response = dash.call(ids.PLAN_CUSTOMERS, "value", {
                key(ids.PLAN_SUGGEST, "n_clicks"): 1,
                key(ids.PLAN_CUSTOMERS, "value"): ["C-B11-1", "C-B11-2", probe]},
                changed=(ids.PLAN_SUGGEST, "n_clicks"))
            answers.append((response.status_code, response.text.replace(probe, "X")))
        assert answers[0] == answers[1]
        inside = dash.call(ids.PLAN_CUSTOMERS, "value", {
            key(ids.PLAN_SUGGEST, "n_clicks"): 1,
            key(ids.PLAN_CUSTOMERS, "value"): ["C-B11-1", "C-B11-2"]},
            changed=(ids.PLAN_SUGGEST, "n_clicks"))
        assert inside.status_code == 200  # the control: the scope's own customers
