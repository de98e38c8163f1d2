"""A real VisitLens server in a subprocess, for HTTP and browser tests.

The server is started exactly as users start it (`visitlens --db PATH serve --port 0`),
so the tests exercise the real WSGI stack (waitress), the guard and the cookies. The
database is built first and closed again: DuckDB lets only one process open the file.
"""

from __future__ import annotations

import base64
import json
import os
import queue
import re
import subprocess
import sys
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from pipelines.db import Database
from pipelines.upgrade import upgrade
from pipelines.users import add_user
from tests.conftest import Factory

VISITLENS = Path(sys.executable).with_name("visitlens")
LISTENING = re.compile(r"listening on (http://\S+?)/?\s*$")
CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')

LoginFn = Callable[[requests.Session, str, str], requests.Response]
"""login(session, username, password) -> the POST /login response (not followed)."""


@dataclass(frozen=True)
class Login:
    """A user of the test database (password in clear for the tests)."""

    username: str
    password: str
    role: str
    departments: tuple[str, ...] = ()


ADMIN = Login("admin", "admin-password-1", "admin")
SUPERVISOR = Login("east", "east-password-1", "supervisor", ("R1",))
ANALYST = Login("bj", "bj-password-1", "analyst", ("B21",))
NOBODY = Login("nobody", "nobody-password-1", "analyst")
READER = Login("reader", "reader-password-1", "analyst", ("R2",))
USERS: tuple[Login, ...] = (ADMIN, SUPERVISOR, ANALYST, NOBODY, READER)


def build_database(path: Path) -> Path:
    """A tiny company: HQ > R1 (B11, B12), R2 (B21); a few employees and customers; USERS."""
    db = Database(path)
    try:
        upgrade(db)
        factory = Factory(db)
        factory.org()
        factory.load("employees", "code,name,department_code,status\n"
                     "E001,张三,B11,active\nE002,李四,B12,active\nE003,王五,B21,active\n")
        factory.load("customers", "code,name,grade,department_code,owner_codes\n"
                     "C001,上海一号店,A,B11,E001\nC002,杭州一号店,B,B12,E002\n"
                     "C003,北京一号店,C,B21,E003\n")
        for user in USERS:
            add_user(db, user.username, user.password, user.role, user.departments)
        db.checkpoint()
    finally:
        db.close()
    return path


@dataclass
class LiveServer:
    """A running server: its base URL (no trailing slash), process and log file."""

    url: str
    process: subprocess.Popen[str]
    log: Path

    def get(self, path: str, **kwargs: object) -> requests.Response:
        """A request without a session (anonymous)."""
        return requests.get(self.url + path, timeout=30, **kwargs)  # type: ignore[arg-type]

    def post(self, path: str, **kwargs: object) -> requests.Response:
        return requests.post(self.url + path, timeout=30, **kwargs)  # type: ignore[arg-type]

    def log_text(self) -> str:
        return self.log.read_text("utf-8", errors="replace") if self.log.exists() else ""


def _clean_env() -> dict[str, str]:
    """The environment without VISITLENS_* settings, so the host's config cannot leak in."""
    return {k: v for k, v in os.environ.items() if not k.startswith("VISITLENS_")}


@contextmanager
def live_server(db_path: Path, timeout: float = 60.0,
                env: dict[str, str] | None = None) -> Iterator[LiveServer]:
    """Start `visitlens --db PATH serve --port 0`, wait for /healthz, stop it afterwards.

    `env` adds VISITLENS_* settings (e.g. the ClickHouse engine) to a clean environment.
    """
    log = db_path.with_suffix(".server.log")
    with log.open("w", encoding="utf-8") as log_file:
        process = subprocess.Popen(
            [str(VISITLENS), "--db", str(db_path), "serve", "--host", "127.0.0.1",
             "--port", "0"],
            stdout=subprocess.PIPE, stderr=log_file, text=True,
            env=_clean_env() | (env or {}),
        )
        try:
            url = _wait_for_url(process, timeout)
            server = LiveServer(url, process, log)
            _wait_for_health(server, timeout)
            yield server
        finally:
            _stop(process)


def _wait_for_url(process: subprocess.Popen[str], timeout: float) -> str:
    lines: queue.Queue[str | None] = queue.Queue()

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=read, daemon=True).start()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=0.2)
        except queue.Empty:
            continue
        if line is None:
            raise RuntimeError(f"the server exited early (status {process.wait()})")
        found = LISTENING.search(line.strip())
        if found:
            return found.group(1).rstrip("/")
    raise RuntimeError("the server did not print its URL in time")


def _wait_for_health(server: LiveServer, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError("the server exited:\n" + server.log_text())
        try:
            if server.get("/healthz").status_code == 200:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.1)
    raise RuntimeError("the server did not become healthy in time:\n" + server.log_text())


def _stop(process: subprocess.Popen[str]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=15)
    if process.stdout is not None:
        process.stdout.close()


def session_payload(set_cookie: str | None) -> dict[str, object]:
    """What a Set-Cookie of the Flask session holds (signed, not encrypted: readable)."""
    if not set_cookie or not set_cookie.startswith("visitlens_session="):
        return {}
    value = set_cookie.split(";", 1)[0].split("=", 1)[1]
    compressed = value.startswith(".")
    data = base64.urlsafe_b64decode(value.lstrip(".").split(".", 1)[0] + "==")
    return dict(json.loads(zlib.decompress(data) if compressed else data))


def csrf_from(html: str) -> str:
    """The CSRF token of a server-rendered form."""
    found = CSRF_FIELD.search(html)
    if not found:
        raise AssertionError("no CSRF token in the page")
    return found.group(1)


def page_csrf(base_url: str, session: requests.Session) -> str:
    """The CSRF token a logged-in page carries (its forms: logout, language, backup)."""
    layout = session.get(base_url + "/_dash-layout", timeout=30)
    layout.raise_for_status()
    found = re.search(r'"name":\s*"csrf_token",[^{}]*?"value":\s*"([^"]+)"', layout.text) \
        or re.search(r'"value":\s*"([^"]+)",[^{}]*?"name":\s*"csrf_token"', layout.text)
    if not found:
        raise AssertionError("no CSRF token in the layout")
    return found.group(1)


def download_backup(base_url: str, session: requests.Session,
                    token: str | None = None) -> requests.Response:
    """POST /download/backup as the settings page's form does (with the page's token)."""
    if token is None:
        try:
            token = page_csrf(base_url, session)
        except requests.HTTPError:  # not signed in: the guard answers 401 anyway
            token = ""
    data = {"csrf_token": token}
    return session.post(base_url + "/download/backup", data=data, timeout=120)


def switch_language(base_url: str, session: requests.Session, lang: str,
                    next_url: str | None = None) -> requests.Response:
    """POST /lang/<lang> as the language forms do: with the token of the logged-in page,
    else of the login page. Returns the response without following the redirect."""
    try:
        token = page_csrf(base_url, session)
    except requests.HTTPError:
        token = csrf_from(session.get(base_url + "/login", timeout=30).text)
    data = {"csrf_token": token} | ({"next": next_url} if next_url is not None else {})
    return session.post(f"{base_url}/lang/{lang}", data=data, allow_redirects=False,
                        timeout=30)


def login_with(
    base_url: str,
    session: requests.Session,
    username: str,
    password: str,
    next_url: str | None = None,
) -> requests.Response:
    """Log in like a browser: fetch the form (and its CSRF token), then post it.

    Returns the POST's response without following the redirect.
    """
    params = {"next": next_url} if next_url is not None else None
    form = session.get(base_url + "/login", params=params, timeout=30)
    form.raise_for_status()
    data = {"username": username, "password": password, "csrf_token": csrf_from(form.text)}
    if next_url is not None:
        data["next"] = next_url
    return session.post(base_url + "/login", data=data, allow_redirects=False, timeout=30)


def database_file(path: Path, build: Callable[[Factory], None]) -> Path:
    """A closed database file at `path` holding what `build` loads (the server opens it)."""
    db = Database(path)
    try:
        upgrade(db)
        build(Factory(db))
        db.checkpoint()
    finally:
        db.close()
    return path


def dash_client(server: LiveServer, user: str, password: str) -> Any:
    """A logged-in DashClient for `user` on the running server."""
    from tests.dash_client import DashClient

    session = requests.Session()
    response = login_with(server.url, session, user, password)
    assert response.status_code == 302, response.text
    return DashClient(session, server.url)
