"""数据导入 (/customers/import): detect and import files; admins only.

Two steps, as users know them (DESIGN.md section 4): **Detect** lists every problem of
the uploaded file, **Import** writes it in one transaction (all rows or none). Both run as
jobs in this process (dashboard.jobs), so a big file shows progress while the page polls.

What the browser says is never trusted. Every callback checks the role on the server
first (a forged call by another role is refused and lands in the audit log). Import is
allowed only by a clean detect of exactly this file: the detect job keeps a fingerprint
(sha256 of kind, file name and bytes) and a one-time clearance; the import callback hashes
the bytes it receives and must claim that clearance. The import re-detects inside its
transaction anyway, so a database changed in between still cannot get a bad row.

The file's bytes stay on the server only while a job runs (in its closure): dcc.Upload
holds them in the browser and sends them with Detect and Import; no callback sends them
back. Problems stay in the finished job and reach the browser a page at a time.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

import dash
import dash_ag_grid as dag
from dash import Input, Output, State, callback, dcc, html
from dash.development.base_component import Component
from dash.exceptions import PreventUpdate

from dashboard import display
from dashboard.auth import NotAllowed, is_admin, require_admin
from dashboard.components import grid, ids
from dashboard.components.cards import Kpi, kpi_cards, number
from dashboard.components.notices import message
from dashboard.components.page import page_layout, registration
from dashboard.context import get_db, get_jobs, get_settings
from dashboard.downloads import KIND_NAMES
from dashboard.i18n import N_, _, current_language, translate_problem
from dashboard.jobs import Job, JobRegistry, result_codec
from dashboard.output import records
from dashboard.reports import lookups
from pipelines import formats
from pipelines.formats import FORMATS, KINDS, Problem
from pipelines.imports import ImportResult, run_import

KEY = "customers_import"
DEFAULT_KIND = "customers"
ACCEPTED = ".csv,.txt,.xlsx,.xlsm"
HISTORY_LIMIT = 200
MAX_FILENAME = 200
DETECT_JOB = "import-detect"
IMPORT_JOB = "import"
POLL_MS = 600
HIDDEN: Mapping[str, str] = {"display": "none"}
SHOWN: Mapping[str, str] = {}

STAGES: Mapping[str, str] = {
    "queued": N_("Waiting…"),
    "read": N_("Reading the file…"),
    "detect": N_("Checking every row…"),
    "write": N_("Writing…"),
    "done": N_("Done"),
}
HISTORY_FIELDS = ("import_id", "started_at", "username", "kind", "filename", "rows",
                  "inserted", "skipped")


@dataclass
class Outcome:
    """What a detect or import job found, kept in the job on the server.

    Attributes:
        fingerprint: sha256 of what was checked (kind, file name, bytes).
        clean: a detect without problems, of at least one row: an import may claim it.
    """

    kind: str
    filename: str
    fingerprint: str
    detect_only: bool
    rows: int
    ok: bool
    inserted: int
    skipped: int
    problems: list[Problem]
    total_problems: int
    claimed: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    @property
    def clean(self) -> bool:
        return self.detect_only and self.ok and not self.problems and self.rows > 0

    def claim(self, fingerprint: str) -> bool:
        """Let one import of the same file through (True once; False for any other file)."""
        with self._lock:
            if self.claimed or not self.clean or not hmac.compare_digest(
                    self.fingerprint.encode(), fingerprint.encode()):
                return False
            self.claimed = True
            return True


def _outcome_to_json(outcome: Outcome) -> dict[str, Any]:
    return {"kind": outcome.kind, "filename": outcome.filename,
            "fingerprint": outcome.fingerprint, "detect_only": outcome.detect_only,
            "rows": outcome.rows, "ok": outcome.ok, "inserted": outcome.inserted,
            "skipped": outcome.skipped, "total_problems": outcome.total_problems,
            "claimed": outcome.claimed,
            "problems": [{"row": p.row, "column": p.column, "code": p.code,
                          "message": p.message, "params": p.params} for p in outcome.problems]}


def _outcome_from_json(data: dict[str, Any]) -> Outcome:
    problems = [Problem(p["row"], p["column"], p["code"], p["message"], p.get("params") or {})
                for p in data["problems"]]
    return Outcome(data["kind"], data["filename"], data["fingerprint"], data["detect_only"],
                   data["rows"], data["ok"], data["inserted"], data["skipped"], problems,
                   data["total_problems"], data["claimed"])


# Several web processes on one ClickHouse: a detect's outcome travels through the store.
result_codec(DETECT_JOB, _outcome_to_json, _outcome_from_json)
result_codec(IMPORT_JOB, _outcome_to_json, _outcome_from_json)


@dataclass(frozen=True)
class Upload:
    """A file as dcc.Upload sent it: the name (cleaned) and the base64 payload."""

    filename: str
    payload: str
    size: int

    def data(self) -> bytes | None:
        """The file's bytes, or None when the payload is not valid base64."""
        try:
            return base64.b64decode(self.payload, validate=True)
        except (binascii.Error, ValueError):
            return None


# -- helpers ----------------------------------------------------------------------------------
def _kind(value: Any) -> str | None:
    return value if isinstance(value, str) and value in KINDS else None


def _clean_filename(name: str) -> str:
    """The base name without control characters, at most MAX_FILENAME long (suffix kept)."""
    base = re.split(r"[\\/]", name)[-1]
    base = "".join(ch for ch in base if ch >= " " and ch != "\x7f").strip()
    suffix = PurePosixPath(base).suffix[:10]
    if len(base) > MAX_FILENAME:
        base = base[:MAX_FILENAME - len(suffix)] + suffix
    return base or "upload"


def parse_upload(contents: Any, filename: Any) -> Upload | None:
    """The upload from dcc.Upload's values (browser input), sized without decoding it."""
    if not isinstance(contents, str) or not isinstance(filename, str):
        return None
    header, sep, payload = contents.partition(",")
    if not sep or not header.startswith("data:") or not header.endswith(";base64"):
        return None
    padding = len(payload) - len(payload.rstrip("="))
    size = max(0, len(payload) * 3 // 4 - min(padding, 2))
    return Upload(_clean_filename(filename), payload, size)


def upload_limit() -> int:
    """Largest file accepted: the format's limit, or the server's if that is lower."""
    return min(formats.MAX_UPLOAD_BYTES, get_settings().max_upload_mb * 1024 * 1024)


def size_text(size: int) -> str:
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KB"
    return f"{size / 1024 / 1024:.1f} MB"


def fingerprint(kind: str, filename: str, data: bytes) -> str:
    """What a clean detect vouches for: this kind, this name (it picks the reader), these bytes."""
    digest = hashlib.sha256()
    for part in (kind.encode(), filename.encode("utf-8", "surrogatepass"), data):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


def _too_large(size: int) -> html.Div:
    return message(_("The file is {size}; the limit is {limit}. Split it into smaller "
                     "files.").format(size=size_text(size), limit=size_text(upload_limit())),
                   False)


def _only_admins() -> html.Div:
    return message(_("Only administrators may import data."), False)


def _template_href(kind: str, lang: str) -> str:
    return f"/download/template/{kind}.xlsx?lang={lang}"


def _outcome(result: ImportResult, filename: str, print_: str) -> Outcome:
    return Outcome(result.kind, filename, print_, result.detect_only, result.rows, result.ok,
                   result.inserted, result.skipped, list(result.problems),
                   max(result.total_problems, len(result.problems)))


def _job(jobs: JobRegistry, job_id: Any, owner: str, kind: str) -> Job | None:
    """The user's own job of this kind (another user's id, or a made-up one, is None)."""
    job = jobs.get(job_id if isinstance(job_id, str) else None, owner)
    return job if job is not None and job.kind == kind else None


def _finished_outcome(job: Job | None) -> Outcome | None:
    if job is None or not job.done or job.error or not isinstance(job.result, Outcome):
        return None
    return job.result


def _progress(job: Job) -> html.Div:
    label = _(STAGES.get(job.stage, STAGES["queued"]))
    return html.Div(className="vl-progress", children=[
        html.Progress(value=str(round(job.fraction, 3)), max="1"),
        html.Span(f"{label} {job.fraction:.0%}"),
    ])


def _starting(text: str) -> html.Div:
    return html.Div(className="vl-progress", children=[
        html.Progress(value="0", max="1"), html.Span(f"{text} 0%")])


def _data(**counts: int) -> dict[str, Any]:
    """data-* attributes carrying the counts, for scripts and tests (the text is translated)."""
    return {f"data-{name}": str(value) for name, value in counts.items()}


def _summary(outcome: Outcome) -> html.Div:
    """The counts of a detect (or of a refused import) and what to do next."""
    clean = outcome.ok and not outcome.problems
    cards = kpi_cards([
        Kpi(_("Rows"), number(outcome.rows)),
        Kpi(_("Problems"), number(outcome.total_problems)),
        Kpi(_("Would insert"), number(outcome.inserted) if clean else "—"),
        Kpi(_("Would skip (already stored)"), number(outcome.skipped) if clean else "—"),
    ])
    if outcome.problems:
        text = _("{count} problems found. Fix them in the file, then choose it again and "
                 "click Detect.").format(count=number(outcome.total_problems))
        if outcome.total_problems > len(outcome.problems):
            text += " " + _("Only the first {shown} are listed.").format(
                shown=number(len(outcome.problems)))
        notice = message(text, False)
    elif outcome.rows == 0:
        notice = message(_("The file holds no rows to import."), False)
    elif outcome.inserted == 0:
        notice = message(_("No problems found. All {count} rows are already stored: "
                           "importing adds nothing.").format(count=number(outcome.rows)),
                         True)
    else:
        notice = message(_("No problems found. Import writes {count} new rows.").format(
            count=number(outcome.inserted)), True)
    return html.Div(children=[
        html.Div(cards, className="vl-kpis", **_data(
            rows=outcome.rows, problems=outcome.total_problems, inserted=outcome.inserted,
            skipped=outcome.skipped)),
        notice,
    ])


def _column_label(kind: str, column: str | None) -> str:
    """A problem's column as the user's header: the template's Chinese one in Chinese."""
    if column is None:
        return ""
    if current_language() == "zh":
        for col in FORMATS.get(kind, ()):
            if col.name == column:
                return col.zh
    return column


def _history_rows() -> list[dict[str, Any]]:
    """The latest imports; their times (server clock) on the company's wall clock."""
    db = get_db()
    frame = lookups.import_history(db, HISTORY_LIMIT)
    rows = records(frame, HISTORY_FIELDS)
    zone = display.zone_of(db)[1]
    for row, started in zip(rows, frame["started_at"], strict=True):
        row["started_at"] = display.company_time(started, zone)
        row["kind_label"] = _(KIND_NAMES.get(row["kind"], row["kind"]))
        if row["username"] is None:
            row["username"] = _("(command line)")
    return rows


# -- layout -----------------------------------------------------------------------------------
def layout(**query_args: Any) -> Component:
    """The page for an admin (others get the "not allowed" notice of page_layout)."""
    frame = page_layout(KEY, query_args)
    if not is_admin():
        return frame
    kind = _kind(query_args.get("kind")) or DEFAULT_KIND
    frame.children += [
        dcc.Store(id=ids.query_store(KEY)),
        html.Div(id=ids.query_sink(KEY), hidden=True),
        dcc.Store(id=ids.IMPORT_DETECT_JOB),
        dcc.Store(id=ids.IMPORT_RUN_JOB),
        dcc.Interval(id=ids.IMPORT_POLL, interval=POLL_MS, disabled=True),
        html.Div(className="vl-card", children=[
            html.H2(_("Choose the data and the file"), className="vl-card-title"),
            html.Div(className="vl-inline", children=[
                html.Label(_("Kind of data"), htmlFor=ids.IMPORT_KIND),
                dcc.RadioItems(id=ids.IMPORT_KIND, value=kind, inline=True,
                               className="vl-segmented",
                               options=[{"label": _(KIND_NAMES[k]), "value": k}
                                        for k in KINDS]),
            ]),
            html.Div(className="vl-inline", children=[
                html.Span(_("Empty template:")),
                html.A(_("Chinese headers"), id=ids.IMPORT_TEMPLATE_ZH,
                       href=_template_href(kind, "zh"), className="vl-button vl-link-button"),
                html.A(_("English headers"), id=ids.IMPORT_TEMPLATE_EN,
                       href=_template_href(kind, "en"), className="vl-button vl-link-button"),
                html.Span(_("Fill in the first sheet; the second one explains each column."),
                          className="vl-hint"),
            ]),
            dcc.Upload(id=ids.IMPORT_UPLOAD, accept=ACCEPTED, multiple=False,
                       className="vl-upload", className_active="vl-upload-active",
                       children=html.Div([
                           html.Strong(_("Drop a file here, or click to choose one")),
                           html.Div(_("CSV (UTF-8 or GBK) or Excel .xlsx (first sheet), "
                                      "headers in Chinese or English, at most {limit}.").format(
                                          limit=size_text(upload_limit())),
                                    className="vl-hint"),
                       ])),
            html.Div(id=ids.IMPORT_FILE, className="vl-import-file", role="status"),
            html.Div(className="vl-inline vl-import-actions", children=[
                html.Button(_("Detect"), id=ids.IMPORT_DETECT, n_clicks=0, disabled=True,
                            className="vl-button vl-button-primary"),
                html.Button(_("Import"), id=ids.IMPORT_RUN, n_clicks=0, disabled=True,
                            className="vl-button vl-button-primary"),
                html.Div(id=ids.IMPORT_STATUS, role="status", className="vl-export-status"),
            ]),
            html.P(_("Import becomes possible when Detect found no problems in this file. "
                     "It writes all rows or none; rows already stored (visits, plan items, "
                     "holidays) are skipped."), className="vl-hint"),
            html.Div(id=ids.IMPORT_SUMMARY),
            html.Div(id=ids.IMPORT_RESULT),
            html.Div(id=ids.IMPORT_PROBLEMS_SECTION, style=dict(HIDDEN), children=[
                grid.server_grid(ids.IMPORT_PROBLEMS_GRID, [
                    {"field": "row", "headerName": _("Row"), "width": 90,
                     "type": "numericColumn"},
                    {"field": "column", "headerName": _("Column"), "width": 180},
                    {"field": "message", "headerName": _("Problem"), "flex": 1,
                     "tooltipField": "message"},
                ], height="400px", row_id="n"),
            ]),
        ]),
        html.Div(className="vl-card", children=[
            html.H2(_("Import history"), className="vl-card-title"),
            html.P(_("The latest {count} imports, newest first.").format(count=HISTORY_LIMIT),
                   className="vl-hint"),
            dag.AgGrid(
                id=ids.IMPORT_HISTORY_GRID, rowData=_history_rows(),
                className="ag-theme-quartz", getRowId="params.data.import_id",
                columnDefs=[
                    {"field": "started_at", "headerName": display.zoned(
                        _("Time"), display.zone_of(get_db())[0]), "width": 190},
                    {"field": "username", "headerName": _("User"), "width": 130},
                    {"field": "kind_label", "headerName": _("Kind of data"), "width": 120},
                    {"field": "filename", "headerName": _("File"), "flex": 1,
                     "tooltipField": "filename"},
                    *[{"field": f, "headerName": label, "width": 110,
                       "type": "numericColumn"}
                      for f, label in (("rows", _("Rows")), ("inserted", _("Inserted")),
                                       ("skipped", _("Skipped")))],
                ],
                defaultColDef={"resizable": True, "sortable": True},
                dashGridOptions={"enableCellTextSelection": True},
                style={"height": "420px", "width": "100%"},
            ),
        ]),
    ]
    return frame


# -- callbacks --------------------------------------------------------------------------------
@callback(
    Output(ids.IMPORT_TEMPLATE_ZH, "href"),
    Output(ids.IMPORT_TEMPLATE_EN, "href"),
    Output(ids.query_store(KEY), "data"),
    Output(ids.IMPORT_RUN, "disabled", allow_duplicate=True),
    Output(ids.IMPORT_DETECT_JOB, "data", allow_duplicate=True),
    Output(ids.IMPORT_SUMMARY, "children", allow_duplicate=True),
    Output(ids.IMPORT_PROBLEMS_SECTION, "style", allow_duplicate=True),
    Input(ids.IMPORT_KIND, "value"),
    prevent_initial_call=True,
)
def choose_kind(kind: Any) -> tuple[Any, ...]:
    """Another kind: its templates, the address bar, and the old detect no longer counts."""
    try:
        require_admin("import.choose")
    except NotAllowed:
        raise PreventUpdate from None
    chosen = _kind(kind) or DEFAULT_KIND
    return (_template_href(chosen, "zh"), _template_href(chosen, "en"),
            "" if chosen == DEFAULT_KIND else f"?kind={chosen}", True, None, None, dict(HIDDEN))


@callback(
    Output(ids.IMPORT_FILE, "children"),
    Output(ids.IMPORT_DETECT, "disabled"),
    Output(ids.IMPORT_RUN, "disabled", allow_duplicate=True),
    Output(ids.IMPORT_DETECT_JOB, "data", allow_duplicate=True),
    Output(ids.IMPORT_SUMMARY, "children", allow_duplicate=True),
    Output(ids.IMPORT_RESULT, "children", allow_duplicate=True),
    Output(ids.IMPORT_PROBLEMS_SECTION, "style", allow_duplicate=True),
    Input(ids.IMPORT_UPLOAD, "contents"),
    State(ids.IMPORT_UPLOAD, "filename"),
    prevent_initial_call=True,
)
def choose_file(contents: Any, filename: Any) -> tuple[Any, ...]:
    """Show the chosen file's name and size; refuse one over the limit before any work."""
    try:
        require_admin("import.file")
    except NotAllowed:
        return _only_admins(), True, True, None, None, None, dict(HIDDEN)
    upload = parse_upload(contents, filename)
    reset = (True, None, None, None, dict(HIDDEN))
    if upload is None:
        return message(_("Choose a CSV or Excel file."), False), True, *reset
    info = html.Div(className="vl-inline", children=[
        html.Strong(upload.filename), html.Span(size_text(upload.size), className="vl-hint")])
    if upload.size > upload_limit():
        return html.Div([info, _too_large(upload.size)]), True, *reset
    return info, False, *reset


@callback(
    Output(ids.IMPORT_DETECT_JOB, "data", allow_duplicate=True),
    Output(ids.IMPORT_RUN_JOB, "data", allow_duplicate=True),
    Output(ids.IMPORT_RUN, "disabled", allow_duplicate=True),
    Output(ids.IMPORT_SUMMARY, "children", allow_duplicate=True),
    Output(ids.IMPORT_RESULT, "children", allow_duplicate=True),
    Output(ids.IMPORT_PROBLEMS_SECTION, "style", allow_duplicate=True),
    Output(ids.IMPORT_STATUS, "children", allow_duplicate=True),
    Output(ids.IMPORT_POLL, "disabled", allow_duplicate=True),
    Input(ids.IMPORT_DETECT, "n_clicks"),
    State(ids.IMPORT_UPLOAD, "contents"),
    State(ids.IMPORT_UPLOAD, "filename"),
    State(ids.IMPORT_KIND, "value"),
    prevent_initial_call=True,
)
def start_detect(_clicks: Any, contents: Any, filename: Any, kind: Any) -> tuple[Any, ...]:
    """Check the file in a job (nothing is written); the poll shows its counts and problems."""
    try:
        scope = require_admin("import.detect", _kind(kind))
    except NotAllowed:
        return None, None, True, _only_admins(), None, dict(HIDDEN), None, True

    def refused(notice: html.Div) -> tuple[Any, ...]:
        return None, None, True, notice, None, dict(HIDDEN), None, True

    chosen = _kind(kind)
    upload = parse_upload(contents, filename)
    if chosen is None:
        return refused(message(_("Choose the kind of data."), False))
    if upload is None:
        return refused(message(_("Choose a CSV or Excel file."), False))
    if upload.size > upload_limit():
        return refused(_too_large(upload.size))
    data = upload.data()
    if data is None:
        return refused(message(_("The upload is damaged; choose the file again."), False))
    db, name, username = get_db(), upload.filename, scope.username
    print_ = fingerprint(chosen, name, data)

    def work(job: Job) -> None:
        result = run_import(db, chosen, data, name, username, detect_only=True,
                            progress=job.report)
        job.result = _outcome(result, name, print_)

    job = get_jobs().start(username or "", DETECT_JOB, work)
    return job.job_id, None, True, None, None, dict(HIDDEN), _starting(_("Detecting…")), False


@callback(
    Output(ids.IMPORT_RUN_JOB, "data", allow_duplicate=True),
    Output(ids.IMPORT_RUN, "disabled", allow_duplicate=True),
    Output(ids.IMPORT_RESULT, "children", allow_duplicate=True),
    Output(ids.IMPORT_STATUS, "children", allow_duplicate=True),
    Output(ids.IMPORT_POLL, "disabled", allow_duplicate=True),
    Input(ids.IMPORT_RUN, "n_clicks"),
    State(ids.IMPORT_UPLOAD, "contents"),
    State(ids.IMPORT_UPLOAD, "filename"),
    State(ids.IMPORT_KIND, "value"),
    State(ids.IMPORT_DETECT_JOB, "data"),
    prevent_initial_call=True,
)
def start_import(_clicks: Any, contents: Any, filename: Any, kind: Any,
                 detect_id: Any) -> tuple[Any, ...]:
    """Import the file in a job, only with a clean detect of exactly these bytes."""
    nothing = dash.no_update
    try:
        scope = require_admin("import.run", _kind(kind))
    except NotAllowed:
        return nothing, True, _only_admins(), nothing, nothing

    def refused(notice: html.Div) -> tuple[Any, ...]:
        # The job store and the poll are left alone: an import already running goes on.
        return nothing, True, notice, nothing, nothing

    chosen = _kind(kind)
    upload = parse_upload(contents, filename)
    if upload is not None and upload.size > upload_limit():
        return refused(_too_large(upload.size))
    data = upload.data() if upload is not None else None
    jobs, username = get_jobs(), scope.username
    detect_job = _job(jobs, detect_id, username or "", DETECT_JOB)
    detected = _finished_outcome(detect_job)
    if chosen is None or upload is None or data is None or detected is None \
            or not detected.claim(fingerprint(chosen, upload.filename, data)):
        return refused(message(_("Import refused: click Detect first. Import needs a detect "
                                 "without problems of exactly this file."), False))
    assert detect_job is not None
    detect_job.save()  # the claim, for the other web processes of a ClickHouse deployment
    db, name, print_ = get_db(), upload.filename, detected.fingerprint

    def work(job: Job) -> None:
        result = run_import(db, chosen, data, name, username, progress=job.report)
        job.result = _outcome(result, name, print_)

    job = jobs.start(username or "", IMPORT_JOB, work)
    return job.job_id, True, None, _starting(_("Importing…")), False


@callback(
    Output(ids.IMPORT_STATUS, "children", allow_duplicate=True),
    Output(ids.IMPORT_SUMMARY, "children", allow_duplicate=True),
    Output(ids.IMPORT_PROBLEMS_SECTION, "style", allow_duplicate=True),
    Output(grid.version_id(ids.IMPORT_PROBLEMS_GRID), "data"),
    Output(ids.IMPORT_RESULT, "children", allow_duplicate=True),
    Output(ids.IMPORT_RUN, "disabled", allow_duplicate=True),
    Output(ids.IMPORT_POLL, "disabled", allow_duplicate=True),
    Output(ids.IMPORT_HISTORY_GRID, "rowData"),
    Input(ids.IMPORT_POLL, "n_intervals"),
    State(ids.IMPORT_DETECT_JOB, "data"),
    State(ids.IMPORT_RUN_JOB, "data"),
    State(grid.version_id(ids.IMPORT_PROBLEMS_GRID), "data"),
    prevent_initial_call=True,
)
def poll(_ticks: Any, detect_id: Any, run_id: Any, version: Any) -> tuple[Any, ...]:
    """Progress of the running job; when done, its counts, problems or import result."""
    nothing = dash.no_update
    try:
        scope = require_admin("import.poll")
    except NotAllowed:
        return (_only_admins(), nothing, nothing, nothing, nothing, True, True, nothing)
    jobs, owner = get_jobs(), scope.username or ""
    bumped = (version if isinstance(version, int) else 0) + 1
    run = _job(jobs, run_id, owner, IMPORT_JOB)
    if run is not None:
        if not run.done:
            return _progress(run), nothing, nothing, nothing, nothing, True, False, nothing
        done = _finished_outcome(run)
        if done is None:
            failed = message(_("The import failed: {error}").format(error=run.error), False)
            return None, nothing, nothing, nothing, failed, True, True, _history_rows()
        if done.ok:
            result = html.Div(
                _("Imported: {inserted} inserted, {skipped} skipped (already stored).").format(
                    inserted=number(done.inserted), skipped=number(done.skipped)),
                role="alert", className="vl-notice vl-notice-ok",
                **_data(inserted=done.inserted, skipped=done.skipped))
            return None, None, dict(HIDDEN), nothing, result, True, True, _history_rows()
        refused = message(_("Nothing was imported: the database changed since Detect, and "
                            "the file has problems now."), False)
        return (None, _summary(done), dict(SHOWN), bumped, refused, True, True,
                _history_rows())
    detect = _job(jobs, detect_id, owner, DETECT_JOB)
    if detect is None:
        return None, nothing, nothing, nothing, nothing, nothing, True, nothing
    if not detect.done:
        return _progress(detect), nothing, nothing, nothing, nothing, True, False, nothing
    found = _finished_outcome(detect)
    if found is None:
        failed = message(_("Detect failed: {error}").format(error=detect.error), False)
        return None, failed, dict(HIDDEN), nothing, nothing, True, True, nothing
    return (None, _summary(found), dict(SHOWN if found.problems else HIDDEN), bumped,
            nothing, not found.clean or found.claimed, True, nothing)


@callback(
    Output(ids.IMPORT_PROBLEMS_GRID, "getRowsResponse"),
    Input(ids.IMPORT_PROBLEMS_GRID, "getRowsRequest"),
    State(ids.IMPORT_DETECT_JOB, "data"),
    State(ids.IMPORT_RUN_JOB, "data"),
    prevent_initial_call=True,
)
def problem_rows(request: Any, detect_id: Any, run_id: Any) -> dict[str, Any]:
    """One block of the latest job's problems, messages in the user's language."""
    try:
        scope = require_admin("import.problems")
    except NotAllowed:
        return grid.response([], 0)
    block = grid.parse_request(request)
    if block is None:
        raise PreventUpdate
    jobs, owner = get_jobs(), scope.username or ""
    outcome = _finished_outcome(_job(jobs, run_id, owner, IMPORT_JOB))
    if outcome is None or not outcome.problems:
        outcome = _finished_outcome(_job(jobs, detect_id, owner, DETECT_JOB))
    if outcome is None:
        return grid.response([], 0)
    rows = [{"n": n, "row": p.row, "column": _column_label(outcome.kind, p.column),
             "message": translate_problem(p, outcome.kind)}
            for n, p in enumerate(outcome.problems[block.start:block.end], start=block.start)]
    return grid.response(rows, len(outcome.problems))


grid.register_refresh(ids.IMPORT_PROBLEMS_GRID)
dash.register_page(__name__, layout=layout, **registration(KEY))
