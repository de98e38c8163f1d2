"""Long work (exports, imports) in a thread of the server process, with progress to poll.

Dash background callbacks run in another process, which cannot open the DuckDB file; so a
job runs in a thread here, the page polls :meth:`JobRegistry.get` with a dcc.Interval, and
the result file is downloaded from a login-protected route that checks the job's owner.
The registry lives on the Flask app (one per process), never in a module global.

On ClickHouse several web processes (or hosts) serve one store, and a poll may reach a
process that did not start the job: :class:`SharedJobRegistry` keeps each job's state in
the store's ``jobs`` table and its result file in a folder all processes share, so no
process holds state another one needs.
"""

from __future__ import annotations

import json
import os
import queue
import secrets
import shutil
import stat
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pipelines.store import Store

JOB_TTL_SECONDS = 3600
# Long work shares a bounded pool of threads (queued jobs wait, "queued"), and a user may
# have at most MAX_RUNNING_PER_USER exports at a time: starting jobs cannot exhaust the
# process's threads, CPU or disk (issue 14, item 8).
POOL_SIZE = 4
MAX_RUNNING_PER_USER = 2
# A shared job writes its progress at most this often (every report would be a write).
PROGRESS_WRITE_SECONDS = 0.5


@dataclass
class Job:
    """One piece of long work and what the page shows of it."""

    job_id: str
    owner: str
    kind: str
    stage: str = "queued"
    fraction: float = 0.0
    done: bool = False
    error: str | None = None
    result: Any = None
    path: Path | None = None
    filename: str | None = None
    created: float = field(default_factory=time.time)

    # Set by a shared registry: called after each change so other processes see it.
    on_change: Callable[[Job, bool], None] | None = field(default=None, repr=False,
                                                          compare=False)

    def report(self, stage: str, fraction: float) -> None:
        self.stage, self.fraction = stage, max(0.0, min(1.0, fraction))
        if self.on_change is not None:
            self.on_change(self, False)

    def save(self) -> None:
        """Publish a change made to the result (e.g. a claimed detect) at once."""
        if self.on_change is not None:
            self.on_change(self, True)


# How a job kind's result travels between processes: (to JSON-able, from JSON-able).
Codec = tuple[Callable[[Any], Any], Callable[[Any], Any]]
# Filled when the modules that start jobs are imported (constant afterwards).
CODECS: dict[str, Codec] = {}


class TooManyJobs(RuntimeError):
    """The user already has the most jobs of this kind running."""


def result_codec(kind: str, encode: Callable[[Any], Any], decode: Callable[[Any], Any]) -> None:
    """Declare how results of `kind` become JSON and back (used by SharedJobRegistry)."""
    CODECS[kind] = (encode, decode)


class JobRegistry:
    """Jobs of this process, by id; results kept for an hour."""

    def __init__(self) -> None:
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()
        self._folder = Path(tempfile.mkdtemp(prefix="visitlens-jobs-"))
        self._queue: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()
        self._workers: list[threading.Thread] = []

    def _created(self, job: Job) -> None:
        """Hook: the job exists and its work is about to start."""

    def _finished(self, job: Job) -> None:
        """Hook: the job's work returned or failed (the shared registry publishes it)."""

    def start(
        self, owner: str, kind: str, work: Callable[[Job], None], limit: int | None = None
    ) -> Job:
        """Queue `work(job)` on the pool; it reports progress and sets result/path.

        Raises:
            TooManyJobs: `owner` already has `limit` jobs of `kind` that are not done.
        """
        self._expire()
        job = Job(secrets.token_urlsafe(16), owner, kind)
        with self._lock:
            if limit is not None and self.running(owner, kind) >= limit:
                raise TooManyJobs(f"{owner} has {limit} {kind} jobs running")
            self._jobs[job.job_id] = job
        self._created(job)

        def run() -> None:
            try:
                work(job)
            except Exception as exc:  # the page shows the message; the log has the trace
                import logging

                logging.getLogger(__name__).exception("job %s failed", job.kind)
                job.error = str(exc) or exc.__class__.__name__
            finally:
                job.done = True
                if job.error is None:
                    job.report("done", 1.0)
                self._finished(job)

        self._queue.put(run)
        with self._lock:
            if len(self._workers) < POOL_SIZE:
                worker = threading.Thread(target=self._serve, daemon=True,
                                          name=f"visitlens-job-{len(self._workers)}")
                worker.start()
                self._workers.append(worker)
        return job

    def _serve(self) -> None:
        while True:
            self._queue.get()()

    def running(self, owner: str, kind: str) -> int:
        """How many jobs of `kind` that `owner` started are not done (queued or working)."""
        return sum(1 for j in list(self._jobs.values())
                   if j.owner == owner and j.kind == kind and not j.done)

    def get(self, job_id: str | None, owner: str) -> Job | None:
        """The job if it exists and belongs to `owner` (others' ids answer None)."""
        if not job_id:
            return None
        with self._lock:
            job = self._jobs.get(job_id)
        return job if job is not None and job.owner == owner else None

    def file_path(self, suffix: str) -> Path:
        return self._folder / f"{secrets.token_hex(8)}{suffix}"

    def _expire(self) -> None:
        cutoff = time.time() - JOB_TTL_SECONDS
        with self._lock:
            old = [k for k, j in self._jobs.items() if j.done and j.created < cutoff]
            for key in old:
                job = self._jobs.pop(key)
                if job.path is not None:
                    job.path.unlink(missing_ok=True)

    def close(self) -> None:
        shutil.rmtree(self._folder, ignore_errors=True)


class JobFolderError(RuntimeError):
    """The shared job folder is not this user's own (other local users could read it)."""


def private_folder(folder: Path) -> Path:
    """`folder` created with mode 0700, or checked: one owned by another user (or a link)
    is refused, our own is made 0700 (an older version created it 0755)."""
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    info = folder.lstat()
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid():
        raise JobFolderError(f"the job folder {folder} is not a folder of this user: other "
                             "users could read or replace exports there. Set "
                             "VISITLENS_JOB_DIR to a folder of your own.")
    if stat.S_IMODE(info.st_mode) & 0o077:
        folder.chmod(0o700)
    return folder


def _same(value: Any) -> Any:
    return value


class SharedJobRegistry(JobRegistry):
    """Jobs whose state lives in the store, for several processes on one ClickHouse.

    The work still runs in a thread of the process that started it; its progress, outcome
    and result file are visible to every process: state in the ``jobs`` table (written at
    most every PROGRESS_WRITE_SECONDS, and at the end), files in `folder`, which must be a
    folder all processes share (``$VISITLENS_JOB_DIR``; a network mount across hosts).

    Args:
        db: the shared store.
        folder: the shared folder for result files.
    """

    def __init__(self, db: Store, folder: Path) -> None:
        super().__init__()
        shutil.rmtree(self._folder, ignore_errors=True)
        self._folder = private_folder(folder)
        self._db = db
        self._written: dict[str, float] = {}

    def _created(self, job: Job) -> None:
        job.on_change = self._write
        self._write(job, True)  # before the work starts: a poll anywhere finds it

    def _finished(self, job: Job) -> None:
        if job.path is not None and job.path.exists():
            job.path.chmod(0o600)  # the folder is 0700 already; the file is private too
        self._write(job, True)

    def _write(self, job: Job, force: bool) -> None:
        now = time.monotonic()
        if not force and now - self._written.get(job.job_id, 0.0) < PROGRESS_WRITE_SECONDS:
            return
        self._written[job.job_id] = now
        encode = CODECS.get(job.kind, (_same, _same))[0]
        result = None if job.result is None else json.dumps(encode(job.result),
                                                             ensure_ascii=False, default=str)
        stamp, written = datetime.fromtimestamp(job.created), datetime.now()
        # The new state goes in before the old one goes: ClickHouse has no transactions,
        # and a poll between a delete and an insert would find no job at all.
        with self._db.transaction() as cur:
            cur.execute(
                "INSERT INTO jobs (job_id, owner, kind, stage, fraction, done, error, "
                "result_json, path, filename, created_at, updated_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [job.job_id, job.owner, job.kind, job.stage, float(job.fraction), job.done,
                 job.error, result, None if job.path is None else str(job.path),
                 job.filename, stamp, written])
            cur.execute("DELETE FROM jobs WHERE job_id = ? AND updated_at < ?",
                        [job.job_id, written])

    def running(self, owner: str, kind: str) -> int:
        """Jobs not done of every process (a job of a process that died counts until it
        expires)."""
        cutoff = datetime.now() - timedelta(seconds=JOB_TTL_SECONDS)
        return int(self._db.scalar(
            "SELECT count(DISTINCT job_id) FROM jobs WHERE owner = ? AND kind = ? "
            "AND created_at > ? AND job_id NOT IN (SELECT job_id FROM jobs WHERE done)",
            [owner, kind, cutoff]) or 0)

    def get(self, job_id: str | None, owner: str) -> Job | None:
        """The job from the store (any process may have started it), if `owner`'s."""
        if not job_id:
            return None
        rows = self._db.records(
            "SELECT * FROM jobs WHERE job_id = ? AND owner = ? ORDER BY updated_at DESC "
            "LIMIT 1", [job_id, owner])
        if not rows:
            return None
        row = rows[0]
        decode = CODECS.get(row["kind"], (_same, _same))[1]
        result = None if row["result_json"] is None else decode(json.loads(row["result_json"]))
        job = Job(row["job_id"], row["owner"], row["kind"], stage=row["stage"],
                  fraction=float(row["fraction"]), done=bool(row["done"]), error=row["error"],
                  result=result, path=None if row["path"] is None else Path(row["path"]),
                  filename=row["filename"], created=row["created_at"].timestamp())
        job.on_change = self._write
        return job

    def _expire(self) -> None:
        cutoff = datetime.now() - timedelta(seconds=JOB_TTL_SECONDS)
        old = self._db.rows("SELECT job_id, path FROM jobs WHERE done AND created_at < ?",
                            [cutoff])
        for job_id, path in old:
            if path:
                Path(path).unlink(missing_ok=True)
            with self._db.transaction() as cur:
                cur.execute("DELETE FROM jobs WHERE job_id = ?", [job_id])

    def close(self) -> None:
        """The folder is shared: other processes' files stay."""
