"""Crashes (issue 9, item 8): `kill -9` during a 200 000-row import and right after a confirmed
edit. On restart the database opens, the import left no row (or, killed after its commit,
all of them — never a part), and the confirmed edit is there.

The command-line import runs with its standard error on a pseudo-terminal, so it prints its
progress ("… write") and the kill lands inside the write transaction. The soak part repeats
the kill at several moments of the write, and kills the server during an import started on
the import page.
"""

from __future__ import annotations

import base64
import os
import pty
import select
import signal
import subprocess
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from dashboard.components import ids
from pipelines.db import Database
from pipelines.imports import run_import
from tests.dash_client import key
from tests.live import VISITLENS, _clean_env, live_server
from tests.security.support import client, copy_world, decoded
from tests.security.world import BOSS

ROWS = 200_000
WRITING = "正在写入"  # the import page's progress label of the write stage (zh)
NAME = "crash-visits.csv"  # the name in the import history (the world's own is visits.csv)
PAIRS = [("E-B11-1", "C-B11-1"), ("E-B11-2", "C-B11-2"), ("E-B12-1", "C-B12-1"),
         ("E-B21-1", "C-B21-1"), ("E-B31-1", "C-B31-1")]
FORM_FIELDS = ("code", "name", "grade", "address", "longitude", "latitude", "coord_system",
               "contact", "phone", "department_code", "note", "owners")


@pytest.fixture(scope="module")
def visits_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """200 000 new visits of the world's employees to their own customers, in 2023."""
    base = datetime(2023, 1, 2)
    lines = ["visit_id,employee_code,customer_code,check_in_at"]
    for i in range(ROWS):
        employee, customer = PAIRS[i % len(PAIRS)]
        lines.append(f"IMP{i:07d},{employee},{customer},"
                     f"{base + timedelta(seconds=i * 7):%Y-%m-%d %H:%M:%S}")
    path = tmp_path_factory.mktemp("crash-data") / NAME
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def state(path: Path) -> tuple[int, int]:
    """(imported visits, import history rows) of a database file — opening it is the test
    that it survived."""
    db = Database(path)
    try:
        for table in [r[0] for r in db.rows("SELECT table_name FROM information_schema.tables "
                                             "WHERE table_schema = 'main'")]:
            db.scalar(f'SELECT count(*) FROM "{table}"')  # every table reads
        return (int(db.scalar("SELECT count(*) FROM visits WHERE visit_id LIKE 'IMP%'")),
                int(db.scalar("SELECT count(*) FROM import_history WHERE filename = ?",
                              [NAME])))
    finally:
        db.close()


def kill_during_write(path: Path, data: Path, delay: float) -> tuple[str, bool]:
    """Run `visitlens import visits`, kill -9 it `delay` seconds after it starts writing.

    Returns the last progress line it printed, and whether it was killed (False: it had
    finished by then)."""
    leader, follower = pty.openpty()
    process = subprocess.Popen([str(VISITLENS), "--db", str(path), "import", "visits",
                                str(data)], stdout=subprocess.DEVNULL, stderr=follower,
                               env=_clean_env())
    os.close(follower)
    seen = b""
    try:
        deadline = time.monotonic() + 120
        while b"write" not in seen:
            assert time.monotonic() < deadline and process.poll() is None, seen[-300:]
            ready, _w, _x = select.select([leader], [], [], 0.5)
            if ready:
                seen += os.read(leader, 4096)
        time.sleep(delay)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=30)
        os.close(leader)
    assert process.returncode in (0, -signal.SIGKILL), process.returncode
    return seen.decode(errors="replace").split("\r")[-1], process.returncode != 0


def finish_import(path: Path, data: Path) -> None:
    """After the crash the same file imports completely, once."""
    db = Database(path)
    try:
        result = run_import(db, "visits", data.read_bytes(), NAME, "tests")
        assert result.ok, result.as_json()["problems"][:3]
        assert result.inserted + result.skipped == ROWS
    finally:
        db.close()
    assert state(path) in ((ROWS, 1), (ROWS, 2))


def test_kill_during_a_200k_row_import(world_template: Path, visits_file: Path,
                                       tmp_path: Path) -> None:
    path = copy_world(world_template, tmp_path)
    assert state(path) == (0, 0)
    progress, killed = kill_during_write(path, visits_file, 0.0)
    assert killed and "write" in progress
    assert state(path) == (0, 0)
    finish_import(path, visits_file)


@pytest.mark.soak
@pytest.mark.parametrize("delay", [0.0, 0.05, 0.1, 0.2, 0.3, 0.5, 1.0])
def test_kill_at_every_moment_of_the_write_soak(world_template: Path, visits_file: Path,
                                                tmp_path: Path, delay: float) -> None:
    """Killed later, the import may have committed: then all rows are there, never a part."""
    path = copy_world(world_template, tmp_path)
    _progress, killed = kill_during_write(path, visits_file, delay)
    assert state(path) in ((0, 0), (ROWS, 1)) if killed else state(path) == (ROWS, 1)
    finish_import(path, visits_file)


def edit_name(dash: Any, code: str, name: str) -> str:
    opened = dash.outputs(dash.call(ids.CUST_FORM, "hidden", {
        key(ids.CUST_EDIT, "n_clicks"): 1, key(ids.CUST_CODE, "data"): code},
        changed=(ids.CUST_EDIT, "n_clicks")))
    mode = opened[f"{ids.CUST_FORM_MODE}.data"]
    values = {key(ids.cust_field(f), "value"): opened.get(f"{ids.cust_field(f)}.value")
              for f in FORM_FIELDS}
    values[key(ids.cust_field("name"), "value")] = name
    response = dash.call(ids.CUST_FORM_MESSAGE, "children", {
        **values, key(ids.CUST_SAVE, "n_clicks"): 1, key(ids.CUST_FORM_MODE, "data"): mode,
        key(ids.CUST_CHANGES, "data"): 0}, changed=(ids.CUST_SAVE, "n_clicks"))
    return decoded(response)


def test_kill_right_after_a_confirmed_edit(world_template: Path, tmp_path: Path) -> None:
    path = copy_world(world_template, tmp_path)
    with live_server(path) as server:
        confirmed = edit_name(client(server, BOSS), "C-B11-1", "改名#B11-1 保存后断电")
        assert "已保存 C-B11-1" in confirmed
        server.process.send_signal(signal.SIGKILL)
        server.process.wait(timeout=30)
    db = Database(path)
    try:
        assert db.scalar("SELECT name FROM customers WHERE code = 'C-B11-1'") == \
            "改名#B11-1 保存后断电"
        assert db.scalar("SELECT count(*) FROM audit_log WHERE action = 'customer.update' "
                         "AND entity_key = 'C-B11-1'") == 1
    finally:
        db.close()
    with live_server(path) as again:  # and the server starts on it again
        record = again.get("/healthz").json()
        assert record == {"status": "ok", "database": True}


@pytest.mark.soak
def test_kill_the_server_during_an_import_from_the_page_soak(world_template: Path,
                                                              visits_file: Path,
                                                              tmp_path: Path) -> None:
    path = copy_world(world_template, tmp_path)
    upload = {key(ids.IMPORT_UPLOAD, "contents"): "data:text/csv;base64,"
              + base64.b64encode(visits_file.read_bytes()).decode(),
              key(ids.IMPORT_UPLOAD, "filename"): NAME,
              key(ids.IMPORT_KIND, "value"): "visits"}
    poll = (ids.IMPORT_POLL, "n_intervals")
    with live_server(path) as server:
        dash = client(server, BOSS)

        def wait(values: dict[str, Any], until: str) -> str:
            for _ in range(600):
                out = decoded(dash.call(ids.IMPORT_HISTORY_GRID, "rowData", {
                    key(*poll): 1, **values}, changed=poll))
                if until in out:
                    return out
                time.sleep(0.02)
            raise AssertionError(f"never saw {until}")

        detect = dash.outputs(dash.call(ids.IMPORT_DETECT_JOB, "data", {
            **upload, key(ids.IMPORT_DETECT, "n_clicks"): 1},
            changed=(ids.IMPORT_DETECT, "n_clicks")))[f"{ids.IMPORT_DETECT_JOB}.data"]
        wait({key(ids.IMPORT_DETECT_JOB, "data"): detect, key(ids.IMPORT_RUN_JOB, "data"): None},
             '"data-rows": "200000"')
        run = dash.outputs(dash.call(ids.IMPORT_RUN_JOB, "data", {
            **upload, key(ids.IMPORT_DETECT_JOB, "data"): detect,
            key(ids.IMPORT_RUN, "n_clicks"): 1}, changed=(ids.IMPORT_RUN, "n_clicks")))
        job = run[f"{ids.IMPORT_RUN_JOB}.data"]
        assert isinstance(job, str)
        writing = False
        for _ in range(600):  # kill as soon as the page shows the write stage
            out = decoded(dash.call(ids.IMPORT_HISTORY_GRID, "rowData", {
                key(*poll): 1, key(ids.IMPORT_DETECT_JOB, "data"): detect,
                key(ids.IMPORT_RUN_JOB, "data"): job}, changed=poll))
            writing = WRITING in out
            if writing or "data-inserted" in out:
                break
        server.process.send_signal(signal.SIGKILL)
        server.process.wait(timeout=30)
    assert state(path) in ((0, 0), (ROWS, 1)) if writing else state(path) == (ROWS, 1)
    finish_import(path, visits_file)
