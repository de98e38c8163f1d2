"""`visitlens export`, `customer` and `share` as a user runs them: a real process on a file.

Data: tests.datasets.build_customers (E1 {K0 K1 K2 K6}, E2 {K2 K5} + shared from E4
{K10 K11}, E4 {K10 K11}; K3 assigned to B12, K6 to B21; KD deleted; users east = R1,
bj = B21) plus KN, bound to E1: a name that a spreadsheet would run as a formula and a
negative (western) longitude.
"""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from python_calamine import CalamineWorkbook

from pipelines.db import Database
from pipelines.upgrade import upgrade
from tests.conftest import Factory
from tests.datasets import build_customers

VISITLENS = str(Path(sys.executable).with_name("visitlens"))
EVERYONE = ["K0", "K1", "K10", "K11", "K2", "K3", "K5", "K6", "KN", "KU"]
EAST = ["K0", "K1", "K2", "K3", "K5", "K6", "KN"]
BJ = ["K10", "K11", "K6"]


def run(db_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([VISITLENS, "--db", str(db_path), *args], capture_output=True,
                          text=True, timeout=120)


@pytest.fixture
def archive(tmp_path: Path) -> Path:
    path = tmp_path / "archive.duckdb"
    database = Database(path)
    upgrade(database)
    factory = Factory(database)
    build_customers(factory)
    factory.load("customers", "code,name,longitude,latitude,owner_codes,note,phone\n"
                 "KN,=1+1,-73.985,40.758,E1,@SUM(A1),-5\n")
    database.close()
    return path


def _rows(path: Path, sql: str) -> list[tuple[Any, ...]]:
    database = Database(path, read_only=True)
    try:
        return database.rows(sql)
    finally:
        database.close()


def _export_json(path: Path, name: str, *args: str) -> list[dict[str, Any]]:
    result = run(path, "export", name, "--format", "json", *args)
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["export"] == name
    rows: list[dict[str, Any]] = doc["rows"]
    return rows


def test_export_customers_json_scoped_and_not_neutralised(archive: Path) -> None:
    rows = _export_json(archive, "customers")
    assert [r["code"] for r in rows] == EVERYONE
    assert list(rows[0]) == ["code", "name", "grade", "address", "longitude", "latitude",
                             "contact", "phone", "department_code", "owner_codes", "note"]
    kn = rows[EVERYONE.index("KN")]
    assert kn == {"code": "KN", "name": "=1+1", "grade": None, "address": None,
                  "longitude": -73.985, "latitude": 40.758, "contact": None, "phone": "-5",
                  "department_code": None, "owner_codes": ["E1"], "note": "@SUM(A1)"}
    assert rows[EVERYONE.index("K2")]["owner_codes"] == ["E1", "E2"]
    assert [r["code"] for r in _export_json(archive, "customers", "--as", "east")] == EAST
    assert [r["code"] for r in _export_json(archive, "customers", "--as", "bj")] == BJ


def test_export_customers_csv_has_bom_and_neutralises(archive: Path, tmp_path: Path) -> None:
    out = tmp_path / "customers.csv"
    result = run(archive, "export", "customers", "--as", "east", "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert "7 rows written" in result.stdout
    data = out.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    assert [r["code"] for r in rows] == EAST
    kn = rows[EAST.index("KN")]
    assert (kn["name"], kn["note"]) == ("'=1+1", "'@SUM(A1)")
    assert (kn["longitude"], kn["phone"]) == ("-73.985", "-5")  # numbers are not formulas
    assert rows[EAST.index("K2")]["owner_codes"] == "E1;E2"
    # Without --out the same bytes go to standard output.
    stdout = subprocess.run([VISITLENS, "--db", str(archive), "export", "customers", "--as",
                             "east"], capture_output=True, timeout=120)
    assert stdout.returncode == 0 and stdout.stdout == data


def test_export_xlsx_needs_out_and_keeps_numbers(archive: Path, tmp_path: Path) -> None:
    refused = run(archive, "export", "customers", "--format", "xlsx")
    assert refused.returncode == 1 and "--out" in refused.stderr
    assert "Traceback" not in refused.stderr and refused.stdout == ""
    out = tmp_path / "customers.xlsx"
    result = run(archive, "export", "customers", "--format", "xlsx", "--as", "bj", "--out",
                 str(out))
    assert result.returncode == 0, result.stderr
    sheet = CalamineWorkbook.from_path(str(out)).get_sheet_by_index(0).to_python()
    assert sheet[0][:3] == ["code", "name", "grade"]
    assert [r[0] for r in sheet[1:]] == BJ
    everyone = tmp_path / "all.xlsx"
    assert run(archive, "export", "customers", "--format", "xlsx", "--out",
               str(everyone)).returncode == 0
    rows = CalamineWorkbook.from_path(str(everyone)).get_sheet_by_index(0).to_python()
    kn = rows[1 + EVERYONE.index("KN")]
    assert kn[:2] == ["KN", "'=1+1"]
    assert kn[4] == -73.985 and isinstance(kn[4], float) and kn[5] == 40.758
    assert kn[7] == "-5"  # a code-like text stays text


def test_export_person_customers_as_analyst(archive: Path) -> None:
    rows = _export_json(archive, "person-customers", "--as", "bj")
    assert rows == [
        {"employee_code": "E4", "employee_name": "赵四", "customer_code": "K10",
         "customer_name": "十", "how": "direct", "shared_from": None, "department_code": "B21"},
        {"employee_code": "E4", "employee_name": "赵四", "customer_code": "K11",
         "customer_name": "十一", "how": "direct", "shared_from": None,
         "department_code": "B21"},
        {"employee_code": None, "employee_name": None, "customer_code": "K6",
         "customer_name": "六", "how": "department", "shared_from": None,
         "department_code": "B21"},
    ]
    shared = [r for r in _export_json(archive, "person-customers") if r["how"] == "shared"]
    assert [(r["employee_code"], r["customer_code"], r["shared_from"]) for r in shared] == [
        ("E2", "K10", "E4"), ("E2", "K11", "E4")]


def test_customer_delete_and_restore(archive: Path) -> None:
    deleted = run(archive, "customer", "delete", "K0", "K1", "KD")
    assert deleted.returncode == 0, deleted.stderr
    assert deleted.stdout.strip() == "2 customer(s) deleted"  # KD was deleted already
    assert "K0" not in [r["code"] for r in _export_json(archive, "customers")]
    assert _rows(archive, "SELECT count(*) FROM visits WHERE customer_code = 'K1'") == [(1,)]
    refused = run(archive, "customer", "delete", "K5", "NOPE", "GONE")
    assert refused.returncode == 1 and "NOPE, GONE" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert _rows(archive, "SELECT deleted FROM customers WHERE code = 'K5'") == [(False,)]
    restored = run(archive, "customer", "restore", "K0", "K5")
    assert restored.returncode == 0 and restored.stdout.strip() == "1 customer(s) restored"
    codes = [r["code"] for r in _export_json(archive, "customers")]
    assert "K0" in codes and "K1" not in codes
    assert _rows(archive, "SELECT action, entity_key, username FROM audit_log "
                 "WHERE entity = 'customer' ORDER BY audit_id") == [
        ("customer.delete", "K0", None), ("customer.delete", "K1", None),
        ("customer.restore", "K0", None)]
    assert run(archive, "customer", "restore").returncode == 1  # a code is required


def test_share_add_and_revoke(archive: Path) -> None:
    added = run(archive, "share", "add", "E1", "E4", "E2")
    assert added.returncode == 0, added.stderr
    assert added.stdout.strip() == "2 share(s) added"
    rows = _export_json(archive, "person-customers", "--as", "bj")
    assert [(r["customer_code"], r["how"], r["shared_from"]) for r in rows
            if r["employee_code"] == "E4"] == [
        ("K10", "direct", None), ("K11", "direct", None), ("K0", "shared", "E1"),
        ("K1", "shared", "E1"), ("K2", "shared", "E1"), ("K6", "shared", "E1"),
        ("KN", "shared", "E1")]
    again = run(archive, "share", "add", "E1", "E4")
    assert again.returncode == 0 and again.stdout.strip() == "0 share(s) added"
    revoked = run(archive, "share", "revoke", "E1", "E4")
    assert revoked.returncode == 0 and revoked.stdout.strip() == "1 share(s) revoked"
    assert "shared" not in {r["how"] for r in _export_json(archive, "person-customers",
                                                            "--as", "bj")}
    assert _rows(archive, "SELECT action, entity_key, username FROM audit_log "
                 "WHERE entity = 'share' ORDER BY audit_id") == [
        ("share.add", "E1>E4", None), ("share.add", "E1>E2", None),
        ("share.revoke", "E1>E4", None)]
    for args, text in ((["share", "add", "E1", "E1"], "cannot share with themselves"),
                       (["share", "add", "E1", "E9"], "Unknown employee 'E9'"),
                       (["share", "revoke", "E9", "E4"], "Unknown employee 'E9'"),
                       (["share", "revoke", "E1"], "error")):
        result = run(archive, *args)
        assert result.returncode == 1, (args, result.stdout)
        assert text in result.stderr and "Traceback" not in result.stderr
    assert _rows(archive, "SELECT count(*) FROM shares") == [(2,)]  # E4>E2 and E1>E2


def test_archive_errors_exit_1_without_traceback(archive: Path, tmp_path: Path) -> None:
    for args in (["export", "customers", "--as", "ghost"],
                 ["export", "customers", "--format", "pdf"],
                 ["export", "visits"],
                 ["export", "customers", "--out", str(tmp_path / "no" / "dir" / "x.csv")],
                 ["customer", "purge", "K0"],
                 ["customer", "delete"],
                 ["share", "add", "E1"]):
        result = run(archive, *args)
        assert result.returncode == 1, (args, result.stderr)
        assert "Traceback" not in result.stderr and "error" in result.stderr
    missing = run(tmp_path / "none.duckdb", "export", "customers")
    assert missing.returncode == 1 and "no database" in missing.stderr
