"""File downloads served by plain Flask routes (login required, never cached)."""

from __future__ import annotations

import io

from flask import Flask, Response, abort, request, send_file

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
        io.BytesIO(template_xlsx(kind, lang)),
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


def init_downloads(server: Flask) -> None:
    """Register the download routes on the Flask app."""
    server.add_url_rule(
        "/download/template/<kind>.xlsx", "visitlens_template", _template_view, methods=["GET"]
    )
    server.add_url_rule("/download/job/<job_id>", "visitlens_job", _job_view, methods=["GET"])
