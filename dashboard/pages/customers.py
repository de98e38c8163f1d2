"""客户管理 (/customers): the customer archive — search, record, add, edit, delete, export.

Everyone reads the customers of their scope; only admins change them, checked on the
server in every mutation callback (pipelines.customers does the writing, validated like
the import, audited, with a version check so a stale edit is refused, never overwritten).
The list is paged on the server, so a million customers stay fast.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import dash
import dash_leaflet as dl
from dash import Input, Output, State, callback, ctx, dcc, html, no_update
from dash.development.base_component import Component
from dash.exceptions import PreventUpdate

from dashboard import display, output
from dashboard.auth import NotAllowed, current_scope, is_admin, require_admin
from dashboard.components import grid, ids
from dashboard.components.callbacks import ReportCall, report_callback
from dashboard.components.cards import number
from dashboard.components.export import export_controls, poll_export, start_export
from dashboard.components.filter_bar import build_employee_filter, query_string
from dashboard.components.notices import message
from dashboard.components.page import page_layout, registration
from dashboard.context import get_db, get_settings
from dashboard.exports import ExportTable
from dashboard.i18n import N_, _, translate_problem
from dashboard.reports import archive
from dashboard.reports.archive import ArchiveFilters
from dashboard.reports.filters import FilterError
from dashboard.scope import ScopeError
from pipelines import business_settings
from pipelines.derive import reasons_of
from pipelines.formats import Problem

KEY = "customers"
UNRATED = "unrated"
FLAGS = (("no_owner", N_("No owner")), ("no_location", N_("No location")),
         ("deleted", N_("Deleted customers")))
FIELDS: Mapping[str, str] = {
    "code": N_("Customer code"), "name": N_("Customer name"), "grade": N_("Grade"),
    "address": N_("Address"), "longitude": N_("Longitude"), "latitude": N_("Latitude"),
    "coord_system": N_("Coordinate system"), "contact": N_("Contact"), "phone": N_("Phone"),
    "department_code": N_("Department"), "note": N_("Note"), "owners": N_("Owners"),
}
EDITABLE = ("name", "grade", "address", "longitude", "latitude", "coord_system", "contact",
            "phone", "department_code", "note")
EXPORT_FIELDS = ("code", "name", "grade", "address", "longitude", "latitude", "contact",
                 "phone", "department_code", "department_name", "owners", "note")


# -- layout ---------------------------------------------------------------------------------
def layout(**query: Any) -> Component:
    frame = page_layout(KEY, query)
    db, scope, admin = get_db(), current_scope(), is_admin()
    grades = business_settings.load(db).grades
    flags = [f for f, _label in FLAGS if f != "deleted" or admin]
    chosen_flags = [f for f in str(query.get("flags", "")).split(",") if f in flags]
    owner = query.get("owner") if isinstance(query.get("owner"), str) else None
    owner_filter = build_employee_filter(KEY, scope, db, [owner] if owner else [])
    picker = owner_filter.children[1]
    picker.multi, picker.value, picker.placeholder = False, owner, _("Any owner")
    owner_filter.children[0].children = _("Owner")
    code = query.get("code") if isinstance(query.get("code"), str) else None
    frame.children += [
        dcc.Store(id=ids.query_store(KEY)),
        html.Div(id=ids.query_sink(KEY), hidden=True),
        dcc.Store(id=ids.CUST_CHANGES, data=0),
        dcc.Store(id=ids.CUST_CODE, data=code),
        dcc.Store(id=ids.CUST_FORM_MODE),
        dcc.ConfirmDialog(id=ids.CUST_CONFIRM,
                          message=_("Delete the selected customers? Their visits stay in the "
                                    "employee reports; an administrator can restore them.")),
        html.Div(className="vl-filter-bar", children=[
            html.Div(className="vl-filter", children=[
                html.Label(_("Search"), htmlFor=ids.CUST_SEARCH),
                dcc.Input(id=ids.CUST_SEARCH, value=query.get("q", ""), debounce=True,
                          className="vl-input", type="search",
                          placeholder=_("Code, name, phone or address")),
            ]),
            html.Div(className="vl-filter", children=[
                html.Label(_("Grade")),
                dcc.Checklist(id=ids.CUST_GRADES, inline=True,
                              value=[g for g in str(query.get("grades", "")).split(",")
                                     if g in grades or g == UNRATED],
                              options=[*({"label": g, "value": g} for g in grades),
                                       {"label": _("Unrated"), "value": UNRATED}]),
            ]),
            html.Div(className="vl-filter", children=[
                html.Label(_("Department")),
                dcc.Dropdown(id=ids.CUST_DEPARTMENT, options=archive.department_options(
                    db, scope), value=query.get("department"), clearable=True,
                    placeholder=_("Any department"), className="vl-select"),
            ]),
            owner_filter,
            html.Div(className="vl-filter", children=[
                html.Label(_("Show")),
                dcc.Checklist(id=ids.CUST_FLAGS, value=chosen_flags, inline=True,
                              options=[{"label": _(label), "value": f}
                                       for f, label in FLAGS if f in flags]),
            ]),
        ]),
        html.Div(className="vl-toolbar", children=[
            html.Div(className="vl-inline", children=[
                html.Span(id=ids.CUST_COUNT, className="vl-hint"),
                *([html.Button(_("Add customer"), id=ids.CUST_ADD, n_clicks=0,
                               className="vl-button vl-button-primary"),
                   html.Button(_("Delete selected"), id=ids.CUST_DELETE, n_clicks=0,
                               className="vl-button"),
                   html.Button(_("Restore selected"), id=ids.CUST_RESTORE, n_clicks=0,
                               className="vl-button")] if admin else []),
            ]),
            export_controls(ids.CUST_EXPORT_BUTTON, ids.CUST_EXPORT_JOB,
                            ids.CUST_EXPORT_POLL, ids.CUST_EXPORT_STATUS),
        ]),
        html.Div(id=ids.CUST_MESSAGE, role="status"),
        grid.server_grid(ids.CUST_GRID, _columns(display.zone_of(db)[0]), height="460px",
                         row_id="code",
                         extra_options={"rowSelection": {"mode": "multiRow",
                                                         "headerCheckbox": False}
                                        if admin else None}),
        html.Div(id=ids.CUST_FORM, hidden=True, className="vl-card",
                 children=_form(db, scope, grades)),
        html.Div(id=ids.CUST_RECORD),
    ]
    return frame


def _columns(zone_name: str) -> list[dict[str, Any]]:
    columns: list[dict[str, Any]] = [
        {"field": "code", "headerName": _(FIELDS["code"]), "sortable": True, "width": 130,
         "pinned": "left"},
        {"field": "name", "headerName": _(FIELDS["name"]), "sortable": True,
         "cellClass": "vl-link-cell", "width": 220},
        {"field": "grade", "headerName": _(FIELDS["grade"]), "sortable": True, "width": 90},
        {"field": "owners", "headerName": _(FIELDS["owners"]), "width": 200},
        {"field": "department_name", "headerName": _(FIELDS["department_code"])},
        {"field": "phone", "headerName": _(FIELDS["phone"]), "width": 140},
        {"field": "address", "headerName": _(FIELDS["address"]), "width": 260},
        {"field": "updated_at", "headerName": display.zoned(_("Updated"), zone_name),
         "sortable": True, "width": 190},
    ]
    return columns


def _form(db: Any, scope: Any, grades: tuple[str, ...]) -> list[Any]:
    def field(name: str, component: Component) -> html.Div:
        return html.Div(className="vl-form-field", children=[
            html.Label(_(FIELDS[name]), htmlFor=ids.cust_field(name)), component])

    def text(name: str, **extra: Any) -> html.Div:
        return field(name, dcc.Input(id=ids.cust_field(name), className="vl-input",
                                     maxLength=500, **extra))

    return [
        html.H2(_("Customer"), className="vl-card-title"),
        html.Div(className="vl-form-grid", children=[
            text("code"), text("name"),
            field("grade", dcc.Dropdown(id=ids.cust_field("grade"), clearable=True,
                                        options=[{"label": g, "value": g} for g in grades],
                                        placeholder=_("Unrated"))),
            text("contact"), text("phone"),
            field("department_code", dcc.Dropdown(
                id=ids.cust_field("department_code"), clearable=True,
                options=archive.department_options(db, scope))),
            text("longitude"), text("latitude"),
            field("coord_system", dcc.Dropdown(
                id=ids.cust_field("coord_system"), clearable=True, placeholder="WGS-84",
                options=[{"label": "WGS-84", "value": "wgs84"},
                         {"label": "GCJ-02", "value": "gcj02"},
                         {"label": "BD-09", "value": "bd09"}])),
            field("owners", dcc.Input(id=ids.cust_field("owners"), className="vl-input",
                                      placeholder="E00001;E00002")),
            field("address", dcc.Textarea(id=ids.cust_field("address"),
                                          className="vl-input", maxLength=500)),
            field("note", dcc.Textarea(id=ids.cust_field("note"), className="vl-input",
                                       maxLength=2000)),
        ]),
        html.Div(className="vl-inline", children=[
            html.Button(_("Save"), id=ids.CUST_SAVE, n_clicks=0,
                        className="vl-button vl-button-primary"),
            html.Button(_("Cancel"), id=ids.CUST_CANCEL, n_clicks=0, className="vl-button"),
        ]),
        html.Div(id=ids.CUST_FORM_MESSAGE, role="alert"),
    ]


# -- list -----------------------------------------------------------------------------------
LIST_INPUTS = (
    Input(ids.CUST_SEARCH, "value"),
    Input(ids.CUST_GRADES, "value"),
    Input(ids.CUST_DEPARTMENT, "value"),
    Input(ids.filter_employees(KEY), "value"),
    Input(ids.CUST_FLAGS, "value"),
)
LIST_STATES = tuple(State(i.component_id, i.component_property) for i in LIST_INPUTS)


def _filters(search: Any, grades: Any, department: Any, owner: Any,
             flags: Any) -> ArchiveFilters:
    """Archive filters from the page's inputs (browser input: checked)."""
    grades = grades if isinstance(grades, list) else []
    flags = flags if isinstance(flags, list) else []
    if isinstance(owner, list):
        owner = owner[0] if owner else None
    if not all(isinstance(v, str) for v in [*grades, *flags]) or not isinstance(
            search, (str, type(None))) or not isinstance(department, (str, type(None))) \
            or not isinstance(owner, (str, type(None))):
        raise FilterError("bad archive filters")
    return ArchiveFilters(search=search or "", grades=tuple(g for g in grades if g != UNRATED),
                          unrated=UNRATED in grades, department=department or None,
                          owner=owner or None, no_owner="no_owner" in flags,
                          no_location="no_location" in flags, deleted="deleted" in flags)


@callback(
    Output(grid.version_id(ids.CUST_GRID), "data"),
    Output(ids.CUST_GRID, "selectedRows"),
    *LIST_INPUTS,
    Input(ids.CUST_CHANGES, "data"),
    State(grid.version_id(ids.CUST_GRID), "data"),
)
def refresh_list(*args: Any) -> tuple[int, list[Any]]:
    """Fetch the list again, and clear the selection: the grid keeps ticks by row id, so a
    deleted customer would show ticked among the deleted ones without the user ticking it."""
    return grid.next_version(args[-1]), []


@callback(
    Output(ids.CUST_GRID, "getRowsResponse"),
    Output(ids.CUST_COUNT, "children"),
    Input(ids.CUST_GRID, "getRowsRequest"),
    *LIST_STATES,
    prevent_initial_call=True,
)
@report_callback(_filters, lambda *_args: (grid.response([], 0),
                                       _("Not allowed: that filter is outside your scope.")),
                 at=1)
def list_rows(call: ReportCall[ArchiveFilters], request: Any) -> tuple[dict[str, Any], Any]:
    """One block of the archive list, searched, filtered, sorted and paged in DuckDB."""
    block = grid.parse_request(request, archive.SORTS)
    if block is None:
        raise PreventUpdate
    db = call.db
    rows, total = archive.search(db, call.scope, call.filters,
                                 sort=block.sort or "code", descending=block.descending,
                                 offset=block.start, limit=block.limit)
    records = output.records(rows, ["code", "name", "grade", "owners", "department_name",
                                    "phone", "address", "deleted"])
    zone = display.zone_of(db)[1]
    for row, updated in zip(records, rows["updated_at"], strict=True):
        row["grade"] = row["grade"] or _("Unrated")
        row["updated_at"] = display.company_time(updated, zone)
    return grid.response(records, total), _("{count} customers").format(count=number(total))


@callback(
    Output(ids.query_store(KEY), "data"),
    *LIST_INPUTS,
    Input(ids.CUST_CODE, "data"),
)
def remember_filters(search: Any, grades: Any, department: Any, owner: Any, flags: Any,
                     code: Any) -> str:
    def strings(value: Any) -> list[str] | None:
        return [v for v in value if isinstance(v, str)] if isinstance(value, list) else None

    return query_string({"q": search if isinstance(search, str) else None,
                         "grades": strings(grades),
                         "department": department if isinstance(department, str) else None,
                         "owner": owner if isinstance(owner, str) else None,
                         "flags": strings(flags),
                         "code": code if isinstance(code, str) else None})


# -- record ---------------------------------------------------------------------------------
@callback(
    Output(ids.CUST_CODE, "data", allow_duplicate=True),
    Input(ids.CUST_GRID, "cellClicked"),
    prevent_initial_call=True,
)
def choose_customer(cell: Any) -> Any:
    code = cell.get("rowId") if isinstance(cell, dict) else None
    if not isinstance(code, str) or cell.get("colId") not in ("name", "code"):
        raise PreventUpdate
    return code


@callback(
    Output(ids.CUST_RECORD, "children"),
    Input(ids.CUST_CODE, "data"),
    Input(ids.CUST_CHANGES, "data"),
)
def show_record(code: Any, _changes: Any) -> Any:
    """The customer's record: fields, owners (direct and shared), visits, a small map."""
    if not isinstance(code, str) or not code:
        return None
    db, scope = get_db(), current_scope()
    try:
        found = archive.record(db, scope, code)
    except ScopeError:
        return message(_("Not allowed: that customer is outside your scope."), False)
    return _record_view(found, is_admin(), display.zone_of(db))


def _record_view(found: dict[str, Any], admin: bool,
                 zone: tuple[str, Any]) -> html.Div:
    c = found["customer"]
    values = output.records(_one(c), list(c))[0]

    def row(label: str, value: Any) -> list[Component]:
        return [html.Dt(label), html.Dd("—" if value in (None, "") else str(value))]

    details: list[Component] = []
    for name in ("code", "name", "grade", "contact", "phone", "address", "note"):
        details += row(_(FIELDS[name]), values[name] if name != "grade"
                       else values["grade"] or _("Unrated"))
    details += row(_(FIELDS["department_code"]), values["department_name"])
    details += row(_("Location"), None if values["longitude"] is None
                   else f"{values['longitude']}, {values['latitude']} (WGS-84)")
    details += row(display.zoned(_("Updated"), zone[0]),
                   f"{display.company_time(c['updated_at'], zone[1])} "
                   f"{values['updated_by'] or ''}".strip())
    owners = [html.Li(f"{o['employee_name']} ({o['employee_code']})" + (
        "" if o["how"] == "direct" else " · " + _("shared from {employee}").format(
            employee=o["shared_from"])))
        for o in found["owners"].to_dict("records")]
    visits = found["visits"]
    visit_rows = [html.Tr([html.Td(str(v["check_in_at"])[:16]),
                           html.Td(f"{v['employee_name'] or ''} ({v['employee_code']})"),
                           html.Td(number(v["stay_minutes"])),
                           html.Td(_("Valid") if int(v["invalid_mask"]) == 0 else
                                   display.reasons_text(reasons_of(int(v["invalid_mask"]))))])
                  for v in visits.to_dict("records")]
    head: list[Component] = [html.H2(values["name"], className="vl-card-title")]
    if values["deleted"]:
        head.append(html.Span(_("customer deleted"), className="vl-chip"))
    if admin and not values["deleted"]:
        head.append(html.Button(_("Edit"), id=ids.CUST_EDIT, n_clicks=0,
                                className="vl-button"))
    children: list[Component] = [
        html.Div(head, className="vl-inline"),
        html.Div(className="vl-two-columns", children=[
            html.Dl(details, className="vl-details"),
            _small_map(values),
        ]),
        html.H3(_("Owners")),
        html.Ul(owners) if owners else html.P(_("No owner"), className="vl-hint"),
        html.H3(_("Latest visits")),
        html.Table(className="vl-table", children=[
            html.Thead(html.Tr([html.Th(_("Check-in time")), html.Th(_("Employee")),
                                html.Th(_("Stay (min)")), html.Th(_("Valid"))])),
            html.Tbody(visit_rows)]) if visit_rows else html.P(_("No visits yet."),
                                                              className="vl-hint"),
    ]
    return html.Div(className="vl-card", id="vl-cust-record-card", children=children)


def _one(record: dict[str, Any]) -> Any:
    import pandas as pd

    return pd.DataFrame([record])


def _small_map(values: dict[str, Any]) -> Component:
    if values["longitude"] is None:
        return html.P(_("No location"), className="vl-hint")
    settings = get_settings()
    lon, lat = float(values["longitude"]), float(values["latitude"])
    if settings.tile_coords == "gcj02":
        from pipelines import geo

        shifted = geo.wgs84_to_gcj02(lon, lat)
        lon, lat = float(shifted[0]), float(shifted[1])
    return dl.Map(center=[lat, lon], zoom=14, style={"height": "240px"}, children=[
        dl.TileLayer(url=settings.tile_url, attribution=settings.tile_attribution),
        dl.CircleMarker(center=[lat, lon], radius=8, color="#d62728", fill=True,
                        fillOpacity=0.9)])


# -- add, edit, delete, restore (admins) ---------------------------------------------------
FIELD_OF_COLUMN: Mapping[str, str] = {"owner_codes": "owners"}  # import column -> form field


def problem_line(problem: Problem) -> str:
    """A form error: the field's label as the form shows it, then the message."""
    name = FIELD_OF_COLUMN.get(problem.column or "", problem.column or "")
    text = translate_problem(problem, "customers")
    return f"{_(FIELDS[name])}: {text}" if name in FIELDS else text


FORM_FIELDS = ("code", *EDITABLE, "owners")


@callback(
    Output(ids.CUST_FORM, "hidden"),
    Output(ids.CUST_FORM_MODE, "data"),
    *[Output(ids.cust_field(f), "value") for f in FORM_FIELDS],
    Output(ids.cust_field("code"), "disabled"),
    Output(ids.cust_field("owners"), "disabled"),
    Output(ids.CUST_FORM_MESSAGE, "children", allow_duplicate=True),
    Input(ids.CUST_ADD, "n_clicks"),
    Input(ids.CUST_EDIT, "n_clicks"),
    Input(ids.CUST_CANCEL, "n_clicks"),
    State(ids.CUST_CODE, "data"),
    prevent_initial_call=True,
)
def open_form(add: Any, edit: Any, cancel: Any, code: Any) -> tuple[Any, ...]:
    """Open the form empty (add) or with the stored values and version (edit)."""
    blank = (None,) * len(FORM_FIELDS)
    trigger = ctx.triggered_id
    if trigger == ids.CUST_CANCEL or not ctx.triggered[0].get("value"):
        return (True, None, *blank, False, False, None) if trigger == ids.CUST_CANCEL \
            else (no_update,) * (len(FORM_FIELDS) + 5)
    if not is_admin():
        raise PreventUpdate
    if trigger == ids.CUST_ADD:
        return (False, {"mode": "add"}, *blank, False, False, None)
    from pipelines.customers import get_customer

    stored = get_customer(get_db(), code) if isinstance(code, str) else None
    if stored is None:
        raise PreventUpdate
    values = [stored.get(f) if f not in ("owners",) else ";".join(stored.get("owner_codes")
                                                                   or [])
              for f in FORM_FIELDS]
    values = [None if v is None else str(v) for v in values]
    return (False, {"mode": "edit", "code": code, "version": int(stored["version"])},
            *values, True, True, None)


@callback(
    Output(ids.CUST_FORM_MESSAGE, "children"),
    Output(ids.CUST_FORM, "hidden", allow_duplicate=True),
    Output(ids.CUST_CHANGES, "data", allow_duplicate=True),
    Output(ids.CUST_CODE, "data", allow_duplicate=True),
    Input(ids.CUST_SAVE, "n_clicks"),
    State(ids.CUST_FORM_MODE, "data"),
    *[State(ids.cust_field(f), "value") for f in FORM_FIELDS],
    State(ids.CUST_CHANGES, "data"),
    prevent_initial_call=True,
)
def save(_clicks: Any, mode: Any, *values: Any) -> tuple[Any, ...]:
    """Add or update one customer: same validation as the import; stale edits refused."""
    from pipelines.customers import EditError, StaleEdit, add_customer, update_customer

    changes = values[-1]
    fields = dict(zip(FORM_FIELDS, values[:-1], strict=True))
    try:
        scope = require_admin("customer.save")
    except NotAllowed:
        return message(_("Only administrators may change customers."), False), \
            no_update, no_update, no_update
    if not isinstance(mode, dict) or mode.get("mode") not in ("add", "edit"):
        raise PreventUpdate
    if not all(v is None or isinstance(v, str) for v in fields.values()):
        return message(_("The form holds values that are not text."), False), \
            no_update, no_update, no_update
    edits = {f: (fields[f] or "").strip() or None for f in EDITABLE}
    db = get_db()
    try:
        if mode["mode"] == "add":
            owners = [o.strip() for o in (fields["owners"] or "").replace("；", ";").split(";")
                      if o.strip()]
            stored = add_customer(db, {"code": (fields["code"] or "").strip() or None,
                                       **edits}, owners, scope)
        else:
            version = mode.get("version")
            if not isinstance(version, int) or not isinstance(mode.get("code"), str):
                raise PreventUpdate
            stored = update_customer(db, mode["code"], edits, version, scope)
    except StaleEdit:
        return message(_("Changed by someone else — reload the record and edit again."),
                       False), no_update, no_update, no_update
    except EditError as exc:
        lines = [html.Li(problem_line(p)) for p in exc.problems] or [html.Li(str(exc))]
        return html.Div(html.Ul(lines), className="vl-notice vl-notice-warning",
                        role="alert"), no_update, no_update, no_update
    return (message(_("Saved {code}.").format(code=stored["code"]), True), True,
            grid.next_version(changes), stored["code"])


@callback(
    Output(ids.CUST_CONFIRM, "displayed"),
    Input(ids.CUST_DELETE, "n_clicks"),
    State(ids.CUST_GRID, "selectedRows"),
    prevent_initial_call=True,
)
def ask_delete(clicks: Any, selected: Any) -> bool:
    return bool(clicks) and bool(selected)


def _selected_codes(selected: Any) -> list[str]:
    rows = selected if isinstance(selected, list) else []
    return [r["code"] for r in rows if isinstance(r, dict) and isinstance(r.get("code"), str)]


@callback(
    Output(ids.CUST_MESSAGE, "children"),
    Output(ids.CUST_CHANGES, "data"),
    Input(ids.CUST_CONFIRM, "submit_n_clicks"),
    Input(ids.CUST_RESTORE, "n_clicks"),
    State(ids.CUST_GRID, "selectedRows"),
    State(ids.CUST_CHANGES, "data"),
    prevent_initial_call=True,
)
def delete_or_restore(confirmed: Any, restore: Any, selected: Any, changes: Any) -> tuple[
        Any, Any]:
    """Soft-delete (after the confirmation) or restore the selected customers."""
    from pipelines.customers import EditError, delete_customers, restore_customers

    restoring = ctx.triggered_id == ids.CUST_RESTORE
    if not (restore if restoring else confirmed):
        raise PreventUpdate
    try:
        scope = require_admin("customer.restore" if restoring else "customer.delete")
    except NotAllowed:
        return message(_("Only administrators may change customers."), False), no_update
    codes = _selected_codes(selected)
    if not codes:
        return message(_("Select customers first."), False), no_update
    try:
        done = (restore_customers if restoring else delete_customers)(get_db(), codes, scope)
    except EditError as exc:
        return message(str(exc), False), no_update
    text = _("{count} customers restored.") if restoring else _("{count} customers deleted.")
    return message(text.format(count=done), True), grid.next_version(changes)


# -- export ---------------------------------------------------------------------------------
@callback(
    Output(ids.CUST_EXPORT_JOB, "data"),
    Output(ids.CUST_EXPORT_STATUS, "children"),
    Output(ids.CUST_EXPORT_POLL, "disabled"),
    Input(ids.CUST_EXPORT_BUTTON, "n_clicks"),
    *LIST_STATES,
    prevent_initial_call=True,
)
@report_callback(_filters, lambda *_args: (
    None, message(_("Not allowed: that filter is outside your scope."), False), True), at=1)
def export_customers(call: ReportCall[ArchiveFilters], _clicks: Any) -> tuple[Any, Any, bool]:
    """The customers of the current filters as CSV and XLSX (formula cells neutralised)."""
    db, scope, filters = call.db, call.scope, call.filters
    # The request checks the filters and counts (one row, as the list does); the
    # whole search runs in the export job, never inside the request.
    _first, total = archive.search(db, scope, filters, limit=1)
    headers = {f: _("Department code") if f == "department_code" else
               _("Department name") if f == "department_name" else _(FIELDS[f])
               for f in EXPORT_FIELDS}

    def rows() -> Iterator[Any]:  # one DataFrame
        yield archive.search(db, scope, filters, limit=None)[0]

    return start_export(scope, lambda: [ExportTable("customers", headers, total, rows())],
                        f"{_('Customers')} {display.file_date(db)}.zip")


@callback(
    Output(ids.CUST_EXPORT_STATUS, "children", allow_duplicate=True),
    Output(ids.CUST_EXPORT_POLL, "disabled", allow_duplicate=True),
    Input(ids.CUST_EXPORT_POLL, "n_intervals"),
    State(ids.CUST_EXPORT_JOB, "data"),
    prevent_initial_call=True,
)
def export_progress(_ticks: Any, job_id: Any) -> tuple[Any, bool]:
    return poll_export(job_id)


grid.register_refresh(ids.CUST_GRID)
dash.register_page(__name__, layout=layout, **registration(KEY))
