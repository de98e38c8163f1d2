"""The read model and its registry: name -> Report.

`dashboard.reports` is the only package that runs read SQL (queries/*.sql through
sql.py; an import-linter contract keeps that door private). Pages, the command line, the
API and the exports ask a function here.

The registry is what makes a report one module and its SQL: every module of this package
(and of the directories in $VISITLENS_REPORT_PATH, see `__path__` below) that
defines `REPORT` (one :class:`Report`) or `REPORTS` (several) is found by
:func:`registry`. The command line builds `visitlens report`'s choices, options and
output from it; DESIGN.md section 5's field lists are the reports' `fields`.
"""

from __future__ import annotations

import importlib
import os
import pkgutil
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from types import ModuleType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

    from dashboard.reports.filters import Filters
    from dashboard.scope import Scope
    from pipelines.store import Store

# Directories named in $VISITLENS_REPORT_PATH (os.pathsep-separated) join this package:
# their modules are found like ours and their queries/ next to ours. A report can ship
# on its own this way (the registry test adds a toy one without touching this tree).
__path__ = [*__path__, *(d for d in os.environ.get("VISITLENS_REPORT_PATH", "").split(
    os.pathsep) if d and os.path.isdir(d))]


@dataclass(frozen=True)
class Parameter:
    """An option of a report beyond the filters: the command line's `--NAME`.

    Reports that share a name share the option, so they must agree on choices and default.
    """

    name: str
    help: str
    choices: tuple[str, ...] = ()
    default: str | None = None
    metavar: str | None = None


@dataclass(frozen=True)
class Report:
    """One report: what it is called, takes, returns and how its columns are headed.

    Attributes:
        name: the command line's and the JSON's report name.
        help: one line for `visitlens report --help`.
        fields: the output columns in order (DESIGN.md section 5 names).
        labels: field -> header msgid (marked with N_, translated where shown).
        run: (db, scope, filters, **parameters) -> DataFrame with at least `fields`; it
            checks the filters against the scope (ScopeError) like every report function.
        parameters: the options `run` takes besides the filters.
    """

    name: str
    help: str
    fields: tuple[str, ...]
    labels: Mapping[str, str]
    run: Callable[..., pd.DataFrame]
    parameters: tuple[Parameter, ...] = ()

    def frame(self, db: Store, scope: Scope, filters: Filters,
              options: Mapping[str, Any] | None = None) -> pd.DataFrame:
        """Run the report with its own parameters taken from `options` (defaults else)."""
        given = options or {}
        kwargs = {p.name: given[p.name] if given.get(p.name) is not None else p.default
                  for p in self.parameters}
        return self.run(db, scope, filters, **{k: v for k, v in kwargs.items()
                                               if v is not None})


def _declared(module: ModuleType) -> Iterator[Report]:
    one = getattr(module, "REPORT", None)
    if isinstance(one, Report):
        yield one
    yield from (r for r in getattr(module, "REPORTS", ()) if isinstance(r, Report))


@cache
def registry() -> Mapping[str, Report]:
    """Every report of the package, by name, in the order their modules sort."""
    found: dict[str, Report] = {}
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        for report in _declared(importlib.import_module(f"{__name__}.{info.name}")):
            if report.name in found:
                raise ValueError(f"two reports are called {report.name!r}")
            found[report.name] = report
    return found


def get(name: str) -> Report:
    """The report called `name` (KeyError if there is none)."""
    return registry()[name]


def parameters() -> Mapping[str, Parameter]:
    """Every report parameter by name (shared names must be declared alike)."""
    merged: dict[str, Parameter] = {}
    for report in registry().values():
        for parameter in report.parameters:
            if merged.setdefault(parameter.name, parameter) != parameter:
                raise ValueError(f"reports declare --{parameter.name} differently")
    return merged
