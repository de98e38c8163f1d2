"""Sign-in throttling in the store, seen by every web process (issue 14, item 3).

Each password check costs a scrypt hash (tens of milliseconds of a core), so sign-ins are
checked before any hash, against fixed windows of the ``login_throttle`` table:

* failed attempts per account (a username of the web login, an employee code of the
  phone API),
* failed attempts per client address (so one password cannot be tried against every
  account; successful sign-ins of an office behind one address do not count),
* all password hashes together (a cap per second that keeps CPU for everybody else).

An attempt over any limit is refused without hashing and told how long to wait. The
table lives in the store, so several web processes on one ClickHouse count the same
attempts (there, two processes may each let one attempt more through at the same moment:
ClickHouse has no transactions; a bound, not an exact count).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pipelines.store import Store

GLOBAL_BUCKET = "hashes"
# Buckets whose window ended this long ago are deleted (a guessed username each time
# must not grow the table without end).
FORGET_AFTER = timedelta(hours=1)


@dataclass(frozen=True)
class Limits:
    """(attempts, window in seconds) per account, per address, and for all hashes."""

    account: tuple[int, int] = (10, 300)   # failed attempts per account
    address: tuple[int, int] = (50, 300)   # failed attempts per client address
    hashes: tuple[int, int] = (20, 1)      # password hashes of all processes together


@cache
def parse_limits(text: str) -> Limits:
    """Limits from ``account=10/300,address=30/300,hashes=10/1`` (missing parts: defaults).

    Raises:
        ValueError: a part that is not NAME=ATTEMPTS/SECONDS with positive numbers.
    """
    values: dict[str, tuple[int, int]] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, _, rule = part.partition("=")
        attempts, _, seconds = rule.partition("/")
        if name.strip() not in Limits.__dataclass_fields__ or not attempts.strip().isdigit() \
                or not seconds.strip().isdigit() or int(attempts) < 1 or int(seconds) < 1:
            raise ValueError(f"not a login limit like account=10/300: {part!r}")
        values[name.strip()] = (int(attempts), int(seconds))
    return Limits(**values)


def _state(cur: Any, names: list[str]) -> dict[str, tuple[datetime, int]]:
    marks = ", ".join("?" for _ in names)
    return {str(b): (start, int(hits)) for b, start, hits in cur.execute(
        f"SELECT bucket, window_start, hits FROM login_throttle WHERE bucket IN ({marks})",
        names).fetchall()}


def _wait(found: tuple[datetime, int] | None, rule: tuple[int, int], moment: datetime) -> float:
    """Seconds until the bucket allows one more (0: allowed now)."""
    if found is None:
        return 0.0
    start, hits = found
    end = start + timedelta(seconds=rule[1])
    return (end - moment).total_seconds() if moment < end and hits >= rule[0] else 0.0


def _bump(cur: Any, name: str, found: tuple[datetime, int] | None, rule: tuple[int, int],
          moment: datetime) -> None:
    if found is None or moment >= found[0] + timedelta(seconds=rule[1]):
        start, hits = moment, 1
    else:
        start, hits = found[0], found[1] + 1
    cur.execute("INSERT OR REPLACE INTO login_throttle (bucket, window_start, hits) "
                "VALUES (?, ?, ?)", [name, start, hits])


def _names(account: str, address: str) -> tuple[str, str]:
    return f"account:{account[:200]}", f"address:{address[:100]}"


def attempt(db: Store, limits: Limits, account: str, address: str,
            now: datetime | None = None) -> int | None:
    """Before a password hash: None when it may go on, else the seconds to wait.

    Refused when the account or the address has had too many failed attempts in its
    window (:func:`failed`), or when all processes together have hashed too many
    passwords in this second; an allowed attempt counts one hash.
    """
    moment = now or datetime.now()
    account_key, address_key = _names(account, address)
    names = [account_key, address_key, GLOBAL_BUCKET]
    with db.transaction() as cur:
        found = _state(cur, names)
        wait = max(_wait(found.get(account_key), limits.account, moment),
                   _wait(found.get(address_key), limits.address, moment),
                   _wait(found.get(GLOBAL_BUCKET), limits.hashes, moment))
        if wait > 0:
            return max(1, math.ceil(wait))
        hashes = found.get(GLOBAL_BUCKET)
        if hashes is None or moment >= hashes[0] + timedelta(seconds=limits.hashes[1]):
            # once per global window: forget buckets that ended long ago
            cur.execute("DELETE FROM login_throttle WHERE window_start < ? "
                        "AND bucket NOT IN (?, ?, ?)", [moment - FORGET_AFTER, *names])
        _bump(cur, GLOBAL_BUCKET, hashes, limits.hashes, moment)
    return None


def failed(db: Store, limits: Limits, account: str, address: str,
           now: datetime | None = None) -> None:
    """A wrong password (or unknown account): counted for the account and the address."""
    moment = now or datetime.now()
    account_key, address_key = _names(account, address)
    with db.transaction() as cur:
        found = _state(cur, [account_key, address_key])
        _bump(cur, account_key, found.get(account_key), limits.account, moment)
        _bump(cur, address_key, found.get(address_key), limits.address, moment)


def succeeded(db: Store, account: str) -> None:
    """A correct password: the account's count starts again (its owner mistyped before)."""
    with db.transaction() as cur:
        cur.execute("DELETE FROM login_throttle WHERE bucket = ?", [_names(account, "")[0]])
