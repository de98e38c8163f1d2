"""Row-level scope matrix (issue 9, item 1): every server callback of /_dash-dependencies,
every download route and every command-line report, for an admin, a supervisor of two
regions, an analyst of one branch and a user without a department — asserting on the rows.

Each callback is classified (``REGISTRY``): a *data* callback has a probe that calls it as
each user and returns the ids of the rows it answered, compared with the rows the user's
scope holds (tests.security.world); *ui* callbacks read nothing from the database (the
reason is given); *admin* and *mutation* callbacks are covered by test_role_matrix.py. A
callback that is not classified fails the test, so a new page cannot skip the matrix.
Every response is also searched for names and codes of other scopes (world.leaks).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import requests

from dashboard.cli import main as cli_main
from dashboard.components import ids
from pipelines.db import Database
from tests.dash_client import DashClient, key
from tests.live import LiveServer, download_backup, live_server
from tests.security import world
from tests.security.support import (
    NOT_ALLOWED_ZH,
    call_with_items,
    client,
    copy_world,
    decoded,
    dependency,
    export_zip,
    grid_request,
    poll_export,
    server_callbacks,
    signature,
)
from tests.security.world import (
    BOSS,
    BRANCH,
    CUSTOMERS,
    DUO,
    EMPLOYEES,
    FROM,
    LOCATIONS,
    NOBODY,
    READERS,
    TO,
    VISITS,
    User,
    codes_in,
    customers_of,
    employees_of,
    leaks,
    visits_by,
)

ROUTER = "_pages_content"
PAGES = ("/visits", "/customers/visited", "/map", "/customers", "/customers/import",
         "/assignments", "/plans", "/settings", "/audit", "/")


# -- the world's plan and route ids ----------------------------------------------------------
@dataclass(frozen=True)
class Ids:
    plans: dict[int, str]   # plan id -> owner
    routes: dict[int, str]  # route id -> owner


@pytest.fixture(scope="module")
def world_ids(world_template: Path) -> Ids:
    db = Database(world_template, read_only=True)
    try:
        plans = dict(db.rows("SELECT plan_id, employee_code FROM plans"))
        routes = dict(db.rows("SELECT route_id, employee_code FROM routes"))
    finally:
        db.close()
    return Ids(plans, routes)


@pytest.fixture(scope="module")
def server(world_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    path = copy_world(world_template, tmp_path_factory.mktemp("scope-matrix"))
    with live_server(path) as running:
        yield running


@pytest.fixture(scope="module")
def clients(server: LiveServer) -> dict[str, DashClient]:
    return {u.username: client(server, u) for u in READERS}


# -- observations ----------------------------------------------------------------------------
@dataclass
class Seen:
    """What a probe saw: the row ids it was answered, and every request and response."""

    rows: set[str] = field(default_factory=set)
    exchanges: list[tuple[str, str]] = field(default_factory=list)

    def call(self, dash: DashClient, output: Any, prop: str, values: dict[str, Any],
             changed: tuple[Any, str] | None = None) -> requests.Response:
        response = dash.call(output, prop, values, changed)
        self.record(values, response)
        return response

    def record(self, request: Any, response: requests.Response) -> None:
        assert response.status_code in (200, 204), (response.status_code, response.text[:300])
        assert "Traceback" not in response.text
        self.exchanges.append((json.dumps(request, ensure_ascii=False), decoded(response)))


def outputs(dash: DashClient, response: requests.Response) -> dict[str, Any]:
    return dash.outputs(response) if response.status_code == 200 else {}


def filters(page: str, employees: bool = False) -> dict[str, Any]:
    values: dict[str, Any] = {key(ids.filter_department(page), "value"): None,
                              key(ids.filter_dates(page), "start_date"): FROM,
                              key(ids.filter_dates(page), "end_date"): TO}
    if employees:
        values[key(ids.filter_employees(page), "value")] = []
    return values


def grid_rows(seen: Seen, dash: DashClient, grid: str, values: dict[str, Any]) -> list[dict[str, Any]]:
    response = seen.call(dash, grid, "getRowsResponse",
                         {**values, key(grid, "getRowsRequest"): grid_request()},
                         changed=(grid, "getRowsRequest"))
    block = outputs(dash, response).get(f"{grid}.getRowsResponse") or {"rowData": []}
    return list(block["rowData"])


def plotly_values(values: Any) -> list[Any]:
    """Plotly sends arrays plain or as typed arrays ({"dtype", "bdata"})."""
    if isinstance(values, dict) and "bdata" in values:
        return [float(v) for v in np.frombuffer(base64.b64decode(values["bdata"]),
                                                dtype=values["dtype"])]
    return list(values or [])


def texts(tree: Any) -> Iterator[str]:
    if isinstance(tree, list):
        for item in tree:
            yield from texts(item)
    elif isinstance(tree, dict) and "props" in tree:
        children = tree["props"].get("children")
        if isinstance(children, str):
            yield children
        yield from texts(children)


def kpi_values(tree: Any) -> list[str]:
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, list):
            for item in node:
                walk(item)
        elif isinstance(node, dict) and "props" in node:
            if node["props"].get("className") == "vl-kpi-value":
                found.append(str(node["props"].get("children")))
            walk(node["props"].get("children"))

    walk(tree)
    return found


# -- expected rows ---------------------------------------------------------------------------
def visits_to_population(user: User) -> int:
    """Visits in the week to the user's customers, by anyone (counted, never listed)."""
    return sum(1 for _v, (_e, c, _t) in VISITS.items() if c in customers_of(user))


def located(user: User) -> set[str]:
    return {c for c in customers_of(user) if c in LOCATIONS}


def summary_rows(user: User) -> set[str]:
    tops = {BOSS.username: {"D-R1", "D-R2", "D-R3"}, DUO.username: {"D-R1", "D-R2"}}
    return {f"department:{d}" for d in tops.get(user.username, set())} | {
        f"employee:{e}" for e in employees_of(user)}


def trend_last(user: User) -> str:
    heads = len(employees_of(user))
    return f"last={round(len(visits_by(user)) / (heads * 8), 2) if heads else None}"


def viewport(user: User) -> set[str]:
    points = [LOCATIONS[c] for c in located(user)]
    if not points:
        return set()
    lons, lats = [p[0] for p in points], [p[1] for p in points]
    return {f"{min(lats) - 0.02:.3f},{min(lons) - 0.02:.3f},{max(lats) + 0.02:.3f},"
            f"{max(lons) + 0.02:.3f}"}


def owned(user: User, owners: dict[int, str]) -> set[str]:
    return {o for o in owners.values() if o in employees_of(user)}


# -- probes ----------------------------------------------------------------------------------
Probe = Callable[[DashClient, Seen, Ids], None]


def p_kpis(dash: DashClient, seen: Seen, _ids: Ids) -> None:
    out = outputs(dash, seen.call(dash, ids.VISITS_KPIS, "children", filters("visits", True)))
    values = kpi_values(out.get(f"{ids.VISITS_KPIS}.children"))
    seen.rows.add(f"visits={values[0] if values else None}")


def p_ranking_bars(dash: DashClient, seen: Seen, _ids: Ids) -> None:
    out = outputs(dash, seen.call(dash, ids.VISITS_RANKING_BARS, "figure", {
        **filters("visits", True), key(ids.VISITS_SORT, "value"): "visits",
        key(ids.VISITS_TABS, "value"): "ranking"}))
    seen.rows |= codes_in(json.dumps(out.get(f"{ids.VISITS_RANKING_BARS}.figure")))


def p_ranking_grid(dash: DashClient, seen: Seen, _ids: Ids) -> None:
    rows = grid_rows(seen, dash, ids.VISITS_RANKING_GRID, {
        **filters("visits", True), key(ids.VISITS_SORT, "value"): "visits"})
    seen.rows |= {r["employee_code"] for r in rows}


def p_open_employee(dash: DashClient, seen: Seen, _ids: Ids) -> None:
    for code in EMPLOYEES:
        response = seen.call(dash, ids.filter_employees("visits"), "value", {
            key(ids.VISITS_RANKING_GRID, "cellClicked"): {"rowId": code, "colId": "employee_name"}},
            changed=(ids.VISITS_RANKING_GRID, "cellClicked"))
        if outputs(dash, response).get(key(ids.filter_employees("visits"), "value")) == [code]:
            seen.rows.add(code)


def p_detail(dash: DashClient, seen: Seen, _ids: Ids) -> None:
    rows = grid_rows(seen, dash, ids.VISITS_DETAIL_GRID, {
        **filters("visits", True), key(ids.VISITS_VALIDITY, "value"): "all",
        key(ids.VISITS_REASON, "value"): None})
    seen.rows |= {r["visit_id"] for r in rows}


def p_trend(dash: DashClient, seen: Seen, _ids: Ids) -> None:
    out = outputs(dash, seen.call(dash, ids.VISITS_TREND_CHART, "figure", {
        **filters("visits", True), key(ids.VISITS_GRANULARITY, "value"): "month",
        key(ids.VISITS_TABS, "value"): "trend"}))
    figure = out[f"{ids.VISITS_TREND_CHART}.figure"]
    actual = next(t for t in figure["data"] if t.get("name") == "实际人均日拜访")
    last = plotly_values(actual["y"])[-1]
    seen.rows.add(f"last={None if last is None or last != last else round(last, 2)}")


def p_visits_export(dash: DashClient, seen: Seen, _ids: Ids) -> None:
    files = export_zip(dash, "visits", filters("visits", True))
    text = files["ranking.csv"] + files["detail.csv"]
    seen.exchanges.append(("", text))
    seen.rows |= codes_in(text) & (set(EMPLOYEES) | set(VISITS))


def p_cv_charts(dash: DashClient, seen: Seen, _ids: Ids) -> None:
    out = outputs(dash, seen.call(dash, ids.CV_PIE, "figure", {
        **filters("customers_visited"), key(ids.CV_BUCKETS, "data"): []}))
    pie = out[f"{ids.CV_PIE}.figure"]
    values = plotly_values(pie["data"][0]["values"]) if pie.get("data") else []
    seen.rows.add(f"customers={int(sum(values))}")


def p_cv_totals(dash: DashClient, seen: Seen, _ids: Ids) -> None:
    out = outputs(dash, seen.call(dash, ids.CV_SUMMARY_GRID, "dashGridOptions", {
        **filters("customers_visited"), key(ids.CV_BY, "value"): "department",
        key(ids.CV_BUCKETS, "data"): [], key(ids.CV_SUMMARY_GRID, "dashGridOptions"): {}},
        changed=(ids.filter_department("customers_visited"), "value")))
    total = out[f"{ids.CV_SUMMARY_GRID}.dashGridOptions"]["pinnedTopRowData"][0]
    seen.rows |= {f"customers={total['all_customers']}", f"visits={total['all_visits']}"}


def p_cv_summary(dash: DashClient, seen: Seen, _ids: Ids) -> None:
    for by in ("department", "employee"):
        rows = grid_rows(seen, dash, ids.CV_SUMMARY_GRID, {
            **filters("customers_visited"), key(ids.CV_BY, "value"): by,
            key(ids.CV_BUCKETS, "data"): []})
        seen.rows |= {f"{by}:{r['code']}" for r in rows}


def p_cv_list(dash: DashClient, seen: Seen, _ids: Ids) -> None:
    rows = grid_rows(seen, dash, ids.CV_LIST_GRID, {**filters("customers_visited"),
                                                    key(ids.CV_BUCKETS, "data"): []})
    seen.rows |= {r["customer_code"] for r in rows}


def p_cv_export(dash: DashClient, seen: Seen, _ids: Ids) -> None:
    files = export_zip(dash, "customers_visited", {
        **filters("customers_visited"), key(ids.CV_BY, "value"): "employee",
        key(ids.CV_BUCKETS, "data"): []})
    text = "".join(files.values())
    seen.exchanges.append(("", text))
    seen.rows |= codes_in(files["customers.csv"]) & set(CUSTOMERS)


MAP_VALUES = {key(ids.MAP_GRADES, "value"): [], key(ids.MAP_BUCKETS, "data"): [],
              key(ids.MAP_COLOUR, "value"): "recency"}


def p_map_draw(dash: DashClient, seen: Seen, _ids: Ids) -> None:
    out = outputs(dash, seen.call(dash, ids.MAP_POINTS, "data", {
        **filters("map", True), **MAP_VALUES, key(ids.MAP, "bounds"): None,
        key(ids.MAP, "zoom"): 5}))
    layer = out.get(f"{ids.MAP_POINTS}.data") or {"features": []}
    seen.rows |= {f["properties"]["code"] for f in layer["features"]}


def p_map_fit(dash: DashClient, seen: Seen, _ids: Ids) -> None:
    out = outputs(dash, seen.call(dash, ids.MAP, "viewport", {**filters("map", True),
                                                              **MAP_VALUES}))
    if out:
        (south, west), (north, east) = out[f"{ids.MAP}.viewport"]["bounds"]
        seen.rows.add(f"{south:.3f},{west:.3f},{north:.3f},{east:.3f}")


CUSTOMER_LIST: dict[str, Any] = {key(ids.CUST_SEARCH, "value"): "", key(ids.CUST_GRADES, "value"): [],
                 key(ids.CUST_DEPARTMENT, "value"): None,
                 key(ids.filter_employees("customers"), "value"): None,
                 key(ids.CUST_FLAGS, "value"): []}


def p_cust_list(dash: DashClient, seen: Seen, _ids: Ids) -> None:
    seen.rows |= {r["code"] for r in grid_rows(seen, dash, ids.CUST_GRID, CUSTOMER_LIST)}


def p_cust_record(dash: DashClient, seen: Seen, _ids: Ids) -> None:
    for code in CUSTOMERS:
        response = seen.call(dash, ids.CUST_RECORD, "children", {
            key(ids.CUST_CODE, "data"): code, key(ids.CUST_CHANGES, "data"): 0},
            changed=(ids.CUST_CODE, "data"))
        if f"客户#{code[2:]}" in decoded(response):
            seen.rows.add(code)


def p_cust_form(dash: DashClient, seen: Seen, _ids: Ids) -> None:
    for code in CUSTOMERS:
        response = seen.call(dash, ids.CUST_FORM, "hidden", {
            key(ids.CUST_EDIT, "n_clicks"): 1, key(ids.CUST_CODE, "data"): code},
            changed=(ids.CUST_EDIT, "n_clicks"))
        if f"客户#{code[2:]}" in decoded(response):
            seen.rows.add(code)


def p_cust_export(dash: DashClient, seen: Seen, _ids: Ids) -> None:
    files = export_zip(dash, "customers", CUSTOMER_LIST)
    seen.exchanges.append(("", files["customers.csv"]))
    seen.rows |= codes_in(files["customers.csv"]) & set(CUSTOMERS)


def p_assign_choose(dash: DashClient, seen: Seen, _ids: Ids) -> None:
    for code in EMPLOYEES:
        response = seen.call(dash, ids.ASSIGN_SHARES, "children", {
            key(ids.filter_employees("assignments"), "value"): code,
            key(ids.ASSIGN_CHANGES, "data"): 0})
        if response.status_code == 200 and NOT_ALLOWED_ZH not in decoded(response):
            seen.rows.add(code)


def p_assign_employee_rows(dash: DashClient, seen: Seen, _ids: Ids) -> None:
    for code in EMPLOYEES:
        rows = grid_rows(seen, dash, ids.ASSIGN_EMPLOYEE_GRID, {
            key(ids.filter_employees("assignments"), "value"): code})
        seen.rows |= {r["customer_code"] for r in rows}


def p_assign_department_rows(dash: DashClient, seen: Seen, _ids: Ids) -> None:
    for branch in world.BRANCHES:
        rows = grid_rows(seen, dash, ids.ASSIGN_DEPARTMENT_GRID, {
            key(ids.ASSIGN_DEPARTMENT, "value"): f"D-{branch}"})
        seen.rows |= {r["customer_code"] for r in rows}


def options_probe(output: str, employees: bool = False) -> Probe:
    def probe(dash: DashClient, seen: Seen, _ids: Ids) -> None:
        response = seen.call(dash, output, "options", {key(output, "search_value"): "",
                                                       key(output, "value"): []},
                             changed=(output, "search_value"))
        found = outputs(dash, response).get(f"{output}.options") or []
        seen.rows |= {o["value"] for o in found}
    return probe


def p_employee_options(dash: DashClient, seen: Seen, _ids: Ids) -> None:
    """The picker's search (one MATCH callback for every page), as the renderer sends it."""
    for page in ("visits", "map", "customers", "assignments", "plans"):
        picker = ids.filter_employees(page)
        dep = dependency(dash, '{"page":["MATCH"],"type":"vl-filter-employees"}.options <- '
                               '{"page":["MATCH"],"type":"vl-filter-employees"}.search_value')
        body = {"output": dep["output"], "outputs": {"id": picker, "property": "options"},
                "inputs": [{"id": picker, "property": "search_value", "value": ""}],
                "state": [{"id": picker, "property": "value", "value": []}],
                "changedPropIds": [key(picker, "search_value")]}
        response = dash.session.post(dash.url + "/_dash-update-component", json=body,
                                     timeout=60)
        seen.record(body, response)
        found = outputs(dash, response).get(key(picker, "options")) or []
        seen.rows |= {o["value"] for o in found}


def p_assign_export(dash: DashClient, seen: Seen, _ids: Ids) -> None:
    files = export_zip(dash, "assignments", {})
    text = "".join(files.values())
    seen.exchanges.append(("", text))
    seen.rows |= codes_in(text) & (set(EMPLOYEES) | set(CUSTOMERS))


def p_plan_calendar(dash: DashClient, seen: Seen, _ids: Ids) -> None:
    for code in EMPLOYEES:
        response = seen.call(dash, ids.PLAN_CALENDAR, "children", {
            key(ids.filter_employees("plans"), "value"): code,
            key(ids.PLAN_MONTH, "data"): "2024-05", key(ids.PLAN_CHANGES, "data"): 0})
        if response.status_code == 200 and NOT_ALLOWED_ZH not in decoded(response):
            seen.rows.add(code)


def p_plan_open(dash: DashClient, seen: Seen, world_ids: Ids) -> None:
    dep = dependency(dash, "vl-plan-mode.data <- {\"day\":[\"ALL\"],\"type\":\"vl-plan-day\"}.n_clicks")
    for plan_id, owner in world_ids.plans.items():
        opened = {"id": {"plan": plan_id, "type": "vl-plan-open"}, "property": "n_clicks",
                  "value": 1}
        values: dict[str, Any] = {key(ids.filter_employees("plans"), "value"): owner}
        response = call_with_items(dash, dep, values, {0: [], 1: [opened]},
                                   f'{{"plan":{plan_id},"type":"vl-plan-open"}}.n_clicks')
        seen.record(values, response)
        if response.status_code == 200:
            seen.rows.add(owner)
    for route_id, owner in world_ids.routes.items():
        values = {key(ids.filter_employees("plans"), "value"): owner,
                  key(ids.PLAN_ROUTE_PICK, "value"): route_id}
        response = call_with_items(dash, dep, values, {0: [], 1: []},
                                   f"{ids.PLAN_ROUTE_PICK}.value")
        seen.record(values, response)
        if response.status_code == 200:
            seen.rows.add(owner)


def p_plan_from_route(dash: DashClient, seen: Seen, world_ids: Ids) -> None:
    for route_id, owner in world_ids.routes.items():
        response = seen.call(dash, ids.PLAN_CUSTOMERS, "value", {
            key(ids.PLAN_FROM_ROUTE, "value"): route_id,
            key(ids.filter_employees("plans"), "value"): owner,
            key(ids.PLAN_NAME, "value"): None}, changed=(ids.PLAN_FROM_ROUTE, "value"))
        if response.status_code == 200:
            seen.rows.add(owner)


PAIRS = {"B11": ("C-B11-1", "C-B11-2"), "B21": ("C-B21-1", "C-B21-2"),
         "B31+B11": ("C-B31-1", "C-B11-1")}


def p_plan_suggest(dash: DashClient, seen: Seen, _ids: Ids) -> None:
    for name, pair in PAIRS.items():
        response = seen.call(dash, ids.PLAN_CUSTOMERS, "value", {
            key(ids.PLAN_SUGGEST, "n_clicks"): 1, key(ids.PLAN_CUSTOMERS, "value"): list(pair)},
            changed=(ids.PLAN_SUGGEST, "n_clicks"))
        if response.status_code == 200:
            seen.rows.add(name)


def p_audit_rows(dash: DashClient, seen: Seen, _ids: Ids) -> None:
    response = seen.call(dash, ids.AUDIT_GRID, "getRowsResponse", {
        key(ids.AUDIT_GRID, "getRowsRequest"): grid_request(),
        key(ids.AUDIT_SEARCH, "value"): ""}, changed=(ids.AUDIT_GRID, "getRowsRequest"))
    block = outputs(dash, response)[f"{ids.AUDIT_GRID}.getRowsResponse"]
    if block["rowCount"]:
        seen.rows.add("audit log")


def p_pages(dash: DashClient, seen: Seen, _ids: Ids) -> None:
    for path in PAGES:
        response = seen.call(dash, ROUTER, "children", {
            key("_pages_location", "pathname"): path, key("_pages_location", "search"): ""},
            changed=("_pages_location", "pathname"))
        if path != "/visits":
            continue
        tree = outputs(dash, response)[f"{ROUTER}.children"]
        text = json.dumps(tree, ensure_ascii=False)
        for found in ('"type": "vl-filter-department"', '"type": "vl-filter-employees"'):
            assert found in text
        seen.rows |= codes_in(json.dumps(_dropdown_values(tree)))


def _dropdown_values(tree: Any) -> list[Any]:
    values: list[Any] = []

    def walk(node: Any) -> None:
        if isinstance(node, list):
            for item in node:
                walk(item)
        elif isinstance(node, dict) and "props" in node:
            ident = node["props"].get("id")
            if isinstance(ident, dict) and ident.get("type") in ("vl-filter-department",
                                                                  "vl-filter-employees"):
                values.extend(o["value"] for o in node["props"].get("options") or [])
            walk(node["props"].get("children"))

    walk(tree)
    return values


# -- the registry ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Data:
    probe: Probe
    expected: Callable[[User], set[str]]


@dataclass(frozen=True)
class Covered:
    """A callback not probed here: why (no data read) or where it is tested instead."""

    why: str


UI = Covered
ADMIN = Covered("admin only: refused for other roles and audited, test_role_matrix.py")
MUTATION = Covered("a change: test_role_matrix.py (roles), test_forged_callbacks.py (types)")
JOB = Covered("export progress: another user's job id answers nothing, "
              "test_job_ids_belong_to_their_user")
VERSION = UI("bumps the grid's version counter; reads nothing")
QUERY = UI("writes the browser's own filter values into the address bar; reads nothing")

REGISTRY: dict[str, Data | Covered] = {
    '{"page":["MATCH"],"type":"vl-filter-preset"}.value <- {"page":["MATCH"],"type":"vl-filter-preset"}.value':
        UI("turns a preset into dates; reads only the time zone setting"),
    '{"page":["MATCH"],"type":"vl-filter-employees"}.options <- {"page":["MATCH"],"type":"vl-filter-employees"}.search_value':
        Data(p_employee_options, employees_of),
    "vl-home-redirect.pathname <- vl-home-redirect.pathname": UI("redirects / to /visits"),
    'vl-visits-kpis.children <- {"page":"visits","type":"vl-filter-department"}.value':
        Data(p_kpis, lambda u: {f"visits={len(visits_by(u))}"}),
    "vl-visits-ranking-section.style <- vl-visits-tabs.value": UI("shows the chosen tab"),
    'vl-visits-ranking-bars.figure <- {"page":"visits","type":"vl-filter-department"}.value':
        Data(p_ranking_bars, employees_of),
    "vl-visits-ranking-grid.getRowsResponse <- vl-visits-ranking-grid.getRowsRequest":
        Data(p_ranking_grid, employees_of),
    '{"page":"visits","type":"vl-filter-employees"}.value <- vl-visits-ranking-grid.cellClicked':
        Data(p_open_employee, employees_of),
    'vl-visits-detail-grid-version.data <- {"page":"visits","type":"vl-filter-department"}.value':
        VERSION,
    "vl-visits-detail-grid.getRowsResponse <- vl-visits-detail-grid.getRowsRequest":
        Data(p_detail, visits_by),
    'vl-visits-trend-chart.figure <- {"page":"visits","type":"vl-filter-department"}.value':
        Data(p_trend, lambda u: {trend_last(u)}),
    '{"page":"visits","type":"vl-query"}.data <- {"page":"visits","type":"vl-filter-department"}.value':
        QUERY,
    "vl-visits-export-job.data <- vl-visits-export.n_clicks":
        Data(p_visits_export, lambda u: employees_of(u) | visits_by(u)),
    "vl-visits-export-status.children <- vl-visits-export-poll.n_intervals": JOB,
    'vl-cv-pie.figure <- {"page":"customers_visited","type":"vl-filter-department"}.value':
        Data(p_cv_charts, lambda u: {f"customers={len(customers_of(u))}"}),
    "vl-cv-buckets.data <- vl-cv-pie.clickData": UI("toggles a bucket label of the settings"),
    'vl-cv-summary-grid.dashGridOptions <- {"page":"customers_visited","type":"vl-filter-department"}.value':
        Data(p_cv_totals, lambda u: {f"customers={len(customers_of(u))}",
                                     f"visits={visits_to_population(u)}"}),
    "vl-cv-summary-grid.getRowsResponse <- vl-cv-summary-grid.getRowsRequest":
        Data(p_cv_summary, summary_rows),
    'vl-cv-list-grid-version.data <- {"page":"customers_visited","type":"vl-filter-department"}.value':
        VERSION,
    "vl-cv-list-grid.getRowsResponse <- vl-cv-list-grid.getRowsRequest":
        Data(p_cv_list, customers_of),
    "vl-cv-navigate.href <- vl-cv-list-grid.cellClicked":
        UI("builds /customers?code=… from the clicked code; the record is scoped "
           "(vl-cust-record)"),
    '{"page":"customers_visited","type":"vl-query"}.data <- {"page":"customers_visited","type":"vl-filter-department"}.value':
        QUERY,
    "vl-cv-export-job.data <- vl-cv-export.n_clicks": Data(p_cv_export, customers_of),
    "vl-cv-export-status.children <- vl-cv-export-poll.n_intervals": JOB,
    'vl-map-points.data <- {"page":"map","type":"vl-filter-department"}.value':
        Data(p_map_draw, located),
    'vl-map.viewport <- {"page":"map","type":"vl-filter-department"}.value':
        Data(p_map_fit, viewport),
    '{"page":"map","type":"vl-query"}.data <- {"page":"map","type":"vl-filter-department"}.value':
        QUERY,
    '{"page":"map","type":"vl-filter-employees"}.value <- {"page":"map","type":"vl-filter-employees"}.value':
        UI("trims the browser's own employee list to the palette size"),
    "vl-cust-grid-version.data <- vl-cust-search.value": VERSION,
    "vl-cust-grid.getRowsResponse <- vl-cust-grid.getRowsRequest": Data(p_cust_list, customers_of),
    '{"page":"customers","type":"vl-query"}.data <- vl-cust-search.value': QUERY,
    "vl-cust-code.data <- vl-cust-grid.cellClicked":
        UI("passes the clicked code on; the record is scoped (vl-cust-record)"),
    "vl-cust-record.children <- vl-cust-code.data": Data(p_cust_record, customers_of),
    "vl-cust-form.hidden <- vl-cust-add.n_clicks":
        Data(p_cust_form, lambda u: set(CUSTOMERS) if u.role == "admin" else set()),
    "vl-cust-form-message.children <- vl-cust-save.n_clicks": MUTATION,
    "vl-cust-confirm.displayed <- vl-cust-delete.n_clicks":
        UI("opens the confirmation dialog; the delete is vl-cust-message"),
    "vl-cust-message.children <- vl-cust-confirm.submit_n_clicks": MUTATION,
    "vl-cust-export-job.data <- vl-cust-export.n_clicks": Data(p_cust_export, customers_of),
    "vl-cust-export-status.children <- vl-cust-export-poll.n_intervals": JOB,
    "vl-import-template-zh.href <- vl-import-kind.value": ADMIN,
    "vl-import-file.children <- vl-import-upload.contents": ADMIN,
    "vl-import-detect-job.data <- vl-import-detect.n_clicks": MUTATION,
    "vl-import-run-job.data <- vl-import-run.n_clicks": MUTATION,
    "vl-import-status.children <- vl-import-poll.n_intervals": ADMIN,
    "vl-import-problems-grid.getRowsResponse <- vl-import-problems-grid.getRowsRequest": ADMIN,
    'vl-assign-employee-grid-version.data <- {"page":"assignments","type":"vl-filter-employees"}.value':
        Data(p_assign_choose, employees_of),
    "vl-assign-employee-grid.getRowsResponse <- vl-assign-employee-grid.getRowsRequest":
        Data(p_assign_employee_rows, customers_of),
    "vl-assign-department-grid-version.data <- vl-assign-department.value": VERSION,
    "vl-assign-department-grid.getRowsResponse <- vl-assign-department-grid.getRowsRequest":
        Data(p_assign_department_rows, customers_of),
    "vl-assign-bind-pick.options <- vl-assign-bind-pick.search_value":
        Data(options_probe(ids.ASSIGN_BIND_PICK), customers_of),
    "vl-assign-dept-pick.options <- vl-assign-dept-pick.search_value":
        Data(options_probe(ids.ASSIGN_DEPT_PICK), customers_of),
    "vl-assign-share-pick.options <- vl-assign-share-pick.search_value":
        Data(options_probe(ids.ASSIGN_SHARE_PICK), employees_of),
    "vl-assign-message.children <- vl-assign-bind.n_clicks": MUTATION,
    "vl-assign-export-job.data <- vl-assign-export.n_clicks":
        Data(p_assign_export, lambda u: employees_of(u) | customers_of(u)),
    "vl-assign-export-status.children <- vl-assign-export-poll.n_intervals": JOB,
    "vl-plan-month.data <- vl-plan-prev.n_clicks": UI("moves the shown month"),
    'vl-plan-calendar.children <- {"page":"plans","type":"vl-filter-employees"}.value':
        Data(p_plan_calendar, employees_of),
    'vl-plan-mode.data <- {"day":["ALL"],"type":"vl-plan-day"}.n_clicks':
        Data(p_plan_open, lambda u: {"E-B11-1", "E-B21-1", "E-B31-1"} & employees_of(u)),
    "vl-plan-customers.options <- vl-plan-customers.search_value":
        Data(options_probe(ids.PLAN_CUSTOMERS), customers_of),
    "vl-plan-customers.value <- vl-plan-from-route.value":
        Data(p_plan_from_route, lambda u: {"E-B11-1", "E-B31-1"} & employees_of(u)),
    "vl-plan-order.children <- vl-plan-customers.value":
        UI("lists the browser's own picked customers with their labels; reads nothing"),
    'vl-plan-customers.value <- {"dir":["ALL"],"index":["ALL"],"type":"vl-plan-move"}.n_clicks':
        UI("reorders the browser's own list"),
    "vl-plan-customers.value <- vl-plan-suggest.n_clicks":
        Data(p_plan_suggest, lambda u: {n for n, pair in PAIRS.items()
                                        if set(pair) <= customers_of(u)}),
    "vl-plan-message.children <- vl-plan-save.n_clicks": MUTATION,
    "vl-settings-save-result.children <- vl-settings-save.n_clicks": MUTATION,
    "vl-holiday-result.children <- vl-holiday-add.n_clicks": MUTATION,
    "vl-audit-grid-version.data <- vl-audit-search.value": VERSION,
    "vl-audit-grid.getRowsResponse <- vl-audit-grid.getRowsRequest":
        Data(p_audit_rows, lambda u: {"audit log"} if u.role == "admin" else set()),
    '{"page":["ALL"],"type":"vl-nav-link"}.className <- vl-url.pathname':
        UI("marks the current page in the navigation"),
    "_pages_content.children <- _pages_location.pathname":
        Data(p_pages, lambda u: set(u.departments_seen) | employees_of(u)),
}
DATA = sorted(name for name, entry in REGISTRY.items() if isinstance(entry, Data))


def test_every_server_callback_is_classified(clients: dict[str, DashClient]) -> None:
    """A callback added without a place in the matrix fails here (and a stale entry too)."""
    present = {signature(d) for d in server_callbacks(clients[BOSS.username])}
    assert present - set(REGISTRY) == set(), "classify these callbacks in REGISTRY"
    assert set(REGISTRY) - present == set(), "these callbacks no longer exist"


@pytest.mark.parametrize("name", DATA)
def test_data_callback_answers_exactly_the_scope(name: str, clients: dict[str, DashClient],
                                                 world_ids: Ids) -> None:
    entry = REGISTRY[name]
    assert isinstance(entry, Data)
    for user in READERS:
        seen = Seen()
        entry.probe(clients[user.username], seen, world_ids)
        assert seen.rows == entry.expected(user), (user.username, name)
        for request, response in seen.exchanges:
            assert not leaks(user, response, request), (user.username, name,
                                                        leaks(user, response, request))


# -- downloads -------------------------------------------------------------------------------
def test_job_ids_belong_to_their_user(clients: dict[str, DashClient], server: LiveServer) -> None:
    """An export's progress and file answer only the user who started it."""
    boss, duo = clients[BOSS.username], clients[DUO.username]
    started = boss.outputs(boss.call(ids.VISITS_EXPORT_JOB, "data", {
        **filters("visits", True), key(ids.VISITS_EXPORT_BUTTON, "n_clicks"): 1},
        changed=(ids.VISITS_EXPORT_BUTTON, "n_clicks")))
    job_id = started[f"{ids.VISITS_EXPORT_JOB}.data"]
    export_zip(boss, "visits", filters("visits", True))  # the boss's own downloads work
    for page in ("visits", "customers_visited", "customers", "assignments"):
        polled = duo.outputs(poll_export(duo, page, job_id))
        assert job_id not in json.dumps(polled) and "/download/job/" not in json.dumps(polled)
    stolen = duo.session.get(f"{server.url}/download/job/{job_id}", timeout=30)
    assert stolen.status_code == 404 and not stolen.content.startswith(b"PK")
    assert requests.get(f"{server.url}/download/job/{job_id}", timeout=30).status_code == 401


@pytest.mark.parametrize("user", READERS, ids=lambda u: u.username)
def test_download_routes(user: User, clients: dict[str, DashClient], server: LiveServer) -> None:
    """Templates hold no data (any logged-in user); the backup is the admin's only."""
    session = clients[user.username].session
    template = session.get(f"{server.url}/download/template/customers.xlsx", timeout=30)
    assert template.status_code == 200 and template.content.startswith(b"PK")
    assert not world.seen(template.content.decode("latin-1"))
    backup = download_backup(server.url, session)
    if user.role == "admin":
        assert backup.status_code == 200 and backup.content[8:12] == b"DUCK"
    else:
        assert backup.status_code == 403 and b"DUCK" not in backup.content[:64]


# -- the command line ------------------------------------------------------------------------
@pytest.fixture(scope="module")
def cli_db(world_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy the server does not hold (DuckDB lets one process open a file)."""
    return copy_world(world_template, tmp_path_factory.mktemp("scope-cli"))


def cli_rows(capsys: pytest.CaptureFixture[str], *argv: str) -> list[dict[str, Any]]:
    status = cli_main(list(argv))
    captured = capsys.readouterr()
    assert status == 0, captured.err
    return list(json.loads(captured.out)["rows"])


REPORTS: dict[str, Callable[[list[dict[str, Any]]], set[str]]] = {
    "ranking": lambda rows: {r["employee_code"] for r in rows},
    "detail": lambda rows: {r["visit_id"] for r in rows},
    "trend": lambda rows: {f"visits={rows[-1]['visits']}"},
    "frequency": lambda rows: {f"customers={sum(r['customers'] for r in rows)}"},
    "grades": lambda rows: {f"customers={sum(r['customers'] for r in rows)}"},
    "summary": lambda rows: {f"{r['row_type']}:{r['code']}" for r in rows
                             if r["row_type"] != "total"} | {
        f"total={r['customers']}" for r in rows if r["row_type"] == "total" and r["grade"] == "*"},
}
CLI_EXPECTED: dict[str, Callable[[User], set[str]]] = {
    "ranking": employees_of,
    "detail": visits_by,
    "trend": lambda u: {f"visits={len(visits_by(u))}"},
    "frequency": lambda u: {f"customers={len(customers_of(u))}"},
    "grades": lambda u: {f"customers={len(customers_of(u))}"},
    "summary": lambda u: summary_rows(u) - {f"employee:{e}" for e in EMPLOYEES} | {
        f"total={len(customers_of(u))}"},
}


@pytest.mark.parametrize("report", list(REPORTS))
def test_cli_reports_as_each_user(report: str, cli_db: Path,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    for user in READERS:
        rows = cli_rows(capsys, "--db", str(cli_db), "report", report, "--from", FROM,
                        "--to", TO, "--as", user.username, "--format", "json")
        assert REPORTS[report](rows) == CLI_EXPECTED[report](user), (report, user.username)
        assert not leaks(user, json.dumps(rows, ensure_ascii=False)), (report, user.username)


@pytest.mark.parametrize("export", ["customers", "person-customers"])
def test_cli_exports_as_each_user(export: str, cli_db: Path,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    for user in READERS:
        status = cli_main(["--db", str(cli_db), "export", export, "--as", user.username,
                           "--format", "json"])
        out = capsys.readouterr().out
        assert status == 0
        rows = json.loads(out)["rows"]
        found = codes_in(json.dumps(rows)) & set(CUSTOMERS)
        assert found == customers_of(user), (export, user.username)
        assert not leaks(user, out), (export, user.username)


def test_cli_unknown_user_and_outside_department_are_refused(
        cli_db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (["report", "ranking", "--from", FROM, "--to", TO, "--as", "mallory"],
                 ["report", "ranking", "--from", FROM, "--to", TO, "--as", BRANCH.username,
                  "--department", "D-R3"],
                 ["report", "detail", "--from", FROM, "--to", TO, "--as", DUO.username,
                  "--employee", "E-B31-1"],
                 ["export", "customers", "--as", "mallory"]):
        status = cli_main(["--db", str(cli_db), *argv])
        captured = capsys.readouterr()
        assert status == 1 and captured.out == "", argv
        assert "Traceback" not in captured.err and "visitlens: error:" in captured.err
        assert not leaks(NOBODY, captured.err, " ".join(argv))
