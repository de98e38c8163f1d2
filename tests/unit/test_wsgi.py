"""`dashboard.wsgi:application` builds the app from the environment (for gunicorn -w N)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.live import build_database


def test_wsgi_application_answers(tmp_path: Path) -> None:
    path = build_database(tmp_path / "wsgi.duckdb")
    probe = ("from dashboard.wsgi import application as app; "
             "c = app.test_client(); print(c.get('/healthz').status_code, "
             "c.get('/visits').status_code)")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          env={"VISITLENS_DB": str(path), "PATH": "/usr/bin:/bin"},
                          timeout=120, cwd=Path(__file__).resolve().parents[2])
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["200", "302"]  # healthy; pages need a login
