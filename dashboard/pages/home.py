""""/": the app has no page of its own there; it goes to the employee visit summary.

A direct request for "/" is redirected by the server (auth guard); this page covers an
in-app move to "/": its Location is pointed at /visits by a callback once it is mounted
(a Location syncs itself to the browser's address when it mounts, so setting the path in
the layout alone would not move anything).
"""

from __future__ import annotations

from typing import Any

import dash
from dash import Input, Output, callback, dcc
from dash.development.base_component import Component
from dash.exceptions import PreventUpdate

from dashboard.components import ids
from dashboard.components.page import APP_NAME

HOME_TARGET = "/visits"


def layout(**_query: Any) -> Component:
    """A location that the callback below moves on to /visits."""
    return dcc.Location(id=ids.HOME_REDIRECT, refresh="callback-nav")


@callback(Output(ids.HOME_REDIRECT, "pathname"), Input(ids.HOME_REDIRECT, "pathname"))
def go_to_visits(pathname: str | None) -> str:
    """Point the address bar (and the pages router) at /visits."""
    if pathname == HOME_TARGET:
        raise PreventUpdate
    return HOME_TARGET


dash.register_page(__name__, path="/", name=APP_NAME, title=APP_NAME, order=0, layout=layout)
