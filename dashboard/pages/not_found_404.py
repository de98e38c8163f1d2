"""The page shown for an unknown path (Dash uses a page module named not_found_404)."""

from __future__ import annotations

from typing import Any

import dash
from dash import dcc, html
from dash.development.base_component import Component

from dashboard.components.page import title_function
from dashboard.i18n import N_, _

TITLE = N_("Page not found")


def layout(**_query: Any) -> Component:
    """A translated 'not found' message with a way back."""
    return html.Div(className="vl-page", children=[
        html.H1(_(TITLE), className="vl-page-title"),
        html.P(_("This address does not exist."), className="vl-page-note"),
        dcc.Link(_("Go to the employee visit summary"), href="/visits"),
    ])


dash.register_page(__name__, path="/404", title=title_function(TITLE), layout=layout)
