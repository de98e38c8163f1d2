"""Sign-in throttling over real HTTP (issue 14, item 3): per account, per client address,
all password hashes together; the web login and the phone API; kept in the database.

Small limits come from VISITLENS_LOGIN_LIMITS (the defaults are 10 failures per account
and 50 per address in 5 minutes, 20 hashes a second).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import requests

from pipelines.api_tokens import set_employee_password
from pipelines.db import Database
from tests.live import ADMIN, READER, SUPERVISOR, build_database, live_server, login_with

WAIT_ZH = re.compile(r"登录尝试次数过多，请 (\d+) 秒后再试。")
WAIT_EN = re.compile(r"Too many sign-in attempts\. Try again in (\d+) s\.")


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return build_database(tmp_path / "throttle.duckdb")


def attempt(url: str, username: str, password: str, lang: str = "zh-CN") -> requests.Response:
    session = requests.Session()
    session.headers["Accept-Language"] = lang
    return login_with(url, session, username, password)


def api_login(url: str, code: str, password: str) -> requests.Response:
    return requests.post(url + "/api/v1/login", json={"employee_code": code,
                                                      "password": password}, timeout=30)


def test_failures_per_account_then_per_address(db_path: Path) -> None:
    env = {"VISITLENS_LOGIN_LIMITS": "account=3/60,address=5/60,hashes=100/1"}
    with live_server(db_path, env=env) as server:
        for _ in range(3):
            wrong = attempt(server.url, ADMIN.username, "guess")
            assert wrong.status_code == 200 and "用户名或密码错误" in wrong.text
        # The 4th try is refused before any hash, even with the right password.
        blocked = attempt(server.url, ADMIN.username, ADMIN.password)
        assert blocked.status_code == 429
        wait = int(WAIT_ZH.search(blocked.text).group(1))  # type: ignore[union-attr]
        assert 1 <= wait <= 60 and blocked.headers["Retry-After"] == str(wait)
        english = attempt(server.url, ADMIN.username, ADMIN.password, lang="en")
        assert english.status_code == 429 and WAIT_EN.search(english.text)
        # Other accounts from the same address: 2 more failures fill the address's 5.
        assert attempt(server.url, SUPERVISOR.username, "guess").status_code == 200
        assert attempt(server.url, "nobody-here", "guess").status_code == 200
        refused = attempt(server.url, READER.username, READER.password)
        assert refused.status_code == 429 and WAIT_ZH.search(refused.text)
    # In the database, not in the process: a restarted server (or another process) knows.
    with live_server(db_path, env=env) as server:
        assert attempt(server.url, READER.username, READER.password).status_code == 429


def test_a_right_password_resets_the_accounts_count(db_path: Path) -> None:
    env = {"VISITLENS_LOGIN_LIMITS": "account=3/60,address=50/60,hashes=100/1"}
    with live_server(db_path, env=env) as server:
        for _ in range(2):
            assert attempt(server.url, ADMIN.username, "guess").status_code == 200
        assert attempt(server.url, ADMIN.username, ADMIN.password).status_code == 302
        for _ in range(2):  # the owner mistyped before: a fresh count
            assert attempt(server.url, ADMIN.username, "guess").status_code == 200
        assert attempt(server.url, ADMIN.username, ADMIN.password).status_code == 302


def test_a_global_cap_on_password_hashes(db_path: Path) -> None:
    env = {"VISITLENS_LOGIN_LIMITS": "account=50/60,address=50/60,hashes=2/30"}
    with live_server(db_path, env=env) as server:
        assert attempt(server.url, ADMIN.username, ADMIN.password).status_code == 302
        assert attempt(server.url, READER.username, "guess").status_code == 200
        capped = attempt(server.url, SUPERVISOR.username, SUPERVISOR.password)
        assert capped.status_code == 429 and WAIT_ZH.search(capped.text)
        assert api_login(server.url, "E001", "any-password-1").status_code == 429


def test_the_phone_api_is_limited_per_address_too(db_path: Path) -> None:
    """One password tried against every sequential employee code: refused after the
    address's limit, though each code was tried once only."""
    db = Database(db_path)
    try:
        set_employee_password(db, "E003", "phone-password-3")
        db.checkpoint()
    finally:
        db.close()
    env = {"VISITLENS_LOGIN_LIMITS": "account=3/60,address=4/60,hashes=100/1"}
    with live_server(db_path, env=env) as server:
        codes = [api_login(server.url, f"E{n:03d}", "summer-2024").status_code
                 for n in range(1, 5)]
        assert codes == [401] * 4
        limited = api_login(server.url, "E003", "phone-password-3")  # even the right one
        assert limited.status_code == 429
        body = limited.json()["errors"][0]
        assert body["code"] == "rate_limited" and "try again in" in body["message"]
        assert 1 <= int(limited.headers["Retry-After"]) <= 60
        # The web login shares the address's count.
        assert attempt(server.url, ADMIN.username, ADMIN.password).status_code == 429
