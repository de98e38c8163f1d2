"""拜访计划 (/plans): an employee's month of visit plans, their routes, suggested orders.

The calendar shows each day's plans with their customers and, for past days, which items
a visit fulfilled (DESIGN.md section 2). Admins plan for everyone, supervisors for the
employees of their scope, analysts only read (the page shows them no editing controls).
pipelines.plans checks every record a change touches against the scope, writes and audits
(refusals too); the checks here only answer early with a clear message.
"""

from __future__ import annotations

import calendar
from datetime import date, timedelta
from typing import Any

import dash
import dash_leaflet as dl
from dash import ALL, Input, Output, State, callback, ctx, dcc, html, no_update
from dash.development.base_component import Component
from dash.exceptions import PreventUpdate

from dashboard.auth import current_scope
from dashboard.components import grid, ids
from dashboard.components.filter_bar import (
    build_employee_filter,
    company_today,
    parse_date,
)
from dashboard.components.notices import message
from dashboard.components.page import page_layout, registration
from dashboard.context import get_db, get_settings
from dashboard.i18n import N_, _
from dashboard.reports import archive, lookups, metrics
from dashboard.scope import Scope, ScopeError
from pipelines import policy

KEY = "plans"
# Customers of one plan or route: a day's round is a few dozen; the limit keeps a forged
# list from making the scope checks and the route solver run for minutes.
MAX_PLAN_CUSTOMERS = 200
WEEKDAYS = (N_("Mon"), N_("Tue"), N_("Wed"), N_("Thu"), N_("Fri"), N_("Sat"), N_("Sun"))
NEW = "__new__"


def _employee(value: Any) -> str | None:
    if isinstance(value, list):
        value = value[0] if value else None
    return value if isinstance(value, str) and value else None


def _month(value: Any, today: date) -> date:
    """The first day of the shown month ('YYYY-MM' from the browser, else this month)."""
    if isinstance(value, str) and len(value) == 7:
        found = parse_date(value + "-01")
        if found is not None:
            return found
    return today.replace(day=1)


def may_plan(scope: Scope, employee: str) -> bool:
    """Admins for everyone, supervisors for the employees of their scope; never analysts."""
    return scope.can_plan and not policy.outside_employees(get_db().cursor(), scope,
                                                           [employee])


def _codes(values: Any) -> list[str]:
    """The customer codes of a picker's value (browser input: anything else is dropped)."""
    return [c for c in values if isinstance(c, str)] if isinstance(values, list) else []


def _too_many() -> str:
    return _("At most {limit} customers fit in one plan or route.").format(
        limit=MAX_PLAN_CUSTOMERS)


def _in_scope(db: Any, scope: Scope, employee: str) -> bool:
    """Whether an employee id sent by the browser is inside the scope (reading their plans)."""
    try:
        metrics.checked_employees(db, scope, (employee,))
    except ScopeError:
        return False
    return True


def _refuse(scope: Scope, action: str, employee: str | None) -> html.Div:
    policy.record_denied(get_db(), scope, action, employee)
    return _refused()


def _refused() -> html.Div:
    return message(_("Not allowed: you may not plan for this employee."), False)


def _title(mode: dict[str, Any], name: str) -> str:
    """The editor's title for a stored plan or route."""
    return (_("Plan {name}") if mode.get("kind") == "plan" else _("Route {name}")).format(
        name=name)


# -- layout ---------------------------------------------------------------------------------
def layout(**query_args: Any) -> Component:
    frame = page_layout(KEY, query_args)
    db, scope = get_db(), current_scope()
    employee = query_args.get("employee") if isinstance(query_args.get("employee"),
                                                        str) else None
    chooser = build_employee_filter(KEY, scope, db, [employee] if employee else [])
    picker = chooser.children[1]
    picker.multi, picker.value, picker.placeholder = False, employee, _("Choose an employee")
    month = _month(query_args.get("month"), company_today(db))
    reader = not scope.can_plan  # analysts: the same page without the editing controls
    weekday_options = [{"label": _(d), "value": i + 1} for i, d in enumerate(WEEKDAYS)]
    frame.children += [
        dcc.Store(id=ids.PLAN_CHANGES, data=0),
        dcc.Store(id=ids.PLAN_MONTH, data=month.strftime("%Y-%m")),
        dcc.Store(id=ids.PLAN_MODE, data=None),
        dcc.Store(id=ids.query_store(KEY)),
        html.Div(id=ids.query_sink(KEY), hidden=True),
        html.Div(className="vl-filter-bar", children=[
            chooser,
            html.Div(className="vl-inline", children=[
                html.Button("‹", id=ids.PLAN_PREV, n_clicks=0, className="vl-button",
                            title=_("Previous month")),
                html.Strong(id=ids.PLAN_MONTH_LABEL),
                html.Button("›", id=ids.PLAN_NEXT, n_clicks=0, className="vl-button",
                            title=_("Next month")),
                html.Button(_("New route"), id=ids.PLAN_NEW_ROUTE, n_clicks=0,
                            className="vl-button", hidden=reader),
                dcc.Dropdown(id=ids.PLAN_ROUTE_PICK, options=[], placeholder=_("Routes"),
                             className="vl-select"),
            ]),
        ]),
        html.Div(id=ids.PLAN_MESSAGE, role="status"),
        html.Div(className="vl-plan-layout", children=[
            html.Div(id=ids.PLAN_CALENDAR, className="vl-calendar"),
            html.Div(className="vl-card vl-plan-editor", children=[
                html.H2(_("Choose a day or a plan"), id=ids.PLAN_EDITOR_TITLE,
                        className="vl-card-title"),
                html.Div(id=ids.PLAN_PLAN_FIELDS, className="vl-form-field", children=[
                    html.Label(_("Date")),
                    dcc.DatePickerSingle(id=ids.PLAN_DATE, display_format="YYYY-MM-DD",
                                         first_day_of_week=1, disabled=reader),
                    html.Label(_("As route visit")),
                    dcc.Dropdown(id=ids.PLAN_FROM_ROUTE, options=[], clearable=True,
                                 placeholder=_("From one of the routes"), disabled=reader),
                ]),
                html.Div(className="vl-form-field", children=[
                    html.Label(_("Name")),
                    dcc.Input(id=ids.PLAN_NAME, className="vl-input", maxLength=100,
                              readOnly=reader),
                    html.Label(_("Customers, in visiting order")),
                    dcc.Dropdown(id=ids.PLAN_CUSTOMERS, multi=True, options=[], value=[],
                                 placeholder=_("Search customers"), disabled=reader),
                ]),
                html.Ol(id=ids.PLAN_ORDER, className="vl-order"),
                html.Div(className="vl-inline", children=[
                    html.Button(_("Suggest order"), id=ids.PLAN_SUGGEST, n_clicks=0,
                                className="vl-button"),
                    html.Span(id=ids.PLAN_DISTANCE, className="vl-hint"),
                ]),
                dl.Map(id=ids.PLAN_MAP, center=[31.2, 121.45], zoom=10,
                       style={"height": "260px"}, children=[
                           dl.TileLayer(url=get_settings().tile_url,
                                        attribution=get_settings().tile_attribution)]),
                html.Div(className="vl-inline", hidden=reader, children=[
                    html.Button(_("Save"), id=ids.PLAN_SAVE, n_clicks=0,
                                className="vl-button vl-button-primary"),
                    html.Button(_("Delete"), id=ids.PLAN_DELETE, n_clicks=0,
                                className="vl-button"),
                ]),
                html.Div(id=ids.PLAN_ROUTE_FIELDS, hidden=True, className="vl-card",
                         children=[
                    html.H3(_("Add the route to the calendar")),
                    html.Div(className="vl-inline", children=[
                        dcc.DatePickerSingle(id=ids.PLAN_SCHEDULE_START, first_day_of_week=1,
                                             display_format="YYYY-MM-DD",
                                             placeholder=_("From")),
                        dcc.DatePickerSingle(id=ids.PLAN_SCHEDULE_UNTIL, first_day_of_week=1,
                                             display_format="YYYY-MM-DD",
                                             placeholder=_("Until (optional)")),
                    ]),
                    dcc.Checklist(id=ids.PLAN_SCHEDULE_DAYS, options=weekday_options,
                                  value=[], inline=True),
                    html.P(_("With no weekday chosen, the route is added on the first date "
                             "only; days off are skipped."), className="vl-hint"),
                    html.Button(_("Add to calendar"), id=ids.PLAN_SCHEDULE, n_clicks=0,
                                className="vl-button vl-button-primary"),
                ]),
            ]),
        ]),
    ]
    return frame


# -- calendar -------------------------------------------------------------------------------
@callback(
    Output(ids.PLAN_MONTH, "data"),
    Input(ids.PLAN_PREV, "n_clicks"),
    Input(ids.PLAN_NEXT, "n_clicks"),
    State(ids.PLAN_MONTH, "data"),
    prevent_initial_call=True,
)
def change_month(_prev: Any, _next: Any, month: Any) -> str:
    first = _month(month, date.today())
    if ctx.triggered_id == ids.PLAN_PREV:
        first = (first - timedelta(days=1)).replace(day=1)
    else:
        first = (first + timedelta(days=32)).replace(day=1)
    return first.strftime("%Y-%m")


def _plans(db: Any, employee: str, first: date, last: date) -> dict[date, list[dict[str, Any]]]:
    """The employee's plans per day, each with its items in order."""
    by_day: dict[date, dict[int, dict[str, Any]]] = {}
    for row in lookups.plans_between(db, employee, first, last):
        day = row["plan_date"]
        plan = by_day.setdefault(day, {}).setdefault(row["plan_id"], {
            "plan_id": row["plan_id"], "name": row["plan_name"], "route": row["route_name"],
            "items": []})
        plan["items"].append(row)
    return {day: list(plans.values()) for day, plans in by_day.items()}


@callback(
    Output(ids.PLAN_CALENDAR, "children"),
    Output(ids.PLAN_MONTH_LABEL, "children"),
    Output(ids.PLAN_ROUTE_PICK, "options"),
    Output(ids.PLAN_FROM_ROUTE, "options"),
    Output(ids.query_store(KEY), "data"),
    Input(ids.filter_employees(KEY), "value"),
    Input(ids.PLAN_MONTH, "data"),
    Input(ids.PLAN_CHANGES, "data"),
)
def draw_calendar(employee: Any, month: Any, _changes: Any) -> tuple[Any, ...]:
    """The month of the chosen employee: plans per day, fulfilled items ticked."""
    db, scope = get_db(), current_scope()
    today = company_today(db)
    first = _month(month, today)
    last = first.replace(day=calendar.monthrange(first.year, first.month)[1])
    code = _employee(employee)
    search = "?month=" + first.strftime("%Y-%m") + (f"&employee={code}" if code else "")
    label = first.strftime("%Y-%m")
    if code is None:
        return html.P(_("Choose an employee to see their plans."), className="vl-hint"), \
            label, [], [], search
    try:
        metrics.checked_employees(db, scope, (code,))
    except ScopeError:
        return message(_("Not allowed: that filter is outside your scope."), False), label, \
            [], [], search
    plans = _plans(db, code, first, last)
    routes = _routes(db, code)
    options = [{"label": r["name"], "value": r["route_id"]} for r in routes]
    header = html.Tr([html.Th(_(d)) for d in WEEKDAYS])
    weeks = []
    start = first - timedelta(days=first.weekday())
    while start <= last:
        cells = []
        for offset in range(7):
            day = start + timedelta(days=offset)
            inside = first <= day <= last
            entries: list[Component] = []
            for plan in plans.get(day, []):
                items = [html.Li(
                    [("✓ " if item["fulfilled"] else ("✗ " if day < today else ""))
                     + (item["customer_name"] or item["customer_code"])],
                    className="vl-done" if item["fulfilled"] else (
                        "vl-missed" if day < today else ""))
                    for item in plan["items"]]
                entries.append(html.Div(className="vl-plan-entry", children=[
                    html.Button(plan["name"], id=ids.plan_open(plan["plan_id"]), n_clicks=0,
                                className="vl-plan-name"),
                    html.Ul(items)]))
            cells.append(html.Td(className="vl-day" + ("" if inside else " vl-day-out") + (
                " vl-today" if day == today else ""), children=[
                html.Button(str(day.day), id=ids.plan_day(day.isoformat()), n_clicks=0,
                            className="vl-day-number", disabled=not scope.can_plan,
                            title=_("New plan on this day") if scope.can_plan else None),
                *entries]))
        weeks.append(html.Tr(cells))
        start += timedelta(days=7)
    table = html.Table(className="vl-calendar-table", children=[html.Thead(header),
                                                                html.Tbody(weeks)])
    return table, label, options, options, search


def _routes(db: Any, employee: str) -> list[dict[str, Any]]:
    routes: dict[int, dict[str, Any]] = {}
    for row in lookups.routes_of(db, employee):
        route = routes.setdefault(row["route_id"], {"route_id": row["route_id"],
                                                    "name": row["route_name"], "items": []})
        if row["customer_code"] is not None:
            route["items"].append(row["customer_code"])
    return list(routes.values())


# -- the editor -----------------------------------------------------------------------------
def _labelled(db: Any, scope: Scope, codes: list[str]) -> list[dict[str, str]]:
    return archive.customer_options(db, scope, "", codes)


@callback(
    Output(ids.PLAN_MODE, "data"),
    Output(ids.PLAN_EDITOR_TITLE, "children"),
    Output(ids.PLAN_DATE, "date"),
    Output(ids.PLAN_NAME, "value"),
    Output(ids.PLAN_CUSTOMERS, "value"),
    Output(ids.PLAN_CUSTOMERS, "options"),
    Output(ids.PLAN_PLAN_FIELDS, "hidden"),
    Output(ids.PLAN_ROUTE_FIELDS, "hidden"),
    Input({"type": "vl-plan-day", "day": ALL}, "n_clicks"),
    Input({"type": "vl-plan-open", "plan": ALL}, "n_clicks"),
    Input(ids.PLAN_NEW_ROUTE, "n_clicks"),
    Input(ids.PLAN_ROUTE_PICK, "value"),
    State(ids.filter_employees(KEY), "value"),
    prevent_initial_call=True,
)
def open_editor(_days: Any, _plans: Any, _new: Any, route_id: Any,
                employee: Any) -> tuple[Any, ...]:
    """A day opens a new plan, a plan opens itself, a route opens the route editor."""
    trigger = ctx.triggered_id
    if not ctx.triggered or not ctx.triggered[0].get("value"):
        raise PreventUpdate
    db, scope = get_db(), current_scope()
    code = _employee(employee)
    if code is None or not _in_scope(db, scope, code):
        raise PreventUpdate
    new = trigger == ids.PLAN_NEW_ROUTE or (
        isinstance(trigger, dict) and trigger.get("type") == "vl-plan-day")
    if new and not scope.can_plan:  # read-only roles open what exists, never a new one
        raise PreventUpdate
    if isinstance(trigger, dict) and trigger.get("type") == "vl-plan-day":
        day = parse_date(trigger.get("day"))
        if day is None:
            raise PreventUpdate
        return ({"kind": "plan", "plan_id": None}, _("New plan on {day}").format(
            day=day.isoformat()), day.isoformat(), "", [], [], False, True)
    if isinstance(trigger, dict) and trigger.get("type") == "vl-plan-open":
        plan_id = trigger.get("plan")
        rows = lookups.plans_between(db, code, date(1990, 1, 1), date(2100, 1, 1))
        items = [r for r in rows if r["plan_id"] == plan_id]
        if not items:
            raise PreventUpdate
        codes = [r["customer_code"] for r in items]
        return ({"kind": "plan", "plan_id": plan_id}, _("Plan {name}").format(
            name=items[0]["plan_name"]), items[0]["plan_date"].isoformat(),
            items[0]["plan_name"], codes, _labelled(db, scope, codes), False, True)
    if trigger == ids.PLAN_NEW_ROUTE:
        return ({"kind": "route", "route_id": None}, _("New route"), None, "", [], [], True,
                False)
    route = next((r for r in _routes(db, code) if r["route_id"] == route_id), None)
    if route is None:
        raise PreventUpdate
    return ({"kind": "route", "route_id": route["route_id"]}, _("Route {name}").format(
        name=route["name"]), None, route["name"], route["items"],
        _labelled(db, scope, route["items"]), True, not scope.can_plan)


@callback(
    Output(ids.PLAN_CUSTOMERS, "options", allow_duplicate=True),
    Input(ids.PLAN_CUSTOMERS, "search_value"),
    State(ids.PLAN_CUSTOMERS, "value"),
    prevent_initial_call=True,
)
def search_customers(search: Any, selected: Any) -> list[dict[str, str]]:
    return archive.customer_options(get_db(), current_scope(), search, selected)


@callback(
    Output(ids.PLAN_CUSTOMERS, "value", allow_duplicate=True),
    Output(ids.PLAN_CUSTOMERS, "options", allow_duplicate=True),
    Output(ids.PLAN_NAME, "value", allow_duplicate=True),
    Input(ids.PLAN_FROM_ROUTE, "value"),
    State(ids.filter_employees(KEY), "value"),
    State(ids.PLAN_NAME, "value"),
    prevent_initial_call=True,
)
def from_route(route_id: Any, employee: Any, name: Any) -> tuple[Any, Any, Any]:
    """'As route visit': the plan takes the route's customers in order."""
    code = _employee(employee)
    if code is None or route_id is None or not _in_scope(get_db(), current_scope(), code):
        raise PreventUpdate
    route = next((r for r in _routes(get_db(), code) if r["route_id"] == route_id), None)
    if route is None:
        raise PreventUpdate
    return route["items"], _labelled(get_db(), current_scope(), route["items"]), \
        name or route["name"]


@callback(
    Output(ids.PLAN_ORDER, "children"),
    Input(ids.PLAN_CUSTOMERS, "value"),
    State(ids.PLAN_CUSTOMERS, "options"),
)
def show_order(codes: Any, options: Any) -> list[Component]:
    """The customers in visiting order, with arrows to move them."""
    codes = _codes(codes)[:MAX_PLAN_CUSTOMERS]
    names = {o.get("value"): o.get("label") for o in options if isinstance(o, dict)
             and isinstance(o.get("label"), str)} if isinstance(options, list) else {}
    return [html.Li(className="vl-order-item", children=[
        html.Span(names.get(c, c)),
        html.Button("↑", id=ids.plan_move(i, "up"), n_clicks=0, className="vl-arrow",
                    disabled=i == 0, title=_("Earlier")),
        html.Button("↓", id=ids.plan_move(i, "down"), n_clicks=0, className="vl-arrow",
                    disabled=i == len(codes) - 1, title=_("Later")),
    ]) for i, c in enumerate(codes)]


@callback(
    Output(ids.PLAN_CUSTOMERS, "value", allow_duplicate=True),
    Input({"type": "vl-plan-move", "index": ALL, "dir": ALL}, "n_clicks"),
    State(ids.PLAN_CUSTOMERS, "value"),
    prevent_initial_call=True,
)
def move(_clicks: Any, codes: Any) -> list[str]:
    trigger = ctx.triggered_id
    if not isinstance(trigger, dict) or not ctx.triggered[0].get("value"):
        raise PreventUpdate
    codes = [c for c in codes if isinstance(c, str)] if isinstance(codes, list) else []
    i = trigger.get("index")
    if not isinstance(i, int) or isinstance(i, bool):
        raise PreventUpdate
    j = i - 1 if trigger.get("dir") == "up" else i + 1
    if not (0 <= i < len(codes) and 0 <= j < len(codes)):
        raise PreventUpdate
    codes[i], codes[j] = codes[j], codes[i]
    return codes


@callback(
    Output(ids.PLAN_CUSTOMERS, "value", allow_duplicate=True),
    Output(ids.PLAN_MAP, "children"),
    Output(ids.PLAN_MAP, "viewport"),
    Output(ids.PLAN_DISTANCE, "children"),
    Input(ids.PLAN_SUGGEST, "n_clicks"),
    State(ids.PLAN_CUSTOMERS, "value"),
    prevent_initial_call=True,
)
def suggest(_clicks: Any, codes: Any) -> tuple[Any, ...]:
    """Reorder for a short trip from the first customer (OR-Tools), and draw both trips."""
    from pipelines.routing import suggest_order

    codes = list(dict.fromkeys(_codes(codes)))
    if len(codes) > MAX_PLAN_CUSTOMERS:
        return no_update, no_update, no_update, _too_many()
    scope = current_scope()
    try:  # every code first: an unknown one is refused like another scope's (no oracle)
        for code in codes:
            archive.check_customer(get_db(), scope, code)
    except ScopeError:
        raise PreventUpdate from None
    located = lookups.customers_located(get_db(), codes)
    usable = [c for c in codes if located.get(c) and located[c]["longitude"] is not None]
    if len(usable) < 2:
        return no_update, no_update, no_update, _("At least two customers with a location "
                                                  "are needed.")
    points = [(float(located[c]["longitude"]), float(located[c]["latitude"])) for c in usable]
    result = suggest_order(points)
    ordered = [usable[i] for i in result.order] + [c for c in codes if c not in usable]
    lat_lon = [[p[1], p[0]] for p in points]
    suggested = [lat_lon[i] for i in result.order]
    settings = get_settings()
    children = [
        dl.TileLayer(url=settings.tile_url, attribution=settings.tile_attribution),
        dl.Polyline(positions=lat_lon, color="#9ca3af", dashArray="6 6", weight=2),
        dl.Polyline(positions=suggested, color="#2f6fde", weight=4),
        *[dl.CircleMarker(center=p, radius=7, color="#2f6fde", fill=True, fillOpacity=0.9,
                          children=dl.Tooltip(f"{n + 1}. {located[usable[i]]['name']}"))
          for n, (i, p) in enumerate(zip(result.order, suggested, strict=True))],
    ]
    lats, lons = [p[0] for p in lat_lon], [p[1] for p in lat_lon]
    viewport = {"bounds": [[min(lats) - 0.01, min(lons) - 0.01],
                           [max(lats) + 0.01, max(lons) + 0.01]]}
    text = _("Trip before: {before} km, suggested: {after} km").format(
        before=f"{result.before_m / 1000:.1f}", after=f"{result.after_m / 1000:.1f}")
    return ordered, children, viewport, text


# -- saving ---------------------------------------------------------------------------------
@callback(
    Output(ids.PLAN_MESSAGE, "children"),
    Output(ids.PLAN_CHANGES, "data"),
    Output(ids.PLAN_MODE, "data", allow_duplicate=True),
    Output(ids.PLAN_EDITOR_TITLE, "children", allow_duplicate=True),
    Input(ids.PLAN_SAVE, "n_clicks"),
    Input(ids.PLAN_DELETE, "n_clicks"),
    Input(ids.PLAN_SCHEDULE, "n_clicks"),
    State(ids.PLAN_MODE, "data"),
    State(ids.filter_employees(KEY), "value"),
    State(ids.PLAN_DATE, "date"),
    State(ids.PLAN_NAME, "value"),
    State(ids.PLAN_CUSTOMERS, "value"),
    State(ids.PLAN_FROM_ROUTE, "value"),
    State(ids.PLAN_SCHEDULE_START, "date"),
    State(ids.PLAN_SCHEDULE_UNTIL, "date"),
    State(ids.PLAN_SCHEDULE_DAYS, "value"),
    State(ids.PLAN_CHANGES, "data"),
    prevent_initial_call=True,
)
def save(_save: Any, _delete: Any, _schedule: Any, mode: Any, employee: Any, day: Any,
         name: Any, codes: Any, from_route: Any, start: Any, until: Any, weekdays: Any,
         changes: Any) -> tuple[Any, Any, Any, Any]:
    """Save, delete or schedule. The ids of the mode must all belong to the chosen
    employee; pipelines.plans checks every record again against the scope (and audits)."""
    from pipelines import plans

    if not ctx.triggered or not ctx.triggered[0].get("value") or not isinstance(mode, dict):
        raise PreventUpdate
    db, scope = get_db(), current_scope()
    code = _employee(employee)
    trigger = ctx.triggered_id
    kind = mode.get("kind")
    plan_id, route_id = mode.get("plan_id"), mode.get("route_id")
    # The employee a change touches is the stored owner of every id, never only what the
    # browser says: a plan of one employee with a route of another is refused.
    owners = ([plans.plan_owner(db, plan_id)] if isinstance(plan_id, int) else []) + (
        [plans.route_owner(db, route_id)] if isinstance(route_id, int) else [])
    try:
        owner = policy.check_same_owner([*owners, code] if code is not None or not owners
                                        else owners)
    except ScopeError:
        return _refuse(scope, f"{kind}.change", code), no_update, no_update, no_update
    if not may_plan(scope, owner):
        return _refuse(scope, f"{kind}.change", owner), no_update, no_update, no_update
    customers = _codes(codes)
    if len(customers) > MAX_PLAN_CUSTOMERS:
        return message(_too_many(), False), no_update, no_update, no_update
    text = name.strip() if isinstance(name, str) else ""
    try:
        if trigger == ids.PLAN_DELETE:
            if kind == "plan" and isinstance(plan_id, int):
                plans.delete_plan(db, plan_id, scope)
            elif kind == "route" and isinstance(route_id, int):
                plans.delete_route(db, route_id, scope)
            else:
                raise PreventUpdate
            return message(_("Deleted."), True), grid.next_version(changes), None, \
                _("Choose a day or a plan")
        if trigger == ids.PLAN_SCHEDULE:
            first = parse_date(start)
            if kind != "route" or not isinstance(route_id, int) or first is None:
                return message(_("Save the route and choose a first date."), False), \
                    no_update, no_update, no_update
            last = parse_date(until) or first
            days = [d for d in weekdays if isinstance(d, int)] if isinstance(
                weekdays, list) else []
            dates = plans.repeat_dates(first, last, days, plans.days_off(db, first, last)) \
                if days else [first]
            made = plans.schedule_route(db, route_id, dates, None, scope)
            return message(_("{count} plans added.").format(count=len(made)), True), \
                grid.next_version(changes), no_update, no_update
        if kind == "plan":
            when = parse_date(day)
            if when is None:
                return message(_("Choose a date."), False), no_update, no_update, no_update
            route_name = None
            if isinstance(from_route, int):
                route_name = next((r["name"] for r in _routes(db, owner)
                                   if r["route_id"] == from_route), None)
            if isinstance(plan_id, int):
                plans.update_plan(db, plan_id, when, text, customers, scope)
                new_mode = mode
            else:
                new_id = plans.create_plan(db, owner, when, text, customers, route_name, scope)
                new_mode = {"kind": "plan", "plan_id": new_id}
        elif kind == "route":
            if isinstance(route_id, int):
                plans.update_route(db, route_id, text, customers, scope)
                new_mode = mode
            else:
                new_id = plans.create_route(db, owner, text, customers, scope)
                new_mode = {"kind": "route", "route_id": new_id}
        else:
            raise PreventUpdate
    except plans.PlanError as exc:
        return message(_plan_error(exc), False), no_update, no_update, no_update
    except ScopeError:  # pipelines.plans refused a record and audited it
        return _refused(), no_update, no_update, no_update
    return message(_("Saved."), True), grid.next_version(changes), new_mode, \
        _title(new_mode, text)


def _plan_error(exc: Exception) -> str:
    """A pipelines.plans refusal in the user's language, every reason it found."""
    from dashboard.i18n import translate_problem

    problems = getattr(exc, "problems", None) or []
    return "；".join(translate_problem(p, "plans") for p in problems) or str(exc)


dash.register_page(__name__, layout=layout, **registration(KEY))
