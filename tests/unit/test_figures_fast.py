"""The figures are built as plain dicts without plotly's validation (dashboard.figures):
validating each one must change nothing, so the browser gets exactly what a validated
plotly Figure would send — also for empty frames, gaps and unrated grades.
"""

from __future__ import annotations

import json
from datetime import date, timedelta

import pandas as pd
import plotly.graph_objects as go
import pytest
from dash._utils import to_json

from dashboard import figures

LABELS = {"actual": "实际人均日拜访", "planned": "计划人均日拜访", "company": "公司平均",
          "completion": "完成率", "avg": "平均", "customers": "客户", "visits": "拜访"}


def days(n: int) -> pd.DataFrame:
    start = date(2024, 6, 1)
    gaps = [None if i % 7 in (5, 6) else 1.0 + i / 3 for i in range(n)]
    return pd.DataFrame({"day": [start + timedelta(days=i) for i in range(n)],
                         "actual_per_capita": gaps, "planned_per_capita": gaps[::-1],
                         "company_per_capita": [0.125] * n})


def trend() -> pd.DataFrame:
    return pd.DataFrame({"period": [f"2024-{m:02d}" for m in range(1, 13)],
                         "completion_rate": [None, 0.5, 2 / 3] * 4,
                         "actual_per_capita": [1.005, None, 2.345] * 4,
                         "planned_per_capita": [0.0] * 12,
                         "company_per_capita": [1 / 3] * 12})


def ranking(n: int) -> pd.DataFrame:
    return pd.DataFrame({"employee_code": [f"E{i:03d}" for i in range(n)],
                         "employee_name": [f"员工{i}" for i in range(n)],
                         "visits": list(range(n, 0, -1)),
                         "completion_rate": [None if i % 3 == 0 else i / 10 for i in range(n)]})


CASES = [
    lambda: figures.three_curves(days(30), LABELS),
    lambda: figures.three_curves(days(0), LABELS),
    lambda: figures.trend_chart(trend(), LABELS),
    lambda: figures.trend_chart(trend().iloc[0:0], LABELS),
    lambda: figures.ranking_bars(ranking(40), "visits", "拜访"),
    lambda: figures.ranking_bars(ranking(5), "completion_rate", "完成率"),
    lambda: figures.ranking_bars(ranking(0), "visits", "拜访"),
    lambda: figures.frequency_pie(pd.DataFrame({"bucket": ["0", "1", "2", "3-5", "6-10", "11+"],
                                                "customers": [5, 4, 3, 2, 1, 0]}),
                                  ["0", "3-5"], "客户"),
    lambda: figures.grade_bars(pd.DataFrame({"grade": ["A", "B", None],
                                             "customers": [3, 0, 2], "visits": [7, 0, 1],
                                             "avg_visits": [7 / 3, None, 0.5]}),
                               "未分级", LABELS),
]


@pytest.mark.parametrize("build", CASES)
def test_validating_a_figure_changes_nothing(build: object) -> None:
    fast = build()  # type: ignore[operator]
    assert isinstance(fast, go.Figure)
    validated = go.Figure(fast.to_plotly_json())  # plotly's own validation of the same spec
    assert json.loads(to_json(fast)) == json.loads(to_json(validated))
