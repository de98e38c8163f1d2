"""One helper for report callbacks: the database, the user's scope and the parsed filters
come in; a refused filter goes out as the callback's refusal.

Every report callback used to open the database, resolve the scope, parse the browser's
filter values and catch `ScopeError`/`FilterError` itself (16 times). The helper does it
once, so a new callback cannot forget that the scope is the server-side user's.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from functools import cached_property, wraps
from typing import Any, Generic, NoReturn, TypeVar

from dash.exceptions import PreventUpdate

from dashboard.auth import current_scope
from dashboard.context import get_db
from dashboard.reports.filters import FilterError
from dashboard.scope import Scope, ScopeError
from pipelines.store import Store

F = TypeVar("F")
T = TypeVar("T")


class ReportCall(Generic[F]):
    """What a report callback works with. Each part is resolved when first used, so a
    callback that stops early (PreventUpdate for a hidden tab) reads and parses nothing."""

    def __init__(self, parse: Callable[..., F], values: tuple[Any, ...]) -> None:
        self._parse = parse
        self._values = values

    @cached_property
    def db(self) -> Store:
        return get_db()

    @cached_property
    def scope(self) -> Scope:
        """The logged-in user's scope, from the server side (never from the browser)."""
        return current_scope()

    @cached_property
    def filters(self) -> F:
        """The page's filter values parsed (FilterError when malformed)."""
        return self._parse(*self._values)


def keep_outputs(_exc: Exception, *_args: Any) -> NoReturn:
    """A refusal that leaves the page as it is."""
    raise PreventUpdate


def report_callback(parse: Callable[..., F], refused: Callable[..., Any], *,
                    at: int = 0) -> Callable[[Callable[..., T]], Callable[..., T]]:
    """Decorate a callback (under Dash's @callback) that takes a ReportCall.

    Args:
        parse: the page's filter parser; its parameters are the callback's arguments
            `at`, `at + 1`, ... (as many as it has), which the function no longer receives.
        refused: the outputs for a ScopeError or FilterError (e.g. a refusal message),
            called with the exception and the function's other arguments.
        at: the position of the first filter argument among the callback's arguments.

    The function is called as `fn(call, *other_arguments)`, in their order.
    """
    count = len(inspect.signature(parse).parameters)

    def decorate(fn: Callable[..., T]) -> Callable[..., T]:
        @wraps(fn)
        def run(*args: Any) -> T:
            call = ReportCall(parse, args[at:at + count])
            others = (*args[:at], *args[at + count:])
            try:
                return fn(call, *others)
            except (ScopeError, FilterError) as exc:
                return refused(exc, *others)

        return run

    return decorate
