"""员工拜访汇总表 (/visits): KPIs, the three daily curves, ranking, detail and trend.

Every callback resolves the Scope from the logged-in user on the server; the browser's
department and employee ids are only filters inside it (metrics refuses others). Numbers
come from dashboard.reports.metrics, the same functions as `visitlens report`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import dash
from dash import Input, Output, State, callback, ctx, dcc, html
from dash.development.base_component import Component
from dash.exceptions import PreventUpdate

from dashboard import display, figures, output, reports
from dashboard.auth import current_scope
from dashboard.components import grid, ids
from dashboard.components.callbacks import ReportCall, report_callback
from dashboard.components.cards import Kpi, kpi_cards
from dashboard.components.export import export_controls, poll_export, start_export
from dashboard.components.filter_bar import (
    build_employee_filter,
    employee_options,
    filters_from_inputs,
    query_string,
    selected_employees,
)
from dashboard.components.notices import refusal
from dashboard.components.page import page_layout, registration
from dashboard.context import get_db
from dashboard.display import REASON_LABELS, number, percent
from dashboard.exports import ExportTable, frame_table
from dashboard.i18n import _
from dashboard.reports import lookups, metrics, standard
from dashboard.reports.filters import Filters
from dashboard.scope import ScopeError
from pipelines import business_settings
from pipelines.derive import REASONS

KEY = "visits"
BAR_ROWS = 15  # employees in the ranking bar chart
TABS = ("ranking", "detail", "trend")
VALIDITY = ("all", "valid", "invalid")

FIELD_LABELS: Mapping[str, str] = standard.LABELS
RANKING_FIELDS = reports.get("ranking").fields
RANKING_EXPORT_FIELDS = ("rank", "employee_code", "employee_name", "department_code",
                         "department_name", *[f for f in RANKING_FIELDS if f
                                              not in ("rank", "employee_code", "employee_name",
                                                      "department_code")])
DETAIL_EXPORT_FIELDS = ("visit_id", "check_in_at", "check_out_at", "employee_code",
                        "employee_name", "customer_code", "customer_name", "customer_deleted",
                        "customer_address", "stay_minutes", "check_in_source",
                        "check_in_deviation_m", "check_out_source", "check_out_deviation_m",
                        "valid", "invalid_reasons")


def _choice(value: Any, allowed: tuple[str, ...], default: str) -> str:
    return value if isinstance(value, str) and value in allowed else default


# -- layout ---------------------------------------------------------------------------------
def layout(**query: Any) -> Component:
    """The page, built per request from the query string (bookmarked filters)."""
    frame = page_layout(KEY, query)
    scope = current_scope()
    db = get_db()
    tab = _choice(query.get("tab"), TABS, "ranking")
    sort = _choice(query.get("sort"), metrics.RANKING_METRICS, "visits")
    validity = _choice(query.get("validity"), VALIDITY, "all")
    reason = _choice(query.get("reason"), REASONS, "")
    granularity = _choice(query.get("granularity"), ("month", "week"), "month")
    employees = selected_employees(query)
    bar = frame.children[-1]
    bar.children.append(build_employee_filter(KEY, scope, db, employees))
    frame.children += [
        dcc.Store(id=ids.query_store(KEY)),
        html.Div(id=ids.query_sink(KEY), hidden=True),
        html.Div(id=ids.VISITS_MESSAGE, role="status"),
        html.Div(id=ids.VISITS_KPIS, className="vl-kpis"),
        html.Div(className="vl-card", children=[
            html.H2(_("Per-capita daily visits"), className="vl-card-title"),
            dcc.Loading(dcc.Graph(id=ids.VISITS_DAILY, config={"displaylogo": False},
                                  figure=_empty_figure()), delay_show=300),
        ]),
        html.Div(className="vl-toolbar", children=[
            dcc.Tabs(id=ids.VISITS_TABS, value=tab, className="vl-tabs", children=[
                dcc.Tab(label=_("Ranking"), value="ranking"),
                dcc.Tab(label=_("Visit detail"), value="detail"),
                dcc.Tab(label=_("Trend"), value="trend"),
            ]),
            export_controls(ids.VISITS_EXPORT_BUTTON, ids.VISITS_EXPORT_JOB,
                            ids.VISITS_EXPORT_POLL, ids.VISITS_EXPORT_STATUS),
        ]),
        _ranking_section(sort, tab),
        _detail_section(validity, reason, tab),
        _trend_section(granularity, tab),
    ]
    return frame


def _empty_figure() -> dict[str, Any]:
    return {"data": [], "layout": {"height": 320, "xaxis": {"visible": False},
                                   "yaxis": {"visible": False}}}


def _shown(visible: bool) -> dict[str, str]:
    return {} if visible else {"display": "none"}


def _ranking_section(sort: str, tab: str) -> html.Div:
    columns: list[dict[str, Any]] = [
        {"field": "rank", "headerName": _(FIELD_LABELS["rank"]), "width": 80, "pinned": "left"},
        {"field": "employee_name", "headerName": _(FIELD_LABELS["employee_name"]),
         "pinned": "left", "cellClass": "vl-link-cell"},
        {"field": "employee_code", "headerName": _(FIELD_LABELS["employee_code"]), "width": 110},
        {"field": "department_name", "headerName": _(FIELD_LABELS["department_name"])},
        *[{"field": f, "headerName": _(FIELD_LABELS[f]), "type": "numericColumn", "width": 120}
          for f in ("visits", "valid_visits", "daily_avg", "planned", "planned_done")],
        {"field": "completion_rate_text", "headerName": _(FIELD_LABELS["completion_rate"]),
         "type": "numericColumn", "width": 120},
        *[{"field": f, "headerName": _(FIELD_LABELS[f]), "type": "numericColumn", "width": 130}
          for f in ("customers_visited", "avg_stay_minutes")],
    ]
    return html.Div(id=ids.VISITS_RANKING_SECTION, style=_shown(tab == "ranking"), children=[
        html.Div(className="vl-inline", children=[
            html.Label(_("Rank by"), htmlFor=ids.VISITS_SORT),
            dcc.Dropdown(id=ids.VISITS_SORT, value=sort, clearable=False, searchable=False,
                         options=[{"label": _(FIELD_LABELS[m]), "value": m}
                                  for m in metrics.RANKING_METRICS],
                         className="vl-select"),
            html.Span(_("Click an employee to see their visits."), className="vl-hint"),
        ]),
        dcc.Graph(id=ids.VISITS_RANKING_BARS, config={"displaylogo": False},
                  figure=_empty_figure()),
        grid.server_grid(ids.VISITS_RANKING_GRID, columns, row_id="employee_code",
                         height="420px"),
    ])


def _detail_section(validity: str, reason: str, tab: str) -> html.Div:
    bad = {"vl-cell-bad": {"function": "params.data && params.data.{flag}"}}

    def flagged(field: str, flag: str, **extra: Any) -> dict[str, Any]:
        rules = {k: {"function": v["function"].format(flag=flag)} for k, v in bad.items()}
        return {"field": field, "headerName": _(FIELD_LABELS[field]), "cellClassRules": rules,
                **extra}

    # Validity and its reasons come right after who visited whom: on screen without
    # scrolling, which is what a reviewer of invalid visits reads first.
    columns: list[dict[str, Any]] = [
        {"field": "check_in_at", "headerName": _(FIELD_LABELS["check_in_at"]), "sortable": True,
         "width": 170, "pinned": "left"},
        {"field": "employee_label", "headerName": _(FIELD_LABELS["employee_name"]),
         "sortable": True, "colId": "employee_code"},
        {"field": "customer_label", "headerName": _(FIELD_LABELS["customer_name"]),
         "sortable": True, "colId": "customer_code"},
        {"field": "valid_label", "headerName": _(FIELD_LABELS["valid"]), "sortable": True,
         "colId": "valid", "width": 90},
        {"field": "reasons_label", "headerName": _(FIELD_LABELS["invalid_reasons"]),
         "width": 200},
        {"field": "customer_address", "headerName": _(FIELD_LABELS["customer_address"]),
         "width": 220, "tooltipField": "customer_address"},
        flagged("stay_minutes", "_short", sortable=True, type="numericColumn", width=110),
        {"field": "check_in_source_label", "headerName": _(FIELD_LABELS["check_in_source"]),
         "width": 110},
        flagged("check_in_deviation_m", "_ci_far", sortable=True, type="numericColumn",
                width=150),
        {"field": "check_out_at", "headerName": _(FIELD_LABELS["check_out_at"]),
         "sortable": True, "width": 170},
        {"field": "check_out_source_label", "headerName": _(FIELD_LABELS["check_out_source"]),
         "width": 110},
        flagged("check_out_deviation_m", "_co_far", sortable=True, type="numericColumn",
                width=150),
    ]
    return html.Div(id=ids.VISITS_DETAIL_SECTION, style=_shown(tab == "detail"), children=[
        html.Div(className="vl-inline", children=[
            dcc.RadioItems(id=ids.VISITS_VALIDITY, value=validity, inline=True,
                           className="vl-segmented", options=[
                               {"label": _("All visits"), "value": "all"},
                               {"label": _("Valid"), "value": "valid"},
                               {"label": _("Invalid"), "value": "invalid"}]),
            dcc.Dropdown(id=ids.VISITS_REASON, value=reason or None, clearable=True,
                         placeholder=_("Any reason"), className="vl-select",
                         options=[{"label": _(REASON_LABELS[r]), "value": r}
                                  for r in REASONS]),
            html.Span(id=ids.VISITS_DETAIL_COUNT, className="vl-hint"),
        ]),
        grid.server_grid(ids.VISITS_DETAIL_GRID, columns, height="560px"),
    ])


def _trend_section(granularity: str, tab: str) -> html.Div:
    return html.Div(id=ids.VISITS_TREND_SECTION, style=_shown(tab == "trend"), children=[
        dcc.RadioItems(id=ids.VISITS_GRANULARITY, value=granularity, inline=True,
                       className="vl-segmented", options=[
                           {"label": _("12 months"), "value": "month"},
                           {"label": _("12 weeks"), "value": "week"}]),
        dcc.Graph(id=ids.VISITS_TREND_CHART, config={"displaylogo": False},
                  figure=_empty_figure()),
    ])


# -- shared callback inputs -----------------------------------------------------------------
FILTER_INPUTS = (
    Input(ids.filter_department(KEY), "value"),
    Input(ids.filter_dates(KEY), "start_date"),
    Input(ids.filter_dates(KEY), "end_date"),
    Input(ids.filter_employees(KEY), "value"),
)
FILTER_STATES = tuple(State(i.component_id, i.component_property) for i in FILTER_INPUTS)


def _curve_labels() -> dict[str, str]:
    return {"actual": _("Actual per-capita daily visits"),
            "planned": _("Planned per-capita daily visits"),
            "company": _("Company average"),
            "completion": _("Completion rate"),
            "per_capita": _("Visits per person per workday"),
            "completion_axis": _("Completion rate (%)")}


# -- callbacks ------------------------------------------------------------------------------
@callback(
    Output(ids.VISITS_KPIS, "children"),
    Output(ids.VISITS_DAILY, "figure"),
    Output(ids.VISITS_MESSAGE, "children"),
    *FILTER_INPUTS,
)
@report_callback(filters_from_inputs, lambda exc: ([], _empty_figure(), refusal(exc)))
def update_headline(call: ReportCall[Filters]) -> tuple[Any, ...]:
    """KPI cards and the three daily curves for the filters."""
    k, days = metrics.headline(call.db, call.scope, call.filters)
    per_capita = _("visits per person per workday")
    cards = kpi_cards([
        Kpi(_("Visits"), number(k["visits"]),
            _("{valid} valid").format(valid=number(k["valid_visits"]))),
        Kpi(_("Valid-visit share"), percent(k["valid_share"])),
        Kpi(_("Actual per-capita daily visits"), number(k["actual_per_capita"]),
            _("{heads} staff × {days} workdays").format(heads=k["headcount"],
                                                         days=k["workdays"]), "green",
            per_capita),
        Kpi(_("Planned per-capita daily visits"), number(k["planned_per_capita"]),
            _("{items} plan items").format(items=number(k["plan_items"])), "pink", per_capita),
        Kpi(_("Plan completion rate"), percent(k["completion_rate"]),
            _("{done} of {items} done").format(done=number(k["plan_done"]),
                                               items=number(k["plan_items"]))),
        Kpi(_("Company average"), number(k["company_per_capita"]), "", "blue", per_capita),
    ])
    return cards, figures.three_curves(days, _curve_labels()), None


@callback(
    Output(ids.VISITS_RANKING_SECTION, "style"),
    Output(ids.VISITS_DETAIL_SECTION, "style"),
    Output(ids.VISITS_TREND_SECTION, "style"),
    Input(ids.VISITS_TABS, "value"),
    prevent_initial_call=True,  # the layout shows the right section already
)
def show_tab(tab: Any) -> tuple[dict[str, str], ...]:
    tab = _choice(tab, TABS, "ranking")
    return tuple(_shown(tab == t) for t in TABS)


@callback(
    Output(ids.VISITS_RANKING_BARS, "figure"),
    Output(grid.version_id(ids.VISITS_RANKING_GRID), "data"),
    *FILTER_INPUTS,
    Input(ids.VISITS_SORT, "value"),
    Input(ids.VISITS_TABS, "value"),
    State(grid.version_id(ids.VISITS_RANKING_GRID), "data"),
)
@report_callback(filters_from_inputs,
                 lambda exc, sort, tab, version: (_empty_figure(), grid.next_version(version)))
def update_ranking(call: ReportCall[Filters], sort: Any, tab: Any,
                   version: Any) -> tuple[Any, Any]:
    """The top-employees bar chart, and a refresh of the ranking grid (ranking tab only)."""
    if tab != "ranking":
        raise PreventUpdate
    sort = _choice(sort, metrics.RANKING_METRICS, "visits")
    frame, _total = metrics.ranking_page(call.db, call.scope, call.filters, sort=sort,
                                         start=0, end=BAR_ROWS)
    bars = figures.ranking_bars(frame, sort, _(FIELD_LABELS[sort]), top=BAR_ROWS)
    return bars, grid.next_version(version)


def _department_names(db: Any, frame: Any) -> list[str]:
    """The department name of each ranking row (its code where the name is missing)."""
    by_code = lookups.department_names(db, list(frame["department_code"]))
    return [by_code.get(code, code) for code in frame["department_code"]]


def _ranking_rows(frame: Any, db: Any) -> list[dict[str, Any]]:
    rows = output.records(frame, [*RANKING_FIELDS])
    names = _department_names(db, frame)
    # The rate text comes from the unrounded fraction (records() rounds to 2 decimals).
    for row, name, rate in zip(rows, names, frame["completion_rate"], strict=True):
        row["department_name"] = name
        row["completion_rate_text"] = percent(rate)
    return rows


@callback(
    Output(ids.VISITS_RANKING_GRID, "getRowsResponse"),
    Input(ids.VISITS_RANKING_GRID, "getRowsRequest"),
    *FILTER_STATES,
    State(ids.VISITS_SORT, "value"),
    prevent_initial_call=True,
)
@report_callback(filters_from_inputs, lambda *_: grid.response([], 0), at=1)
def ranking_rows(call: ReportCall[Filters], request: Any, sort: Any) -> dict[str, Any]:
    """One block of the ranking (all employees are ranked; only the block travels)."""
    block = grid.parse_request(request)
    if block is None:
        raise PreventUpdate
    part, total = metrics.ranking_page(
        call.db, call.scope, call.filters,
        sort=_choice(sort, metrics.RANKING_METRICS, "visits"), start=block.start, end=block.end)
    return grid.response(_ranking_rows(part, call.db), total)


@callback(
    Output(ids.filter_employees(KEY), "value", allow_duplicate=True),
    Output(ids.filter_employees(KEY), "options", allow_duplicate=True),
    Output(ids.VISITS_TABS, "value"),
    Input(ids.VISITS_RANKING_GRID, "cellClicked"),
    Input(ids.VISITS_RANKING_BARS, "clickData"),
    prevent_initial_call=True,
)
def open_employee(cell: Any, bar: Any) -> tuple[Any, Any, str]:
    """Clicking an employee (grid row or bar) opens the detail filtered to them."""
    code: Any = None
    if ctx.triggered_id == ids.VISITS_RANKING_GRID and isinstance(cell, dict):
        code = cell.get("rowId")
    elif isinstance(bar, dict) and bar.get("points"):
        code = bar["points"][0].get("customdata")
    if not isinstance(code, str):
        raise PreventUpdate
    scope = current_scope()
    try:
        metrics.checked_employees(get_db(), scope, (code,))
    except ScopeError:
        raise PreventUpdate from None
    return [code], employee_options(get_db(), scope, "", [code]), "detail"


@callback(
    Output(grid.version_id(ids.VISITS_DETAIL_GRID), "data"),
    *FILTER_INPUTS,
    Input(ids.VISITS_VALIDITY, "value"),
    Input(ids.VISITS_REASON, "value"),
    Input(ids.VISITS_TABS, "value"),
    State(grid.version_id(ids.VISITS_DETAIL_GRID), "data"),
    prevent_initial_call=True,  # a new grid asks for its rows itself: one request fewer
)
def refresh_detail(*args: Any) -> int:
    """The detail grid fetches again when its filters change (detail tab only)."""
    if args[6] != "detail":
        raise PreventUpdate
    return grid.next_version(args[-1])


def _detail_rows(frame: Any) -> list[dict[str, Any]]:
    rows = output.records(frame, [*DETAIL_EXPORT_FIELDS])
    deleted = _("customer deleted")
    words = _DetailWords.current()  # translated once per block, not once per cell
    for row in rows:
        reasons = row["invalid_reasons"] or []
        row["employee_label"] = f"{row['employee_name'] or ''} ({row['employee_code']})"
        row["customer_label"] = f"{row['customer_name'] or ''} ({row['customer_code']})" + (
            f" · {deleted}" if row["customer_deleted"] else "")
        row["check_in_source_label"] = words.sources.get(row["check_in_source"], "")
        row["check_out_source_label"] = words.sources.get(row["check_out_source"], "")
        row["valid_label"] = words.valid[bool(row["valid"])]
        row["reasons_label"] = words.separator.join(words.reasons[r] for r in reasons)
        row["_short"] = "short_stay" in reasons
        row["_ci_far"] = "checkin_far" in reasons
        row["_co_far"] = "checkout_far" in reasons
    return rows


@callback(
    Output(ids.VISITS_DETAIL_GRID, "getRowsResponse"),
    Output(ids.VISITS_DETAIL_COUNT, "children"),
    Input(ids.VISITS_DETAIL_GRID, "getRowsRequest"),
    *FILTER_STATES,
    State(ids.VISITS_VALIDITY, "value"),
    State(ids.VISITS_REASON, "value"),
    prevent_initial_call=True,
)
@report_callback(filters_from_inputs, lambda *_: (grid.response([], 0), ""), at=1)
def detail_rows(call: ReportCall[Filters], request: Any, validity: Any,
                reason: Any) -> tuple[dict[str, Any], str]:
    """One block of the visit detail, sorted by the clicked column, paged in DuckDB."""
    block = grid.parse_request(request, metrics.DETAIL_SORTS)
    if block is None:
        raise PreventUpdate
    page = metrics.detail(
        call.db, call.scope, call.filters,
        validity=_choice(validity, VALIDITY, "all"),
        reason=reason if reason in REASONS else None,
        sort=block.sort or "check_in_at", descending=block.descending,
        offset=block.start, limit=block.limit)
    count = _("{count} visits").format(count=number(page.total))
    return grid.response(_detail_rows(page.rows), page.total), count


@callback(
    Output(ids.VISITS_TREND_CHART, "figure"),
    *FILTER_INPUTS,
    Input(ids.VISITS_GRANULARITY, "value"),
    Input(ids.VISITS_TABS, "value"),
)
@report_callback(filters_from_inputs, lambda *_: _empty_figure())
def update_trend(call: ReportCall[Filters], granularity: Any, tab: Any) -> Any:
    """12 months or ISO weeks ending at the range's end (trend tab only)."""
    if tab != "trend":
        raise PreventUpdate
    trend = metrics.trend(call.db, call.scope, call.filters,
                          _choice(granularity, ("month", "week"), "month"))
    return figures.trend_chart(trend, _curve_labels())


@callback(
    Output(ids.query_store(KEY), "data"),
    Input(ids.filter_department(KEY), "value"),
    Input(ids.filter_preset(KEY), "value"),
    Input(ids.filter_dates(KEY), "start_date"),
    Input(ids.filter_dates(KEY), "end_date"),
    Input(ids.filter_employees(KEY), "value"),
    Input(ids.VISITS_TABS, "value"),
    Input(ids.VISITS_SORT, "value"),
    Input(ids.VISITS_VALIDITY, "value"),
    Input(ids.VISITS_REASON, "value"),
    Input(ids.VISITS_GRANULARITY, "value"),
)
def remember_filters(department: Any, preset: Any, start: Any, end: Any, employees: Any,
                     tab: Any, sort: Any, validity: Any, reason: Any,
                     granularity: Any) -> str:
    """The query string that reopens this view (the address bar follows it)."""
    custom = preset not in ("week", "month", "last31")
    return query_string({
        "department": department if isinstance(department, str) else None,
        "preset": None if custom else preset,
        "from": str(start)[:10] if custom and start else None,
        "to": str(end)[:10] if custom and end else None,
        "employees": [e for e in employees if isinstance(e, str)]
        if isinstance(employees, list) else None,
        "tab": tab if tab != "ranking" else None,
        "sort": sort if sort != "visits" else None,
        "validity": validity if validity != "all" else None,
        "reason": reason,
        "granularity": granularity if granularity != "month" else None,
    })


# -- export ---------------------------------------------------------------------------------
def _export_tables(db: Any, scope: Any, filters: Filters) -> list[ExportTable]:
    """Ranking and detail of the filters, in the words of the page and the user's language."""
    ranking = metrics.ranking(db, scope, filters)
    ranking["department_name"] = _department_names(db, ranking)
    total, batches = metrics.detail_batches(db, scope, filters)
    words = _DetailWords.current()
    rate = _(FIELD_LABELS["completion_rate"])
    return [
        frame_table("ranking", {f: _(FIELD_LABELS[f]) for f in RANKING_EXPORT_FIELDS}, ranking,
                    rates={"completion_rate": display.fraction_header(rate)},
                    counts=("rank", "visits", "valid_visits", "planned", "planned_done",
                            "customers_visited")),
        ExportTable("detail", {f: _(FIELD_LABELS[f]) for f in DETAIL_EXPORT_FIELDS}, total,
                    words.apply(batches)),
    ]


@dataclass(frozen=True)
class _DetailWords:
    """The words the detail grid shows, taken in the request for the export job."""

    sources: Mapping[Any, str]
    valid: Mapping[bool, str]
    deleted: Mapping[bool, str]
    reasons: Mapping[str, str]
    separator: str

    @classmethod
    def current(cls) -> _DetailWords:
        return cls({code: display.source_word(code) for code in display.SOURCE_LABELS},
                   {True: display.valid_word(True), False: display.valid_word(False)},
                   {True: _("Yes"), False: _("No")},
                   dict(zip(REASONS, display.reason_words(REASONS), strict=True)), _(", "))

    def apply(self, batches: Any) -> Any:
        """Codes and flags as words, batch by batch (runs in the job)."""
        for frame in batches:
            frame["check_in_source"] = [self.sources.get(v, "") for v in frame["check_in_source"]]
            frame["check_out_source"] = [self.sources.get(v, "")
                                         for v in frame["check_out_source"]]
            frame["valid"] = [self.valid[bool(v)] for v in frame["valid"]]
            frame["customer_deleted"] = [self.deleted[bool(v)] for v in frame["customer_deleted"]]
            frame["invalid_reasons"] = [self.separator.join(self.reasons[r] for r in reasons)
                                        for reasons in frame["invalid_reasons"]]
            yield frame


@callback(
    Output(ids.VISITS_EXPORT_JOB, "data"),
    Output(ids.VISITS_EXPORT_STATUS, "children"),
    Output(ids.VISITS_EXPORT_POLL, "disabled"),
    Input(ids.VISITS_EXPORT_BUTTON, "n_clicks"),
    *FILTER_STATES,
    prevent_initial_call=True,
)
@report_callback(filters_from_inputs, lambda exc, clicks: (None, refusal(exc), True), at=1)
def export_zip(call: ReportCall[Filters], clicks: Any) -> tuple[Any, Any, bool]:
    """Start building the zip of ranking and detail (refused first if the range is too long)."""
    db, scope, filters = call.db, call.scope, call.filters
    metrics.group_employees(db, scope, filters)  # refuses ids outside the scope
    stem = _("Employee visit summary")
    name = f"{stem} {filters.date_from:%Y%m%d}-{filters.date_to:%Y%m%d}.zip"
    return start_export(scope, lambda: _export_tables(db, scope, filters), name,
                        filters=filters, max_days=business_settings.load(db).export_max_days)


@callback(
    Output(ids.VISITS_EXPORT_STATUS, "children", allow_duplicate=True),
    Output(ids.VISITS_EXPORT_POLL, "disabled", allow_duplicate=True),
    Input(ids.VISITS_EXPORT_POLL, "n_intervals"),
    State(ids.VISITS_EXPORT_JOB, "data"),
    prevent_initial_call=True,
)
def export_progress(_ticks: Any, job_id: Any) -> tuple[Any, bool]:
    return poll_export(job_id)


grid.register_refresh(ids.VISITS_RANKING_GRID)
grid.register_refresh(ids.VISITS_DETAIL_GRID)
dash.register_page(__name__, layout=layout, **registration(KEY))
