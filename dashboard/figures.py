"""Pure functions DataFrame -> plotly Figure. No data access, no request context: the caller
passes translated labels, so each figure is unit-tested without a server.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import pandas as pd
import plotly.graph_objects as go

from dashboard.output import round2

# The colours users know from the product they replace.
ACTUAL_GREEN = "#2ca02c"
PLANNED_PINK = "#e377c2"
COMPANY_BLUE = "#1f77b4"
GRID_GREY = "#e5e7eb"

Translate = Callable[[str], str]


def _rounded(values: pd.Series) -> list[float | None]:
    """Values as displayed everywhere: 2 decimals, half away from zero; gaps stay gaps."""
    return [None if pd.isna(v) else round2(float(v)) for v in pd.to_numeric(values,
                                                                            errors="coerce")]


def _base_layout(fig: go.Figure, height: int = 320) -> go.Figure:
    fig.update_layout(
        height=height,
        margin={"l": 48, "r": 16, "t": 24, "b": 40},
        plot_bgcolor="white",
        paper_bgcolor="white",
        hovermode="x unified",
        legend={"orientation": "h", "y": -0.18},
        font={"family": "Noto Sans CJK SC, Microsoft YaHei, sans-serif", "size": 12},
    )
    fig.update_xaxes(showgrid=False)
    fig.update_yaxes(gridcolor=GRID_GREY, rangemode="tozero")
    return fig


def three_curves(days: pd.DataFrame, labels: Mapping[str, str]) -> go.Figure:
    """Daily actual (green), planned (pink) and company-average (blue) per-capita visits.

    Args:
        days: metrics.daily() output (day, visits, plan_items, *_per_capita).
        labels: translated names for 'actual', 'planned', 'company', 'visits'.
    """
    fig = go.Figure()
    x = pd.to_datetime(days["day"])
    series = (("actual_per_capita", "actual", ACTUAL_GREEN),
              ("planned_per_capita", "planned", PLANNED_PINK),
              ("company_per_capita", "company", COMPANY_BLUE))
    for column, key, colour in series:
        fig.add_trace(go.Scatter(
            x=x, y=_rounded(days[column]), name=labels[key], mode="lines+markers",
            line={"color": colour, "width": 2}, marker={"size": 5}, connectgaps=False,
            hovertemplate="%{y:.2f}<extra>" + labels[key] + "</extra>",
        ))
    fig.update_xaxes(tickformat="%m-%d")
    return _base_layout(fig)


def ranking_bars(ranking: pd.DataFrame, metric: str, metric_label: str, top: int = 15) -> go.Figure:
    """Horizontal bars of the top employees by the chosen metric (best at the top)."""
    head = ranking.dropna(subset=[metric]).head(top).iloc[::-1]
    names = [f"{n} ({c})" for n, c in zip(head["employee_name"], head["employee_code"],
                                           strict=True)]
    fig = go.Figure(go.Bar(
        x=_rounded(head[metric]), y=names, orientation="h",
        marker_color=ACTUAL_GREEN, customdata=head["employee_code"],
        hovertemplate="%{y}: %{x}<extra>" + metric_label + "</extra>",
    ))
    fig = _base_layout(fig, height=max(240, 24 * len(head) + 80))
    fig.update_layout(hovermode="closest")
    fig.update_yaxes(gridcolor=None, automargin=True)
    return fig


def trend_chart(trend: pd.DataFrame, labels: Mapping[str, str]) -> go.Figure:
    """12 periods: per-capita lines (as the daily curves) and the completion rate as bars."""
    fig = go.Figure()
    fig.add_trace(go.Bar(
        x=trend["period"], y=pd.to_numeric(trend["completion_rate"], errors="coerce"),
        name=labels["completion"], marker_color="#fde2f0", yaxis="y2",
        hovertemplate="%{y:.0%}<extra>" + labels["completion"] + "</extra>",
    ))
    series = (("actual_per_capita", "actual", ACTUAL_GREEN),
              ("planned_per_capita", "planned", PLANNED_PINK),
              ("company_per_capita", "company", COMPANY_BLUE))
    for column, key, colour in series:
        fig.add_trace(go.Scatter(
            x=trend["period"], y=_rounded(trend[column]),
            name=labels[key], mode="lines+markers", line={"color": colour, "width": 2},
            hovertemplate="%{y:.2f}<extra>" + labels[key] + "</extra>",
        ))
    fig = _base_layout(fig)
    fig.update_layout(yaxis2={"overlaying": "y", "side": "right", "tickformat": ".0%",
                              "range": [0, 1.05], "showgrid": False})
    fig.update_xaxes(type="category")
    return fig


BUCKET_COLOURS = ("#d62728", "#ff9896", "#fdd0a2", "#9ecae1", "#4292c6", "#08519c")


def frequency_pie(frame: pd.DataFrame, selected: list[str], title_customers: str) -> go.Figure:
    """Customers per visit-count bucket; selected buckets are pulled out of the pie.

    Args:
        frame: metrics.frequency() output (bucket, customers).
        selected: bucket labels the page is filtered to.
        title_customers: the translated word for "customers" (hover).
    """
    labels = list(frame["bucket"])
    fig = go.Figure(go.Pie(
        labels=labels, values=list(frame["customers"]), sort=False, direction="clockwise",
        hole=0.35, marker={"colors": list(BUCKET_COLOURS[:len(labels)])},
        pull=[0.12 if b in selected else 0 for b in labels],
        textinfo="label+percent", customdata=labels,
        hovertemplate="%{label}: %{value} " + title_customers + "<extra></extra>",
    ))
    fig = _base_layout(fig, height=320)
    fig.update_layout(hovermode="closest", legend={"orientation": "v", "y": 0.5})
    return fig


def grade_bars(frame: pd.DataFrame, unrated: str, labels: Mapping[str, str]) -> go.Figure:
    """Average visits per grade, the customer count on hover (unrated shown by name)."""
    names = [unrated if g is None else str(g) for g in frame["grade"]]
    fig = go.Figure(go.Bar(
        x=names, y=_rounded(frame["avg_visits"]), marker_color=COMPANY_BLUE,
        customdata=list(zip(frame["customers"], frame["visits"], strict=True)),
        hovertemplate="%{x}: %{y:.2f} " + labels["avg"] + "<br>%{customdata[0]} "
        + labels["customers"] + ", %{customdata[1]} " + labels["visits"] + "<extra></extra>",
    ))
    fig = _base_layout(fig, height=320)
    fig.update_layout(hovermode="closest")
    fig.update_xaxes(type="category")
    return fig
