"""A second process on the same database file (issue 9, item 10): a second server, an import,
a report, a backup or a restore while the server runs each fail with a clear message and
status 1 — no traceback — and the running server and its data are untouched.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import requests

from tests.live import VISITLENS, _clean_env, live_server
from tests.security.support import copy_world, session_for
from tests.security.world import BOSS, FROM, TO

IN_USE = "is in use by another VisitLens process"


def test_second_processes_are_refused_cleanly(world_template: Path, tmp_path: Path) -> None:
    path = copy_world(world_template, tmp_path)
    csv_file = tmp_path / "holidays.csv"
    csv_file.write_text("date,kind\n2024-06-03,off\n", encoding="utf-8")
    backup_target = tmp_path / "copy.duckdb"
    commands = {
        "serve": ["serve", "--host", "127.0.0.1", "--port", "0"],
        "import": ["import", "holidays", str(csv_file)],
        "report": ["report", "ranking", "--from", FROM, "--to", TO],
        "backup": ["backup", str(backup_target)],
        "restore": ["restore", str(world_template)],
    }
    with live_server(path) as server:
        session = session_for(server, BOSS)
        before = session.get(server.url + "/_dash-layout", timeout=30)
        assert before.status_code == 200
        started = {name: subprocess.Popen([str(VISITLENS), "--db", str(path), *argv],
                                          stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                          text=True, env=_clean_env())
                   for name, argv in commands.items()}
        errors = {}
        for name, process in started.items():
            out, err = process.communicate(timeout=120)
            assert process.returncode == 1, (name, out, err)
            assert err.startswith("visitlens: error: The database ") and IN_USE in err, name
            assert "Traceback" not in err and "listening" not in out, name
            errors[name] = err
        assert "/download/backup" in errors["backup"]  # what to do instead
        assert not backup_target.exists()
        assert server.process.poll() is None
        assert requests.get(server.url + "/healthz", timeout=30).json()["database"] is True
        after = session.get(server.url + "/_dash-layout", timeout=30)
        assert after.status_code == 200
    assert not list(tmp_path.glob("*.restoring-*"))
    assert not list(tmp_path.glob("*.before-restore-*"))
