"""KPI cards shared by the report pages (numbers formatted by dashboard.display)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from dash import html

from dashboard.display import number, percent

__all__ = ["Kpi", "kpi_cards", "number", "percent"]


@dataclass(frozen=True)
class Kpi:
    label: str
    value: str
    hint: str = ""
    tone: str = ""  # "", "green", "pink", "blue": the curve the number belongs to
    unit: str = ""  # shown after the value, e.g. "visits per person per workday"


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
