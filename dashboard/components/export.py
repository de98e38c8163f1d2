"""The shared export helper of the pages: a button, a progress bar, a download link.

The zip is built by a job in this process (dashboard.jobs) from the scoped query, so the
callback returns at once; the page polls the job and finally links to the file, which
only its owner may download.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from dash import dcc, html

from dashboard.context import get_jobs
from dashboard.exports import ExportError, ExportTable, check_range, write_zip
from dashboard.i18n import _
from dashboard.jobs import MAX_RUNNING_PER_USER, TooManyJobs
from dashboard.reports.filters import Filters
from dashboard.scope import Scope


def export_controls(button_id: str, job_id: str, poll_id: str, status_id: str) -> html.Div:
    return html.Div(className="vl-export", children=[
        html.Button(_("Export (zip)"), id=button_id, className="vl-button vl-button-primary",
                    n_clicks=0),
        dcc.Store(id=job_id),
        dcc.Interval(id=poll_id, interval=700, disabled=True),
        html.Div(id=status_id, className="vl-export-status", role="status"),
    ])


def start_export(
    scope: Scope,
    build_tables: Callable[[], list[ExportTable]],
    filename: str,
    *,
    filters: Filters | None = None,
    max_days: int | None = None,
) -> tuple[str | None, Any, bool]:
    """Refuse a too-long date range before any work (reports), else start the job.

    Returns the (job id, status shown, poll disabled) outputs of the export callback.
    """
    if filters is not None and max_days is not None:
        try:
            check_range(filters.date_from, filters.date_to, max_days)
        except ExportError:
            days = (filters.date_to - filters.date_from).days + 1
            message = _("An export covers at most {max} days; the range has {days}. "
                        "Choose a shorter range.").format(max=max_days, days=days)
            return None, html.Div(message, className="vl-notice vl-notice-warning",
                                  role="alert"), True
    tables = build_tables()  # headers in the user's language: built in the request
    jobs = get_jobs()

    def work(job: Any) -> None:
        path = jobs.file_path(".zip")
        write_zip(path, tables, job.report)
        job.path, job.filename = path, filename

    try:
        job = jobs.start(scope.username or "", "export", work, limit=MAX_RUNNING_PER_USER)
    except TooManyJobs:
        return None, html.Div(_("You have {count} exports running already. Start another "
                                "one when one of them has finished.").format(
                                    count=MAX_RUNNING_PER_USER),
                              className="vl-notice vl-notice-warning", role="alert"), True
    return job.job_id, _progress(0.0, _("Preparing…")), False


def _progress(fraction: float, text: str) -> html.Div:
    return html.Div(className="vl-progress", children=[
        html.Progress(value=str(round(fraction, 3)), max="1"),
        html.Span(f"{text} {fraction:.0%}"),
    ])


def poll_export(job_id: Any) -> tuple[Any, bool]:
    """(status, poll disabled) for the job: progress, then the link or the error."""
    from flask_login import current_user

    owner = current_user.get_id() if current_user.is_authenticated else None
    job = get_jobs().get(job_id if isinstance(job_id, str) else None, owner or "")
    if job is None:
        return None, True
    if not job.done:
        return _progress(job.fraction, _("Exporting…")), False
    if job.error:
        return html.Div(_("The export failed: {error}").format(error=job.error),
                        className="vl-notice vl-notice-warning", role="alert"), True
    return html.A(_("Download {name}").format(name=job.filename),
                  href=f"/download/job/{job.job_id}", className="vl-button vl-download",
                  id="vl-export-download"), True
