"""操作日志 (/audit): every change — who, when, which record, before and after. Admin only."""

from __future__ import annotations

from typing import Any

import dash
from dash import Input, Output, State, callback, dcc, html
from dash.development.base_component import Component
from dash.exceptions import PreventUpdate

from dashboard import audit_view, display, output
from dashboard.auth import NotAllowed, is_admin, require_admin
from dashboard.components import grid, ids
from dashboard.components.cards import number
from dashboard.components.page import page_layout, registration
from dashboard.context import get_db
from dashboard.i18n import N_, _
from dashboard.reports import lookups

KEY = "audit"
LOCAL_OPERATOR = N_("(command line)")  # changes made with `visitlens` on the server


def layout(**query_args: Any) -> Component:
    frame = page_layout(KEY, query_args)
    if not is_admin():
        return frame
    columns = [
        {"field": "logged_at", "headerName": display.zoned(_("Time"), display.zone_of(
            get_db())[0]), "width": 190},
        {"field": "username", "headerName": _("User"), "width": 110},
        {"field": "action", "headerName": _("Action"), "width": 160},
        {"field": "entity", "headerName": _("Record type"), "width": 110},
        {"field": "entity_key", "headerName": _("Record"), "width": 140},
        {"field": "before_json", "headerName": _("Before"), "flex": 1,
         "tooltipField": "before_json"},
        {"field": "after_json", "headerName": _("After"), "flex": 1,
         "tooltipField": "after_json"},
    ]
    frame.children += [
        html.Div(className="vl-inline", children=[
            dcc.Input(id=ids.AUDIT_SEARCH, type="search", debounce=True, className="vl-input",
                      placeholder=_("User, action or record")),
            html.Span(id=ids.AUDIT_COUNT, className="vl-hint"),
        ]),
        grid.server_grid(ids.AUDIT_GRID, columns, height="620px"),
    ]
    return frame


@callback(
    Output(grid.version_id(ids.AUDIT_GRID), "data"),
    Input(ids.AUDIT_SEARCH, "value"),
    State(grid.version_id(ids.AUDIT_GRID), "data"),
)
def refresh(_search: Any, version: Any) -> int:
    return grid.next_version(version)


@callback(
    Output(ids.AUDIT_GRID, "getRowsResponse"),
    Output(ids.AUDIT_COUNT, "children"),
    Input(ids.AUDIT_GRID, "getRowsRequest"),
    State(ids.AUDIT_SEARCH, "value"),
    prevent_initial_call=True,
)
def rows(request: Any, search: Any) -> tuple[dict[str, Any], str]:
    """One block of the log (admins only: the role is checked on the server)."""
    block = grid.parse_request(request)
    if block is None:
        raise PreventUpdate
    try:
        require_admin("audit.read")
    except NotAllowed:
        return grid.response([], 0), ""
    text = search.strip()[:100] if isinstance(search, str) else ""
    db = get_db()
    stored = lookups.audit_codes(db) if text else []
    total, frame = lookups.audit_page(db, text, audit_view.codes_matching(text, stored),
                                      block.limit, block.start)
    fields = ["username", "action", "entity", "entity_key"]
    zone = display.zone_of(db)[1]
    rows = output.records(frame, fields)
    for row, logged, before, after in zip(rows, frame["logged_at"], frame["before_json"],
                                          frame["after_json"], strict=True):
        row["logged_at"] = display.company_time(logged, zone)
        row["username"] = row["username"] or _(LOCAL_OPERATOR)
        row["action"] = audit_view.action_label(row["action"])
        row["entity"] = audit_view.action_label(row["entity"])
        row["before_json"], row["after_json"] = audit_view.readable(before, after)
    return grid.response(rows, total), _(
        "{count} entries").format(count=number(total))


grid.register_refresh(ids.AUDIT_GRID)  # without it a search never reaches the grid
dash.register_page(__name__, layout=layout, **registration(KEY))
