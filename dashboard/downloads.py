"""File downloads served by plain Flask routes (login required, never cached)."""

from __future__ import annotations

import io

from flask import Flask, Response, abort, jsonify, request, send_file

from dashboard import i18n
from dashboard.auth import login_required_download
from dashboard.i18n import N_
from pipelines.formats import FORMATS, template_xlsx

XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

KIND_NAMES = {
    "departments": N_("Departments"),
    "employees": N_("Employees"),
    "customers": N_("Customers"),
    "visits": N_("Visits"),
    "plans": N_("Visit plans"),
    "holidays": N_("Holidays"),
}


def template_filename(kind: str, lang: str) -> str:
    """The file name users see, e.g. "客户导入模板.xlsx" or "Customers import template.xlsx"."""
    label = i18n.gettext(KIND_NAMES.get(kind, kind), lang)
    return i18n.gettext(N_("{kind} import template"), lang).format(kind=label) + ".xlsx"


@login_required_download
def _template_view(kind: str) -> Response:
    """An empty import template of one format, headers in the asked (or current) language."""
    if kind not in FORMATS:
        abort(404)
    lang = i18n.normalise_language(request.args.get("lang")) or i18n.current_language()
    response = send_file(
        io.BytesIO(template_xlsx(kind, lang, lambda m: i18n.gettext(m, lang))),
        mimetype=XLSX_MIMETYPE,
        as_attachment=True,
        download_name=template_filename(kind, lang),
        conditional=False,
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@login_required_download
def _job_view(job_id: str) -> Response:
    """The file a finished job made; only the user who started it may fetch it."""
    from flask_login import current_user

    from dashboard.context import get_jobs

    job = get_jobs().get(job_id, current_user.get_id())
    if job is None or not job.done or job.path is None or not job.path.exists():
        abort(404)
    response = send_file(job.path, mimetype="application/zip", as_attachment=True,
                         download_name=job.filename or "export.zip", conditional=False)
    response.headers["Cache-Control"] = "no-store"
    return response


@login_required_download
def _backup_view() -> Response:
    """A consistent copy of the whole database, for administrators (audited, refusals too).

    A POST with the CSRF token (the settings page's form): a link or a top-level navigation
    from elsewhere cannot make the server build a whole backup. The copy is made by this
    process, the only one that may open the database file while
    the server runs, into a temporary file that is deleted once it has been sent.
    """

    from dashboard import display
    from dashboard.auth import NotAllowed, form_csrf_ok, require_admin
    from dashboard.context import get_db, get_jobs
    from pipelines import audit
    from pipelines.backup import snapshot

    if not form_csrf_ok():
        refused = jsonify({"error": "invalid CSRF token"})
        refused.status_code = 403
        return refused
    try:
        scope = require_admin("backup.download")
    except NotAllowed:
        refused = jsonify({"error": "administrators only"})
        refused.status_code = 403
        return refused
    db = get_db()
    stamp = display.company_now(display.zone_of(db)[1])  # the file name's time: company clock
    path = snapshot(db, get_jobs().file_path(".duckdb"))
    with db.transaction() as cur:
        audit.record(cur, scope.username, "backup.download", "database", None, None,
                     {"bytes": path.stat().st_size})
    response = send_file(path, mimetype="application/octet-stream", as_attachment=True,
                         download_name=f"visitlens-backup-{stamp:%Y%m%d-%H%M%S}.duckdb",
                         conditional=False)
    response.headers["Cache-Control"] = "no-store"
    response.call_on_close(lambda: path.unlink(missing_ok=True))
    return response


def _backup_needs_post() -> Response:
    """GET (a link, a navigation): 405 and no backup; Dash's pages would answer otherwise."""
    refused = jsonify({"error": "a backup is made by the settings page's button (POST)"})
    refused.status_code = 405
    return refused


def init_downloads(server: Flask) -> None:
    """Register the download routes on the Flask app."""
    server.add_url_rule(
        "/download/template/<kind>.xlsx", "visitlens_template", _template_view, methods=["GET"]
    )
    server.add_url_rule("/download/job/<job_id>", "visitlens_job", _job_view, methods=["GET"])
    server.add_url_rule("/download/backup", "visitlens_backup", _backup_view, methods=["POST"])
    server.add_url_rule("/download/backup", "visitlens_backup_get", _backup_needs_post,
                        methods=["GET"])
