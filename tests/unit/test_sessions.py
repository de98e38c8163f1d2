"""pipelines/sessions.py with an injected clock (the HTTP tests set times in the file)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from pipelines import sessions
from pipelines.db import Database
from pipelines.upgrade import upgrade
from pipelines.users import add_user

T0 = datetime(2026, 5, 4, 8, 0)


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database(tmp_path / "sessions.duckdb")
    upgrade(database)
    add_user(database, "ann", "password-1", "analyst")
    yield database
    database.close()


def seen_at(db: Database) -> datetime:
    return db.scalar("SELECT last_seen_at FROM web_sessions")  # type: ignore[no-any-return]


def test_lifetime_counts_from_sign_in_while_use_keeps_it_from_idling(db: Database) -> None:
    sid = sessions.start(db, "ann", now=T0)
    for hours in range(1, 12):  # used every hour, idle never reached
        for minutes in (0, 50):
            assert sessions.check(db, sid, T0 + timedelta(hours=hours, minutes=minutes))
    assert sessions.check(db, sid, T0 + timedelta(hours=11, minutes=59)) is not None
    assert sessions.check(db, sid, T0 + timedelta(hours=12)) is None


def test_idle_timeout_from_the_setting(db: Database) -> None:
    sid = sessions.start(db, "ann", now=T0)
    assert sessions.check(db, sid, T0 + timedelta(minutes=119)) is not None
    assert sessions.check(db, sid, T0 + timedelta(minutes=119 + 120)) is None
    other = sessions.start(db, "ann", now=T0)
    with db.transaction() as cur:
        cur.execute("UPDATE settings SET value = '15' WHERE key = ?", [sessions.IDLE_SETTING])
    assert sessions.check(db, other, T0 + timedelta(minutes=16)) is None


def test_last_seen_is_written_once_a_minute(db: Database) -> None:
    sid = sessions.start(db, "ann", now=T0)
    sessions.check(db, sid, T0 + timedelta(seconds=59))
    assert seen_at(db) == T0
    sessions.check(db, sid, T0 + timedelta(seconds=61))
    assert seen_at(db) == T0 + timedelta(seconds=61)


def test_a_request_never_waits_for_the_writer(db: Database) -> None:
    """While an import holds the writer lock, the check answers at once without writing."""
    sid = sessions.start(db, "ann", now=T0)
    holding, release = threading.Event(), threading.Event()

    def long_write() -> None:
        with db.transaction():
            holding.set()
            release.wait(10)

    writer = threading.Thread(target=long_write)
    writer.start()
    holding.wait(10)
    started = time.monotonic()
    answers: list[object] = []
    reader = threading.Thread(target=lambda: answers.append(
        sessions.check(db, sid, T0 + timedelta(minutes=5))))
    reader.start()
    reader.join(5)
    assert not reader.is_alive() and time.monotonic() - started < 2
    assert answers and answers[0] is not None
    release.set()
    writer.join(10)
    assert seen_at(db) == T0  # skipped; the next request writes it
    sessions.check(db, sid, T0 + timedelta(minutes=6))
    assert seen_at(db) == T0 + timedelta(minutes=6)


def test_forged_ids_are_refused(db: Database) -> None:
    sessions.start(db, "ann", now=T0)
    for forged in (None, 7, "", "x" * 19, "x" * 101, "a" * 43, ["list"]):
        assert sessions.check(db, forged, T0) is None
