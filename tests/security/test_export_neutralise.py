"""Formula injection on export (issue 9, item 7): cells beginning with = + - @, tab or CR are
made inert in CSV and XLSX; numbers — negative ones too — stay numbers. Unit tests of the
writers (dashboard.exports.write_zip, pipelines.formats.to_csv_bytes / to_xlsx_bytes) and
one real export of the customer archive page (test_stored_xss.py holds the HTML payloads).
"""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from python_calamine import CalamineWorkbook

from dashboard.exports import ExportTable, write_zip
from pipelines.formats import neutralise, to_csv_bytes, to_xlsx_bytes
from pipelines.upgrade import upgrade

FORMULAS = ["=1+1", "+1+1", "-2+3", "@SUM(A1)", "\t=1", "\r=1",
            '=HYPERLINK("http://evil.example","点我")', "=cmd|' /C calc'!A0", "-", "+", "@"]
PLAIN_NUMBERS_AS_TEXT = ["-5", "+86", "-0.5", "1e-3", "13800000000"]
SAFE = ["普通文本", "a=b", "1-2", " =1", "", "客户-B11"]


@pytest.mark.parametrize("text", FORMULAS)
def test_formula_like_text_is_neutralised(text: str) -> None:
    assert neutralise(text) == "'" + text


@pytest.mark.parametrize("text", PLAIN_NUMBERS_AS_TEXT + SAFE)
def test_numbers_in_text_and_plain_text_are_unchanged(text: str) -> None:
    assert neutralise(text) == text


@pytest.mark.parametrize("number", [-5, -0.5, -1e9, 0, 3.25])
def test_numbers_are_unchanged(number: float) -> None:
    assert neutralise(number) == number


def frame() -> pd.DataFrame:
    return pd.DataFrame({"text": FORMULAS + SAFE[:1],
                         "number": [-5.5, -1, 0, 2, -3, 4, -0.25, 7, -8, 9, -10, -11]})


def check_csv(data: bytes) -> None:
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    assert [r[0] for r in rows[1:]] == ["'" + f for f in FORMULAS] + ["普通文本"]
    assert [float(r[1]) for r in rows[1:]] == list(frame()["number"])
    assert all(not r[1].startswith("'") for r in rows[1:])


def check_xlsx(data: bytes) -> None:
    with zipfile.ZipFile(io.BytesIO(data)) as book:
        sheets = [n for n in book.namelist() if n.startswith("xl/worksheets/")]
        for name in sheets:
            assert b"<f>" not in book.read(name) and b"<f " not in book.read(name)
    rows = CalamineWorkbook.from_filelike(io.BytesIO(data)).get_sheet_by_index(0).to_python()
    assert [r[0] for r in rows[1:]] == ["'" + f for f in FORMULAS] + ["普通文本"]
    assert [r[1] for r in rows[1:]] == [float(n) for n in frame()["number"]]
    assert all(isinstance(r[1], float) for r in rows[1:])


def test_to_csv_bytes() -> None:
    check_csv(to_csv_bytes(frame()))


def test_to_xlsx_bytes() -> None:
    check_xlsx(to_xlsx_bytes(frame(), "sheet"))


def test_write_zip(tmp_path: Path) -> None:
    path = tmp_path / "export.zip"
    batches = [frame().iloc[:5], frame().iloc[5:]]
    write_zip(path, [ExportTable("t", {"text": "文本", "number": "数"}, 12, batches)],
              lambda _stage, _fraction: None)
    with zipfile.ZipFile(path) as archive:
        check_csv(archive.read("t.csv"))
        check_xlsx(archive.read("t.xlsx"))


def test_real_export_of_the_archive(tmp_path: Path) -> None:
    """Customers named like formulas, exported by the page's export job: inert text."""
    from dashboard.components import ids
    from pipelines.db import Database
    from pipelines.users import add_user
    from tests.conftest import Factory
    from tests.dash_client import key
    from tests.live import live_server
    from tests.security.support import client, export_members
    from tests.security.world import User

    path = tmp_path / "formulas.duckdb"
    db = Database(path)
    upgrade(db)
    factory = Factory(db)
    factory.org()
    factory.load("customers", 'code,name,address,contact,longitude,latitude,note\n'
                 'F1,=1+1,@SUM(A1),-2+3,-0.5,-10.25,"\t=2+2"\n'
                 'F2,"=HYPERLINK(""http://evil.example"",""x"")",+1+1,-,121.5,31.2,ok\n')
    boss = User("boss", "boss-password-1", "admin", (), frozenset())
    add_user(db, boss.username, boss.password, "admin")
    db.checkpoint()
    db.close()
    with live_server(path) as server:
        dash = client(server, boss)
        files = export_members(dash, "customers", {
            key(ids.CUST_SEARCH, "value"): "", key(ids.CUST_GRADES, "value"): [],
            key(ids.CUST_DEPARTMENT, "value"): None,
            key(ids.filter_employees("customers"), "value"): None,
            key(ids.CUST_FLAGS, "value"): []})
    rows = list(csv.reader(io.StringIO(files["customers.csv"].decode("utf-8-sig"),
                                       newline="")))
    header, by_code = rows[0], {r[0]: r for r in rows[1:]}
    cells = {header[i]: v for i, v in enumerate(by_code["F1"])}
    assert cells["客户名称"] == "'=1+1" and cells["地址"] == "'@SUM(A1)"
    assert cells["联系人"] == "'-2+3" and cells["备注"] == "'=2+2"  # the import trims the tab
    assert cells["经度"] == "-0.5" and cells["纬度"] == "-10.25"
    assert by_code["F2"][1].startswith("'=HYPERLINK(")
    sheet = CalamineWorkbook.from_filelike(io.BytesIO(files["customers.xlsx"])) \
        .get_sheet_by_index(0).to_python()
    xlsx = {r[0]: r for r in sheet[1:]}
    assert xlsx["F1"][1] == "'=1+1" and -0.5 in xlsx["F1"] and -10.25 in xlsx["F1"]
    assert str(xlsx["F2"][1]).startswith("'=HYPERLINK(")
