"""Messages shown instead of data: a refused filter, a bad value, a done action."""

from __future__ import annotations

from dash import html

from dashboard.i18n import _
from dashboard.scope import ScopeError


def refusal(exc: Exception) -> html.Div:
    """What a refused request shows: a message, never data."""
    text = _("Not allowed: that filter is outside your scope.") if isinstance(
        exc, ScopeError) else _("The filters are not valid.")
    return html.Div(text, className="vl-notice vl-notice-warning", role="alert")


def message(text: str, ok: bool) -> html.Div:
    return html.Div(text, role="alert",
                    className="vl-notice " + ("vl-notice-ok" if ok else "vl-notice-warning"))
