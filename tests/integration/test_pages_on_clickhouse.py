"""An import and edits through the pages, on a server whose store is chDB.

The archive of tests/integration/test_archive_pages.py is copied into chDB with
`visitlens clickhouse copy`; `visitlens serve` runs with VISITLENS_ENGINE=clickhouse. Over
real HTTP, as the browser would: the import page detects a customers file and a visits
file and imports them (progress polled, history listed), and the archive's form adds,
edits (refusing a stale edit) and the list shows the result — all on ClickHouse.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator

import pytest

from tests.dash_client import DashClient
from tests.integration.test_archive_pages import build_archive, codes, listed, save
from tests.integration.test_import_page import Page
from tests.live import VISITLENS, LiveServer, Login, dash_client, live_server

pytest.importorskip("chdb")

BOSS = Login("boss", "password-1", "admin")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    db_path = build_archive(tmp_path_factory.mktemp("on-clickhouse") / "archive.duckdb")
    url = f"chdb:{db_path.parent / 'clickhouse'}"
    copied = subprocess.run([VISITLENS, "--db", str(db_path), "clickhouse", "copy",
                             str(db_path), "--url", url, "--json"],
                            capture_output=True, text=True, timeout=300)
    assert copied.returncode == 0, copied.stderr
    with live_server(db_path.with_name("not-used.duckdb"),
                     env={"VISITLENS_ENGINE": "clickhouse",
                          "VISITLENS_CLICKHOUSE_URL": url}) as running:
        yield running
        assert "Traceback" not in running.log_text(), running.log_text()[-3000:]


@pytest.fixture(scope="module")
def boss(server: LiveServer) -> DashClient:
    return dash_client(server, BOSS.username, BOSS.password)


def test_import_page_on_clickhouse(server: LiveServer, boss: DashClient) -> None:
    page = Page(server.url, BOSS)
    customers = "客户编码,客户名称,客户等级,负责人工号\nC200,苏州一号店,A,E1\nC201,宁波一号店,B,E2\n"
    found = page.detect("customers", "新客户.csv", customers.encode("gbk"))
    assert found.counts == {"rows": 2, "problems": 0, "inserted": 2, "skipped": 0}
    done = page.run("customers", "新客户.csv", customers.encode("gbk"), found)
    assert (done["inserted"], done["skipped"]) == (2, 0)
    assert {"C200", "C201"} <= set(codes(listed(boss)))

    visits = "工号,客户编码,签到时间\nE1,C200,2024-5-7 9:00\nE2,C201,2024-05-07T10:00:00+08:00\n"
    found = page.detect("visits", "拜访.csv", visits.encode())
    assert found.counts == {"rows": 2, "problems": 0, "inserted": 2, "skipped": 0}
    assert page.run("visits", "拜访.csv", visits.encode(), found)["inserted"] == 2
    again = page.detect("visits", "拜访.csv", visits.encode())
    assert again.counts == {"rows": 2, "problems": 0, "inserted": 0, "skipped": 2}

    bad = "客户编码,客户名称,客户等级\nC200,重复的店,A\nC300,坏\x07店,Z\n"
    refused = page.detect("customers", "坏.csv", bad.encode())
    assert refused.counts["problems"] == 3 and refused.import_disabled
    messages = json.dumps(page.problems(refused.job)["rowData"], ensure_ascii=False)
    assert "C200" in messages and "U+0007" in messages


def test_archive_form_on_clickhouse(boss: DashClient) -> None:
    assert "已保存 C9" in save(boss, {"mode": "add"}, code="C9", name="新店", grade="A",
                                owners="E1")
    assert "已保存 C9" in save(boss, {"mode": "edit", "code": "C9", "version": 1},
                                name="改名一", grade="B", longitude="121.45",
                                latitude="31.22")
    stale = save(boss, {"mode": "edit", "code": "C9", "version": 1}, name="改名二", grade="C")
    assert "已被他人修改" in stale
    row = next(r for r in listed(boss)["rowData"] if r["code"] == "C9")
    assert (row["name"], row["grade"], row["owners"]) == ("改名一", "B", "张一 (E1)")
