"""客户被拜访汇总表 (/customers/visited): how often the scope's customers are visited.

Frequency pie (click slices to narrow the page to those buckets), average visits per
grade, the summary table by department or by person with the totals row pinned on top,
and the customer list, neglected customers first. Scope from the server-side user on
every callback; numbers from dashboard.reports.metrics (the same as `visitlens report`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import dash
from dash import Input, Output, State, callback, ctx, dcc, html
from dash.development.base_component import Component
from dash.exceptions import PreventUpdate

from dashboard import figures, output, reports
from dashboard.components import grid, ids
from dashboard.components.callbacks import ReportCall, report_callback
from dashboard.components.cards import number
from dashboard.components.export import export_controls, poll_export, start_export
from dashboard.components.filter_bar import filters_from_inputs, query_string
from dashboard.components.notices import refusal
from dashboard.components.page import page_layout, registration
from dashboard.context import get_db
from dashboard.exports import ExportTable, frame_table
from dashboard.i18n import N_, _
from dashboard.reports import metrics
from dashboard.reports.filters import Filters
from pipelines import business_settings

KEY = "customers_visited"
BY = ("department", "employee")
MEASURES: Mapping[str, str] = {
    "customers": N_("Customers"),
    "visited_customers": N_("Visited"),
    "visits": N_("Visits"),
    "avg_visits": N_("Average visits"),
}
ROW_TYPES: Mapping[str, str] = {"total": N_("Total"), "department": N_("Department"),
                                "employee": N_("Employee")}
LIST_LABELS: Mapping[str, str] = {
    "customer_code": N_("Customer code"),
    "customer_name": N_("Customer"),
    "grade": N_("Grade"),
    "owners": N_("Owners"),
    "department_name": N_("Department"),
    "visits": N_("Visits in the period"),
    "last_visit": N_("Last visit"),
    "days_since": N_("Days since last visit"),
}


def _grade_key(grade: Any) -> str:
    return "unrated" if grade is None else ("all" if grade == metrics.ALL_GRADES else str(grade))


def _grade_label(grade: Any) -> str:
    if grade is None:
        return _("Unrated")
    return _("All grades") if grade == metrics.ALL_GRADES else str(grade)


def _buckets_from(value: Any, allowed: list[str]) -> list[str]:
    """Selected bucket labels (browser input): known labels only, in pie order."""
    chosen = value.split(",") if isinstance(value, str) else value
    if not isinstance(chosen, list):
        return []
    return [b for b in allowed if b in chosen]


# -- layout ---------------------------------------------------------------------------------
def layout(**query: Any) -> Component:
    frame = page_layout(KEY, query)
    db = get_db()
    rules = business_settings.load(db)
    buckets = _buckets_from(query.get("buckets"), rules.bucket_labels)
    by = query.get("by") if query.get("by") in BY else "department"
    grades = [*rules.grades, None, metrics.ALL_GRADES]
    frame.children += [
        dcc.Store(id=ids.query_store(KEY)),
        html.Div(id=ids.query_sink(KEY), hidden=True),
        dcc.Store(id=ids.CV_BUCKETS, data=buckets),
        dcc.Location(id=ids.CV_NAVIGATE, refresh="callback-nav"),
        html.Div(id=ids.CV_MESSAGE, role="status"),
        html.Div(id=ids.CV_CHIPS, className="vl-inline"),
        html.Div(className="vl-two-columns", children=[
            html.Div(className="vl-card", children=[
                html.H2(_("Customers by number of visits"), className="vl-card-title"),
                html.P(_("Click slices to show only those customers."), className="vl-hint"),
                dcc.Graph(id=ids.CV_PIE, config={"displaylogo": False}),
            ]),
            html.Div(className="vl-card", children=[
                html.H2(_("Average visits per grade"), className="vl-card-title"),
                dcc.Graph(id=ids.CV_GRADES, config={"displaylogo": False}),
            ]),
        ]),
        html.Div(className="vl-toolbar", children=[
            dcc.RadioItems(id=ids.CV_BY, value=by, inline=True, className="vl-segmented",
                           options=[{"label": _("By department"), "value": "department"},
                                    {"label": _("By person"), "value": "employee"}]),
            export_controls(ids.CV_EXPORT_BUTTON, ids.CV_EXPORT_JOB, ids.CV_EXPORT_POLL,
                            ids.CV_EXPORT_STATUS),
        ]),
        grid.server_grid(ids.CV_SUMMARY_GRID, _summary_columns(grades), height="360px",
                         row_id="code", extra_options={"suppressColumnVirtualisation": True}),
        html.Div(className="vl-inline", children=[
            html.H2(_("Customers"), className="vl-card-title"),
            html.Span(id=ids.CV_LIST_COUNT, className="vl-hint"),
            dcc.Link(_("Show these customers on the map"), id=ids.CV_MAP_LINK, href="/map",
                     className="vl-button"),
            html.Span(_("Click a customer to open the record."), className="vl-hint"),
        ]),
        grid.server_grid(ids.CV_LIST_GRID, _list_columns(), height="480px",
                         row_id="customer_code"),
    ]
    return frame


def _summary_columns(grades: list[Any]) -> list[dict[str, Any]]:
    columns: list[dict[str, Any]] = [
        {"field": "name", "headerName": _("Name"), "pinned": "left", "width": 180},
        {"field": "code", "headerName": _("Code"), "pinned": "left", "width": 100},
    ]
    # All grades first: the block people read, on screen without scrolling sideways.
    for grade in sorted(grades, key=lambda g: g != metrics.ALL_GRADES):
        g = _grade_key(grade)
        columns.append({"headerName": _grade_label(grade), "children": [
            {"field": f"{g}_{m}", "headerName": _(label), "type": "numericColumn",
             "width": 96} for m, label in MEASURES.items()]})
    return columns


def _list_columns() -> list[dict[str, Any]]:
    sortable = set(metrics.CUSTOMER_SORTS) | {"customer_name"}
    columns = []
    for field, label in LIST_LABELS.items():
        column: dict[str, Any] = {"field": field, "headerName": _(label)}
        if field in sortable:
            column["sortable"] = True
            if field == "customer_name":
                column["colId"] = "name"
        if field in ("visits", "days_since"):
            column["type"] = "numericColumn"
        columns.append(column)
    columns[1]["cellClass"] = "vl-link-cell"
    return columns


# -- callbacks ------------------------------------------------------------------------------
FILTER_INPUTS = (
    Input(ids.filter_department(KEY), "value"),
    Input(ids.filter_dates(KEY), "start_date"),
    Input(ids.filter_dates(KEY), "end_date"),
)
FILTER_STATES = tuple(State(i.component_id, i.component_property) for i in FILTER_INPUTS)


def _filters(department: Any, start: Any, end: Any) -> Filters:
    return filters_from_inputs(department, start, end, [])


def _selected(buckets: Any) -> tuple[str, ...]:
    return tuple(_buckets_from(buckets, business_settings.load(get_db()).bucket_labels))


def _no_charts(exc: Exception, *_: Any) -> tuple[Any, ...]:
    empty = {"data": [], "layout": {"height": 320}}
    return empty, empty, [], refusal(exc)


@callback(
    Output(ids.CV_PIE, "figure"),
    Output(ids.CV_GRADES, "figure"),
    Output(ids.CV_CHIPS, "children"),
    Output(ids.CV_MESSAGE, "children"),
    *FILTER_INPUTS,
    Input(ids.CV_BUCKETS, "data"),
)
@report_callback(_filters, _no_charts)
def update_charts(call: ReportCall[Filters], buckets: Any) -> tuple[Any, ...]:
    """The pie (all buckets, the selected ones pulled out), grades, and the filter chip."""
    selected = _selected(buckets)
    pie = metrics.frequency(call.db, call.scope, call.filters)
    by_grade = metrics.grades(call.db, call.scope, call.filters, selected)
    chips: list[Any] = []
    if selected:
        chips = [
            html.Span(_("Visits in the period: {buckets}").format(buckets=", ".join(selected)),
                      className="vl-chip"),
            html.Button(_("Clear"), id=ids.CV_CLEAR, n_clicks=0, className="vl-button"),
        ]
    else:
        chips = [html.Button(_("Clear"), id=ids.CV_CLEAR, n_clicks=0, hidden=True)]
    labels = {"avg": _("average visits"), "customers": _("customers"), "visits": _("visits"),
              "grade": _("Grade"), "avg_axis": _("Average visits per customer")}
    return (figures.frequency_pie(pie, list(selected), _("customers")),
            figures.grade_bars(by_grade, _("Unrated"), labels), chips, None)


@callback(
    Output(ids.CV_BUCKETS, "data"),
    Input(ids.CV_PIE, "clickData"),
    Input(ids.CV_CLEAR, "n_clicks"),
    State(ids.CV_BUCKETS, "data"),
    prevent_initial_call=True,
)
def toggle_bucket(click: Any, _clear: Any, current: Any) -> list[str]:
    """A slice click adds or removes its bucket; Clear removes them all."""
    if ctx.triggered_id == ids.CV_CLEAR:
        if not _clear:  # the button was just (re)drawn, not clicked
            raise PreventUpdate
        return []
    allowed = business_settings.load(get_db()).bucket_labels
    chosen = set(_buckets_from(current, allowed))
    try:
        label = click["points"][0]["label"]
    except (TypeError, KeyError, IndexError):
        raise PreventUpdate from None
    if label not in allowed:
        raise PreventUpdate
    chosen ^= {label}
    return [b for b in allowed if b in chosen]


def _wide_rows(frame: Any) -> list[dict[str, Any]]:
    """Long summary rows (one per row and grade) -> one grid row per department/person."""
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for record in output.records(frame, list(reports.get("summary").fields)):
        row = rows.setdefault((record["row_type"], record["code"]), {
            "row_type": record["row_type"], "code": record["code"],
            "name": record["name"] or _("All")})
        g = _grade_key(record["grade"])
        for measure in MEASURES:
            row[f"{g}_{measure}"] = record[measure]
    return list(rows.values())


def _with_totals(totals: list[dict[str, Any]], options: Any, version: Any) -> tuple[Any, int]:
    return {**(options if isinstance(options, dict) else {}),
            "pinnedTopRowData": totals}, grid.next_version(version)


@callback(
    Output(ids.CV_SUMMARY_GRID, "dashGridOptions"),
    Output(grid.version_id(ids.CV_SUMMARY_GRID), "data"),
    *FILTER_INPUTS,
    Input(ids.CV_BY, "value"),
    Input(ids.CV_BUCKETS, "data"),
    State(ids.CV_SUMMARY_GRID, "dashGridOptions"),
    State(grid.version_id(ids.CV_SUMMARY_GRID), "data"),
)
@report_callback(_filters, lambda exc, by, buckets, options, version: _with_totals(
    [], options, version))
def update_totals(call: ReportCall[Filters], by: Any, buckets: Any,
                  options: Any, version: Any) -> tuple[Any, int]:
    """The totals row pinned under the header, and a refresh of the table's rows."""
    by = by if by in BY else "department"
    frame = metrics.summary(call.db, call.scope, call.filters, by, _selected(buckets),
                            only=slice(0, 0))
    return _with_totals([r for r in _wide_rows(frame) if r["row_type"] == "total"], options,
                        version)


@callback(
    Output(ids.CV_SUMMARY_GRID, "getRowsResponse"),
    Input(ids.CV_SUMMARY_GRID, "getRowsRequest"),
    *FILTER_STATES,
    State(ids.CV_BY, "value"),
    State(ids.CV_BUCKETS, "data"),
    prevent_initial_call=True,
)
@report_callback(_filters, lambda *_: grid.response([], 0), at=1)
def summary_rows(call: ReportCall[Filters], request: Any, by: Any,
                 buckets: Any) -> dict[str, Any]:
    """One block of the summary table's department or person rows."""
    block = grid.parse_request(request)
    if block is None:
        raise PreventUpdate
    by = by if by in BY else "department"
    db, scope, filters = call.db, call.scope, call.filters
    count = len(metrics.summary_rows(db, scope, filters, by))
    frame = metrics.summary(db, scope, filters, by, _selected(buckets),
                            only=slice(block.start, block.end))
    rows = [r for r in _wide_rows(frame) if r["row_type"] != "total"]
    return grid.response(rows, count)


@callback(
    Output(grid.version_id(ids.CV_LIST_GRID), "data"),
    *FILTER_INPUTS,
    Input(ids.CV_BUCKETS, "data"),
    State(grid.version_id(ids.CV_LIST_GRID), "data"),
)
def refresh_list(_d: Any, _s: Any, _e: Any, _b: Any, version: Any) -> int:
    return grid.next_version(version)


def _list_rows(frame: Any) -> list[dict[str, Any]]:
    rows = output.records(frame, [*LIST_LABELS, "department_code"])
    for row in rows:
        row["grade"] = row["grade"] or _("Unrated")
        row["department_name"] = row["department_name"] or ""
    return rows


@callback(
    Output(ids.CV_LIST_GRID, "getRowsResponse"),
    Output(ids.CV_LIST_COUNT, "children"),
    Input(ids.CV_LIST_GRID, "getRowsRequest"),
    *FILTER_STATES,
    State(ids.CV_BUCKETS, "data"),
    prevent_initial_call=True,
)
@report_callback(_filters, lambda *_: (grid.response([], 0), ""), at=1)
def list_rows(call: ReportCall[Filters], request: Any,
              buckets: Any) -> tuple[dict[str, Any], str]:
    """One block of the customer list, paged and sorted in DuckDB."""
    block = grid.parse_request(request, metrics.CUSTOMER_SORTS)
    if block is None:
        raise PreventUpdate
    page = metrics.customer_list(
        call.db, call.scope, call.filters, _selected(buckets),
        sort=block.sort or "last_visit", descending=block.descending,
        offset=block.start, limit=block.limit)
    count = _("{count} customers").format(count=number(page.total))
    return grid.response(_list_rows(page.rows), page.total), count


@callback(
    Output(ids.CV_NAVIGATE, "href"),
    Input(ids.CV_LIST_GRID, "cellClicked"),
    prevent_initial_call=True,
)
def open_customer(cell: Any) -> str:
    """A click on a customer opens its record in the customer archive."""
    code = cell.get("rowId") if isinstance(cell, dict) else None
    if not isinstance(code, str):
        raise PreventUpdate
    from urllib.parse import quote

    return f"/customers?code={quote(code)}"


@callback(
    Output(ids.query_store(KEY), "data"),
    Output(ids.CV_MAP_LINK, "href"),
    Input(ids.filter_department(KEY), "value"),
    Input(ids.filter_preset(KEY), "value"),
    Input(ids.filter_dates(KEY), "start_date"),
    Input(ids.filter_dates(KEY), "end_date"),
    Input(ids.CV_BY, "value"),
    Input(ids.CV_BUCKETS, "data"),
)
def remember_filters(department: Any, preset: Any, start: Any, end: Any, by: Any,
                     buckets: Any) -> tuple[str, str]:
    """The address bar's query, and the map link for the same customers."""
    custom = preset not in ("week", "month", "last31")
    search = query_string({
        "department": department if isinstance(department, str) else None,
        "preset": None if custom else preset,
        "from": str(start)[:10] if custom and start else None,
        "to": str(end)[:10] if custom and end else None,
        "by": by if by == "employee" else None,
        "buckets": [b for b in buckets if isinstance(b, str)] if isinstance(buckets, list)
        else None,
    })
    on_map = search.replace("by=employee", "").replace("&&", "&").rstrip("&?")
    return search, "/map" + (on_map + "&colour=recency" if on_map else "?colour=recency")


# -- export ---------------------------------------------------------------------------------
def _export_tables(db: Any, scope: Any, filters: Filters, by: str,
                   buckets: tuple[str, ...]) -> list[ExportTable]:
    summary = metrics.summary(db, scope, filters, by, buckets)
    summary["grade"] = [_grade_label(g) for g in summary["grade"]]
    summary["row_type"] = [_(ROW_TYPES[r]) for r in summary["row_type"]]
    summary_headers = {"row_type": _("Row"), "code": _("Code"), "name": _("Name"),
                       "grade": _("Grade"), **{m: _(label) for m, label in MEASURES.items()}}
    customers = metrics.customer_list(db, scope, filters, buckets, limit=None).rows
    customers["grade"] = [g if g else _("Unrated") for g in customers["grade"]]
    list_headers: dict[str, str] = {}
    for f, label in LIST_LABELS.items():
        if f == "department_name":  # the code next to the name the grid shows
            list_headers["department_code"] = _("Department code")
        list_headers[f] = _(label)
    return [frame_table("summary", summary_headers, summary,
                        counts=("customers", "visited_customers", "visits")),
            frame_table("customers", list_headers, customers, counts=("visits", "days_since"))]


@callback(
    Output(ids.CV_EXPORT_JOB, "data"),
    Output(ids.CV_EXPORT_STATUS, "children"),
    Output(ids.CV_EXPORT_POLL, "disabled"),
    Input(ids.CV_EXPORT_BUTTON, "n_clicks"),
    *FILTER_STATES,
    State(ids.CV_BY, "value"),
    State(ids.CV_BUCKETS, "data"),
    prevent_initial_call=True,
)
@report_callback(_filters, lambda exc, *_: (None, refusal(exc), True), at=1)
def export_zip(call: ReportCall[Filters], _clicks: Any, by: Any,
               buckets: Any) -> tuple[Any, Any, bool]:
    db, scope, filters = call.db, call.scope, call.filters
    selected = _selected(buckets)
    metrics.population_params(db, scope, filters, selected)  # refuses outside the scope
    by = by if by in BY else "department"
    name = (f"{_('Customer visited summary')} "
            f"{filters.date_from:%Y%m%d}-{filters.date_to:%Y%m%d}.zip")
    return start_export(scope, lambda: _export_tables(db, scope, filters, by, selected), name,
                        filters=filters, max_days=business_settings.load(db).export_max_days)


@callback(
    Output(ids.CV_EXPORT_STATUS, "children", allow_duplicate=True),
    Output(ids.CV_EXPORT_POLL, "disabled", allow_duplicate=True),
    Input(ids.CV_EXPORT_POLL, "n_intervals"),
    State(ids.CV_EXPORT_JOB, "data"),
    prevent_initial_call=True,
)
def export_progress(_ticks: Any, job_id: Any) -> tuple[Any, bool]:
    return poll_export(job_id)


grid.register_refresh(ids.CV_SUMMARY_GRID)
grid.register_refresh(ids.CV_LIST_GRID)
dash.register_page(__name__, layout=layout, **registration(KEY))
