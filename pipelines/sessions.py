"""Server-side web sessions: what makes a signed session cookie count (issue 14, item 2).

The cookie only carries a random session id (signed with the process's secret); whether it
still opens the app is decided here, on every request, by one lookup of the id's SHA-256 in
``web_sessions``. So a session can be ended at once and everywhere: at logout, by "log out
everywhere", when the user's password, role or departments change or the user is
deactivated, when the secret is rotated, and when a backup is restored. A session lives 12
hours from login at most (never extended by any request) and ends after the idle timeout
(the setting ``session_idle_minutes``).

Writes: the last-seen time is written at most once a minute per session (TOUCH_EVERY), not
on every request, and skipped while another write holds the writer lock (a request never
waits behind an import); the idle timeout is therefore exact to a minute or so.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pipelines.store import Store

ABSOLUTE_LIFETIME = timedelta(hours=12)
TOUCH_EVERY = timedelta(minutes=1)
DEFAULT_IDLE_MINUTES = 120
IDLE_SETTING = "session_idle_minutes"


@dataclass(frozen=True)
class SessionState:
    """A session that still counts, as one request found it."""

    username: str
    created_at: datetime
    last_seen_at: datetime


def _hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode("utf-8")).hexdigest()


def start(db: Store, username: str, now: datetime | None = None) -> str:
    """A new session of `username` (after a successful login); returns the id for the cookie.

    Sessions that can no longer count (ended, or past the absolute lifetime) are removed
    on the way, so the table stays as small as the number of live sessions.
    """
    moment = now or datetime.now()
    session_id = secrets.token_urlsafe(32)
    with db.transaction() as cur:
        cur.execute("DELETE FROM web_sessions WHERE created_at < ? OR ended_at < ?",
                    [moment - ABSOLUTE_LIFETIME, moment - ABSOLUTE_LIFETIME])
        cur.execute("INSERT INTO web_sessions (session_hash, username, created_at, last_seen_at) "
                    "VALUES (?, ?, ?, ?)", [_hash(session_id), username, moment, moment])
    return session_id


def _idle(value: Any) -> timedelta:
    try:
        minutes = float(json.loads(value)) if value is not None else DEFAULT_IDLE_MINUTES
    except (TypeError, ValueError):
        minutes = DEFAULT_IDLE_MINUTES
    return timedelta(minutes=minutes if minutes > 0 else DEFAULT_IDLE_MINUTES)


def check(db: Store, session_id: Any, now: datetime | None = None) -> SessionState | None:
    """The session if it still counts (not ended, not too old, not idle too long), else None.

    One indexed lookup per request; the last-seen time is written when it is older than
    TOUCH_EVERY (a write per session and minute, not per request).
    """
    if not isinstance(session_id, str) or not 20 <= len(session_id) <= 100:
        return None
    moment = now or datetime.now()
    key = _hash(session_id)
    row = db.execute(
        "SELECT username, created_at, last_seen_at, "
        f"(SELECT value FROM settings WHERE key = '{IDLE_SETTING}') "
        "FROM web_sessions WHERE session_hash = ? AND ended_at IS NULL", [key]).fetchone()
    if row is None:
        return None
    username, created, seen, idle = row
    if moment - created >= ABSOLUTE_LIFETIME or moment - seen >= _idle(idle):
        return None
    if moment - seen >= TOUCH_EVERY and _touch(db, key, moment):
        seen = moment
    return SessionState(str(username), created, seen)


def _touch(db: Store, key: str, moment: datetime) -> bool:
    """Write the last-seen time unless another write (an import) holds the store's writer
    lock: a page request never waits behind one; the next request tries again."""
    lock = getattr(db, "_write_lock", None)  # both stores' process-wide writer lock
    if lock is not None and not lock.acquire(blocking=False):
        return False
    try:
        with db.transaction() as cur:
            cur.execute("UPDATE web_sessions SET last_seen_at = ? WHERE session_hash = ?",
                        [moment, key])
    finally:
        if lock is not None:
            lock.release()
    return True


def end(db: Store, session_id: Any, now: datetime | None = None) -> None:
    """End one session (logout)."""
    if not isinstance(session_id, str):
        return
    with db.transaction() as cur:
        cur.execute("UPDATE web_sessions SET ended_at = ? WHERE session_hash = ? "
                    "AND ended_at IS NULL", [now or datetime.now(), _hash(session_id)])


def end_for_user(cur: Any, username: str, now: datetime | None = None) -> None:
    """End every session of `username`, inside the caller's transaction (the change that
    requires it commits together with the ending)."""
    cur.execute("UPDATE web_sessions SET ended_at = ? WHERE username = ? AND ended_at IS NULL",
                [now or datetime.now(), username])


def end_all(cur: Any) -> None:
    """End every session of every user (secret rotated, backup restored)."""
    cur.execute("DELETE FROM web_sessions")
