"""Pure functions DataFrame -> plotly Figure. No data access, no request context: the caller
passes translated labels, so each figure is unit-tested without a server.

Each figure is written as plain dicts and wrapped without plotly's per-property
validation: validating costs 6-15 ms of Python per figure, on every filter change, under
the GIL that every request thread shares. tests/unit/test_figures_fast.py checks that
validating each spec changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

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


Spec = dict[str, Any]


def _figure(data: list[Spec], layout: Spec) -> go.Figure:
    """A Figure of already valid dicts, not validated again (see the module docstring)."""
    return go.Figure({"data": data, "layout": layout}, _validate=False)


def _base_layout(height: int = 320, **extra: Any) -> Spec:
    """The layout every chart shares; `extra` adds or replaces top-level keys."""
    layout: Spec = {
        "height": height,
        "margin": {"l": 48, "r": 16, "t": 24, "b": 40},
        "plot_bgcolor": "white",
        "paper_bgcolor": "white",
        "hovermode": "x unified",
        "legend": {"orientation": "h", "y": -0.18},
        "font": {"family": "Noto Sans CJK SC, Microsoft YaHei, sans-serif", "size": 12},
        "xaxis": {"showgrid": False},
        "yaxis": {"gridcolor": GRID_GREY, "rangemode": "tozero"},
    }
    return layout | extra


def _title(text: str | None) -> Spec:
    """An axis title (its unit in the words), or none."""
    return {"title": {"text": text}} if text else {}


def _iso_days(values: pd.Series) -> list[str | None]:
    """Days as plotly writes datetimes ('YYYY-MM-DDT00:00:00')."""
    return [None if pd.isna(v) else pd.Timestamp(v).isoformat() for v in values.tolist()]


def _numbers(values: pd.Series) -> Any:
    """Unrounded values as floats, NaN a gap (the completion bars' percentages)."""
    return pd.to_numeric(values, errors="coerce").to_numpy(dtype=float, na_value=float("nan"))


def three_curves(days: pd.DataFrame, labels: Mapping[str, str]) -> go.Figure:
    """Daily actual (green), planned (pink) and company-average (blue) per-capita visits.

    Args:
        days: metrics.daily() output (day, visits, plan_items, *_per_capita).
        labels: translated names for 'actual', 'planned', 'company'; optional 'per_capita'
            (the y axis title, with its unit).
    """
    x = _iso_days(days["day"])
    series = (("actual_per_capita", "actual", ACTUAL_GREEN),
              ("planned_per_capita", "planned", PLANNED_PINK),
              ("company_per_capita", "company", COMPANY_BLUE))
    data = [{
        "type": "scatter", "x": x, "y": _rounded(days[column]), "name": labels[key],
        "mode": "lines+markers", "line": {"color": colour, "width": 2}, "marker": {"size": 5},
        "connectgaps": False, "hovertemplate": "%{y:.2f}<extra>" + labels[key] + "</extra>",
    } for column, key, colour in series]
    return _figure(data, _base_layout(
        xaxis={"showgrid": False, "tickformat": "%m-%d"},
        yaxis={"gridcolor": GRID_GREY, "rangemode": "tozero", **_title(labels.get("per_capita"))}))


PERCENT_METRICS = frozenset({"completion_rate"})  # fractions, shown as percentages


def ranking_bars(ranking: pd.DataFrame, metric: str, metric_label: str, top: int = 15) -> go.Figure:
    """Horizontal bars of the top employees by the chosen metric (best at the top).

    A rate is plotted as the unrounded fraction on a percent axis, and the hover rounds it
    once to one decimal: the same figure as the grid's percentage.
    """
    head = ranking.dropna(subset=[metric]).head(top).iloc[::-1]
    codes = head["employee_code"].tolist()
    names = [f"{n} ({c})" for n, c in zip(head["employee_name"].tolist(), codes, strict=True)]
    rate = metric in PERCENT_METRICS
    data = [{
        "type": "bar", "x": _numbers(head[metric]) if rate else _rounded(head[metric]),
        "y": names, "orientation": "h", "marker": {"color": ACTUAL_GREEN}, "customdata": codes,
        "hovertemplate": "%{y}: %{x" + (":.1%" if rate else "") + "}<extra>" + metric_label
        + "</extra>",
    }]
    xaxis: Spec = {"showgrid": True, "gridcolor": GRID_GREY, "rangemode": "tozero",
                   **_title(metric_label)}
    if rate:
        xaxis |= {"tickformat": ".0%", "range": [0, 1.05], "tickmode": "linear", "tick0": 0,
                  "dtick": 0.2}
    layout = _base_layout(height=max(240, 24 * len(head) + 100), hovermode="closest",
                          yaxis={"rangemode": "tozero", "automargin": True}, xaxis=xaxis)
    return _figure(data, layout)


def trend_chart(trend: pd.DataFrame, labels: Mapping[str, str]) -> go.Figure:
    """12 periods: per-capita lines (as the daily curves) and the completion rate as bars.

    The rate's axis (right) has its own round ticks, 0 to 100 % by 20, rather than ticks
    synchronised with the left axis (17/33/66/83 %); optional labels 'per_capita' and
    'completion_axis' title the axes with their units.
    """
    periods = trend["period"].tolist()
    data: list[Spec] = [{
        "type": "bar", "x": periods, "y": _numbers(trend["completion_rate"]),
        "name": labels["completion"], "marker": {"color": "#fde2f0"}, "yaxis": "y2",
        "hovertemplate": "%{y:.1%}<extra>" + labels["completion"] + "</extra>",
    }]
    series = (("actual_per_capita", "actual", ACTUAL_GREEN),
              ("planned_per_capita", "planned", PLANNED_PINK),
              ("company_per_capita", "company", COMPANY_BLUE))
    data += [{
        "type": "scatter", "x": periods, "y": _rounded(trend[column]), "name": labels[key],
        "mode": "lines+markers", "line": {"color": colour, "width": 2},
        "hovertemplate": "%{y:.2f}<extra>" + labels[key] + "</extra>",
    } for column, key, colour in series]
    layout = _base_layout(
        margin={"l": 56, "r": 56, "t": 24, "b": 40},
        xaxis={"showgrid": False, "type": "category"},
        yaxis={"gridcolor": GRID_GREY, "rangemode": "tozero", **_title(labels.get("per_capita"))},
        yaxis2={"overlaying": "y", "side": "right", "tickformat": ".0%", "range": [0, 1.05],
                "tickmode": "linear", "tick0": 0, "dtick": 0.2, "showgrid": False,
                **_title(labels.get("completion_axis"))})
    return _figure(data, layout)


BUCKET_COLOURS = ("#d62728", "#ff9896", "#fdd0a2", "#9ecae1", "#4292c6", "#08519c")


PIE_LABEL_MIN = 0.03  # slices under 3 % carry no label: it would sit on its neighbours'


def pie_texts(counts: list[int], minimum: float = PIE_LABEL_MIN) -> list[str]:
    """Each slice's percentage, rounded once to one decimal; empty for empty or thin slices
    (the legend and the hover still name them)."""
    total = sum(counts)
    texts = []
    for count in counts:
        share = count / total if total else 0.0
        texts.append(f"{round2(share * 100):.1f}%" if count and share >= minimum else "")
    return texts


def frequency_pie(frame: pd.DataFrame, selected: list[str], title_customers: str) -> go.Figure:
    """Customers per visit-count bucket; selected buckets are pulled out of the pie.

    Args:
        frame: metrics.frequency() output (bucket, customers).
        selected: bucket labels the page is filtered to.
        title_customers: the translated word for "customers" (hover).
    """
    labels = frame["bucket"].tolist()
    counts = [int(v) for v in frame["customers"].tolist()]
    texts = pie_texts(counts)
    data = [{
        "type": "pie", "labels": labels, "values": counts,
        "sort": False, "direction": "clockwise", "hole": 0.35,
        "marker": {"colors": list(BUCKET_COLOURS[:len(labels)])},
        "pull": [0.12 if b in selected else 0 for b in labels],
        "text": texts, "textinfo": "text", "textposition": "inside",
        "insidetextorientation": "horizontal", "customdata": labels,
        "hovertemplate": "%{label}: %{value} " + title_customers + " (%{percent:.1%})"
        "<extra></extra>",
    }]
    layout = _base_layout(height=320, hovermode="closest",
                          legend={"orientation": "v", "y": 0.5})
    return _figure(data, layout)


def grade_bars(frame: pd.DataFrame, unrated: str, labels: Mapping[str, str]) -> go.Figure:
    """Average visits per grade, the customer count on hover (unrated shown by name)."""
    names = [unrated if g is None else str(g) for g in frame["grade"].tolist()]
    data = [{
        "type": "bar", "x": names, "y": _rounded(frame["avg_visits"]),
        "marker": {"color": COMPANY_BLUE},
        "customdata": [[int(c), int(v)] for c, v in zip(frame["customers"].tolist(),
                                                        frame["visits"].tolist(), strict=True)],
        "hovertemplate": "%{x}: %{y:.2f} " + labels["avg"] + "<br>%{customdata[0]} "
        + labels["customers"] + ", %{customdata[1]} " + labels["visits"] + "<extra></extra>",
    }]
    layout = _base_layout(height=320, hovermode="closest",
                          xaxis={"showgrid": False, "type": "category",
                                 **_title(labels.get("grade"))},
                          yaxis={"gridcolor": GRID_GREY, "rangemode": "tozero",
                                 **_title(labels.get("avg_axis"))})
    return _figure(data, layout)
