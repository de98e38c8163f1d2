"""What a user narrowed a report to: the parsed filters every report function takes.

Parsing from the address bar lives with the filter bar (web side); these are the values
after parsing, checked for shape here (ranges, sizes) and for scope in the reports.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

MAX_FILTER_EMPLOYEES = 500


class FilterError(ValueError):
    """A filter value that is malformed (not a scope question)."""


@dataclass(frozen=True)
class Filters:
    """What the user narrowed a report to (inside their scope).

    Attributes:
        date_from: first day, inclusive.
        date_to: last day, inclusive.
        department: a department code: its subtree (None = the whole scope).
        employees: employee codes (empty = every employee of the department/scope).
    """

    date_from: date
    date_to: date
    department: str | None = None
    employees: tuple[str, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        if self.date_from > self.date_to:
            raise FilterError("the start date is after the end date")
        if len(self.employees) > MAX_FILTER_EMPLOYEES:
            raise FilterError(f"at most {MAX_FILTER_EMPLOYEES} employees can be selected")


def like_pattern(text: str) -> str:
    """A LIKE pattern matching `text` anywhere, with LIKE's wildcards escaped."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"
