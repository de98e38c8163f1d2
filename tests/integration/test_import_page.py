"""The data import page (/customers/import) through real HTTP callbacks, as an admin's
browser sends them, and as a forger would.

Database: tests.live.build_database (HQ > R1 (B11, B12), R2 (B21); employees E001-E003;
customers C001-C003, each bound to one employee; users admin, east (supervisor of R1),
bj (analyst of B21)). Each test runs its own server on a fresh copy, so that it can stop
the server and open the file to see what was (not) written and audited.

Texts of the page are compared through i18n.gettext(msgid, "zh"), so the tests hold both
before and after the Chinese catalog has the page's strings; the problem messages of the
pipelines are in the catalog already and are compared as Chinese text.
"""

from __future__ import annotations

import base64
import io
import json
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
import xlsxwriter

from dashboard import i18n
from dashboard.components import grid, ids
from pipelines.db import Database
from pipelines.formats import MAX_UPLOAD_BYTES
from pipelines.users import add_user
from tests.dash_client import DashClient, key
from tests.live import (
    ADMIN,
    ANALYST,
    SUPERVISOR,
    Login,
    build_database,
    live_server,
    login_with,
    switch_language,
)

ROUTER_OUTPUT = "_pages_content.children"
DETECT = (ids.IMPORT_DETECT, "n_clicks")
RUN = (ids.IMPORT_RUN, "n_clicks")
POLL = (ids.IMPORT_POLL, "n_intervals")

BAD_CUSTOMERS = ("客户编码,客户名称,客户等级\n"
                 "C001,重复的店,A\n"
                 "C100,新店,Z\n"
                 "C101,坏\x07店,B\n"
                 "C102,好店,C\n")
GOOD_CUSTOMERS = ("客户编码,客户名称,客户等级,负责人工号\n"
                  "C200,苏州一号店,A,E001\n"
                  "C201,宁波一号店,B,E002\n")
RESENDABLE = {
    "visits": "拜访编号,工号,客户编码,签到时间\n"
              "V1,E001,C001,2024-05-06 09:00:00\nV2,E002,C002,2024-05-06 10:00:00\n",
    "plans": "工号,计划日期,计划名称,客户编码\n"
             "E001,2024-05-07,周二,C001\nE002,2024-05-07,周二,C002\n",
    "holidays": "日期,类型,名称\n2024-10-01,休息,国庆\n2024-10-02,休息,国庆\n",
}


def zh(msgid: str) -> str:
    """What the page shows in Chinese for one of its messages."""
    return i18n.gettext(msgid, "zh")


def data_url(data: bytes, mime: str = "text/csv") -> str:
    """What dcc.Upload holds after the browser read a file (FileReader.readAsDataURL)."""
    return f"data:{mime};base64," + base64.b64encode(data).decode("ascii")


def text_of(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


@pytest.fixture(scope="module")
def template_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_database(tmp_path_factory.mktemp("import-page") / "template.duckdb")


@pytest.fixture
def db_path(template_db: Path, tmp_path: Path) -> Path:
    """A fresh copy of the small database for one test (and its one server)."""
    path = tmp_path / "import.duckdb"
    shutil.copyfile(template_db, path)
    return path


def rows_of(path: Path, sql: str) -> list[tuple[Any, ...]]:
    """Query the database file after the server has stopped (one process at a time)."""
    database = Database(path)
    try:
        return database.rows(sql)
    finally:
        database.close()


@dataclass
class Detected:
    job: str | None
    outputs: dict[str, Any]  # of the last poll (or of the refused start)

    @property
    def counts(self) -> dict[str, int]:
        summary = self.outputs[f"{ids.IMPORT_SUMMARY}.children"]
        attrs = summary["props"]["children"][0]["props"]
        return {name: int(attrs[f"data-{name}"])
                for name in ("rows", "problems", "inserted", "skipped")}

    @property
    def import_disabled(self) -> bool:
        return bool(self.outputs[f"{ids.IMPORT_RUN}.disabled"])


class Page:
    """One user's browser on the import page, speaking its callbacks over HTTP."""

    def __init__(self, base_url: str, user: Login) -> None:
        session = requests.Session()
        session.headers["Accept-Language"] = "zh"
        assert login_with(base_url, session, user.username, user.password).status_code == 302
        self.session = session
        self.url = base_url
        self.dash = DashClient(session, base_url)

    def render(self, search: str = "") -> Any:
        """The page's component tree, as the pages router sends it to the browser."""
        router = next(d for d in self.dash.dependencies if ROUTER_OUTPUT in d["output"])
        outputs = [{"id": part.rsplit(".", 1)[0], "property": part.rsplit(".", 1)[1]}
                   for part in router["output"].strip(".").split("...")]
        values = {"pathname": "/customers/import", "search": search}
        inputs = [{**i, "value": values[i["property"]]} for i in router["inputs"]]
        body = {"output": router["output"], "outputs": outputs, "inputs": inputs,
                "changedPropIds": [f"{inputs[0]['id']}.{inputs[0]['property']}"],
                "state": []}
        response = self.session.post(self.url + "/_dash-update-component", json=body,
                                     timeout=30)
        assert response.status_code == 200, response.text
        return response.json()["response"]["_pages_content"]["children"]

    def choose(self, name: str, contents: str) -> dict[str, Any]:
        return self.dash.outputs(self.dash.call(ids.IMPORT_FILE, "children", {
            key(ids.IMPORT_UPLOAD, "contents"): contents,
            key(ids.IMPORT_UPLOAD, "filename"): name}))

    def start_detect(self, kind: str, name: str, contents: str | None) -> dict[str, Any]:
        return self.dash.outputs(self.dash.call(ids.IMPORT_DETECT_JOB, "data", {
            key(ids.IMPORT_UPLOAD, "contents"): contents,
            key(ids.IMPORT_UPLOAD, "filename"): name,
            key(ids.IMPORT_KIND, "value"): kind,
            key(*DETECT): 1}, changed=DETECT))

    def poll(self, detect_job: str | None, run_job: str | None = None) -> dict[str, Any]:
        """Poll like the dcc.Interval until the job is done (the poll switches itself off)."""
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            out = self.dash.outputs(self.dash.call(ids.IMPORT_HISTORY_GRID, "rowData", {
                key(*POLL): 1, key(ids.IMPORT_DETECT_JOB, "data"): detect_job,
                key(ids.IMPORT_RUN_JOB, "data"): run_job,
                key(grid.version_id(ids.IMPORT_PROBLEMS_GRID), "data"): 0}, changed=POLL))
            if out.get(f"{ids.IMPORT_POLL}.disabled") is True:
                return out
            time.sleep(0.1)
        raise AssertionError("the job did not finish")

    def detect(self, kind: str, name: str, data: bytes) -> Detected:
        started = self.start_detect(kind, name, data_url(data))
        job = started[f"{ids.IMPORT_DETECT_JOB}.data"]
        assert isinstance(job, str), started
        return Detected(job, self.poll(job))

    def problems(self, detect_job: str | None, start: int = 0, end: int = 100
                 ) -> dict[str, Any]:
        response = self.dash.call(ids.IMPORT_PROBLEMS_GRID, "getRowsResponse", {
            key(ids.IMPORT_PROBLEMS_GRID, "getRowsRequest"): {
                "startRow": start, "endRow": end, "sortModel": [], "filterModel": {}},
            key(ids.IMPORT_DETECT_JOB, "data"): detect_job,
            key(ids.IMPORT_RUN_JOB, "data"): None})
        assert response.status_code == 200, response.text
        block: dict[str, Any] = response.json()["response"][ids.IMPORT_PROBLEMS_GRID][
            "getRowsResponse"]
        return block

    def start_import(self, kind: str, name: str, contents: str | None,
                     detect_job: str | None) -> dict[str, Any]:
        return self.dash.outputs(self.dash.call(ids.IMPORT_RUN_JOB, "data", {
            key(ids.IMPORT_UPLOAD, "contents"): contents,
            key(ids.IMPORT_UPLOAD, "filename"): name,
            key(ids.IMPORT_KIND, "value"): kind,
            key(ids.IMPORT_DETECT_JOB, "data"): detect_job,
            key(*RUN): 1}, changed=RUN))

    def run(self, kind: str, name: str, data: bytes, detected: Detected) -> dict[str, Any]:
        """Click Import and poll until the result shows; the result's data-* counts."""
        started = self.start_import(kind, name, data_url(data), detected.job)
        job = started.get(f"{ids.IMPORT_RUN_JOB}.data")
        assert isinstance(job, str), started
        out = self.poll(detected.job, job)
        result = out[f"{ids.IMPORT_RESULT}.children"]["props"]
        return {"inserted": int(result["data-inserted"]), "skipped": int(result["data-skipped"]),
                "text": result["children"], "history": out[f"{ids.IMPORT_HISTORY_GRID}.rowData"]}


def refused_import(out: dict[str, Any]) -> bool:
    """The import callback said no and started nothing."""
    return (f"{ids.IMPORT_RUN_JOB}.data" not in out
            and zh("Import refused: click Detect first. Import needs a detect without "
                   "problems of exactly this file.") in text_of(out))


# -- detect lists problems; nothing is written -------------------------------------------------
def test_problems_are_listed_and_nothing_is_written(db_path: Path) -> None:
    with live_server(db_path) as server:
        admin = Page(server.url, ADMIN)
        data = BAD_CUSTOMERS.encode("utf-8")
        chosen = admin.choose("坏客户.csv", data_url(data))
        assert "坏客户.csv" in text_of(chosen) and f"{len(data)} B" in text_of(chosen)
        assert chosen[f"{ids.IMPORT_DETECT}.disabled"] is False

        found = admin.detect("customers", "坏客户.csv", data)
        assert found.counts == {"rows": 4, "problems": 3, "inserted": 0, "skipped": 0}
        assert found.import_disabled
        assert found.outputs[f"{ids.IMPORT_PROBLEMS_SECTION}.style"] == {}
        block = admin.problems(found.job)
        assert block["rowCount"] == 3
        assert [(r["row"], r["column"], r["message"]) for r in block["rowData"]] == [
            (2, "客户编码", "客户“C001”已存在；请在编辑表单中修改（如已删除，请先恢复）。"),
            (3, "客户等级", "“客户等级”中不允许填写“Z” (允许的值: A/B/C/D)."),
            (4, "客户名称", "“客户名称”中含有非法字符 U+0007。"),
        ]
        # Paged on the server: a later block holds the rest only.
        assert [r["row"] for r in admin.problems(found.job, 1, 100)["rowData"]] == [3, 4]

        # Import stays refused for this file, whatever the browser sends.
        assert refused_import(admin.start_import("customers", "坏客户.csv", data_url(data),
                                                 found.job))
        # A second detect still would insert nothing: no row came in.
        again = admin.detect("customers", "坏客户.csv", data)
        assert again.counts["problems"] == 3 and again.counts["inserted"] == 0

    assert rows_of(db_path, "SELECT count(*) FROM customers") == [(3,)]
    assert rows_of(db_path, "SELECT count(*) FROM import_history WHERE username = 'admin'") \
        == [(0,)]


def test_problem_messages_follow_the_language(db_path: Path) -> None:
    with live_server(db_path) as server:
        admin = Page(server.url, ADMIN)
        assert switch_language(server.url, admin.session, "en").status_code == 302
        found = admin.detect("customers", "bad.csv", BAD_CUSTOMERS.encode("utf-8"))
        first = admin.problems(found.job)["rowData"][0]
        assert first["column"] == "code"
        assert first["message"].startswith("Customer 'C001' already exists")


# -- a clean file is imported once; resent files add nothing -----------------------------------
def test_a_clean_file_is_imported_once(db_path: Path) -> None:
    with live_server(db_path) as server:
        admin = Page(server.url, ADMIN)
        data = GOOD_CUSTOMERS.encode("utf-8")
        found = admin.detect("customers", "新客户.csv", data)
        assert found.counts == {"rows": 2, "problems": 0, "inserted": 2, "skipped": 0}
        assert not found.import_disabled
        assert found.outputs[f"{ids.IMPORT_PROBLEMS_SECTION}.style"] == {"display": "none"}
        assert zh("No problems found. Import writes {count} new rows.").format(count="2") \
            in text_of(found.outputs)

        done = admin.run("customers", "新客户.csv", data, found)
        assert (done["inserted"], done["skipped"]) == (2, 0)
        newest = done["history"][0]
        assert (newest["username"], newest["kind"], newest["filename"], newest["rows"],
                newest["inserted"], newest["skipped"]) == ("admin", "customers", "新客户.csv",
                                                           2, 2, 0)
        assert newest["kind_label"] == "客户"

        # The same clean detect cannot be used twice.
        assert refused_import(admin.start_import("customers", "新客户.csv", data_url(data),
                                                 found.job))
        # The same customers again: their codes exist now, so detect refuses the file.
        again = admin.detect("customers", "新客户.csv", data)
        assert again.counts["problems"] == 2 and again.import_disabled
        assert {r["message"] for r in admin.problems(again.job)["rowData"]} == {
            "客户“C200”已存在；请在编辑表单中修改（如已删除，请先恢复）。",
            "客户“C201”已存在；请在编辑表单中修改（如已删除，请先恢复）。"}
        assert refused_import(admin.start_import("customers", "新客户.csv", data_url(data),
                                                 again.job))

        for kind, text in RESENDABLE.items():
            body = text.encode("utf-8")
            first = admin.detect(kind, f"{kind}.csv", body)
            assert first.counts == {"rows": 2, "problems": 0, "inserted": 2, "skipped": 0}
            assert admin.run(kind, f"{kind}.csv", body, first)["inserted"] == 2
            second = admin.detect(kind, f"{kind}.csv", body)
            assert second.counts == {"rows": 2, "problems": 0, "inserted": 0, "skipped": 2}
            resent = admin.run(kind, f"{kind}.csv", body, second)
            assert (resent["inserted"], resent["skipped"]) == (0, 2), kind
            assert (resent["history"][0]["kind"], resent["history"][0]["skipped"]) == (kind, 2)

        # The page built afterwards lists the imports, newest first.
        history = next(c for c in components(admin.render())
                       if c["props"].get("id") == ids.IMPORT_HISTORY_GRID)
        kinds = [r["kind"] for r in history["props"]["rowData"]][:7]
        assert kinds == ["holidays", "holidays", "plans", "plans", "visits", "visits",
                         "customers"]

    assert rows_of(db_path, "SELECT code FROM customers WHERE code >= 'C2' ORDER BY code") == [
        ("C200",), ("C201",)]
    assert rows_of(db_path, "SELECT count(*) FROM visits") == [(2,)]
    assert rows_of(db_path, "SELECT count(*) FROM holidays") == [(2,)]
    assert rows_of(db_path, "SELECT count(*) FROM import_history WHERE username = 'admin'") \
        == [(7,)]


# -- forged requests ---------------------------------------------------------------------------
def test_forged_imports_are_refused(db_path: Path) -> None:
    second = Login("admin2", "admin2-password-1", "admin")
    database = Database(db_path)
    try:
        add_user(database, second.username, second.password, second.role)
    finally:
        database.close()
    with live_server(db_path) as server:
        admin = Page(server.url, ADMIN)
        good = GOOD_CUSTOMERS.encode("utf-8")
        other = "客户编码,客户名称\nC300,没检测过的店\n".encode()
        bad = BAD_CUSTOMERS.encode("utf-8")

        # No detect at all, a made-up job id, or the id of another kind of job.
        assert refused_import(admin.start_import("customers", "a.csv", data_url(good), None))
        assert refused_import(admin.start_import("customers", "a.csv", data_url(good),
                                                 "made-up-job-id"))
        clean = admin.detect("customers", "a.csv", good)
        assert not clean.import_disabled
        # A file that was not detected (or detected with problems) under a clean detect's id.
        assert refused_import(admin.start_import("customers", "a.csv", data_url(other),
                                                 clean.job))
        assert refused_import(admin.start_import("customers", "a.csv", data_url(bad),
                                                 clean.job))
        # The same bytes under another kind or another file name (another reader).
        assert refused_import(admin.start_import("employees", "a.csv", data_url(good),
                                                 clean.job))
        assert refused_import(admin.start_import("customers", "a.xlsx", data_url(good),
                                                 clean.job))
        # Garbage in the upload field.
        assert refused_import(admin.start_import("customers", "a.csv",
                                                 "data:text/csv;base64,@@@", clean.job))
        # Another admin's clean detect is not theirs to use, even with the same bytes.
        assert refused_import(Page(server.url, second).start_import(
            "customers", "a.csv", data_url(good), clean.job))
        # The refused attempts did not use up the clean detect of the real file.
        assert admin.run("customers", "a.csv", good, clean)["inserted"] == 2

    assert rows_of(db_path, "SELECT count(*) FROM customers WHERE code IN ('C100', 'C300')") \
        == [(0,)]
    assert rows_of(db_path, "SELECT count(*) FROM customers") == [(5,)]


def test_other_roles_are_refused_and_audited(db_path: Path) -> None:
    good = GOOD_CUSTOMERS.encode("utf-8")
    with live_server(db_path) as server:
        admin = Page(server.url, ADMIN)
        clean = admin.detect("customers", "a.csv", good)
        only_admins = zh("Only administrators may import data.")
        for user in (SUPERVISOR, ANALYST):
            page = Page(server.url, user)
            assert "只有管理员可以打开此页面。" in text_of(page.render())
            started = page.start_detect("customers", "a.csv", data_url(good))
            assert started[f"{ids.IMPORT_DETECT_JOB}.data"] is None
            assert only_admins in text_of(started)
            # Even with the admin's clean detect id and the same bytes.
            out = page.start_import("customers", "a.csv", data_url(good), clean.job)
            assert f"{ids.IMPORT_RUN_JOB}.data" not in out and only_admins in text_of(out)
            polled = page.dash.outputs(page.dash.call(ids.IMPORT_HISTORY_GRID, "rowData", {
                key(*POLL): 1, key(ids.IMPORT_DETECT_JOB, "data"): clean.job,
                key(ids.IMPORT_RUN_JOB, "data"): None}, changed=POLL))
            assert f"{ids.IMPORT_HISTORY_GRID}.rowData" not in polled
            assert only_admins in text_of(polled)
            assert page.problems(clean.job) == {"rowData": [], "rowCount": 0}
        # The admin's detect was not used up by the refused calls.
        assert admin.run("customers", "a.csv", good, clean)["inserted"] == 2

    denied = rows_of(db_path, "SELECT username, entity, entity_key FROM audit_log "
                              "WHERE action = 'denied' ORDER BY audit_id")
    for user in ("east", "bj"):
        mine = [(entity, entity_key) for name, entity, entity_key in denied if name == user]
        assert mine == [("import.detect", "customers"), ("import.run", "customers"),
                        ("import.poll", None), ("import.problems", None)], user
    assert rows_of(db_path, "SELECT username FROM import_history WHERE kind = 'customers' "
                            "AND filename = 'a.csv'") == [("admin",)]


def test_anonymous_is_refused(db_path: Path) -> None:
    with live_server(db_path) as server:
        page = server.get("/customers/import", allow_redirects=False)
        assert page.status_code == 302 and "/login" in page.headers["Location"]
        admin = Page(server.url, ADMIN)
        anonymous = DashClient.__new__(DashClient)
        anonymous.session, anonymous.url = requests.Session(), server.url
        anonymous.dependencies = admin.dash.dependencies
        response = anonymous.call(ids.IMPORT_DETECT_JOB, "data", {
            key(ids.IMPORT_UPLOAD, "contents"): data_url(GOOD_CUSTOMERS.encode()),
            key(ids.IMPORT_UPLOAD, "filename"): "a.csv",
            key(ids.IMPORT_KIND, "value"): "customers", key(*DETECT): 1}, changed=DETECT)
        assert response.status_code == 401
        assert response.json() == {"error": "login required"}
    assert rows_of(db_path, "SELECT count(*) FROM customers") == [(3,)]


# -- uploads -----------------------------------------------------------------------------------
def test_oversized_upload_is_refused_with_a_message(db_path: Path) -> None:
    size = MAX_UPLOAD_BYTES + 1
    padding = -size % 3
    payload = "A" * (4 * ((size + 2) // 3) - padding) + "=" * padding  # never decoded
    contents = "data:text/csv;base64," + payload
    too_large = zh("The file is {size}; the limit is {limit}. Split it into smaller "
                   "files.").format(size="50.0 MB", limit="50.0 MB")
    with live_server(db_path) as server:
        admin = Page(server.url, ADMIN)
        chosen = admin.choose("big.csv", contents)
        assert too_large in text_of(chosen)
        assert chosen[f"{ids.IMPORT_DETECT}.disabled"] is True
        started = admin.start_detect("customers", "big.csv", contents)
        assert started[f"{ids.IMPORT_DETECT_JOB}.data"] is None
        assert too_large in text_of(started)
        # A body beyond what any allowed upload needs is refused before Dash sees it.
        huge = admin.session.post(server.url + "/_dash-update-component",
                                  data=b"x" * (72 * 1024 * 1024),
                                  headers={"Content-Type": "application/json"}, timeout=120)
        assert huge.status_code == 413
        assert server.process.poll() is None


def test_gbk_csv_and_xlsx_uploads_work(db_path: Path) -> None:
    gbk = ("客户编码,客户名称,地址,负责人工号\n"
           "C400,广州一号店,广州市天河区,E001\n").encode("gbk")
    book_bytes = io.BytesIO()
    book = xlsxwriter.Workbook(book_bytes, {"in_memory": True})
    sheet = book.add_worksheet("customers")
    sheet.write_row(0, 0, ["客户编码", "客户名称", "客户等级", "备注"])
    sheet.write_row(1, 0, ["00500", "深圳一号店", "B", "<b>不是标签</b>"])
    book.close()
    xlsx = book_bytes.getvalue()
    with live_server(db_path) as server:
        admin = Page(server.url, ADMIN)
        found = admin.detect("customers", "广州.csv", gbk)
        assert found.counts == {"rows": 1, "problems": 0, "inserted": 1, "skipped": 0}
        assert admin.run("customers", "广州.csv", gbk, found)["inserted"] == 1
        found = admin.detect("customers", "深圳 <i>.xlsx", xlsx)
        assert found.counts == {"rows": 1, "problems": 0, "inserted": 1, "skipped": 0}
        done = admin.run("customers", "深圳 <i>.xlsx", xlsx, found)
        assert done["inserted"] == 1
        assert done["history"][0]["filename"] == "深圳 <i>.xlsx"  # text, as sent
    assert rows_of(db_path, "SELECT code, name, address, note FROM customers "
                            "WHERE code IN ('C400', '00500') ORDER BY code") == [
        ("00500", "深圳一号店", None, "<b>不是标签</b>"),
        ("C400", "广州一号店", "广州市天河区", None)]


def test_kind_from_the_address_and_template_links(db_path: Path) -> None:
    with live_server(db_path) as server:
        admin = Page(server.url, ADMIN)
        tree = list(components(admin.render("?kind=visits")))
        by_id = {c["props"].get("id"): c["props"] for c in tree if isinstance(
            c["props"].get("id"), str)}
        assert by_id[ids.IMPORT_KIND]["value"] == "visits"
        assert by_id[ids.IMPORT_TEMPLATE_ZH]["href"] == "/download/template/visits.xlsx?lang=zh"
        assert by_id[ids.IMPORT_TEMPLATE_EN]["href"] == "/download/template/visits.xlsx?lang=en"
        default = {c["props"].get("id"): c["props"] for c in components(
            admin.render("?kind=<script>")) if isinstance(c["props"].get("id"), str)}
        assert default[ids.IMPORT_KIND]["value"] == "customers"
        out = admin.dash.outputs(admin.dash.call(ids.IMPORT_TEMPLATE_ZH, "href", {
            key(ids.IMPORT_KIND, "value"): "holidays"}))
        assert out[f"{ids.IMPORT_TEMPLATE_ZH}.href"] == \
            "/download/template/holidays.xlsx?lang=zh"
        assert out[f"{ids.IMPORT_RUN}.disabled"] is True  # a detect of another kind is void
        template = admin.session.get(server.url + out[f"{ids.IMPORT_TEMPLATE_ZH}.href"])
        assert template.status_code == 200 and template.content[:2] == b"PK"


def components(tree: Any) -> Iterator[dict[str, Any]]:
    """Every component of a serialised Dash tree."""
    if isinstance(tree, list):
        for item in tree:
            yield from components(item)
    elif isinstance(tree, dict) and "props" in tree:
        yield tree
        for value in tree["props"].values():
            if isinstance(value, (list, dict)):
                yield from components(value)
