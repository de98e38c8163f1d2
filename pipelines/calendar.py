"""The holiday calendar: extra days off and extra working days, edited one at a time."""

from __future__ import annotations

from datetime import date

from pipelines import audit
from pipelines.store import Store

KINDS = ("off", "work")


class CalendarError(ValueError):
    """A holiday that cannot be stored as asked."""


def set_holiday(db: Store, day: date, kind: str, name: str | None, actor: str | None) -> None:
    """Add or change the entry of one date (audited)."""
    if kind not in KINDS:
        raise CalendarError(f"unknown kind {kind!r}; use off or work")
    if not 1990 <= day.year <= 2100:
        raise CalendarError("the date must be between 1990 and 2100")
    name = (name or "").strip()[:100] or None
    with db.transaction() as cur:
        before = cur.execute("SELECT kind, name FROM holidays WHERE day = ?", [day]).fetchone()
        cur.execute("INSERT OR REPLACE INTO holidays (day, kind, name) VALUES (?, ?, ?)",
                    [day, kind, name])
        audit.record(cur, actor, "holiday.set", "holiday", day.isoformat(),
                     None if before is None else {"kind": before[0], "name": before[1]},
                     {"kind": kind, "name": name})


def delete_holidays(db: Store, days: list[date], actor: str | None) -> int:
    """Remove the entries of these dates; returns how many there were (audited)."""
    removed = 0
    with db.transaction() as cur:
        for day in days:
            before = cur.execute("SELECT kind, name FROM holidays WHERE day = ?",
                                 [day]).fetchone()
            if before is None:
                continue
            cur.execute("DELETE FROM holidays WHERE day = ?", [day])
            audit.record(cur, actor, "holiday.delete", "holiday", day.isoformat(),
                         {"kind": before[0], "name": before[1]}, None)
            removed += 1
    return removed
