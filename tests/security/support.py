"""Helpers of the adversarial suite: clients per user, grid requests, export downloads,
and the signature that names each server callback of /_dash-dependencies."""

from __future__ import annotations

import io
import json
import shutil
import time
import zipfile
from pathlib import Path
from typing import Any

import requests

from dashboard.components import ids
from tests.dash_client import DashClient, _split_outputs, key
from tests.live import LiveServer, login_with
from tests.security.world import User

NOT_ALLOWED_ZH = "超出您的数据范围"


def copy_world(template: Path, folder: Path, name: str = "world.duckdb") -> Path:
    """A fresh copy of the world's database file (the template is never served)."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / name
    shutil.copyfile(template, target)
    return target


def session_for(server: LiveServer, user: User) -> requests.Session:
    session = requests.Session()
    session.headers["Accept-Language"] = "zh-CN"
    response = login_with(server.url, session, user.username, user.password)
    assert response.status_code == 302, response.text
    return session


def client(server: LiveServer, user: User) -> DashClient:
    return DashClient(session_for(server, user), server.url)


def grid_request(start: int = 0, end: int = 100) -> dict[str, Any]:
    return {"startRow": start, "endRow": end, "sortModel": [], "filterModel": {}}


def signature(dependency: dict[str, Any]) -> str:
    """A stable name of a server callback: its first output and its first input."""
    ident, prop = _split_outputs(dependency["output"])[0]
    first = dependency["inputs"][0]
    return f"{key(ident, prop)} <- {first['id']}.{first['property']}"


def server_callbacks(dash: DashClient) -> list[dict[str, Any]]:
    return [d for d in dash.dependencies if not d.get("clientside_function")]


def decoded(response: requests.Response) -> str:
    """A response as text with non-ASCII characters as they are (Dash escapes them)."""
    try:
        return json.dumps(response.json(), ensure_ascii=False)
    except ValueError:
        return response.text


EXPORTS = {  # page -> (button, job store, poll, status)
    "visits": (ids.VISITS_EXPORT_BUTTON, ids.VISITS_EXPORT_JOB, ids.VISITS_EXPORT_POLL,
               ids.VISITS_EXPORT_STATUS),
    "customers_visited": (ids.CV_EXPORT_BUTTON, ids.CV_EXPORT_JOB, ids.CV_EXPORT_POLL,
                          ids.CV_EXPORT_STATUS),
    "customers": (ids.CUST_EXPORT_BUTTON, ids.CUST_EXPORT_JOB, ids.CUST_EXPORT_POLL,
                  ids.CUST_EXPORT_STATUS),
    "assignments": (ids.ASSIGN_EXPORT_BUTTON, ids.ASSIGN_EXPORT_JOB, ids.ASSIGN_EXPORT_POLL,
                    ids.ASSIGN_EXPORT_STATUS),
}


def start_export(dash: DashClient, page: str, values: dict[str, Any]) -> requests.Response:
    button, job, _poll, _status = EXPORTS[page]
    return dash.call(job, "data", {**values, key(button, "n_clicks"): 1},
                     changed=(button, "n_clicks"))


def poll_export(dash: DashClient, page: str, job_id: Any) -> requests.Response:
    _button, job, poll, status = EXPORTS[page]
    return dash.call(status, "children", {key(poll, "n_intervals"): 1, key(job, "data"): job_id},
                     changed=(poll, "n_intervals"))


def export_zip(dash: DashClient, page: str, values: dict[str, Any]) -> dict[str, str]:
    """Run a page's export to the end and return its CSV members as text."""
    return {name: data.decode("utf-8-sig")
            for name, data in export_members(dash, page, values).items()
            if name.endswith(".csv")}


def export_members(dash: DashClient, page: str, values: dict[str, Any]) -> dict[str, bytes]:
    """Run a page's export to the end and return every member of its zip."""
    _button, job, poll, _status = EXPORTS[page]
    started = dash.outputs(start_export(dash, page, values))
    job_id = started[f"{job}.data"]
    assert isinstance(job_id, str), started
    for _ in range(200):
        status = dash.outputs(poll_export(dash, page, job_id))
        if status.get(f"{poll}.disabled"):
            break
        time.sleep(0.05)
    else:
        raise AssertionError("the export did not finish")
    assert f"/download/job/{job_id}" in json.dumps(status), status
    zipped = dash.session.get(f"{dash.url}/download/job/{job_id}", timeout=60)
    assert zipped.status_code == 200, zipped.text
    archive = zipfile.ZipFile(io.BytesIO(zipped.content))
    return {name: archive.read(name) for name in archive.namelist()}


def call_with_items(dash: DashClient, dependency: dict[str, Any], values: dict[str, Any],
                    items: dict[int, list[dict[str, Any]]], changed: str) -> requests.Response:
    """POST a callback whose pattern-matching (ALL) inputs carry concrete items, as the
    renderer sends them: `items` maps an input's position to its list of {id, property,
    value}; other inputs and states take `values` by key(id, prop); `changed` is the
    changed prop id ('{"plan":3,"type":"vl-plan-open"}.n_clicks')."""
    def fill(entries: list[dict[str, Any]], offset_items: dict[int, Any]) -> list[Any]:
        filled: list[Any] = []
        for index, entry in enumerate(entries):
            if index in offset_items:
                filled.append(offset_items[index])
                continue
            ident = json.loads(entry["id"]) if entry["id"].startswith("{") else entry["id"]
            filled.append({"id": ident, "property": entry["property"],
                           "value": values.get(key(ident, entry["property"]))})
        return filled

    outputs = [{"id": i, "property": p} for i, p in _split_outputs(dependency["output"])]
    body = {"output": dependency["output"],
            "outputs": outputs if len(outputs) > 1 else outputs[0],
            "inputs": fill(dependency["inputs"], items),
            "state": fill(dependency.get("state", []), {}),
            "changedPropIds": [changed]}
    return dash.session.post(dash.url + "/_dash-update-component", json=body, timeout=60)


def dependency(dash: DashClient, name: str) -> dict[str, Any]:
    """The server callback with this signature."""
    return next(d for d in server_callbacks(dash) if signature(d) == name)


# Sign-in bookkeeping, not data: every login writes them, and a restore empties the
# sessions on purpose (pipelines/sessions.py, pipelines/throttle.py).
ACCESS_TABLES = ("web_sessions", "login_throttle")


def table_checksums(path: Path, skip: tuple[str, ...] = ()) -> dict[str, tuple[int, str]]:
    """Every table of a closed database file but ACCESS_TABLES: (row count, sha256 of its
    sorted rows)."""
    import hashlib

    from pipelines.db import Database

    db = Database(path, read_only=True)
    try:
        tables = [r[0] for r in db.rows(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' "
            "AND table_type = 'BASE TABLE' ORDER BY table_name")]
        found = {}
        for table in tables:
            if table in skip or table in ACCESS_TABLES:
                continue
            rows = sorted(repr(r) for r in db.rows(f'SELECT * FROM "{table}"'))
            found[table] = (len(rows), hashlib.sha256("\n".join(rows).encode()).hexdigest())
        return found
    finally:
        db.close()


def data_url(data: bytes, mime: str = "text/csv") -> str:
    """What dcc.Upload sends for a file."""
    import base64

    return f"data:{mime};base64,{base64.b64encode(data).decode()}"
