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


def init_downloads(server: Flask) -> None:
    """Register the download routes on the Flask app."""
    server.add_url_rule(
        "/download/template/<kind>.xlsx", "visitlens_template", _template_view, methods=["GET"]
    )
