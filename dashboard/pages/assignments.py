"""人员客户表 (/assignments): who looks after which customer — bindings, shares and
department assignments.

Everyone reads their scope; only admins bind, unbind, share, revoke and assign, checked on
the server in each callback (pipelines.customers writes and audits).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import dash
from dash import Input, Output, State, callback, ctx, dcc, html, no_update
from dash.development.base_component import Component
from dash.exceptions import PreventUpdate

from dashboard import display, output
from dashboard.auth import NotAllowed, current_scope, is_admin, require_admin
from dashboard.components import grid, ids
from dashboard.components.export import export_controls, poll_export, start_export
from dashboard.components.filter_bar import build_employee_filter
from dashboard.components.notices import message
from dashboard.components.page import page_layout, registration
from dashboard.context import get_db
from dashboard.exports import ExportTable
from dashboard.i18n import N_, _
from dashboard.reports import archive, lookups, metrics
from dashboard.scope import Scope, ScopeError

KEY = "assignments"
HOW: Mapping[str, str] = {"direct": N_("Direct"), "shared": N_("Shared"),
                          "department": N_("Department")}
EXPORT_FIELDS: Mapping[str, str] = {
    "employee_code": N_("Employee code"), "employee_name": N_("Employee"),
    "customer_code": N_("Customer code"), "customer_name": N_("Customer"),
    "how": N_("How"), "shared_from": N_("Shared from"), "department_code": N_("Department"),
}


def _picker(ident: str, placeholder: str, multi: bool = True) -> dcc.Dropdown:
    return dcc.Dropdown(id=ident, multi=multi, options=[], value=[] if multi else None,
                        placeholder=placeholder, className="vl-select")


def layout(**query_args: Any) -> Component:
    frame = page_layout(KEY, query_args)
    db, scope, admin = get_db(), current_scope(), is_admin()
    employee = query_args.get("employee") if isinstance(query_args.get("employee"),
                                                        str) else None
    chooser = build_employee_filter(KEY, scope, db, [employee] if employee else [])
    chooser.children[1].multi = False
    chooser.children[1].value = employee
    chooser.children[1].placeholder = _("Choose an employee")
    # The admin tools are in every layout (callbacks read and write them) but shown to
    # admins only: a missing component made Dash throw in the browser for other roles.
    employee_tools = [html.Div(className="vl-inline", hidden=not admin, children=[
        _picker(ids.ASSIGN_BIND_PICK, _("Search customers to bind")),
        html.Button(_("Bind"), id=ids.ASSIGN_BIND, n_clicks=0,
                    className="vl-button vl-button-primary"),
        html.Button(_("Unbind selected"), id=ids.ASSIGN_UNBIND, n_clicks=0,
                    className="vl-button"),
    ]), html.Div(className="vl-inline", hidden=not admin, children=[
        _picker(ids.ASSIGN_SHARE_PICK, _("Share all customers with…")),
        html.Button(_("Share"), id=ids.ASSIGN_SHARE, n_clicks=0, className="vl-button"),
        dcc.Dropdown(id=ids.ASSIGN_REVOKE_PICK, options=[], placeholder=_("A share"),
                     className="vl-select"),
        html.Button(_("Revoke"), id=ids.ASSIGN_REVOKE, n_clicks=0, className="vl-button"),
    ])]
    department_tools = [html.Div(className="vl-inline", hidden=not admin, children=[
        _picker(ids.ASSIGN_DEPT_PICK, _("Search customers to assign")),
        html.Button(_("Assign"), id=ids.ASSIGN_DEPT_ADD, n_clicks=0,
                    className="vl-button vl-button-primary"),
        html.Button(_("Unassign selected"), id=ids.ASSIGN_DEPT_REMOVE, n_clicks=0,
                    className="vl-button"),
    ])]
    selection = {"rowSelection": {"mode": "multiRow", "headerCheckbox": False}} if admin else {}
    frame.children += [
        dcc.Store(id=ids.ASSIGN_CHANGES, data=0),
        html.Div(id=ids.ASSIGN_MESSAGE, role="status"),
        html.Div(className="vl-toolbar", children=[
            html.Div(), export_controls(ids.ASSIGN_EXPORT_BUTTON, ids.ASSIGN_EXPORT_JOB,
                                        ids.ASSIGN_EXPORT_POLL, ids.ASSIGN_EXPORT_STATUS)]),
        html.Div(className="vl-card", children=[
            html.H2(_("By employee"), className="vl-card-title"),
            html.Div(className="vl-filter-bar", children=[chooser]),
            *employee_tools,
            html.Div(id=ids.ASSIGN_SHARES, className="vl-hint"),
            grid.server_grid(ids.ASSIGN_EMPLOYEE_GRID, _employee_columns(), height="360px",
                             extra_options=selection),
        ]),
        html.Div(className="vl-card", children=[
            html.H2(_("By department"), className="vl-card-title"),
            dcc.Dropdown(id=ids.ASSIGN_DEPARTMENT, options=archive.department_options(
                db, scope), placeholder=_("Choose a department"), className="vl-select"),
            *department_tools,
            grid.server_grid(ids.ASSIGN_DEPARTMENT_GRID, _department_columns(),
                             height="300px", extra_options=selection),
        ]),
    ]
    return frame


def _employee_columns() -> list[dict[str, Any]]:
    return [{"field": "customer_code", "headerName": _("Customer code"), "width": 140},
            {"field": "customer_name", "headerName": _("Customer"), "width": 240},
            {"field": "how_label", "headerName": _("How"), "width": 200}]


def _department_columns() -> list[dict[str, Any]]:
    return [{"field": "customer_code", "headerName": _("Customer code"), "width": 140},
            {"field": "customer_name", "headerName": _("Customer"), "width": 240},
            {"field": "grade", "headerName": _("Grade"), "width": 90},
            {"field": "address", "headerName": _("Address"), "flex": 1}]


def _employee(value: Any) -> str | None:
    if isinstance(value, list):
        value = value[0] if value else None
    return value if isinstance(value, str) and value else None


# -- reading --------------------------------------------------------------------------------
@callback(
    Output(grid.version_id(ids.ASSIGN_EMPLOYEE_GRID), "data"),
    Output(ids.ASSIGN_SHARES, "children"),
    Output(ids.ASSIGN_REVOKE_PICK, "options"),
    Input(ids.filter_employees(KEY), "value"),
    Input(ids.ASSIGN_CHANGES, "data"),
    State(grid.version_id(ids.ASSIGN_EMPLOYEE_GRID), "data"),
)
def choose_employee(employee: Any, _changes: Any, version: Any) -> tuple[Any, Any, Any]:
    """Refresh the employee's customers, and list the shares they give and receive."""
    code = _employee(employee)
    if code is None:
        return grid.next_version(version), None, []
    db, scope = get_db(), current_scope()
    try:
        metrics.checked_employees(db, scope, (code,))
    except ScopeError:
        return grid.next_version(version), _("Not allowed: that filter is outside your scope."), []
    shares = lookups.shares_of(db, code)
    gives = [f"{s['to_name']} ({s['to_employee_code']})" for s in shares
             if s["from_employee_code"] == code]
    gets = [f"{s['from_name']} ({s['from_employee_code']})" for s in shares
            if s["to_employee_code"] == code]
    text = " · ".join(filter(None, [
        _("Shares with: {names}").format(names=", ".join(gives)) if gives else "",
        _("Shared from: {names}").format(names=", ".join(gets)) if gets else ""]))
    options = [{"label": f"{s['from_name']} → {s['to_name']}",
                "value": f"{s['from_employee_code']}>{s['to_employee_code']}"} for s in shares]
    return grid.next_version(version), text or None, options


def _how(row: dict[str, Any]) -> str:
    label = _(HOW.get(row["how"], row["how"]))
    if not row.get("shared_from"):
        return label
    return label + " · " + _("from {employee}").format(employee=row["shared_from"])


@callback(
    Output(ids.ASSIGN_EMPLOYEE_GRID, "getRowsResponse"),
    Input(ids.ASSIGN_EMPLOYEE_GRID, "getRowsRequest"),
    State(ids.filter_employees(KEY), "value"),
    prevent_initial_call=True,
)
def employee_rows(request: Any, employee: Any) -> dict[str, Any]:
    """One block of the chosen employee's customers (direct, and shared marked as such)."""
    from dashboard.archive_export import person_customers_frame

    block = grid.parse_request(request)
    code = _employee(employee)
    if block is None:
        raise PreventUpdate
    if code is None:
        return grid.response([], 0)
    try:
        frame = person_customers_frame(get_db(), current_scope(), code)
    except ScopeError:
        return grid.response([], 0)
    frame = frame[frame["employee_code"] == code]
    rows = output.records(frame, ["customer_code", "customer_name", "how", "shared_from"])
    for row in rows:
        row["how_label"] = _how(row)
    return grid.response(rows[block.start:block.end], len(rows))


@callback(
    Output(grid.version_id(ids.ASSIGN_DEPARTMENT_GRID), "data"),
    Input(ids.ASSIGN_DEPARTMENT, "value"),
    Input(ids.ASSIGN_CHANGES, "data"),
    State(grid.version_id(ids.ASSIGN_DEPARTMENT_GRID), "data"),
)
def choose_department(_department: Any, _changes: Any, version: Any) -> int:
    return grid.next_version(version)


@callback(
    Output(ids.ASSIGN_DEPARTMENT_GRID, "getRowsResponse"),
    Input(ids.ASSIGN_DEPARTMENT_GRID, "getRowsRequest"),
    State(ids.ASSIGN_DEPARTMENT, "value"),
    prevent_initial_call=True,
)
def department_rows(request: Any, department: Any) -> dict[str, Any]:
    """One block of the customers assigned to the chosen department."""
    block = grid.parse_request(request)
    if block is None:
        raise PreventUpdate
    if not isinstance(department, str):
        return grid.response([], 0)
    try:
        current_scope().check_department(department)
    except ScopeError:
        return grid.response([], 0)
    frame = lookups.department_customers(get_db(), department)
    rows = output.records(frame, ["customer_code", "customer_name", "grade", "address"])
    return grid.response(rows[block.start:block.end], len(rows))


@callback(
    Output(ids.ASSIGN_BIND_PICK, "options"),
    Input(ids.ASSIGN_BIND_PICK, "search_value"),
    State(ids.ASSIGN_BIND_PICK, "value"),
    prevent_initial_call=True,
)
def search_bind(search: Any, selected: Any) -> list[dict[str, str]]:
    return archive.customer_options(get_db(), current_scope(), search, selected)


@callback(
    Output(ids.ASSIGN_DEPT_PICK, "options"),
    Input(ids.ASSIGN_DEPT_PICK, "search_value"),
    State(ids.ASSIGN_DEPT_PICK, "value"),
    prevent_initial_call=True,
)
def search_assign(search: Any, selected: Any) -> list[dict[str, str]]:
    return archive.customer_options(get_db(), current_scope(), search, selected)


@callback(
    Output(ids.ASSIGN_SHARE_PICK, "options"),
    Input(ids.ASSIGN_SHARE_PICK, "search_value"),
    State(ids.ASSIGN_SHARE_PICK, "value"),
    prevent_initial_call=True,
)
def search_share(search: Any, selected: Any) -> list[dict[str, str]]:
    from dashboard.components.filter_bar import employee_options

    chosen = [s for s in selected if isinstance(s, str)] if isinstance(selected, list) else []
    return employee_options(get_db(), current_scope(), search if isinstance(search, str)
                            else "", chosen)


# -- changing (admins) ----------------------------------------------------------------------
def _codes(values: Any) -> list[str]:
    return [v for v in values if isinstance(v, str)] if isinstance(values, list) else []


def _selected(rows: Any, kind: str | None = None) -> list[str]:
    return [r["customer_code"] for r in rows if isinstance(r, dict)
            and isinstance(r.get("customer_code"), str)
            and (kind is None or r.get("how") == kind)] if isinstance(rows, list) else []


def _mutate(action: str, change: Callable[[Scope], int], done: str,
            changes: Any) -> tuple[Any, Any]:
    """Run one admin change: role check (audited refusal), the change (pipelines.customers
    checks the role again), a message."""
    from pipelines.customers import EditError

    try:
        scope = require_admin(action)
    except NotAllowed:
        return message(_("Only administrators may change assignments."), False), no_update
    try:
        count = change(scope)
    except ScopeError:
        return message(_("Only administrators may change assignments."), False), no_update
    except EditError as exc:
        return message(str(exc), False), no_update
    return message(done.format(count=count), True), grid.next_version(changes)


@callback(
    Output(ids.ASSIGN_MESSAGE, "children"),
    Output(ids.ASSIGN_CHANGES, "data"),
    Input(ids.ASSIGN_BIND, "n_clicks"),
    Input(ids.ASSIGN_UNBIND, "n_clicks"),
    Input(ids.ASSIGN_SHARE, "n_clicks"),
    Input(ids.ASSIGN_REVOKE, "n_clicks"),
    Input(ids.ASSIGN_DEPT_ADD, "n_clicks"),
    Input(ids.ASSIGN_DEPT_REMOVE, "n_clicks"),
    State(ids.filter_employees(KEY), "value"),
    State(ids.ASSIGN_BIND_PICK, "value"),
    State(ids.ASSIGN_EMPLOYEE_GRID, "selectedRows"),
    State(ids.ASSIGN_SHARE_PICK, "value"),
    State(ids.ASSIGN_REVOKE_PICK, "value"),
    State(ids.ASSIGN_DEPARTMENT, "value"),
    State(ids.ASSIGN_DEPT_PICK, "value"),
    State(ids.ASSIGN_DEPARTMENT_GRID, "selectedRows"),
    State(ids.ASSIGN_CHANGES, "data"),
    prevent_initial_call=True,
)
def change_assignments(*args: Any) -> tuple[Any, Any]:
    """Bind, unbind, share, revoke, assign or unassign — whichever button was clicked."""
    from pipelines import customers as edits

    (_b, _u, _s, _r, _a, _d, employee, bind_pick, employee_rows_selected, share_pick,
     revoke_pick, department, dept_pick, department_rows_selected, changes) = args
    if not ctx.triggered or not ctx.triggered[0].get("value"):
        raise PreventUpdate
    db, who = get_db(), _employee(employee)
    trigger = ctx.triggered_id
    if trigger in (ids.ASSIGN_BIND, ids.ASSIGN_UNBIND, ids.ASSIGN_SHARE) and who is None:
        return message(_("Choose an employee first."), False), no_update
    employee_code: str = who or ""
    if trigger == ids.ASSIGN_BIND:
        return _mutate("customer.bind", lambda acting: edits.bind(
            db, employee_code, _codes(bind_pick), acting), _("{count} customers bound."), changes)
    if trigger == ids.ASSIGN_UNBIND:
        return _mutate("customer.unbind", lambda acting: edits.unbind(
            db, employee_code, _selected(employee_rows_selected, "direct"), acting),
            _("{count} customers unbound."), changes)
    if trigger == ids.ASSIGN_SHARE:
        return _mutate("share.add", lambda acting: edits.add_shares(
            db, employee_code, _codes(share_pick), acting), _("{count} shares added."), changes)
    if trigger == ids.ASSIGN_REVOKE:
        if not isinstance(revoke_pick, str) or ">" not in revoke_pick:
            return message(_("Choose a share first."), False), no_update
        source, target = revoke_pick.split(">", 1)
        return _mutate("share.revoke", lambda acting: edits.revoke_share(
            db, source, target, acting), _("{count} shares revoked."), changes)
    if not isinstance(department, str):
        return message(_("Choose a department first."), False), no_update
    if trigger == ids.ASSIGN_DEPT_ADD:
        return _mutate("customer.assign", lambda acting: edits.assign_department(
            db, department, _codes(dept_pick), acting), _("{count} customers assigned."),
            changes)
    return _mutate("customer.unassign", lambda acting: edits.assign_department(
        db, None, _selected(department_rows_selected), acting),
        _("{count} customers unassigned."), changes)


# -- export ---------------------------------------------------------------------------------
@callback(
    Output(ids.ASSIGN_EXPORT_JOB, "data"),
    Output(ids.ASSIGN_EXPORT_STATUS, "children"),
    Output(ids.ASSIGN_EXPORT_POLL, "disabled"),
    Input(ids.ASSIGN_EXPORT_BUTTON, "n_clicks"),
    prevent_initial_call=True,
)
def export_table(_clicks: Any) -> tuple[Any, Any, bool]:
    """The person-customer table of the whole scope (employee, customer, how)."""
    from dashboard.archive_export import person_customers_frame

    db, scope = get_db(), current_scope()
    frame = person_customers_frame(db, scope)
    frame["how"] = [_(HOW.get(h, h)) for h in frame["how"]]
    headers = {f: _(label) for f, label in EXPORT_FIELDS.items()}
    return start_export(scope, lambda: [ExportTable("person_customers", headers, len(frame),
                                                    [frame])],
                        f"{_('Person-customer table')} {display.file_date(db)}.zip")


@callback(
    Output(ids.ASSIGN_EXPORT_STATUS, "children", allow_duplicate=True),
    Output(ids.ASSIGN_EXPORT_POLL, "disabled", allow_duplicate=True),
    Input(ids.ASSIGN_EXPORT_POLL, "n_intervals"),
    State(ids.ASSIGN_EXPORT_JOB, "data"),
    prevent_initial_call=True,
)
def export_progress(_ticks: Any, job_id: Any) -> tuple[Any, bool]:
    return poll_export(job_id)


grid.register_refresh(ids.ASSIGN_EMPLOYEE_GRID)
grid.register_refresh(ids.ASSIGN_DEPARTMENT_GRID)
dash.register_page(__name__, layout=layout, **registration(KEY))
