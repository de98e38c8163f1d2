"""员工拜访汇总表 (/visits): ranking, details and trend of the employees' visits.

For now the page shows its title and what it will hold (see components.page.PAGES).
"""

from __future__ import annotations

from typing import Any

import dash
from dash.development.base_component import Component

from dashboard.components.page import page_layout, registration

KEY = "visits"


def layout(**query: Any) -> Component:
    """The page, built per request; `query` holds the query-string values (filters)."""
    return page_layout(KEY, query)


dash.register_page(__name__, layout=layout, **registration(KEY))
