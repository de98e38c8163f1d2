"""Several web processes on one ClickHouse: no process holds state another one needs.

Two complete VisitLens apps (what two `gunicorn` workers or two hosts would be; see
tests/parity/two_apps.py) serve one chDB store over real HTTP. A user signs in on A and is signed in on B (the session is in the
store, the cookie's key in the shared job folder). An export started on A is polled and
downloaded on B (job state in the store, the file in the shared job folder). Each app
has its own registry, Database object and threads, exactly as separate processes would.
"""

from __future__ import annotations

import io
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from dashboard.components import ids
from tests.dash_client import DashClient, key
from tests.datasets import build_customers
from tests.live import database_file, login_with

pytest.importorskip("chdb")

PAGE = "customers_visited"


@pytest.fixture(scope="module")
def two_processes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    folder = tmp_path_factory.mktemp("stateless")
    source = database_file(folder / "source.duckdb", build_customers)
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.parity.two_apps", str(source), str(folder / "chdb"),
         str(folder / "shared-jobs")],
        stdout=subprocess.PIPE, stderr=(folder / "apps.log").open("w"), text=True,
        cwd=Path(__file__).resolve().parents[2])
    try:
        assert process.stdout is not None
        urls = [process.stdout.readline().strip() for _ in range(2)]
        assert all(u.startswith("http://") for u in urls), (folder / "apps.log").read_text()
        yield urls[0], urls[1]
    finally:
        process.kill()
        process.wait(timeout=30)


def test_a_session_from_one_process_works_on_the_other(two_processes: tuple[str, str]) -> None:
    a, b = two_processes
    session = requests.Session()
    assert login_with(a, session, "boss", "password-1").status_code == 302
    page = session.get(f"{b}/customers/visited", allow_redirects=False, timeout=30)
    assert page.status_code == 200 and "/login" not in page.headers.get("Location", "")
    stranger = requests.get(f"{b}/customers/visited", allow_redirects=False, timeout=30)
    assert stranger.status_code == 302 and "/login" in stranger.headers["Location"]


def test_an_export_started_on_one_process_finishes_on_the_other(
        two_processes: tuple[str, str]) -> None:
    a, b = two_processes
    session = requests.Session()
    assert login_with(a, session, "boss", "password-1").status_code == 302
    on_a, on_b = DashClient(session, a), DashClient(session, b)
    values = {key(ids.filter_department(PAGE), "value"): None,
              key(ids.filter_dates(PAGE), "start_date"): "2024-05-06",
              key(ids.filter_dates(PAGE), "end_date"): "2024-05-12",
              key(ids.CV_BUCKETS, "data"): [], key(ids.CV_BY, "value"): "department"}
    started = on_a.outputs(on_a.call(ids.CV_EXPORT_JOB, "data", {
        **values, key(ids.CV_EXPORT_BUTTON, "n_clicks"): 1}))
    job = started[f"{ids.CV_EXPORT_JOB}.data"]
    assert isinstance(job, str) and job
    status: dict[str, Any] = {}
    for _ in range(150):
        status = on_b.outputs(on_b.call(ids.CV_EXPORT_STATUS, "children", {
            key(ids.CV_EXPORT_POLL, "n_intervals"): 1, key(ids.CV_EXPORT_JOB, "data"): job},
            changed=(ids.CV_EXPORT_POLL, "n_intervals")))
        if status.get(f"{ids.CV_EXPORT_POLL}.disabled"):
            break
        time.sleep(0.2)
    assert f"/download/job/{job}" in repr(status[f"{ids.CV_EXPORT_STATUS}.children"])
    download = session.get(f"{b}/download/job/{job}", timeout=30)
    assert download.status_code == 200
    archive = zipfile.ZipFile(io.BytesIO(download.content))
    assert sorted(archive.namelist()) == ["customers.csv", "customers.xlsx", "summary.csv",
                                          "summary.xlsx"]
    # Another user cannot fetch it from either process.
    other = requests.Session()
    assert login_with(b, other, "east", "password-2").status_code == 302
    assert other.get(f"{a}/download/job/{job}", timeout=30).status_code == 404
