"""The pages of DESIGN.md section 6 and the frame every page is drawn in.

One table (:data:`PAGES`) gives each page its stable path, title, note and who may open it;
the header's navigation and the page modules both read it, so a page is renamed in one
place. Admin-only pages check the role on the server each time their layout is built.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from dash import html
from dash.development.base_component import Component

from dashboard.auth import current_scope
from dashboard.components import ids
from dashboard.components.filter_bar import build_filter_bar
from dashboard.context import get_db
from dashboard.i18n import N_, _

APP_NAME = "VisitLens"


@dataclass(frozen=True)
class PageInfo:
    """One page.

    Attributes:
        key: short name, part of component ids (ids.filter_*(key)).
        path: the URL path (stable: people bookmark and share it).
        title: English title msgid (translated when shown).
        note: English msgid of the one-line description shown under the title.
        admin_only: only admins may open it; others see a "not allowed" message.
        report: a report page, with the shared filter bar.
    """

    key: str
    path: str
    title: str
    note: str
    admin_only: bool = False
    report: bool = False


PAGES: tuple[PageInfo, ...] = (
    PageInfo("visits", "/visits", N_("Employee visit summary"),
             N_("Visits per employee: ranking, details and the trend against plans."),
             report=True),
    PageInfo("customers_visited", "/customers/visited", N_("Customer visited summary"),
             N_("How often the customers of your scope are visited, by grade and frequency."),
             report=True),
    PageInfo("map", "/map", N_("Customer distribution"),
             N_("Customers of your scope on the map, with their visits."), report=True),
    PageInfo("customers", "/customers", N_("Customer archive"),
             N_("Search, add and edit customers; export the archive.")),
    PageInfo("customers_import", "/customers/import", N_("Data import"),
             N_("Check and import departments, employees, customers, visits, plans and "
                "holidays from CSV or Excel files."), admin_only=True),
    PageInfo("assignments", "/assignments", N_("Person-customer table"),
             N_("Which employees look after which customers, shares and department "
                "assignments.")),
    PageInfo("plans", "/plans", N_("Visit plans"),
             N_("Visit plans and routes of the employees in your scope.")),
    PageInfo("settings", "/settings", N_("Settings"),
             N_("Business rules, the holiday calendar and users."), admin_only=True),
    PageInfo("audit", "/audit", N_("Audit log"),
             N_("Who changed what, and when."), admin_only=True),
)
PAGE_BY_KEY: Mapping[str, PageInfo] = MappingProxyType({p.key: p for p in PAGES})


def title_function(msgid: str) -> Callable[..., str]:
    """A browser-tab title translated when the page is shown (register_page accepts it)."""

    def title(**_path_variables: Any) -> str:
        return f"{_(msgid)} · {APP_NAME}"

    return title


def registration(key: str) -> dict[str, Any]:
    """The keyword arguments of dash.register_page for a page of :data:`PAGES`."""
    info = PAGE_BY_KEY[key]
    return {
        "path": info.path,
        "name": info.title,
        "title": title_function(info.title),
        "order": PAGES.index(info) + 1,
    }


def not_allowed() -> html.Div:
    """What a user sees on a page their role may not open."""
    return html.Div(className="vl-notice vl-notice-warning", role="alert", children=[
        html.Strong(_("Not allowed")),
        html.Span(_("Only administrators may open this page.")),
    ])


def page_layout(key: str, query: Mapping[str, Any]) -> Component:
    """The layout of a page: title, note, and the filter bar when it is a report.

    Args:
        key: the page (a key of :data:`PAGE_BY_KEY`).
        query: the query-string values Dash passes to the layout.
    """
    info = PAGE_BY_KEY[key]
    scope = current_scope()
    heading = html.H1(_(info.title), id=ids.page_title(key), className="vl-page-title")
    if info.admin_only and not (scope.role == "admin" and scope.everything):
        return html.Div(className="vl-page", children=[heading, not_allowed()])
    children: list[Component] = [heading, html.P(_(info.note), className="vl-page-note")]
    if info.report:
        children.append(build_filter_bar(key, scope, get_db(), query=query))
    return html.Div(className="vl-page", children=children)
