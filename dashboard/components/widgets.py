"""The built-in texts of Dash's widgets in the user's language, for every page at once.

Dropdowns ("4 selected"), date pickers ("Select Date", month and weekday names), AG Grid
("No Rows To Show"), Plotly's mode bar and date axes and Leaflet's controls come with
English texts of their own. Rather than every page remembering each widget's props,
:func:`localise` fills them in on a built layout wherever the page did not set them, and
:func:`localise_page_layouts` applies it to every registered page; Leaflet's are set in
the browser from :func:`client_texts`. Month and weekday
names come from the date-fns and AG Grid translations shipped in assets/ (see README).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import cache, wraps
from importlib import resources
from typing import Any

import dash_ag_grid as dag
from dash import dcc
from dash.development.base_component import Component

from dashboard import i18n
from dashboard.i18n import _

PLOTLY_LOCALES = {"zh": "zh-CN"}  # the app's language -> Plotly's locale name
MONTH_FORMAT = {"zh": "YYYY年M月", "en": "MMMM YYYY"}  # the date picker's month caption


def dropdown_labels() -> Any:
    """dcc.Dropdown's built-in texts (prop `labels`)."""
    return {
        "select_all": _("Select all"),
        "deselect_all": _("Deselect all"),
        "selected_count": _("{num_selected} selected"),
        "search": _("Search"),
        "clear_search": _("Clear search"),
        "clear_selection": _("Clear selection"),
        "no_options_found": _("No matches"),
    }


def grid_text_options() -> dict[str, Any]:
    """dashGridOptions giving AG Grid its texts in the page's language.

    The browser function visitlensGridText (assets/visitlens.js) reads our own texts from
    the grid's context, then AG Grid's translation for the page's language.
    """
    return {
        "getLocaleText": {"function": "visitlensGridText(params)"},
        "context": {"localeText": {"noRowsToShow": _("No rows"),
                                   "loadingOoo": _("Loading…")}},
    }


def client_texts() -> dict[str, str]:
    """Texts the browser code puts into widgets it builds itself (Leaflet's zoom buttons),
    sent in the index page (a meta tag: no inline script under the CSP)."""
    return {"zoomIn": _("Zoom in"), "zoomOut": _("Zoom out")}


@cache
def _plotly_locale(name: str) -> dict[str, Any]:
    path = resources.files("dashboard").joinpath("locale", "vendor", f"plotly_{name}.json")
    return dict(json.loads(path.read_text("utf-8")))


def graph_config(config: dict[str, Any] | None = None) -> dict[str, Any]:
    """A dcc.Graph config with Plotly's texts and date names in the page's language."""
    merged = dict(config or {})
    name = PLOTLY_LOCALES.get(i18n.current_language())
    if name and "locale" not in merged:
        merged["locale"] = name
        merged["locales"] = {name: _plotly_locale(name)}
    return merged


def _fill(component: Component, prop: str, value: Any) -> None:
    """Set a prop the page left unset (what a page sets is kept)."""
    if getattr(component, prop, None) is None:
        setattr(component, prop, value)


def _localise_one(item: Component) -> None:
    lang = i18n.current_language()
    if isinstance(item, dcc.Dropdown):
        _fill(item, "labels", dropdown_labels())
    elif isinstance(item, dcc.DatePickerSingle | dcc.DatePickerRange):
        if isinstance(item, dcc.DatePickerSingle):
            _fill(item, "placeholder", _("Select a date"))
        else:
            _fill(item, "start_date_placeholder_text", _("From"))
            _fill(item, "end_date_placeholder_text", _("To"))
        _fill(item, "month_format", MONTH_FORMAT.get(lang, MONTH_FORMAT["en"]))
    elif isinstance(item, dag.AgGrid):
        options = dict(getattr(item, "dashGridOptions", None) or {})
        options.pop("localeText", None)  # getLocaleText replaces it
        own = dict(options.get("context") or {})
        texts = grid_text_options()
        own["localeText"] = texts["context"]["localeText"] | dict(own.get("localeText") or {})
        options["context"] = own
        options["getLocaleText"] = texts["getLocaleText"]
        item.dashGridOptions = options
    elif isinstance(item, dcc.Graph):
        setattr(item, "config", graph_config(getattr(item, "config", None)))  # noqa: B010


def localise(layout: Any) -> Any:
    """Fill in the widgets' own texts on a built layout (in place); returns the layout."""
    if isinstance(layout, Component):
        _localise_one(layout)
        for item in layout._traverse():
            _localise_one(item)
    elif isinstance(layout, list | tuple):
        for part in layout:
            localise(part)
    return layout


def localised(layout: Callable[..., Any]) -> Callable[..., Any]:
    """A page layout function whose result has its widgets' texts localised."""

    @wraps(layout)
    def build(*args: Any, **kwargs: Any) -> Any:
        return localise(layout(*args, **kwargs))

    return build


def localise_page_layouts(registry: Any) -> None:
    """Wrap the layout of every registered page (dash.page_registry) with :func:`localise`."""
    for page in registry.values():
        layout = page.get("layout")
        if callable(layout) and not getattr(layout, "__wrapped__", None):
            page["layout"] = localised(layout)
        elif isinstance(layout, Component):
            localise(layout)
