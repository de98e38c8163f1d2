"""Texts that are not ours but the widgets' and the templates': in the user's language.

Issue 15 item 8: "4 selected", "Select Date", "No Rows To Show", English month names and the
import template's notes (`lon`, `multiline`) in the Chinese UI.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator

import dash_ag_grid as dag
import flask
import pytest
from dash import dcc, html
from python_calamine import CalamineWorkbook

from dashboard import i18n
from dashboard.components import widgets
from pipelines.formats import FORMATS, template_xlsx

LATIN = re.compile(r"[A-Za-z]+")


@pytest.fixture
def chinese() -> Iterator[None]:
    app = flask.Flask(__name__)
    with app.test_request_context(headers={"Accept-Language": "zh-CN"}):
        assert i18n.current_language() == "zh"
        yield


@pytest.mark.parametrize("kind", sorted(FORMATS))
def test_chinese_template_notes_are_chinese(kind: str) -> None:
    """Every note of the Chinese template is Chinese; Latin letters only in the values a
    cell may hold (enum spellings, example codes) and the example dates."""
    book = CalamineWorkbook.from_filelike(io.BytesIO(
        template_xlsx(kind, "zh", lambda m: i18n.gettext(m, "zh"))))
    rows = book.get_sheet_by_name("说明").to_python()
    for col, (_header, _required, note) in zip(FORMATS[kind], rows[1:], strict=True):
        allowed = {w for v in (*col.values, col.hint) for w in LATIN.findall(v)}
        stray = [w for w in LATIN.findall(note) if w not in allowed and w.lower() not in allowed]
        assert not stray, f"{kind}.{col.name}: {note!r}"
        assert note != col.kind


def test_english_template_notes_explain_the_kind() -> None:
    book = CalamineWorkbook.from_filelike(io.BytesIO(template_xlsx("customers", "en")))
    notes = {r[0]: r[2] for r in book.get_sheet_by_name("Instructions").to_python()[1:]}
    assert notes["longitude"] == "Longitude in degrees, -180 to 180"
    assert notes["address"] == "Text; may span several lines"
    assert notes["owner_codes"] == "Codes separated by semicolons, e.g. E001;E002"
    assert notes["coord_system"].startswith("One of: wgs84/")


def test_widgets_get_their_texts_in_chinese(chinese: None) -> None:
    layout = html.Div([
        dcc.Dropdown(id="d", multi=True),
        dcc.Dropdown(id="own", labels={"search": "mine"}),
        dcc.DatePickerSingle(id="s"),
        dcc.DatePickerRange(id="r", month_format="YYYY-MM"),
        dcc.Loading(dcc.Graph(id="g", config={"displaylogo": False})),
        dag.AgGrid(id="grid", dashGridOptions={"rowHeight": 30}),
    ])
    widgets.localise(layout)
    drop, own, single, span, loading, grid = layout.children
    assert drop.labels["selected_count"] == "已选 {num_selected} 项"
    assert own.labels == {"search": "mine"}  # what a page sets is kept
    assert single.placeholder == "选择日期"
    assert single.month_format == "YYYY年M月"
    assert span.month_format == "YYYY-MM"
    assert (span.start_date_placeholder_text, span.end_date_placeholder_text) == ("开始日期", "结束日期")
    graph = loading.children
    assert graph.config["displaylogo"] is False and graph.config["locale"] == "zh-CN"
    assert graph.config["locales"]["zh-CN"]["dictionary"]["Reset axes"] == "重置轴"
    options = grid.dashGridOptions
    assert options["rowHeight"] == 30
    assert options["getLocaleText"] == {"function": "visitlensGridText(params)"}
    assert options["context"]["localeText"]["noRowsToShow"] == i18n.gettext("No rows", "zh")
    assert widgets.client_texts() == {"zoomIn": "放大", "zoomOut": "缩小"}


def test_english_pages_keep_english_dates() -> None:
    app = flask.Flask(__name__)
    with app.test_request_context(headers={"Accept-Language": "en"}):
        picker, graph = widgets.localise([dcc.DatePickerSingle(id="s"), dcc.Graph(id="g")])
        assert picker.placeholder == "Select a date" and picker.month_format == "MMMM YYYY"
        assert "locale" not in graph.config
