"""The filter bar shared by every report page: department (inside the scope) and dates.

The builder is page-agnostic: its ids carry the page key, and the one preset callback
below matches any page (pattern-matching ids), so report pages never copy it. Department
options come only from the Scope resolved on the server; a department named in the query
string is used only if the scope allows it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dash import (
    MATCH,
    ClientsideFunction,
    Input,
    Output,
    State,
    callback,
    clientside_callback,
    ctx,
    dcc,
    html,
    no_update,
)
from dash.exceptions import PreventUpdate

from dashboard.components import ids
from dashboard.components.widgets import dropdown_labels
from dashboard.context import get_db
from dashboard.i18n import N_, _
from dashboard.reports import lookups
from dashboard.reports.filters import FilterError, Filters
from dashboard.scope import Scope
from pipelines import business_settings
from pipelines.store import Store

WEEK, MONTH, LAST_31, CUSTOM = "week", "month", "last31", "custom"
PRESETS: tuple[str, ...] = (WEEK, MONTH, LAST_31, CUSTOM)
RANGE_PRESETS: tuple[str, ...] = (WEEK, MONTH, LAST_31)
DEFAULT_PRESET = MONTH
PRESET_LABELS: Mapping[str, str] = {
    WEEK: N_("This week"),
    MONTH: N_("This month"),
    LAST_31: N_("Last 31 days"),
    CUSTOM: N_("Custom"),
}
PATH_SEPARATOR = " / "


def preset_range(preset: str, today: date) -> tuple[date, date]:
    """The dates of a preset, both ends inclusive and ending today.

    week: the ISO week so far (Monday..today); month: the 1st..today; last31: the 31 days
    ending today (today-30..today). 'custom' has no range of its own: ValueError.
    """
    if preset == WEEK:
        return today - timedelta(days=today.weekday()), today
    if preset == MONTH:
        return today.replace(day=1), today
    if preset == LAST_31:
        return today - timedelta(days=30), today
    raise ValueError(f"preset {preset!r} has no fixed range")


def company_today(db: Store) -> date:
    """Today in the company time zone (business setting `timezone`)."""
    try:
        zone = ZoneInfo(business_settings.load(db).timezone)
    except (ZoneInfoNotFoundError, ValueError):
        return date.today()
    return datetime.now(zone).date()


def department_options(db: Store, scope: Scope) -> list[dict[str, str]]:
    """Dropdown options of the scope's departments, labelled with their path in the scope."""
    rows = lookups.departments_in_scope(db, scope)
    return [{"label": PATH_SEPARATOR.join(r["path_names"]), "value": r["code"]} for r in rows]


def parse_date(text: object) -> date | None:
    """An ISO date from a query string or a date picker ('2024-06-05[T...]'), else None."""
    if not isinstance(text, str) or len(text) < 10:
        return None
    try:
        value = date.fromisoformat(text[:10])
    except ValueError:
        return None
    return value if 1990 <= value.year <= 2100 else None


def initial_state(
    query: Mapping[str, Any], today: date, allowed: set[str]
) -> tuple[str | None, str, date, date]:
    """(department, preset, start, end) from the query string; anything invalid ignored.

    Query keys: department, preset, from, to. A named preset wins over dates; dates alone
    mean 'custom'. A department outside `allowed` is dropped (never shown, never used).
    """
    department = query.get("department")
    department = department if isinstance(department, str) and department in allowed else None
    preset = query.get("preset")
    start, end = parse_date(query.get("from")), parse_date(query.get("to"))
    if isinstance(preset, str) and preset in RANGE_PRESETS:
        return (department, preset, *preset_range(preset, today))
    if start is not None and end is not None and start <= end:
        return department, CUSTOM, start, end
    return (department, DEFAULT_PRESET, *preset_range(DEFAULT_PRESET, today))


def build_filter_bar(
    page: str,
    scope: Scope,
    db: Store,
    *,
    today: date | None = None,
    query: Mapping[str, Any] | None = None,
) -> html.Div:
    """The filter bar of a report page.

    Args:
        page: the page key, part of every id (ids.filter_*(page)).
        scope: the logged-in user's scope: the only source of department options.
        db: the database.
        today: the day presets end on (default: today in the company time zone).
        query: the page's query-string values, to restore bookmarked filters.
    """
    today = today or company_today(db)
    options = department_options(db, scope)
    department, preset, start, end = initial_state(
        query or {}, today, {o["value"] for o in options}
    )
    empty = not options
    return html.Div(
        id=ids.filter_bar(page),
        className="vl-filter-bar",
        children=[
            html.Div(className="vl-filter vl-filter-department", children=[
                html.Label(_("Department"), className="vl-filter-label"),
                dcc.Dropdown(
                    id=ids.filter_department(page),
                    options=options,
                    value=department,
                    placeholder=_("No departments in your scope") if empty
                    else _("All my departments"),
                    disabled=empty,
                    clearable=True,
                    searchable=True,
                    search_order="original",
                    labels=dropdown_labels(),
                ),
            ]),
            html.Div(className="vl-filter vl-filter-preset", children=[
                html.Label(_("Period"), className="vl-filter-label"),
                dcc.RadioItems(
                    id=ids.filter_preset(page),
                    options=[{"label": _(PRESET_LABELS[p]), "value": p} for p in PRESETS],
                    value=preset,
                    inline=True,
                    className="vl-segmented",
                ),
            ]),
            html.Div(className="vl-filter vl-filter-dates", children=[
                html.Label(_("Dates"), className="vl-filter-label"),
                dcc.DatePickerRange(
                    id=ids.filter_dates(page),
                    start_date=start.isoformat(),
                    end_date=end.isoformat(),
                    display_format="YYYY-MM-DD",
                    month_format="YYYY-MM",
                    first_day_of_week=1,
                    minimum_nights=0,
                    clearable=False,
                    start_date_placeholder_text=_("From"),
                    end_date_placeholder_text=_("To"),
                ),
            ]),
        ],
    )



@callback(
    Output(ids.filter_preset(MATCH), "value"),
    Output(ids.filter_dates(MATCH), "start_date"),
    Output(ids.filter_dates(MATCH), "end_date"),
    Input(ids.filter_preset(MATCH), "value"),
    Input(ids.filter_dates(MATCH), "start_date"),
    Input(ids.filter_dates(MATCH), "end_date"),
    prevent_initial_call=True,
)
def sync_preset(preset: str | None, start: str | None, end: str | None) -> tuple[Any, Any, Any]:
    """A preset sets the dates; editing the dates by hand turns the preset into 'custom'.

    One callback owns all three values (Dash allows a callback to feed its own inputs),
    so the two directions never chase each other.
    """
    trigger = ctx.triggered_id
    today = company_today(get_db())
    if trigger is not None and trigger.get("type") == ids.FILTER_PRESET:
        if preset not in RANGE_PRESETS:
            raise PreventUpdate
        first, last = preset_range(preset, today)
        return no_update, first.isoformat(), last.isoformat()
    if preset in RANGE_PRESETS and (parse_date(start), parse_date(end)) == preset_range(
        preset, today
    ):
        raise PreventUpdate
    return CUSTOM, no_update, no_update


# -- the employee picker ---------------------------------------------------------------------
EMPLOYEE_OPTIONS_LIMIT = 30


def employee_options(
    db: Store, scope: Scope, search: str | None, selected: list[str]
) -> list[dict[str, str]]:
    """Picker options: employees of the scope matching the search, selected ones first."""
    rows = lookups.employees_matching(
        db, scope, (search or "").strip()[:50],
        [s for s in selected if isinstance(s, str)][:500], EMPLOYEE_OPTIONS_LIMIT + len(selected))
    inactive = _("inactive")
    return [{"label": f"{r['name']} ({r['code']})" + (f" · {inactive}"
                                                        if r["status"] != "active" else ""),
             "value": r["code"]} for r in rows]


def selected_employees(query: Mapping[str, Any]) -> list[str]:
    """Employee codes from the query string ('employees=E1,E2')."""
    raw = query.get("employees")
    if not isinstance(raw, str) or not raw:
        return []
    return [code for code in raw.split(",") if code][:500]


def build_employee_filter(page: str, scope: Scope, db: Store,
                          selected: list[str]) -> html.Div:
    """The employee picker: several at once, searched on the server within the scope."""
    return html.Div(className="vl-filter vl-filter-employees", children=[
        html.Label(_("Employees"), className="vl-filter-label"),
        dcc.Dropdown(
            id=ids.filter_employees(page),
            options=employee_options(db, scope, "", selected),
            value=selected,
            multi=True,
            placeholder=_("All employees"),
            searchable=True,
            labels=dropdown_labels(),
        ),
    ])


@callback(
    Output(ids.filter_employees(MATCH), "options"),
    Input(ids.filter_employees(MATCH), "search_value"),
    State(ids.filter_employees(MATCH), "value"),
    prevent_initial_call=True,
)
def search_employees(search: Any, selected: Any) -> list[dict[str, str]]:
    """Options for what the user typed; the scope comes from the server, never the browser."""
    from dashboard.auth import current_scope

    if isinstance(selected, str):
        selected = [selected]
    chosen = [s for s in selected if isinstance(s, str)] if isinstance(selected, list) else []
    return employee_options(get_db(), current_scope(), search if isinstance(search, str)
                            else "", chosen)


def query_string(values: Mapping[str, Any]) -> str:
    """'?key=value&…' of the non-empty values, in a stable order, for the address bar."""
    from urllib.parse import urlencode

    pairs = []
    for key, value in values.items():
        if value is None or value == "" or value == []:
            continue
        if isinstance(value, (list, tuple)):
            value = ",".join(str(v) for v in value)
        pairs.append((key, str(value)))
    return "?" + urlencode(pairs) if pairs else ""


# The address bar follows each report page's query store (assets/visitlens.js).
clientside_callback(
    ClientsideFunction("visitlens", "replaceQuery"),
    Output(ids.query_sink(MATCH), "title"),
    Input(ids.query_store(MATCH), "data"),
    prevent_initial_call=True,
)


def filters_from_inputs(department: Any, start: Any, end: Any, employees: Any) -> Filters:
    """Report filters from a page's filter bar values (browser input: checked here).

    Raises:
        FilterError: malformed values (types, dates, too many employees). Whether the
            department and employees are inside the scope is checked by the metrics.
    """
    if department is not None and not isinstance(department, str):
        raise FilterError("department must be a code")
    first, last = parse_date(start), parse_date(end)
    if first is None or last is None:
        raise FilterError("dates are required")
    if employees is None:
        employees = []
    if not isinstance(employees, list) or not all(isinstance(e, str) for e in employees):
        raise FilterError("employees must be a list of codes")
    return Filters(first, last, department or None, tuple(employees))
