"""Export jobs: at most two running per user, a bounded pool, a private shared folder
(issue 14, items 5 and 8)."""

from __future__ import annotations

import os
import stat
import threading
import time
from pathlib import Path

import pytest

from dashboard import jobs
from dashboard.jobs import (
    MAX_RUNNING_PER_USER,
    POOL_SIZE,
    JobFolderError,
    JobRegistry,
    SharedJobRegistry,
    TooManyJobs,
)
from pipelines.clickhouse.schema import table_columns
from pipelines.db import Database


def _wait_until(condition: object, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


@pytest.fixture
def store(tmp_path: Path) -> Database:
    """A DuckDB file holding the ``jobs`` table as ClickHouse has it: without an enforced
    primary key (the shared registry writes a job's new row before deleting the old)."""
    db = Database(tmp_path / "jobs.duckdb")
    db.execute("CREATE TABLE jobs (job_id VARCHAR, owner VARCHAR, kind VARCHAR, "
               "stage VARCHAR, fraction DOUBLE, done BOOLEAN, error VARCHAR, "
               "result_json VARCHAR, path VARCHAR, filename VARCHAR, "
               "created_at TIMESTAMP, updated_at TIMESTAMP)")
    assert tuple(r[0] for r in db.rows("SELECT column_name FROM duckdb_columns() WHERE "
                                       "table_name = 'jobs' ORDER BY column_index")) \
        == table_columns()["jobs"]  # the columns of schema.sql
    yield db  # type: ignore[misc]
    db.close()


@pytest.fixture(params=["memory", "shared"])
def registry(request: pytest.FixtureRequest, tmp_path: Path, store: Database) -> JobRegistry:
    if request.param == "memory":
        return JobRegistry()
    return SharedJobRegistry(store, tmp_path / "shared-jobs")


def test_two_running_exports_per_user_then_refused(registry: JobRegistry) -> None:
    release = threading.Event()
    started = [registry.start("ann", "export", lambda job: release.wait(10),
                              limit=MAX_RUNNING_PER_USER) for _ in range(MAX_RUNNING_PER_USER)]
    with pytest.raises(TooManyJobs):
        registry.start("ann", "export", lambda job: None, limit=MAX_RUNNING_PER_USER)
    other = registry.start("bob", "export", lambda job: None, limit=MAX_RUNNING_PER_USER)
    release.set()
    _wait_until(lambda: all(registry.get(j.job_id, "ann").done  # type: ignore[union-attr]
                            for j in started))
    _wait_until(lambda: registry.get(other.job_id, "bob").done)  # type: ignore[union-attr]
    again = registry.start("ann", "export", lambda job: None, limit=MAX_RUNNING_PER_USER)
    _wait_until(lambda: registry.get(again.job_id, "ann").done)  # type: ignore[union-attr]


def test_jobs_share_a_bounded_pool() -> None:
    registry = JobRegistry()
    release, lock = threading.Event(), threading.Lock()
    running, most = [0], [0]

    def work(job: jobs.Job) -> None:
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        release.wait(10)
        with lock:
            running[0] -= 1

    before = threading.active_count()
    started = [registry.start(f"user{n}", "export", work, limit=MAX_RUNNING_PER_USER)
               for n in range(POOL_SIZE * 3)]
    _wait_until(lambda: running[0] == POOL_SIZE)
    time.sleep(0.2)
    assert running[0] == POOL_SIZE  # the others wait in the queue
    assert threading.active_count() - before <= POOL_SIZE
    queued = registry.get(started[-1].job_id, f"user{POOL_SIZE * 3 - 1}")
    assert queued is not None and queued.stage == "queued" and not queued.done
    release.set()
    _wait_until(lambda: all(j.done for j in started))
    assert most[0] == POOL_SIZE


def test_the_shared_folder_is_private(tmp_path: Path, store: Database) -> None:
    folder = tmp_path / "visitlens-jobs"
    registry = SharedJobRegistry(store, folder)
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700

    def work(job: jobs.Job) -> None:
        path = registry.file_path(".zip")
        path.write_bytes(b"PK")
        job.path, job.filename = path, "x.zip"

    job = registry.start("ann", "export", work)
    _wait_until(lambda: registry.get(job.job_id, "ann").done)  # type: ignore[union-attr]
    done = registry.get(job.job_id, "ann")
    assert done is not None and done.path is not None
    assert stat.S_IMODE(done.path.stat().st_mode) == 0o600


def test_an_old_open_folder_is_closed_and_a_strangers_refused(
        tmp_path: Path, store: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "visitlens-jobs"
    folder.mkdir(mode=0o755)
    folder.chmod(0o755)
    SharedJobRegistry(store, folder)
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    monkeypatch.setattr(os, "getuid", lambda: folder.stat().st_uid + 1)
    with pytest.raises(JobFolderError, match="VISITLENS_JOB_DIR"):
        SharedJobRegistry(store, folder)
