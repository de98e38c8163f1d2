"""Forged callbacks (issue 9, item 2): requests no page would send.

* ids from outside the scope, ids that do not exist, oversized lists, in every filter of
  every report callback: refused or empty, never another scope's rows;
* wrong types in every input and state of every server callback (lists for strings,
  dicts, numbers, huge strings, nested lists): never a 500, never a traceback, no leak
  (the per-input fuzz over more values is the soak part: test_fuzz_every_input_soak);
* request bodies of the wrong shape: 400 before Dash or a callback runs.

Data: tests.security.world (users duo = D-R1 + D-R2, branch = D-B11).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from dashboard.components import ids
from tests.dash_client import DashClient, _parse_id, _split_outputs, key
from tests.live import LiveServer, live_server
from tests.security.support import (
    client,
    copy_world,
    decoded,
    grid_request,
    server_callbacks,
    session_for,
    signature,
    start_export,
)
from tests.security.world import BOSS, BRANCH, DUO, FROM, TO, User, leaks

CALLBACK = "/_dash-update-component"
SLOW = 5.0  # seconds: a forged request that keeps the server longer is a denial of service


@pytest.fixture(scope="module")
def server(world_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    path = copy_world(world_template, tmp_path_factory.mktemp("forged"))
    with live_server(path) as running:
        yield running


@pytest.fixture(scope="module")
def clients(server: LiveServer) -> dict[str, DashClient]:
    return {u.username: client(server, u) for u in (BOSS, DUO, BRANCH)}


def assert_clean(user: User, response: requests.Response, request: Any) -> None:
    """No server error, no traceback, nothing of another scope."""
    assert response.status_code < 500, (response.status_code, response.text[:300])
    assert "Traceback" not in response.text and 'File "' not in response.text
    found = leaks(user, decoded(response), json.dumps(request, ensure_ascii=False))
    assert not found, found


# -- forged ids in the filters ---------------------------------------------------------------
FORGED = {
    "department outside": ("D-R3", []),
    "department unknown": ("D-NOPE", []),
    "department of the whole company": ("D-HQ", []),
    "employee outside": (None, ["E-B31-1"]),
    "employee unknown": (None, ["E-NOPE"]),
    "inside and outside mixed": (None, ["E-B11-1", "E-B31-1"]),
    "oversized list": (None, ["E-B11-1"] * 600),
}


@dataclass(frozen=True)
class Call:
    """One report callback: how to call it with (department, employees), and its rows."""

    output: str
    prop: str
    extra: dict[str, Any]
    rows: Callable[[dict[str, Any]], list[Any]]
    page: str
    employees: bool = True
    changed: tuple[Any, str] | None = None


def grid_rows(grid: str) -> Callable[[dict[str, Any]], list[Any]]:
    return lambda out: (out.get(f"{grid}.getRowsResponse") or {}).get("rowData") or []


def figure_points(name: str) -> Callable[[dict[str, Any]], list[Any]]:
    def rows(out: dict[str, Any]) -> list[Any]:
        figure = out.get(name) or {}
        return [t for t in figure.get("data", []) if t.get("x") or t.get("y")
                or t.get("values")]
    return rows


CALLS = {
    "kpis": Call(ids.VISITS_KPIS, "children", {}, lambda o: o.get(
        f"{ids.VISITS_KPIS}.children") or [], "visits"),
    "ranking bars": Call(ids.VISITS_RANKING_BARS, "figure", {
        key(ids.VISITS_SORT, "value"): "visits", key(ids.VISITS_TABS, "value"): "ranking"},
        figure_points(f"{ids.VISITS_RANKING_BARS}.figure"), "visits"),
    "ranking grid": Call(ids.VISITS_RANKING_GRID, "getRowsResponse", {
        key(ids.VISITS_SORT, "value"): "visits",
        key(ids.VISITS_RANKING_GRID, "getRowsRequest"): grid_request()},
        grid_rows(ids.VISITS_RANKING_GRID), "visits",
        changed=(ids.VISITS_RANKING_GRID, "getRowsRequest")),
    "detail grid": Call(ids.VISITS_DETAIL_GRID, "getRowsResponse", {
        key(ids.VISITS_VALIDITY, "value"): "all",
        key(ids.VISITS_DETAIL_GRID, "getRowsRequest"): grid_request()},
        grid_rows(ids.VISITS_DETAIL_GRID), "visits",
        changed=(ids.VISITS_DETAIL_GRID, "getRowsRequest")),
    "trend": Call(ids.VISITS_TREND_CHART, "figure", {
        key(ids.VISITS_GRANULARITY, "value"): "month", key(ids.VISITS_TABS, "value"): "trend"},
        figure_points(f"{ids.VISITS_TREND_CHART}.figure"), "visits"),
    "visits export": Call(ids.VISITS_EXPORT_JOB, "data", {
        key(ids.VISITS_EXPORT_BUTTON, "n_clicks"): 1},
        lambda o: [o[f"{ids.VISITS_EXPORT_JOB}.data"]] if o.get(
            f"{ids.VISITS_EXPORT_JOB}.data") else [], "visits",
        changed=(ids.VISITS_EXPORT_BUTTON, "n_clicks")),
    "visited charts": Call(ids.CV_PIE, "figure", {key(ids.CV_BUCKETS, "data"): []},
                           figure_points(f"{ids.CV_PIE}.figure"), "customers_visited",
                           employees=False),
    "visited summary": Call(ids.CV_SUMMARY_GRID, "getRowsResponse", {
        key(ids.CV_BY, "value"): "employee", key(ids.CV_BUCKETS, "data"): [],
        key(ids.CV_SUMMARY_GRID, "getRowsRequest"): grid_request()},
        grid_rows(ids.CV_SUMMARY_GRID), "customers_visited", employees=False,
        changed=(ids.CV_SUMMARY_GRID, "getRowsRequest")),
    "visited list": Call(ids.CV_LIST_GRID, "getRowsResponse", {
        key(ids.CV_BUCKETS, "data"): [], key(ids.CV_LIST_GRID, "getRowsRequest"): grid_request()},
        grid_rows(ids.CV_LIST_GRID), "customers_visited", employees=False,
        changed=(ids.CV_LIST_GRID, "getRowsRequest")),
    "visited export": Call(ids.CV_EXPORT_JOB, "data", {
        key(ids.CV_EXPORT_BUTTON, "n_clicks"): 1, key(ids.CV_BY, "value"): "department",
        key(ids.CV_BUCKETS, "data"): []},
        lambda o: [o[f"{ids.CV_EXPORT_JOB}.data"]] if o.get(f"{ids.CV_EXPORT_JOB}.data") else [],
        "customers_visited", employees=False, changed=(ids.CV_EXPORT_BUTTON, "n_clicks")),
    "map": Call(ids.MAP_POINTS, "data", {
        key(ids.MAP_GRADES, "value"): [], key(ids.MAP_BUCKETS, "data"): [],
        key(ids.MAP_COLOUR, "value"): "employee", key(ids.MAP, "bounds"): None,
        key(ids.MAP, "zoom"): 5},
        lambda o: (o.get(f"{ids.MAP_POINTS}.data") or {}).get("features") or [], "map"),
    "map fit": Call(ids.MAP, "viewport", {
        key(ids.MAP_GRADES, "value"): [], key(ids.MAP_BUCKETS, "data"): []},
        lambda o: [o[f"{ids.MAP}.viewport"]] if o.get(f"{ids.MAP}.viewport") else [], "map"),
}


def forged_values(call: Call, department: Any, employees: Any) -> dict[str, Any]:
    values = {key(ids.filter_department(call.page), "value"): department,
              key(ids.filter_dates(call.page), "start_date"): FROM,
              key(ids.filter_dates(call.page), "end_date"): TO, **call.extra}
    if call.employees:
        values[key(ids.filter_employees(call.page), "value")] = employees
    return values


@pytest.mark.parametrize("forgery", list(FORGED))
def test_forged_filter_ids_get_no_rows(forgery: str, clients: dict[str, DashClient]) -> None:
    department, employees = FORGED[forgery]
    for user in (DUO, BRANCH):
        dash = clients[user.username]
        for name, call in CALLS.items():
            if not call.employees and department is None:
                continue  # the page has no employee filter
            values = forged_values(call, department, employees)
            response = dash.call(call.output, call.prop, values, call.changed)
            assert_clean(user, response, values)
            out = dash.outputs(response) if response.status_code == 200 else {}
            assert call.rows(out) == [], (user.username, forgery, name)


def test_the_same_calls_answer_inside_the_scope(clients: dict[str, DashClient]) -> None:
    """The control: with the branch's own department the same calls do return rows."""
    dash = clients[BRANCH.username]
    for name, call in CALLS.items():
        values = forged_values(call, "D-B11", ["E-B11-1"])
        response = dash.call(call.output, call.prop, values, call.changed)
        assert response.status_code == 200, name
        assert call.rows(dash.outputs(response)), name


def test_forged_archive_filters(clients: dict[str, DashClient]) -> None:
    """The archive list's department and owner filters, and the deleted-customers flag."""
    dash = clients[BRANCH.username]
    base: dict[str, Any] = {key(ids.CUST_SEARCH, "value"): "", key(ids.CUST_GRADES, "value"): [],
            key(ids.CUST_DEPARTMENT, "value"): None,
            key(ids.filter_employees("customers"), "value"): None,
            key(ids.CUST_FLAGS, "value"): [],
            key(ids.CUST_GRID, "getRowsRequest"): grid_request()}
    for forged in ({key(ids.CUST_DEPARTMENT, "value"): "D-R3"},
                   {key(ids.CUST_DEPARTMENT, "value"): "D-R1"},
                   {key(ids.filter_employees("customers"), "value"): "E-B31-1"},
                   {key(ids.filter_employees("customers"), "value"): ["E-B31-1"]},
                   {key(ids.CUST_FLAGS, "value"): ["deleted"]},
                   {key(ids.CUST_SEARCH, "value"): "C-B31-1"},
                   {key(ids.CUST_SEARCH, "value"): "%"}):
        values = {**base, **forged}
        response = dash.call(ids.CUST_GRID, "getRowsResponse", values,
                             changed=(ids.CUST_GRID, "getRowsRequest"))
        assert_clean(BRANCH, response, values)
        rows = dash.outputs(response)[f"{ids.CUST_GRID}.getRowsResponse"]["rowData"]
        assert {r["code"] for r in rows} <= {"C-B11-1", "C-B11-2", "C-B11-3"}, forged


def test_forged_export_is_refused_before_any_job(clients: dict[str, DashClient]) -> None:
    dash = clients[DUO.username]
    values = forged_values(CALLS["visits export"], "D-R3", [])
    out = dash.outputs(start_export(dash, "visits", values))
    assert out[f"{ids.VISITS_EXPORT_JOB}.data"] is None
    assert out[f"{ids.VISITS_EXPORT_POLL}.disabled"] is True


# -- wrong types everywhere ------------------------------------------------------------------
HOSTILE: dict[str, Any] = {
    "list": ["E-B31-1", "D-R3"],
    "dict": {"$gt": "", "code": "C-B31-1"},
    "number": -1,
    "float": 1e308,
    "bool": True,
    "huge string": "x" * 200_000,
    "oversized list": ["C-B31-1"] * 5000,
    "nested": [[{"id": "E-B31-1"}]],
}
MORE_HOSTILE: dict[str, Any] = {
    **HOSTILE, "none": None, "empty list": [], "empty dict": {}, "zero": 0,
    "min int": -2**63, "nan-like": "NaN", "control": "\x00\x1b[31m", "sql": "' OR 1=1 --",
    "out-of-scope code": "C-B31-1", "grid request": {"startRow": -5, "endRow": 10**12},
    "sort model": {"startRow": 0, "endRow": 100, "sortModel": [{"colId": {"x": 1},
                                                                "sort": "asc"}]},
}


def body(dependency: dict[str, Any], fill: Callable[[int, dict[str, Any]], Any],
         changed: int) -> dict[str, Any]:
    """A well-formed body of this callback, each input and state valued by `fill(position,
    entry)`, as the renderer shapes it (outputs of ALL patterns are lists)."""
    entries = [*dependency["inputs"], *dependency.get("state", [])]
    items = [{"id": _parse_id(e["id"]), "property": e["property"], "value": fill(i, e)}
             for i, e in enumerate(entries)]
    outputs: list[Any] = [{"id": i, "property": p}
                          for i, p in _split_outputs(dependency["output"])]
    outputs = [[o] if '"ALL"' in json.dumps(o["id"]) else o for o in outputs]
    trigger = items[changed]
    return {"output": dependency["output"],
            "outputs": outputs if dependency["output"].startswith("..") else outputs[0],
            "inputs": items[:len(dependency["inputs"])],
            "state": items[len(dependency["inputs"]):],
            "changedPropIds": [key(trigger["id"], trigger["property"])]}


def everywhere(value: Any) -> Callable[[int, dict[str, Any]], Any]:
    return lambda _position, _entry: value


def only_at(position: int, value: Any) -> Callable[[int, dict[str, Any]], Any]:
    return lambda at, _entry: value if at == position else None


def fuzz(server: LiveServer, user: User, values: dict[str, Any], per_input: bool) -> int:
    """Send hostile values to every server callback; returns how many requests were sent.

    Each request must not fail on the server (5xx), show a traceback, or carry anything of
    another scope; a 400 is the shape check refusing it (the router's own inputs)."""
    session = session_for(server, user)
    dependencies = [d for d in session.get(server.url + "/_dash-dependencies",
                                           timeout=30).json()
                    if not d.get("clientside_function")]
    requests_made: list[tuple[str, dict[str, Any]]] = []
    for dep in dependencies:
        triggers = range(len(dep["inputs"])) if per_input else range(1)
        for trigger in triggers:
            for value in values.values():
                requests_made.append((signature(dep), body(dep, everywhere(value), trigger)))
        if per_input:
            count = len(dep["inputs"]) + len(dep.get("state", []))
            for position in range(count):
                for value in values.values():
                    requests_made.append((signature(dep), body(dep, only_at(position, value),
                                                               0)))
    for name, request in requests_made:
        response = session.post(server.url + CALLBACK, json=request, timeout=60)
        assert response.status_code != 500, (name, json.dumps(request)[:300])
        assert response.elapsed.total_seconds() < SLOW, (name, json.dumps(request)[:300])
        assert_clean(user, response, request)
    return len(requests_made)


@pytest.mark.parametrize("user", [DUO, BOSS], ids=lambda u: u.username)
def test_wrong_types_never_break_a_callback(user: User, world_template: Path,
                                            tmp_path: Path) -> None:
    """Every callback, every hostile type in all its inputs at once (admin: mutations too,
    on a copy of the world of its own)."""
    with live_server(copy_world(world_template, tmp_path)) as server:
        assert fuzz(server, user, HOSTILE, per_input=False) > 400


@pytest.mark.soak
@pytest.mark.parametrize("user", [DUO, BOSS, BRANCH], ids=lambda u: u.username)
def test_fuzz_every_input_soak(user: User, world_template: Path, tmp_path: Path) -> None:
    """Soak: each input alone and all together, every trigger, a wider set of values."""
    with live_server(copy_world(world_template, tmp_path)) as server:
        assert fuzz(server, user, MORE_HOSTILE, per_input=True) > 5000


# -- request bodies of the wrong shape -------------------------------------------------------
def kpis_body(clients: dict[str, DashClient]) -> dict[str, Any]:
    dep = next(d for d in server_callbacks(clients[DUO.username])
               if d["output"].startswith(f"..{ids.VISITS_KPIS}.children"))
    return body(dep, lambda _i, e: FROM if "date" in e["property"] else None, 0)


MALFORMED: dict[str, Callable[[dict[str, Any]], Any]] = {
    "a list": lambda b: [b],
    "a string": lambda b: "x",
    "a number": lambda b: 1,
    "no output": lambda b: {k: v for k, v in b.items() if k != "output"},
    "unknown output": lambda b: {**b, "output": "vl-nothing.children"},
    "output of another type": lambda b: {**b, "output": ["x"]},
    "too few inputs": lambda b: {**b, "inputs": b["inputs"][:1]},
    "inputs not a list": lambda b: {**b, "inputs": {"id": 1}},
    "input without property": lambda b: {**b, "inputs": [{"id": i["id"]} for i in b["inputs"]]},
    "input with another id": lambda b: {**b, "inputs": [{**b["inputs"][0], "id": "vl-other"},
                                                        *b["inputs"][1:]]},
    "outputs missing": lambda b: {**b, "outputs": []},
    "changed id not an input": lambda b: {**b, "changedPropIds": ["{bad json.n_clicks"]},
    "changed ids not a list": lambda b: {**b, "changedPropIds": "x"},
}


@pytest.mark.parametrize("shape", list(MALFORMED))
def test_malformed_bodies_are_400(shape: str, clients: dict[str, DashClient],
                                  server: LiveServer) -> None:
    request = MALFORMED[shape](kpis_body(clients))
    response = clients[DUO.username].session.post(server.url + CALLBACK, json=request,
                                                  timeout=30)
    assert response.status_code == 400, response.text[:300]
    assert response.json()["error"].startswith("bad callback request")
    assert "Traceback" not in response.text


def test_router_takes_paths_only(clients: dict[str, DashClient], server: LiveServer) -> None:
    """Dash's own page router assumes text paths: anything else is a 400, not a 500."""
    dash = clients[DUO.username]
    for pathname, search in ((["/visits"], ""), ({"a": 1}, ""), (5, ""), ("visits", ""),
                             ("/visits", ["?x"]), ("/visits", "x=1")):
        response = dash.call("_pages_content", "children", {
            key("_pages_location", "pathname"): pathname,
            key("_pages_location", "search"): search},
            changed=("_pages_location", "pathname"))
        assert response.status_code == 400, (pathname, search, response.text[:200])
    good = dash.call("_pages_content", "children", {
        key("_pages_location", "pathname"): "/visits", key("_pages_location", "search"): ""},
        changed=("_pages_location", "pathname"))
    assert good.status_code == 200


def test_well_formed_body_still_works(clients: dict[str, DashClient], server: LiveServer) -> None:
    response = clients[DUO.username].session.post(server.url + CALLBACK,
                                                  json=kpis_body(clients), timeout=30)
    assert response.status_code == 200, response.text[:300]


def test_duplicate_outputs_as_the_renderer_sends_them(clients: dict[str, DashClient],
                                                     server: LiveServer) -> None:
    """Outputs declared with allow_duplicate carry Dash's '@hash' in their property; the
    shape check must accept them exactly as the browser's renderer sends them."""
    dash = clients[BRANCH.username]
    dep = next(d for d in server_callbacks(dash)
               if signature(d) == "vl-cust-code.data <- vl-cust-grid.cellClicked")
    ident, prop = dep["output"].rsplit(".", 1)
    assert "@" in prop
    request = {"output": dep["output"], "outputs": {"id": ident, "property": prop},
               "inputs": [{"id": ids.CUST_GRID, "property": "cellClicked",
                           "value": {"rowId": "C-B11-1", "colId": "name"}}],
               "state": [], "changedPropIds": [f"{ids.CUST_GRID}.cellClicked"]}
    response = dash.session.post(server.url + CALLBACK, json=request, timeout=30)
    assert response.status_code == 200, response.text[:300]
    assert dash.outputs(response) == {f"{ids.CUST_CODE}.data": "C-B11-1"}
