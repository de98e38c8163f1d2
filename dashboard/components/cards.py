"""KPI cards and number formatting shared by the report pages."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from dash import html

from dashboard.output import round2


@dataclass(frozen=True)
class Kpi:
    label: str
    value: str
    hint: str = ""
    tone: str = ""  # "", "green", "pink", "blue": the curve the number belongs to
    unit: str = ""  # shown after the value, e.g. "visits per person per workday"


def number(value: float | int | None, decimals: int = 2) -> str:
    """A number as shown: rounded half away from zero; '—' where undefined."""
    if value is None or value != value:  # None or NaN
        return "—"
    if isinstance(value, int):
        return f"{value:,}"
    return f"{round2(value):,.{decimals}f}"


def percent(value: float | None) -> str:
    """A fraction as a percentage with one decimal; '—' where undefined."""
    if value is None or value != value:
        return "—"
    return f"{round2(value * 100):.1f}%"


def kpi_cards(items: Sequence[Kpi]) -> list[html.Div]:
    return [
        html.Div(className=f"vl-kpi vl-kpi-{k.tone}" if k.tone else "vl-kpi", children=[
            html.Div(k.label, className="vl-kpi-label"),
            html.Div(className="vl-kpi-figure", children=[
                html.Div(k.value, className="vl-kpi-value"),
                html.Span(k.unit, className="vl-kpi-unit") if k.unit else None,
            ]),
            html.Div(k.hint, className="vl-kpi-hint") if k.hint else None,
        ])
        for k in items
    ]
