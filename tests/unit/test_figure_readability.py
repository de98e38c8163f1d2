"""Charts a person can read (issue 15 items 3 and 11): one precision, no labels on empty or
thin pie slices, round ticks on the rate axis, axis titles with units, rates in percent."""

from __future__ import annotations

import pandas as pd

from dashboard import figures

LABELS = {"actual": "实际", "planned": "计划", "company": "公司", "completion": "完成率",
          "per_capita": "人均每工作日拜访（次）", "completion_axis": "完成率（%）"}


def test_pie_labels_one_precision_none_on_empty_or_thin_slices() -> None:
    assert figures.pie_texts([197, 0, 1, 802]) == ["19.7%", "", "", "80.2%"]
    assert figures.pie_texts([11, 1]) == ["91.7%", "8.3%"]  # rounded once, from 11/12
    assert figures.pie_texts([0, 0]) == ["", ""]
    pie = figures.frequency_pie(pd.DataFrame({"bucket": ["0", "1", "2"],
                                              "customers": [0, 3, 997]}), [], "客户")
    trace = pie.data[0]
    assert trace.textinfo == "text" and list(trace.text) == ["", "", "99.7%"]
    assert trace.textposition == "inside"


def test_trend_rate_axis_has_round_ticks_and_both_axes_are_titled() -> None:
    trend = pd.DataFrame({"period": ["2024-01", "2024-02"], "completion_rate": [0.5, 2 / 3],
                          "actual_per_capita": [1.0, 2.0], "planned_per_capita": [1.0, 1.0],
                          "company_per_capita": [1.5, 1.5]})
    layout = figures.trend_chart(trend, LABELS).layout
    assert (layout.yaxis2.tickmode, layout.yaxis2.tick0, layout.yaxis2.dtick) == (
        "linear", 0, 0.2)
    assert layout.yaxis2.tickformat == ".0%"
    assert layout.yaxis.title.text == "人均每工作日拜访（次）"
    assert layout.yaxis2.title.text == "完成率（%）"


def test_ranking_bars_show_rates_in_percent_rounded_once() -> None:
    ranking = pd.DataFrame({"employee_code": ["E1", "E2"], "employee_name": ["甲", "乙"],
                            "completion_rate": [11 / 12, 10 / 15]})
    bars = figures.ranking_bars(ranking, "completion_rate", "完成率")
    trace = bars.data[0]
    assert list(trace.x) == [10 / 15, 11 / 12]  # unrounded: the hover rounds once
    assert "%{x:.1%}" in trace.hovertemplate
    assert bars.layout.xaxis.tickformat == ".0%"
    assert bars.layout.xaxis.title.text == "完成率"
    counts = figures.ranking_bars(ranking.assign(visits=[3, 2]), "visits", "拜访记录")
    assert counts.layout.xaxis.tickformat is None and list(counts.data[0].x) == [2, 3]


def test_daily_curves_and_grade_bars_have_axis_titles() -> None:
    days = pd.DataFrame({"day": pd.to_datetime(["2024-06-03"]), "actual_per_capita": [1.0],
                         "planned_per_capita": [1.0], "company_per_capita": [1.0]})
    assert figures.three_curves(days, LABELS).layout.yaxis.title.text == LABELS["per_capita"]
    grades = pd.DataFrame({"grade": ["A"], "customers": [2], "visits": [3], "avg_visits": [1.5]})
    layout = figures.grade_bars(grades, "未分级", {
        "avg": "平均", "customers": "客户", "visits": "拜访", "grade": "等级",
        "avg_axis": "每位客户平均被拜访次数"}).layout
    assert (layout.xaxis.title.text, layout.yaxis.title.text) == ("等级", "每位客户平均被拜访次数")
