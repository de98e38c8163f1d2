"""Backups (issue 9, item 11): `visitlens backup FILE` when no server runs, the admin's
/download/backup while the server runs and writes, and `visitlens restore FILE` — a
restored database equals its backup in every table (row counts and content checksums),
keeps counting its sequences, enforces its keys and answers the same reports.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import duckdb
import pytest

from dashboard.cli import main as cli_main
from dashboard.components import ids
from pipelines.db import Database
from tests.dash_client import key
from tests.live import VISITLENS, _clean_env, download_backup, live_server
from tests.security.support import client, copy_world, decoded, table_checksums
from tests.security.world import BOSS, FROM, TO

FORM_FIELDS = ("code", "name", "grade", "address", "longitude", "latitude", "coord_system",
               "contact", "phone", "department_code", "note", "owners")


def cli(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(VISITLENS), *argv], capture_output=True, text=True,
                          timeout=120, env=_clean_env())


def ranking(path: Path, capsys: pytest.CaptureFixture[str]) -> Any:
    assert cli_main(["--db", str(path), "report", "ranking", "--from", FROM, "--to", TO,
                     "--format", "json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_backup_and_restore_on_the_command_line(world_template: Path, tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    original = copy_world(world_template, tmp_path / "a")
    backup = tmp_path / "backup.duckdb"
    assert cli_main(["--db", str(original), "backup", str(backup)]) == 0
    assert f"written to {backup}" in capsys.readouterr().out
    assert table_checksums(backup) == table_checksums(original)

    # Restore over a database that has changed since, and that crashed with a pending log.
    target = copy_world(world_template, tmp_path / "b")
    subprocess.run([sys.executable, "-c", (
        "import os, sys\nfrom pipelines.db import Database\n"
        "db = Database(sys.argv[1])\n"
        "db.execute(\"INSERT INTO holidays VALUES ('2030-01-01', 'off', 'pending')\")\n"
        "os._exit(0)\n"), str(target)], check=True, timeout=120)
    assert Path(str(target) + ".wal").exists()
    assert cli_main(["--db", str(target), "restore", str(backup)]) == 0
    out = capsys.readouterr().out
    assert f"Restored {backup}" in out and ".before-restore-" in out
    kept = next(tmp_path.joinpath("b").glob("*.before-restore-[0-9]*[0-9]"))
    assert not Path(str(target) + ".wal").exists()
    assert table_checksums(target) == table_checksums(backup)
    old = Database(kept, read_only=True)  # the replaced database, its pending log included
    try:
        assert old.scalar("SELECT name FROM holidays WHERE day = '2030-01-01'") == "pending"
    finally:
        old.close()
    assert ranking(target, capsys) == ranking(original, capsys)

    db = Database(target)
    try:  # sequences go on from where they were; keys are still enforced
        audit_next = db.scalar("SELECT nextval('seq_audit')")
        assert audit_next > db.scalar("SELECT max(audit_id) FROM audit_log")
        with pytest.raises(duckdb.ConstraintException):
            db.execute("INSERT INTO departments (code, name) VALUES ('D-R1', 'again')")
    finally:
        db.close()


def test_restore_and_backup_refusals(world_template: Path, tmp_path: Path,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    database = copy_world(world_template, tmp_path)
    before = table_checksums(database)
    not_a_backup = tmp_path / "notes.duckdb"
    duckdb.connect(str(not_a_backup)).close()
    text_file = tmp_path / "notes.txt"
    text_file.write_text("hello", encoding="utf-8")
    for argv, message in (
            (["restore", str(not_a_backup)], "is not a VisitLens backup"),
            (["restore", str(text_file)], "is not a DuckDB database"),
            (["restore", str(tmp_path / "missing.duckdb")], "no such file"),
            (["backup", str(database)], "exists already")):
        assert cli_main(["--db", str(database), *argv]) == 1, argv
        err = capsys.readouterr().err
        assert message in err and "Traceback" not in err, (argv, err)
    assert table_checksums(database) == before


def save_customer(dash: Any, code: str) -> bool:
    values: dict[str, Any] = {key(ids.cust_field(f), "value"): None for f in FORM_FIELDS}
    values.update({key(ids.cust_field("code"), "value"): code,
                   key(ids.cust_field("name"), "value"): f"备份中{code}",
                   key(ids.cust_field("owners"), "value"): "E-B11-1"})
    response = dash.call(ids.CUST_FORM_MESSAGE, "children", {
        **values, key(ids.CUST_SAVE, "n_clicks"): 1,
        key(ids.CUST_FORM_MODE, "data"): {"mode": "add"}, key(ids.CUST_CHANGES, "data"): 0},
        changed=(ids.CUST_SAVE, "n_clicks"))
    assert response.status_code == 200, response.text[:300]
    return "已保存" in decoded(response)


def test_download_while_serving_and_writing_is_consistent(
        world_template: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Customers are added (customer, binding and audit entry in one transaction each) while
    the admin downloads backups: every backup holds whole changes only, and restores."""
    path = copy_world(world_template, tmp_path / "live")
    saved: list[str] = []
    stop = threading.Event()
    with live_server(path) as server:
        writer_client, admin = client(server, BOSS), client(server, BOSS)

        def write() -> None:
            n = 0
            while not stop.is_set():
                n += 1
                if save_customer(writer_client, f"W{n:05d}"):
                    saved.append(f"W{n:05d}")

        writer = threading.Thread(target=write)
        writer.start()
        while len(saved) < 3 and writer.is_alive():
            threading.Event().wait(0.05)
        backups = []
        try:
            for i in range(3):
                response = download_backup(server.url, admin.session)
                assert response.status_code == 200
                assert response.headers["Content-Disposition"].startswith("attachment;")
                file = tmp_path / f"download-{i}.duckdb"
                file.write_bytes(response.content)
                backups.append(file)
        finally:
            stop.set()
            writer.join(timeout=60)
    assert saved, "the writer saved nothing"
    for file in backups:
        db = Database(file, read_only=True)
        try:
            customers = {r[0] for r in db.rows("SELECT code FROM customers WHERE code LIKE 'W%'")}
            bound = {r[0] for r in db.rows(
                "SELECT customer_code FROM bindings WHERE customer_code LIKE 'W%'")}
            audited = {r[0] for r in db.rows(
                "SELECT entity_key FROM audit_log WHERE action = 'customer.add'")}
        finally:
            db.close()
        assert customers == bound == audited, file  # no change is cut in half
        assert customers <= set(saved)
    final = tmp_path / "restored.duckdb"
    assert cli_main(["--db", str(final), "restore", str(backups[-1])]) == 0
    capsys.readouterr()
    assert table_checksums(final) == table_checksums(backups[-1])
    live = table_checksums(path)
    assert live["customers"][0] >= table_checksums(backups[-1])["customers"][0]
