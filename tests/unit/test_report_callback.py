"""The one callback helper (issue 16 item 3): scope and filters come in, a refused filter
goes out as the page's refusal, and no page catches ScopeError/FilterError itself."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import pytest
from dash.exceptions import PreventUpdate

from dashboard.components import callbacks
from dashboard.components.callbacks import ReportCall, keep_outputs, report_callback
from dashboard.reports.filters import FilterError
from dashboard.scope import Scope, ScopeError

ROOT = Path(__file__).resolve().parents[2]
EAST = Scope("east", "supervisor", False, frozenset({"R1"}), frozenset({"R1", "B11"}))


def parse(department: Any, day: Any) -> tuple[str, str]:
    if not isinstance(day, str):
        raise FilterError("a day is required")
    return department, day


@pytest.fixture(autouse=True)
def server_side(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The scope and the database as the server resolves them (no request here)."""
    asked: list[str] = []
    monkeypatch.setattr(callbacks, "current_scope", lambda: asked.append("scope") or EAST)
    monkeypatch.setattr(callbacks, "get_db", lambda: asked.append("db") or "the-db")
    return asked


def test_the_filters_and_scope_are_injected_and_other_arguments_kept() -> None:
    seen: list[Any] = []

    @report_callback(parse, lambda exc, *rest: ("refused", str(exc), rest), at=1)
    def rows(call: ReportCall[tuple[str, str]], request: Any, sort: Any) -> Any:
        seen.append((call.db, call.scope, call.filters, request, sort))
        return "rows"

    assert rows({"startRow": 0}, "B11", "2024-05-06", "visits") == "rows"
    assert seen == [("the-db", EAST, ("B11", "2024-05-06"), {"startRow": 0}, "visits")]


def test_a_refused_or_malformed_filter_gets_the_refusal_with_the_other_arguments() -> None:
    @report_callback(parse, lambda exc, *rest: (type(exc).__name__, rest), at=1)
    def rows(call: ReportCall[tuple[str, str]], request: Any, sort: Any) -> Any:
        if call.filters[0] not in call.scope.departments:
            raise ScopeError(f"department {call.filters[0]} is outside the scope")
        return "rows"

    assert rows("req", "B21", "2024-05-06", "visits") == ("ScopeError", ("req", "visits"))
    assert rows("req", "B11", None, "visits") == ("FilterError", ("req", "visits"))
    assert rows("req", "B11", "2024-05-06", "visits") == "rows"


def test_nothing_is_read_or_parsed_when_the_callback_stops_first(server_side: list[str]) -> None:
    @report_callback(parse, keep_outputs)
    def chart(call: ReportCall[tuple[str, str]], tab: Any) -> Any:
        if tab != "trend":
            raise PreventUpdate
        return call.filters

    with pytest.raises(PreventUpdate):
        chart("B11", None, "ranking")  # a malformed filter on a hidden tab: no update
    assert server_side == []
    with pytest.raises(PreventUpdate):
        chart("B11", None, "trend")  # keep_outputs: refused, the page stays as it is


def test_no_page_catches_scope_or_filter_errors_itself() -> None:
    """The helper is the one place: a page with its own `except ScopeError` (the 16
    copies before) is a page that could forget it."""
    found = []
    for path in sorted((ROOT / "dashboard" / "pages").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.ExceptHandler) and node.type is not None:
                names = {n.id for n in ast.walk(node.type) if isinstance(n, ast.Name)}
                if {"ScopeError", "FilterError"} <= names:
                    found.append(f"{path.name}:{node.lineno}")
    assert not found, found
