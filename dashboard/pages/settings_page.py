"""系统设置 (/settings): the business rules behind every number, and the holiday calendar.

Admin only, checked on the server in the layout and again in every callback (a forged
request by another role is refused and recorded in the audit log). Saving a rule that
validity depends on recomputes the visits' validity at once, so reports change without
re-importing; workdays and holidays are read by every report at query time.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import dash
import dash_ag_grid as dag
from dash import Input, Output, State, callback, dcc, html
from dash.development.base_component import Component

from dashboard.auth import NotAllowed, csrf_token, is_admin, require_admin
from dashboard.components.filter_bar import parse_date
from dashboard.components.ids import (
    API_BACKDATE,
    EXPORT_DAYS,
    GRADES,
    HOLIDAY_ADD,
    HOLIDAY_DATE,
    HOLIDAY_DELETE,
    HOLIDAY_GRID,
    HOLIDAY_KIND,
    HOLIDAY_NAME,
    HOLIDAY_RESULT,
    LIMIT_CELL,
    LIMIT_GPS,
    LIMIT_NET,
    MIN_STAY,
    SAVE,
    SAVE_RESULT,
    SESSION_IDLE,
    TIMEZONE,
    WORKDAYS,
)
from dashboard.components.notices import message
from dashboard.components.page import page_layout, registration
from dashboard.context import get_db
from dashboard.i18n import N_, _
from dashboard.output import records
from dashboard.reports import lookups
from pipelines import business_settings
from pipelines.business_settings import BusinessSettings
from pipelines.calendar import CalendarError, delete_holidays, set_holiday

KEY = "settings"
WEEKDAYS = (N_("Mon"), N_("Tue"), N_("Wed"), N_("Thu"), N_("Fri"), N_("Sat"), N_("Sun"))
KIND_LABELS = {"off": N_("Day off"), "work": N_("Working day")}



def _field(label: str, component: Component, hint: str = "") -> html.Div:
    return html.Div(className="vl-form-field", children=[
        html.Label(label, htmlFor=getattr(component, "id", None)),
        component,
        html.Span(hint, className="vl-hint") if hint else None,
    ])


def _number(ident: str, value: float, minimum: float, maximum: float) -> dcc.Input:
    return dcc.Input(id=ident, type="number", value=value, min=minimum, max=maximum,
                     step="any", className="vl-input", debounce=True)


def layout(**query_args: Any) -> Component:
    frame = page_layout(KEY, query_args)
    if not is_admin():
        return frame  # the "not allowed" notice only
    rules = business_settings.load(get_db())
    frame.children += [
        html.Div(className="vl-card", children=[
            html.H2(_("Visit rules"), className="vl-card-title"),
            html.Div(className="vl-form-grid", children=[
                _field(_("Minimum valid stay (minutes)"),
                       _number(MIN_STAY, rules.min_valid_stay_minutes, 0, 1440)),
                _field(_("Deviation limit, network location (m)"),
                       _number(LIMIT_NET, rules.deviation_limit_net_m, 1, 100_000)),
                _field(_("Deviation limit, cell tower location (m)"),
                       _number(LIMIT_CELL, rules.deviation_limit_cell_m, 1, 100_000)),
                _field(_("Deviation limit, GPS location (m)"),
                       _number(LIMIT_GPS, rules.deviation_limit_gps_m, 1, 100_000)),
                _field(_("Working days"), dcc.Checklist(
                    id=WORKDAYS, value=list(rules.workdays), inline=True,
                    options=[{"label": _(d), "value": i + 1} for i, d in enumerate(WEEKDAYS)])),
                _field(_("Customer grades"), dcc.Input(
                    id=GRADES, value=", ".join(rules.grades), className="vl-input",
                    debounce=True), _("In order, separated by commas.")),
                _field(_("Longest export (days)"),
                       _number(EXPORT_DAYS, rules.export_max_days, 1, 366)),
                _field(_("Phone check-ins: at most days back"),
                       _number(API_BACKDATE, rules.api_max_backdate_days, 0, 366),
                       _("Older visits are imported from a file.")),
                _field(_("Company time zone"), dcc.Input(
                    id=TIMEZONE, value=rules.timezone, className="vl-input", debounce=True),
                    "Asia/Shanghai"),
                _field(_("Sign out after inactivity (minutes)"),
                       _number(SESSION_IDLE, rules.session_idle_minutes, 5, 720),
                       _("A session ends 12 hours after signing in in any case.")),
            ]),
            html.Button(_("Save rules"), id=SAVE, n_clicks=0,
                        className="vl-button vl-button-primary"),
            html.Div(id=SAVE_RESULT, role="status"),
        ]),
        html.Div(className="vl-card", children=[
            html.H2(_("Holiday calendar"), className="vl-card-title"),
            html.P(_("Extra days off and extra working days (make-up days) change the "
                     "workdays of every report."), className="vl-hint"),
            html.Div(className="vl-inline", children=[
                dcc.DatePickerSingle(id=HOLIDAY_DATE, display_format="YYYY-MM-DD",
                                     first_day_of_week=1, placeholder=_("Date")),
                dcc.RadioItems(id=HOLIDAY_KIND, value="off", inline=True,
                               className="vl-segmented",
                               options=[{"label": _(v), "value": k}
                                        for k, v in KIND_LABELS.items()]),
                dcc.Input(id=HOLIDAY_NAME, placeholder=_("Name (optional)"),
                          className="vl-input", maxLength=100),
                html.Button(_("Add or change"), id=HOLIDAY_ADD, n_clicks=0,
                            className="vl-button vl-button-primary"),
                html.Button(_("Delete selected"), id=HOLIDAY_DELETE, n_clicks=0,
                            className="vl-button"),
            ]),
            html.Div(id=HOLIDAY_RESULT, role="status"),
            dag.AgGrid(id=HOLIDAY_GRID, rowData=_holiday_rows(), className="ag-theme-quartz",
                       columnDefs=[
                           {"field": "day", "headerName": _("Date"), "checkboxSelection": True},
                           {"field": "kind_label", "headerName": _("Kind")},
                           {"field": "name", "headerName": _("Name"), "flex": 1}],
                       dashGridOptions={"rowSelection": "multiple",
                                        "suppressRowClickSelection": True},
                       getRowId="params.data.day", style={"height": "320px"}),
        ]),
        html.Div(className="vl-card", children=[
            html.H2(_("Backup"), className="vl-card-title"),
            html.P(_("A consistent copy of the whole database, made while the server runs. "
                     "To bring it back, stop the server and run: visitlens restore FILE"),
                   className="vl-hint"),
            # A form POST with the CSRF token: nothing but this button builds a backup.
            html.Form(action="/download/backup", method="POST",
                      children=[
                          dcc.Input(type="hidden", name="csrf_token", value=csrf_token()),
                          html.Button(_("Download a backup"), type="submit",
                                      id="vl-settings-backup", className="vl-button"),
                      ]),
        ]),
    ]
    return frame


def _holiday_rows() -> list[dict[str, Any]]:
    rows = records(lookups.holidays(get_db()), ["day", "kind", "name"])
    for row in rows:
        row["kind_label"] = _(KIND_LABELS.get(row["kind"], row["kind"]))
    return rows


def parse_rules(current: BusinessSettings, values: dict[str, Any]) -> BusinessSettings:
    """New rules from the form's values (browser input); ValueError names the bad field."""

    def number(name: str, label: str, low: float, high: float) -> float:
        value = values.get(name)
        if isinstance(value, bool) or not isinstance(value, (int, float)) \
                or not low <= value <= high:
            raise ValueError(_("{field} must be a number from {low} to {high}.").format(
                field=label, low=low, high=high))
        return float(value)

    workdays = values.get("workdays")
    if not isinstance(workdays, list) or not all(
            isinstance(d, int) and 1 <= d <= 7 for d in workdays):
        raise ValueError(_("Choose the working days."))
    grades_text = values.get("grades")
    grades = tuple(g.strip() for g in str(grades_text or "").replace("，", ",").split(",")
                   if g.strip())
    if not grades or len(set(g.upper() for g in grades)) != len(grades) or any(
            len(g) > 10 for g in grades):
        raise ValueError(_("Grades must be distinct short codes, e.g. A, B, C, D."))
    zone = str(values.get("timezone") or "").strip()
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(_("Unknown time zone '{zone}'.").format(zone=zone)) from None
    export_days = number("export_days", _("Longest export (days)"), 1, 366)
    if not float(export_days).is_integer():
        raise ValueError(_("Longest export (days)") + ": 1…366")
    idle = number("session_idle", _("Sign out after inactivity (minutes)"), 5, 720)
    backdate = number("backdate", _("Phone check-ins: at most days back"), 0, 366)
    if not float(backdate).is_integer():
        raise ValueError(_("Phone check-ins: at most days back") + ": 0…366")
    return replace(
        current,
        min_valid_stay_minutes=number("min_stay", _("Minimum valid stay (minutes)"), 0, 1440),
        deviation_limit_net_m=number("net", _("Deviation limit, network location (m)"), 1,
                                     100_000),
        deviation_limit_cell_m=number("cell", _("Deviation limit, cell tower location (m)"),
                                      1, 100_000),
        deviation_limit_gps_m=number("gps", _("Deviation limit, GPS location (m)"), 1,
                                     100_000),
        workdays=tuple(sorted(set(workdays))),
        grades=grades,
        export_max_days=int(export_days),
        timezone=zone,
        session_idle_minutes=int(idle),
        api_max_backdate_days=int(backdate),
    )


@callback(
    Output(SAVE_RESULT, "children"),
    Input(SAVE, "n_clicks"),
    State(MIN_STAY, "value"), State(LIMIT_NET, "value"), State(LIMIT_CELL, "value"),
    State(LIMIT_GPS, "value"), State(WORKDAYS, "value"), State(GRADES, "value"),
    State(EXPORT_DAYS, "value"), State(TIMEZONE, "value"), State(SESSION_IDLE, "value"),
    State(API_BACKDATE, "value"),
    prevent_initial_call=True,
)
def save_rules(_clicks: Any, min_stay: Any, net: Any, cell: Any, gps: Any, workdays: Any,
               grades: Any, export_days: Any, timezone: Any, session_idle: Any,
               backdate: Any) -> Any:
    """Validate and store the rules; validity is recomputed when its inputs changed."""
    try:
        scope = require_admin("settings.update")
    except NotAllowed:
        return message(_("Only administrators may change settings."), False)
    db = get_db()
    try:
        new = parse_rules(business_settings.load(db), {
            "min_stay": min_stay, "net": net, "cell": cell, "gps": gps,
            "workdays": workdays, "grades": grades, "export_days": export_days,
            "timezone": timezone, "session_idle": session_idle, "backdate": backdate})
    except ValueError as exc:
        return message(str(exc), False)
    changed = business_settings.save(db, new, scope.username)
    if not changed:
        return message(_("Nothing changed."), True)
    return message(_("Saved. The reports use the new rules now."), True)


@callback(
    Output(HOLIDAY_RESULT, "children"),
    Output(HOLIDAY_GRID, "rowData"),
    Input(HOLIDAY_ADD, "n_clicks"),
    Input(HOLIDAY_DELETE, "n_clicks"),
    State(HOLIDAY_DATE, "date"), State(HOLIDAY_KIND, "value"), State(HOLIDAY_NAME, "value"),
    State(HOLIDAY_GRID, "selectedRows"),
    prevent_initial_call=True,
)
def edit_holidays(_add: Any, _delete: Any, day: Any, kind: Any, name: Any,
                  selected: Any) -> tuple[Any, Any]:
    """Add/change one date, or delete the selected ones (admin only)."""
    try:
        scope = require_admin("holiday.edit")
    except NotAllowed:
        return message(_("Only administrators may change settings."), False), dash.no_update
    db = get_db()
    if dash.ctx.triggered_id == HOLIDAY_DELETE:
        rows = selected if isinstance(selected, list) else []
        days = [parse_date(r.get("day")) for r in rows if isinstance(r, dict)]
        removed = delete_holidays(db, [d for d in days if d is not None], scope.username)
        return message(_("{count} dates removed.").format(count=removed), True), \
            _holiday_rows()
    when: date | None = parse_date(day)
    if when is None:
        return message(_("Choose a date."), False), dash.no_update
    try:
        set_holiday(db, when, kind if isinstance(kind, str) else "", name if isinstance(
            name, str) else None, scope.username)
    except CalendarError as exc:
        return message(str(exc), False), dash.no_update
    return message(_("Saved {day}.").format(day=when.isoformat()), True), _holiday_rows()


dash.register_page(__name__, layout=layout, **registration(KEY))
