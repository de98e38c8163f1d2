"""Long work (exports, imports) in a thread of the server process, with progress to poll.

Dash background callbacks run in another process, which cannot open the DuckDB file; so a
job runs in a thread here, the page polls :meth:`JobRegistry.get` with a dcc.Interval, and
the result file is downloaded from a login-protected route that checks the job's owner.
The registry lives on the Flask app (one per process), never in a module global.
"""

from __future__ import annotations

import secrets
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

JOB_TTL_SECONDS = 3600


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

    def report(self, stage: str, fraction: float) -> None:
        self.stage, self.fraction = stage, max(0.0, min(1.0, fraction))


class JobRegistry:
    """Jobs of this process, by id; results kept for an hour."""

    def __init__(self) -> None:
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()
        self._folder = Path(tempfile.mkdtemp(prefix="visitlens-jobs-"))

    def start(
        self, owner: str, kind: str, work: Callable[[Job], None]
    ) -> Job:
        """Run `work(job)` in a daemon thread; it reports progress and sets result/path."""
        self._expire()
        job = Job(secrets.token_urlsafe(16), owner, kind)
        with self._lock:
            self._jobs[job.job_id] = job

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

        threading.Thread(target=run, name=f"job-{kind}", daemon=True).start()
        return job

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
