"""Small abuse paths (issue 14, item 8): the backup download needs a CSRF-checked POST, and
a user repeating a refused call cannot flood the audit log. Real HTTP (tests/live.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import requests

from dashboard.components import ids
from pipelines.db import Database
from tests.dash_client import key
from tests.live import (
    ADMIN,
    SUPERVISOR,
    build_database,
    dash_client,
    download_backup,
    live_server,
    page_csrf,
)


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return build_database(tmp_path / "abuse.duckdb")


def test_backup_needs_a_post_with_the_csrf_token(db_path: Path) -> None:
    with live_server(db_path) as server:
        admin = dash_client(server, ADMIN.username, ADMIN.password).session
        # A link or top-level navigation from anywhere builds no backup.
        got = admin.get(server.url + "/download/backup", timeout=60)
        assert b"DUCK" not in got.content[:64] and got.status_code in (404, 405)
        for data in ({}, {"csrf_token": "forged-token-" + "x" * 30}):
            refused = admin.post(server.url + "/download/backup", data=data, timeout=60)
            assert refused.status_code == 403 and b"DUCK" not in refused.content[:64]
        cross_site = admin.post(server.url + "/download/backup", timeout=60,
                                data={"csrf_token": page_csrf(server.url, admin)},
                                headers={"Origin": "https://evil.example"})
        assert cross_site.status_code == 403
        backup = download_backup(server.url, admin)
        assert backup.status_code == 200 and backup.content[8:12] == b"DUCK"
        anonymous = requests.post(server.url + "/download/backup", timeout=30)
        assert anonymous.status_code == 401
    db = Database(db_path)
    try:
        assert db.rows("SELECT username FROM audit_log WHERE action = 'backup.download'") \
            == [(ADMIN.username,)]
    finally:
        db.close()


def test_repeated_refusals_are_counted_not_repeated(db_path: Path) -> None:
    """30 refused settings saves (and 5 refused holiday edits) by one supervisor: one log
    entry per refused action and minute, its `attempts` counting them all."""
    save = {key(ids.SAVE, "n_clicks"): 1, key(ids.MIN_STAY, "value"): 1,
            key(ids.TIMEZONE, "value"): "UTC"}
    holiday = {key(ids.HOLIDAY_ADD, "n_clicks"): 1,
               key(ids.HOLIDAY_DATE, "date"): "2024-05-08",
               key(ids.HOLIDAY_KIND, "value"): "off"}
    with live_server(db_path) as server:
        east = dash_client(server, SUPERVISOR.username, SUPERVISOR.password)
        for n in range(30):
            response = east.call(ids.SAVE_RESULT, "children", save,
                                 changed=(ids.SAVE, "n_clicks"))
            assert "只有管理员" in str(east.outputs(response)), n
            if n % 6 == 0:
                east.call(ids.HOLIDAY_RESULT, "children", holiday,
                          changed=(ids.HOLIDAY_ADD, "n_clicks"))
    db = Database(db_path)
    try:
        rows = db.rows("SELECT entity, after_json FROM audit_log WHERE action = 'denied' "
                       "AND username = ? ORDER BY audit_id", [SUPERVISOR.username])
    finally:
        db.close()
    counted: dict[str, int] = {}
    for action, after in rows:
        data = json.loads(after)
        assert data["role"] == "supervisor"
        counted[action] = counted.get(action, 0) + data["attempts"]
    assert counted == {"settings.update": 30, "holiday.edit": 5}
    assert len(rows) <= 4  # one per action, two if the calls crossed a minute


# The app of `dashboard.wsgi` in a fresh interpreter, with dashboard.reports.archive.search wrapped to
# record which thread asks for how many rows; the export is driven with DashClient over
# Flask's test client (the spy must live in the server's process).
EXPORT_PROBE = r"""
import json, sys, threading, time
from dashboard.reports import archive
calls = []
real = archive.search
def spy(db, scope, filters, **kw):
    calls.append([threading.current_thread().name, kw.get("limit", 100)])
    return real(db, scope, filters, **kw)
archive.search = spy
from dashboard.wsgi import application as app
from tests.live import ADMIN, csrf_from
from tests.security.support import export_zip
from tests.dash_client import DashClient, key
from dashboard.components import ids
client = app.test_client()
class Reply:
    def __init__(self, r): self.r, self.status_code = r, r.status_code
    @property
    def text(self): return self.r.get_data().decode("utf-8", "replace")
    @property
    def content(self): return self.r.get_data()
    def json(self): return json.loads(self.text)
    def raise_for_status(self): assert self.status_code < 400, self.text
class Session:
    def get(self, url, timeout=None): return Reply(client.get(url[len("http://x"):]))
    def post(self, url, json=None, timeout=None): return Reply(client.post(url[len("http://x"):], json=json))
form = csrf_from(client.get("/login").get_data(as_text=True))
assert client.post("/login", data={"username": ADMIN.username, "password": ADMIN.password,
                                   "csrf_token": form}).status_code == 302
values = {key(ids.CUST_SEARCH, "value"): "", key(ids.CUST_GRADES, "value"): [],
          key(ids.CUST_DEPARTMENT, "value"): None,
          key(ids.filter_employees("customers"), "value"): None, key(ids.CUST_FLAGS, "value"): []}
files = export_zip(DashClient(Session(), "http://x"), "customers", values)
print(json.dumps({"calls": calls, "request": threading.current_thread().name,
                  "csv": files["customers.csv"]}))
"""


def test_the_archive_export_searches_in_its_job_not_in_the_request(db_path: Path) -> None:
    """The request checks the filters with a one-row search; the whole (unbounded) search
    runs in the export job's thread, so a request never materialises the archive."""
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", EXPORT_PROBE], capture_output=True,
                          text=True, timeout=300, env={"VISITLENS_DB": str(db_path),
                                                       "PATH": "/usr/bin:/bin"},
                          cwd=Path(__file__).resolve().parents[2])
    assert done.returncode == 0, done.stderr[-3000:]
    found = json.loads(done.stdout.strip().splitlines()[-1])
    request = found["request"]
    in_request = [limit for thread, limit in found["calls"] if thread == request]
    in_jobs = [limit for thread, limit in found["calls"] if thread.startswith("visitlens-job")]
    assert in_request == [1] and in_jobs == [None], found["calls"]
    assert all(code in found["csv"] for code in ("C001", "C002", "C003"))
