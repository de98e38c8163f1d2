"""Sessions that can be ended, sign-in throttling and the session key (issue 14, items 2-4).

Everything over real HTTP against `visitlens serve` (tests/live.py). A server holds its
DuckDB file alone, so a test that changes the database (a user's password, a session's
age) stops the server, changes the file as the command line or time would, and starts it
again: the cookies of before are then tried on the new process.
"""

from __future__ import annotations

import os
import stat
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import requests

from pipelines.db import Database
from pipelines.secret import secret_path
from tests.live import (
    ADMIN,
    ANALYST,
    NOBODY,
    READER,
    SUPERVISOR,
    VISITLENS,
    LiveServer,
    Login,
    _clean_env,
    build_database,
    dash_client,
    live_server,
    login_with,
    page_csrf,
    switch_language,
)


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return build_database(tmp_path / "sessions.duckdb")


def signed_in(server: LiveServer, user: Login, lang: str = "zh-CN") -> requests.Session:
    session = requests.Session()
    session.headers["Accept-Language"] = lang
    response = login_with(server.url, session, user.username, user.password)
    assert response.status_code == 302, response.text
    return session


def copy_of(session: requests.Session) -> requests.Session:
    """Another client holding the same cookie (a stolen or copied cookie)."""
    thief = requests.Session()
    thief.cookies.update(session.cookies)
    return thief


def opens_the_app(server: LiveServer, session: requests.Session) -> bool:
    status = session.get(server.url + "/_dash-layout", timeout=30).status_code
    assert status in (200, 401), status
    return status == 200


def run_cli(db_path: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(VISITLENS), "--db", str(db_path), *args], input=stdin,
                          capture_output=True, text=True, timeout=120, env=_clean_env())


@contextmanager
def database(path: Path) -> Iterator[Database]:
    db = Database(path)
    try:
        yield db
        db.checkpoint()
    finally:
        db.close()


# -- item 2: sessions end on the server ----------------------------------------------------
def test_a_copied_cookie_stops_working_at_logout(db_path: Path) -> None:
    with live_server(db_path) as server:
        browser = signed_in(server, SUPERVISOR)
        thief = copy_of(browser)
        assert opens_the_app(server, browser) and opens_the_app(server, thief)
        token = page_csrf(server.url, browser)
        out = browser.post(server.url + "/logout", data={"csrf_token": token},
                           allow_redirects=False)
        assert out.status_code == 302
        assert not opens_the_app(server, thief)  # the copy ended with the session
        assert not opens_the_app(server, browser)
        again = signed_in(server, SUPERVISOR)  # a new sign-in is a new session
        assert opens_the_app(server, again) and not opens_the_app(server, thief)


def test_log_out_everywhere_ends_every_session_of_the_user(db_path: Path) -> None:
    with live_server(db_path) as server:
        laptop, phone, other = (signed_in(server, READER), signed_in(server, READER),
                                signed_in(server, ANALYST))
        token = page_csrf(server.url, laptop)
        refused = laptop.post(server.url + "/logout", data={"everywhere": "1"},
                              allow_redirects=False)
        assert refused.status_code == 403 and opens_the_app(server, phone)
        done = laptop.post(server.url + "/logout", data={"csrf_token": token,
                                                         "everywhere": "1"},
                           allow_redirects=False)
        assert (done.status_code, done.headers["Location"]) == (302, "/login")
        assert not opens_the_app(server, laptop) and not opens_the_app(server, phone)
        assert opens_the_app(server, other)  # another user's session goes on
    with database(db_path) as db:
        assert db.rows("SELECT username, action FROM audit_log "
                       "WHERE action = 'session.end_all'") == [(READER.username,
                                                                "session.end_all")]


def test_password_role_and_deactivation_end_the_users_sessions(db_path: Path) -> None:
    """`visitlens user passwd / set-role / deactivate` end that user's sessions at once;
    the sessions of others survive (and so do all of them across a restart)."""
    with live_server(db_path) as server:
        sessions = {u.username: signed_in(server, u)
                    for u in (ADMIN, SUPERVISOR, ANALYST, READER)}
    for args, stdin in ((("user", "passwd", ADMIN.username, "--password-stdin"),
                         "a-new-password-1\n"),
                        (("user", "set-role", SUPERVISOR.username, "--role", "supervisor",
                          "--department", "R2"), ""),
                        (("user", "deactivate", ANALYST.username), "")):
        done = run_cli(db_path, *args, stdin=stdin)
        assert done.returncode == 0, done.stderr
        assert "sessions have ended" in done.stdout
    with live_server(db_path) as server:
        assert opens_the_app(server, sessions[READER.username])  # untouched: still signed in
        for name in (ADMIN.username, SUPERVISOR.username, ANALYST.username):
            assert not opens_the_app(server, sessions[name]), name
        assert opens_the_app(server, signed_in(
            server, Login(ADMIN.username, "a-new-password-1", "admin")))
        refused = login_with(server.url, requests.Session(), ANALYST.username,
                             ANALYST.password)
        assert refused.status_code == 200 and "用户名或密码错误" in refused.text
    with database(db_path) as db:
        actions = [r[0] for r in db.rows("SELECT action FROM audit_log WHERE action LIKE "
                                         "'user.%' AND action <> 'user.add' ORDER BY 1")]
        assert actions == ["user.deactivate", "user.password", "user.role"]
        assert db.rows("SELECT department_code FROM user_departments WHERE username = ?",
                       [SUPERVISOR.username]) == [("R2",)]


def test_unknown_user_changes_are_refused_by_the_command(db_path: Path) -> None:
    done = run_cli(db_path, "user", "deactivate", "no-such-user")
    assert done.returncode == 1 and "No user 'no-such-user'" in done.stderr
    done = run_cli(db_path, "user", "set-role", READER.username, "--role", "analyst",
                   "--department", "NOPE")
    assert done.returncode == 1 and "Unknown department" in done.stderr


def _age(db_path: Path, username: str, created: timedelta, seen: timedelta) -> datetime:
    """Make `username`'s session `created` old, last seen `seen` ago; returns created_at."""
    now = datetime.now()
    with database(db_path) as db, db.transaction() as cur:
        cur.execute("UPDATE web_sessions SET created_at = ?, last_seen_at = ? "
                    "WHERE username = ?", [now - created, now - seen, username])
    return now - created


def test_twelve_hours_from_sign_in_and_the_idle_timeout(db_path: Path) -> None:
    """The absolute lifetime is counted from the sign-in, whatever the session did since
    (a language switch re-signs the cookie; requests write last_seen); the idle timeout is
    the setting session_idle_minutes."""
    with live_server(db_path) as server:
        busy, idle, fresh = (signed_in(server, ADMIN), signed_in(server, SUPERVISOR),
                             signed_in(server, NOBODY))
    created = _age(db_path, ADMIN.username, timedelta(hours=11, minutes=57), timedelta(0))
    _age(db_path, SUPERVISOR.username, timedelta(hours=3), timedelta(minutes=121))
    with live_server(db_path) as server:
        assert not opens_the_app(server, idle)  # 121 min without a request: default 120
        switched = switch_language(server.url, busy, "en")
        assert switched.status_code == 302
        assert "visitlens_session" in switched.headers.get("Set-Cookie", "")  # re-signed
        resigned = copy_of(busy)
        assert opens_the_app(server, busy) and opens_the_app(server, resigned)
    with database(db_path) as db:
        row = db.rows("SELECT created_at, last_seen_at FROM web_sessions WHERE username = ? "
                      "AND ended_at IS NULL", [ADMIN.username])
        assert row[0][0] == created  # never moved by the requests
        assert row[0][1] > created + timedelta(hours=11)  # but they were seen
        with db.transaction() as cur:  # the idle timeout is a setting
            cur.execute("UPDATE settings SET value = '10' WHERE key = 'session_idle_minutes'")
    _age(db_path, ADMIN.username, timedelta(hours=12, minutes=1), timedelta(0))
    _age(db_path, NOBODY.username, timedelta(minutes=30), timedelta(minutes=11))
    with live_server(db_path) as server:
        assert not opens_the_app(server, busy) and not opens_the_app(server, resigned)
        assert not opens_the_app(server, fresh)  # 11 min idle, the setting says 10
        assert opens_the_app(server, signed_in(server, NOBODY))


def test_admins_set_the_idle_timeout_on_the_settings_page(db_path: Path) -> None:
    from dashboard.components import ids
    from pipelines import business_settings
    from tests.dash_client import key

    rules = {key(ids.MIN_STAY, "value"): 10, key(ids.LIMIT_NET, "value"): 1000,
             key(ids.LIMIT_CELL, "value"): 1000, key(ids.LIMIT_GPS, "value"): 500,
             key(ids.WORKDAYS, "value"): [1, 2, 3, 4, 5], key(ids.GRADES, "value"): "A, B, C, D",
             key(ids.EXPORT_DAYS, "value"): 31, key(ids.TIMEZONE, "value"): "Asia/Shanghai",
             key(ids.API_BACKDATE, "value"): 7, key(ids.SAVE, "n_clicks"): 1}
    with live_server(db_path) as server:
        admin = dash_client(server, ADMIN.username, ADMIN.password)
        bad = admin.outputs(admin.call(ids.SAVE_RESULT, "children",
                                       {**rules, key(ids.SESSION_IDLE, "value"): 1}))
        assert "5 到 720" in str(bad)
        saved = admin.outputs(admin.call(ids.SAVE_RESULT, "children",
                                         {**rules, key(ids.SESSION_IDLE, "value"): 30}))
        assert "已保存" in str(saved)
    with database(db_path) as db:
        assert business_settings.load(db).session_idle_minutes == 30


# -- item 4: the session key ---------------------------------------------------------------
def test_the_session_key_is_a_0600_file_not_a_setting(db_path: Path) -> None:
    with database(db_path) as db, db.transaction() as cur:  # as an older version stored it
        cur.execute("INSERT OR REPLACE INTO settings VALUES ('secret_key', '\"old-key\"')")
    secret_path(db_path).unlink(missing_ok=True)
    with live_server(db_path) as server:
        signed_in(server, ADMIN)
    key_file = secret_path(db_path)
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert key_file.stat().st_uid == os.getuid()
    assert "old-key" not in key_file.read_text()
    with database(db_path) as db:  # gone from the database, so from every backup
        assert db.rows("SELECT * FROM settings WHERE key = 'secret_key'") == []


def test_secret_rotate_ends_every_session(db_path: Path) -> None:
    with live_server(db_path) as server:
        admin, reader = signed_in(server, ADMIN), signed_in(server, READER)
    key = secret_path(db_path).read_text()
    done = run_cli(db_path, "secret", "rotate")
    assert done.returncode == 0, done.stderr
    assert secret_path(db_path).read_text() != key
    assert stat.S_IMODE(secret_path(db_path).stat().st_mode) == 0o600
    with live_server(db_path) as server:
        assert not opens_the_app(server, admin) and not opens_the_app(server, reader)
        assert opens_the_app(server, signed_in(server, READER))
    refused = subprocess.run([str(VISITLENS), "--db", str(db_path), "secret", "rotate"],
                             capture_output=True, text=True, timeout=60,
                             env=_clean_env() | {"VISITLENS_SECRET_KEY": "k" * 40})
    assert refused.returncode == 1 and "VISITLENS_SECRET_KEY" in refused.stderr


def test_the_key_from_the_environment_wins(db_path: Path) -> None:
    env = {"VISITLENS_SECRET_KEY": "e" * 64}
    with live_server(db_path, env=env) as server:
        admin = signed_in(server, ADMIN)
    with live_server(db_path) as server:  # the file's key: the cookie's signature fails
        assert not opens_the_app(server, admin)
    with live_server(db_path, env=env) as server:
        assert opens_the_app(server, admin)


def test_restoring_a_backup_brings_no_session_and_no_key_back(db_path: Path,
                                                              tmp_path: Path) -> None:
    with live_server(db_path) as server:
        before_backup = signed_in(server, ADMIN)
    backup = tmp_path / "old.duckdb"
    assert run_cli(db_path, "backup", str(backup)).returncode == 0
    with database(backup) as db, db.transaction() as cur:  # a backup of an older version
        cur.execute("INSERT OR REPLACE INTO settings VALUES ('secret_key', '\"old-key\"')")
    key = secret_path(db_path).read_text()
    done = run_cli(db_path, "restore", str(backup))
    assert done.returncode == 0, done.stderr
    assert secret_path(db_path).read_text() == key
    with database(db_path) as db:
        assert db.rows("SELECT * FROM web_sessions") == []
        assert db.rows("SELECT * FROM settings WHERE key = 'secret_key'") == []
    with live_server(db_path) as server:
        assert not opens_the_app(server, before_backup)
