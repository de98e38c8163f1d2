"""客户分布 (/map): where the scope's customers are, coloured by employee or by recency.

The server answers each pan and zoom with the customers in the visible box — one by one
when few, else binned into cells (dashboard.reports.maps) — so the browser never holds the whole
population. Selection (department, employees, grades, buckets, colouring, dates) is in
the address bar; the scope comes from the server-side user on every callback.
"""

from __future__ import annotations

from typing import Any

import dash
import dash_leaflet as dl
from dash import Input, Output, callback, dcc, html
from dash.development.base_component import Component
from dash.exceptions import PreventUpdate

from dashboard.auth import current_scope
from dashboard.components import ids
from dashboard.components.basemap import base_layer
from dashboard.components.callbacks import ReportCall, keep_outputs, report_callback
from dashboard.components.cards import number
from dashboard.components.filter_bar import (
    build_employee_filter,
    employee_options,
    filters_from_inputs,
    query_string,
    selected_employees,
)
from dashboard.components.notices import refusal
from dashboard.components.page import page_layout, registration
from dashboard.context import get_db, get_settings
from dashboard.i18n import N_, _
from dashboard.reports import maps
from dashboard.reports.filters import FilterError
from dashboard.reports.maps import MapSelection
from pipelines import business_settings

KEY = "map"
UNRATED = "unrated"
RECENCY_NAMES = (N_("Visited in the period"), N_("Overdue"), N_("Never visited"))
CHINA = [[18.0, 73.0], [53.5, 135.0]]


def _list_param(value: Any) -> list[str]:
    return [v for v in value.split(",") if v] if isinstance(value, str) else []


def layout(**query: Any) -> Component:
    frame = page_layout(KEY, query)
    db, scope, settings = get_db(), current_scope(), get_settings()
    rules = business_settings.load(db)
    employees = selected_employees(query)[:maps.MAX_MAP_EMPLOYEES]
    grades = [g for g in _list_param(query.get("grades")) if g in rules.grades or g == UNRATED]
    buckets = [b for b in _list_param(query.get("buckets")) if b in rules.bucket_labels]
    colour = query.get("colour") if query.get("colour") in ("employee", "recency") else (
        "employee" if employees else "recency")
    bar = frame.children[-1]
    bar.children.append(build_employee_filter(KEY, scope, db, employees))
    frame.children += [
        dcc.Store(id=ids.query_store(KEY)),
        html.Div(id=ids.query_sink(KEY), hidden=True),
        dcc.Store(id=ids.MAP_BUCKETS, data=buckets),
        html.Div(className="vl-inline", children=[
            html.Label(_("Grades")),
            dcc.Checklist(id=ids.MAP_GRADES, value=grades, inline=True,
                          options=[*({"label": g, "value": g} for g in rules.grades),
                                   {"label": _("Unrated"), "value": UNRATED}]),
            html.Label(_("Colour by")),
            dcc.RadioItems(id=ids.MAP_COLOUR, value=colour, inline=True,
                           className="vl-segmented",
                           options=[{"label": _("Employee"), "value": "employee"},
                                    {"label": _("Days since the last visit"),
                                     "value": "recency"}]),
            html.Span(id=ids.MAP_STATUS, className="vl-hint", role="status"),
        ]),
        html.Div(id=ids.MAP_LEGEND, className="vl-legend"),
        dl.Map(id=ids.MAP, center=[32.0, 112.0], zoom=5, trackViewport=True, className="vl-map",
               children=[
                   dl.TileLayer(url=settings.tile_url, attribution=settings.tile_attribution),
                   base_layer(),
                   dl.GeoJSON(id=ids.MAP_POINTS, data=None,
                              pointToLayer={"variable": "visitlens_map.pointToLayer"},
                              onEachFeature={"variable": "visitlens_map.onEachFeature"}),
               ]),
    ]
    return frame


SELECTION_INPUTS = (
    Input(ids.filter_department(KEY), "value"),
    Input(ids.filter_dates(KEY), "start_date"),
    Input(ids.filter_dates(KEY), "end_date"),
    Input(ids.filter_employees(KEY), "value"),
    Input(ids.MAP_GRADES, "value"),
    Input(ids.MAP_BUCKETS, "data"),
    Input(ids.MAP_COLOUR, "value"),
)


def _selection(department: Any, start: Any, end: Any, employees: Any, grades: Any,
               buckets: Any, colour: Any) -> MapSelection:
    """The map selection from the page's inputs (browser input: checked)."""
    filters = filters_from_inputs(department, start, end, employees)
    chosen = grades if isinstance(grades, list) else []
    if not all(isinstance(g, str) for g in chosen) or not isinstance(buckets, (list, type(None))):
        raise FilterError("bad grades or buckets")
    return MapSelection(filters, tuple(b for b in buckets or [] if isinstance(b, str)),
                        tuple(g for g in chosen if g != UNRATED), UNRATED in chosen,
                        colour != "recency")


def _hideout(selection: MapSelection, names: dict[str, str]) -> dict[str, Any]:
    by_employee = selection.by_employee and bool(selection.filters.employees)
    labels = {"customers": _("customers"), "grade": _("Grade"), "address": _("Address"),
              "owners": _("Owners"), "last_visit": _("Last visit"),
              "visits": _("Visits in the period"), "open": _("Open the customer record"),
              "unrated": _("Unrated"), "never": _("never")}
    if by_employee:
        key_names = {str(i + 1): names.get(code, code)
                     for i, code in enumerate(selection.filters.employees)}
        colours = list(maps.PALETTE)
    else:
        key_names = {str(i): _(n) for i, n in enumerate(RECENCY_NAMES)}
        colours = list(maps.RECENCY_COLOURS)
    return {"by_employee": by_employee, "colours": colours, "labels": labels,
            "key_names": key_names}


def _legend(hideout: dict[str, Any]) -> list[Any]:
    colours = hideout["colours"]
    items = []
    for key, name in hideout["key_names"].items():
        index = int(key) - 1 if hideout["by_employee"] else int(key)
        items.append(html.Span(className="vl-legend-item", children=[
            html.Span(className="vl-legend-swatch",
                      style={"background": colours[index % len(colours)]}),
            html.Span(name)]))
    return items


@callback(
    Output(ids.MAP_POINTS, "data"),
    Output(ids.MAP_POINTS, "hideout"),
    Output(ids.MAP_LEGEND, "children"),
    Output(ids.MAP_STATUS, "children"),
    *SELECTION_INPUTS,
    Input(ids.MAP, "bounds"),
    Input(ids.MAP, "zoom"),
)
@report_callback(_selection, lambda exc, *_: (None, dash.no_update, [], refusal(exc)))
def draw(call: ReportCall[maps.MapSelection], bounds: Any, zoom: Any) -> tuple[Any, ...]:
    """The customers of the visible box: markers when few, server-side cells otherwise."""
    db, scope, selection = call.db, call.scope, call.filters
    box = maps.Box.from_leaflet(bounds if bounds else CHINA)
    level = int(zoom) if isinstance(zoom, (int, float)) and 0 <= zoom <= 22 else 5
    layer = maps.layer(db, scope, selection, box, level, get_settings().tile_coords)
    names = {o["value"]: o["label"] for o in employee_options(
        db, scope, "", list(selection.filters.employees))}
    hideout = _hideout(selection, names)
    if layer["mode"] == "markers":
        status = _("{count} customers in view").format(count=number(layer["customers"]))
    else:
        status = _("{count} customers in view, grouped into {cells} areas: zoom in to see "
                   "each one").format(count=number(layer["customers"]),
                                      cells=number(len(layer["features"])))
    return layer, hideout, _legend(hideout), status


def _recency_selection(department: Any, start: Any, end: Any, employees: Any, grades: Any,
                       buckets: Any) -> maps.MapSelection:
    """The selection whose extent the map fits (the colouring does not move it)."""
    return _selection(department, start, end, employees, grades, buckets, "recency")


@callback(
    Output(ids.MAP, "viewport"),
    *SELECTION_INPUTS[:6],
    prevent_initial_call=False,
)
@report_callback(_recency_selection, keep_outputs)
def fit(call: ReportCall[maps.MapSelection]) -> Any:
    """When the selection changes, show all of its customers."""
    box = maps.extent(call.db, call.scope, call.filters, get_settings().tile_coords)
    if box is None:
        raise PreventUpdate
    pad = 0.02
    return {"bounds": [[box.south - pad, box.west - pad], [box.north + pad, box.east + pad]]}


@callback(
    Output(ids.query_store(KEY), "data"),
    Input(ids.filter_department(KEY), "value"),
    Input(ids.filter_preset(KEY), "value"),
    Input(ids.filter_dates(KEY), "start_date"),
    Input(ids.filter_dates(KEY), "end_date"),
    Input(ids.filter_employees(KEY), "value"),
    Input(ids.MAP_GRADES, "value"),
    Input(ids.MAP_BUCKETS, "data"),
    Input(ids.MAP_COLOUR, "value"),
)
def remember_filters(department: Any, preset: Any, start: Any, end: Any, employees: Any,
                     grades: Any, buckets: Any, colour: Any) -> str:
    custom = preset not in ("week", "month", "last31")

    def strings(value: Any) -> list[str] | None:
        return [v for v in value if isinstance(v, str)] if isinstance(value, list) else None

    return query_string({
        "department": department if isinstance(department, str) else None,
        "preset": None if custom else preset,
        "from": str(start)[:10] if custom and start else None,
        "to": str(end)[:10] if custom and end else None,
        "employees": strings(employees),
        "grades": strings(grades),
        "buckets": strings(buckets),
        "colour": colour if colour in ("employee", "recency") else None,
    })


@callback(
    Output(ids.filter_employees(KEY), "value", allow_duplicate=True),
    Input(ids.filter_employees(KEY), "value"),
    prevent_initial_call=True,
)
def limit_employees(employees: Any) -> Any:
    """A map tells apart at most as many employees as it has colours."""
    if isinstance(employees, list) and len(employees) > maps.MAX_MAP_EMPLOYEES:
        return employees[:maps.MAX_MAP_EMPLOYEES]
    raise PreventUpdate


dash.register_page(__name__, layout=layout, **registration(KEY))
