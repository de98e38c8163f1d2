"""The app shell around every page: header, navigation, language switch, user, logout.

The layout is a function, so Dash builds it for each /_dash-layout request: it is
translated into the request's language and shows the user loaded from the database.
"""

from __future__ import annotations

from typing import Any

import dash
from dash import ALL, Input, Output, callback, ctx, dcc, html
from dash.development.base_component import Component
from flask_login import current_user

from dashboard import i18n
from dashboard.auth import csrf_token, current_scope, role_name, safe_next
from dashboard.components import ids
from dashboard.components.page import APP_NAME, PAGE_BY_KEY, PAGES
from dashboard.i18n import _


def _language_switch() -> html.Nav:
    """One small form per language: a POST with the CSRF token (dashboard.auth._lang_view),
    so another site cannot switch it; `next` follows the page (follow_location)."""
    current = i18n.current_language()
    token = csrf_token()
    forms: list[Component] = []
    for index, lang in enumerate(i18n.LANGUAGES):
        if index:
            forms.append(html.Span("/", className="vl-lang-sep"))
        forms.append(html.Form(action=f"/lang/{lang}", method="POST", className="vl-lang-form",
                               children=[
            dcc.Input(type="hidden", name="csrf_token", value=token),
            dcc.Input(type="hidden", name="next", value="", id=ids.lang_next(lang)),
            html.Button(
                i18n.LANGUAGE_NAMES[lang], id=ids.lang_link(lang), type="submit", lang=lang,
                className="vl-lang-link vl-lang-active" if lang == current else "vl-lang-link",
            ),
        ]))
    aria: dict[str, Any] = {"aria-label": _("Language")}
    return html.Nav(forms, className="vl-lang", **aria)


def _user_box() -> html.Div:
    scope = current_scope()
    return html.Div(className="vl-user-box", children=[
        html.Span(id=ids.USER_BADGE, className="vl-user", children=[
            html.Span(str(current_user.get_id()), className="vl-user-name"),
            html.Span(role_name(scope.role), className="vl-user-role"),
        ]),
        html.Form(id=ids.LOGOUT_FORM, action="/logout", method="POST", className="vl-logout",
                  children=[
                      dcc.Input(type="hidden", name="csrf_token", value=csrf_token()),
                      html.Button(_("Log out"), id=ids.LOGOUT_BUTTON, type="submit",
                                  className="vl-button vl-button-quiet"),
                  ]),
        # Ends every session of this user (other browsers, a copied cookie) at once.
        html.Form(id=ids.LOGOUT_ALL_FORM, action="/logout", method="POST",
                  className="vl-logout", children=[
                      dcc.Input(type="hidden", name="csrf_token", value=csrf_token()),
                      dcc.Input(type="hidden", name="everywhere", value="1"),
                      html.Button(_("Log out everywhere"), id=ids.LOGOUT_ALL_BUTTON,
                                  type="submit", className="vl-button vl-button-quiet"),
                  ]),
    ])


def _navigation() -> html.Nav:
    scope = current_scope()
    admin = scope.role == "admin" and scope.everything
    return html.Nav(id=ids.NAV, className="vl-nav", children=[
        dcc.Link(_(page.title), href=page.path, id=ids.nav_link(page.key),
                 className="vl-nav-link")
        for page in PAGES
        if admin or not page.admin_only
    ])


def layout() -> Component:
    """The whole shell, built per request for the logged-in user.

    The guard serves /_dash-layout only to logged-in users; Dash also builds the layout
    once on the first request of the process, whoever sends it (even /healthz), to
    validate it: that anonymous call gets the bare frame and touches no session.
    """
    if not current_user.is_authenticated:
        return html.Div(className="vl-app", children=[
            html.Main(id=ids.CONTENT, className="vl-content", children=dash.page_container),
        ])
    return html.Div(className="vl-app", children=[
        dcc.Location(id=ids.URL, refresh=False),
        html.Header(id=ids.HEADER, className="vl-header", children=[
            dcc.Link(APP_NAME, href="/visits", className="vl-brand"),
            html.Div(className="vl-header-right", children=[_language_switch(), _user_box()]),
        ]),
        _navigation(),
        html.Main(id=ids.CONTENT, className="vl-content", children=dash.page_container),
    ])


def _is_current(page_key: str, pathname: str | None) -> bool:
    path = (pathname or "/").rstrip("/") or "/"
    return PAGE_BY_KEY[page_key].path == ("/visits" if path == "/" else path)


@callback(
    Output(ids.nav_link(ALL), "className"),
    Output(ids.lang_next(ALL), "value"),
    Input(ids.URL, "pathname"),
    Input(ids.URL, "search"),
)
def follow_location(pathname: Any, search: Any) -> tuple[list[str], list[str]]:
    """Mark the current page in the navigation; let the language switch come back to it."""
    pathname = pathname if isinstance(pathname, str) else None  # browser input
    search = search if isinstance(search, str) else None
    here = (pathname or "/") + (search or "")
    pages = _id_values(ctx.outputs_list[0], "page")
    languages = _id_values(ctx.outputs_list[1], "lang")
    classes = [
        "vl-nav-link vl-nav-active" if page in PAGE_BY_KEY and _is_current(page, pathname)
        else "vl-nav-link"
        for page in pages
    ]
    back_to = safe_next(here)
    return classes, [back_to for _lang in languages]


def _id_values(outputs: Any, name: str) -> list[str]:
    """The `name` of each pattern-matched output id (the request says which ids exist)."""
    items = outputs if isinstance(outputs, list) else []
    return [str(o["id"].get(name)) if isinstance(o, dict) and isinstance(o.get("id"), dict)
            else "" for o in items]
