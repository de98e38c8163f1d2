"""The streamed CSV import of the command line (issue 8): a CSV file on disk of any size,
never held in memory, gives exactly what the in-memory reader gives — the same rows, the
same problems with the same row numbers and columns, the same refusals, one transaction —
and has no row limit (the browser upload keeps its 1 048 575 rows).

Most cases compare the two paths on the same bytes: every detect case of test_imports.py,
and the reader's own cases (encodings, blank lines, ragged rows, quotes, BOM).
"""

from __future__ import annotations

import json
import os
import pty
import select
import shutil
import signal
import subprocess
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from pipelines import business_settings, formats
from pipelines.db import Database
from pipelines.imports import (
    ImportResult,
    _drop_staged,
    _stage_csv,
    run_import,
    run_import_csv_file,
)
from tests.integration.test_imports import DETECT_CASES
from tests.live import VISITLENS, _clean_env

BIG = formats.MAX_ROWS + 5  # 1 048 580 data rows: over the sheet limit


def summary(result: ImportResult) -> dict[str, Any]:
    return {**result.as_json(), "total": result.total_problems}


def both(db: Database, tmp_path: Path, kind: str, data: bytes,
         detect_only: bool = True) -> tuple[dict[str, Any], dict[str, Any]]:
    """(in memory, streamed) results of the same bytes."""
    path = tmp_path / f"{kind}.csv"
    path.write_bytes(data)
    in_memory = run_import(db, kind, data, path.name, "tests", detect_only=detect_only)
    streamed = run_import_csv_file(db, kind, path, "tests", detect_only=detect_only)
    return summary(in_memory), summary(streamed)


def tables(db: Database) -> dict[str, list[tuple[Any, ...]]]:
    """Every imported table's rows, without the columns that differ between two imports of
    the same rows (ids, times)."""
    volatile = {"import_id", "plan_id", "created_at", "updated_at", "version"}
    names = ("departments", "employees", "customers", "bindings", "visits", "plans",
             "plan_items", "holidays", "visit_day_summary", "plan_day_summary")
    found = {}
    for table in names:
        columns = [r[0] for r in db.rows(
            "SELECT column_name FROM information_schema.columns WHERE table_name = ? "
            "ORDER BY ordinal_position", [table]) if r[0] not in volatile]
        found[table] = sorted(db.rows(f"SELECT {', '.join(columns)} FROM {table}"), key=repr)
    return found


@pytest.mark.parametrize(("kind", "text"), [c[1:3] for c in DETECT_CASES],
                         ids=[c[0] for c in DETECT_CASES])
def test_every_detect_case_finds_the_same_problems(world: Database, tmp_path: Path,
                                                   kind: str, text: str) -> None:
    in_memory, streamed = both(world, tmp_path, kind, text.encode("utf-8"))
    assert streamed == in_memory


READER_CASES: dict[str, tuple[str, bytes]] = {
    "plain": ("departments", b"code,name\nD1,a\nD2,b\n"),
    "crlf": ("departments", b"code,name\r\nD1,a\r\nD2,b\r\n"),
    "no final line break": ("departments", b"code,name\nD1,a\nD2,b"),
    "bom": ("departments", b"\xef\xbb\xbfcode,name\nD1,a\n"),
    "gbk": ("departments", "部门编码,部门名称\nD1,华东\nD2,华北\n".encode("gbk")),
    "gb18030 outside gbk": ("departments", "部门编码,部门名称\nD1,𠀀记\n".encode("gb18030")),
    "mixed encodings": ("departments",
                        "code,name\nD1,张三\n".encode() + "D2,李四\n".encode("gbk")),
    "neither encoding": ("departments", b"code,name\nD1,caf\xe9\n"),
    "unclosed quote": ("departments", b'code,name\nD1,a\nD2,"b\nD3,c\n'),
    "quoted line break": ("customers", b'code,name,address\nC7,a,"line 1\nline 2"\nC8,b,x\n'),
    "blank lines": ("departments", b"code,name\nD1,a\n\nD2,b\n\n\nD3,c\n"),
    "blank lines at the end": ("departments", b"code,name\nD1,a\nD2,b\n\n\n"),
    "blank line in a quoted value": ("customers",
                                     b'code,name,note\nC7,a,"x\n\ny"\nC8,b,z\n'),
    "whitespace line": ("departments", b"code,name\nD1,a\n  \nD2,b\n"),
    "empty cells only": ("departments", b"code,name\nD1,a\n,\nD2,b\n"),
    "short row": ("departments", b"code,name,parent_code\nD1,a\nD2,b,D1\n"),
    "long row": ("departments", b"code,name\nD1,a,x\nD2,b\n"),
    "value under a blank header": ("departments", b"code,,name\nD1,x,a\nD2,y,b\n"),
    "blank header cells at the end": ("departments", b"code,name,,\nD1,a,,\nD2,b,,\n"),
    "quote inside a value": ("departments", b'code,name\nD1,a"b\nD2,"c""d"\n'),
    "text after a closing quote": ("departments", b'code,name\nD1,"a"b\nD2,c\n'),
    "spaces trimmed": ("departments", "code,name\n D1 ,\u3000a\u00a0\nD2,b\n".encode()),
    "multiline value trimmed": ("customers", "code,name,address\nC7,a,\"\t line 1\n line 2 "
                                "\u3000\"\nC8,\ufeffb\u2028,\" \n\"\n".encode()),
    "nul byte": ("departments", b"code,name\nD1,a\x00b\n"),
    "illegal characters": ("customers", "code,name,address,note\nC7,a\tb,x\ty,\"n\r\no\"\n"
                           "C8,\"b\nc\",\"d\re\",\x7f\nC9,\ufffd,x\x1b,\x07\n".encode()),
    "line break in a one-line field": ("departments", b'code,name\nD1,"a\nb"\nD2,"c\rd"\n'),
    "header only": ("departments", b"code,name\n"),
    "empty file": ("departments", b""),
    "blank header": ("departments", b"\ncode,name\nD1,a\n"),
    "missing column": ("employees", b"code,department_code\nE7,B11\nE8,B11\n"),
    "unknown column": ("departments", b"code,name,colour\nD1,a,red\n"),
    "quoted header with a line break": ("departments", b'code,"na\nme"\nD1,a\n'),
}


@pytest.mark.parametrize("case", list(READER_CASES))
def test_reader_cases_read_and_import_the_same(world_file: Path, tmp_path: Path,
                                               case: str) -> None:
    kind, data = READER_CASES[case]
    results = []
    contents = []
    for name in ("memory", "streamed"):
        path = tmp_path / f"{name}.duckdb"
        shutil.copyfile(world_file, path)
        with Database(path) as db:
            file = tmp_path / f"{kind}.csv"
            file.write_bytes(data)
            result = (run_import(db, kind, data, file.name, "tests") if name == "memory"
                      else run_import_csv_file(db, kind, file, "tests"))
            results.append(summary(result))
            contents.append(tables(db))
    assert results[1] == results[0]
    assert contents[1] == contents[0]


def test_gbk_through_the_streamed_path(world: Database, tmp_path: Path) -> None:
    """A GBK visits file, read in blocks smaller than the file (so characters and lines
    cross block boundaries), imports the Chinese values unchanged."""
    lines = ["拜访编号,工号,客户编码,签到时间,签到定位方式,签到经度,签到纬度"]
    lines += [f"甲{i:05d},E001,C001,2024-05-06 {8 + i // 3600:02d}:{i // 60 % 60:02d}:"
              f"{i % 60:02d},网络,121.4737,31.2304" for i in range(5000)]
    path = tmp_path / "拜访.csv"
    path.write_bytes("\n".join(lines).encode("gbk") + b"\n")
    original = formats.STREAM_BLOCK
    formats.STREAM_BLOCK = 4099  # odd, so a two-byte character is cut somewhere
    try:
        result = run_import_csv_file(world, "visits", path, "tests")
    finally:
        formats.STREAM_BLOCK = original
    assert result.ok and result.inserted == 5000, result.as_json()["problems"][:3]
    assert world.rows("SELECT visit_id, check_in_source FROM visits ORDER BY visit_id "
                      "LIMIT 2") == [("甲00000", "net"), ("甲00001", "net")]
    assert world.scalar("SELECT count(*) FROM visits WHERE visit_id LIKE '甲%'") == 5000


def test_mixed_encoding_found_past_the_first_block(world: Database, tmp_path: Path) -> None:
    body = "".join(f"D{i},华东{i}\n" for i in range(2000)).encode("gbk")
    data = b"code,name\n" + body + "D9999,张三\n".encode()
    path = tmp_path / "d.csv"
    path.write_bytes(data)
    original = formats.STREAM_BLOCK
    formats.STREAM_BLOCK = 1000
    try:
        streamed = run_import_csv_file(world, "departments", path, "tests")
    finally:
        formats.STREAM_BLOCK = original
    in_memory = run_import(world, "departments", data, "d.csv", "tests")
    assert [p.as_dict() for p in streamed.problems] == [p.as_dict() for p in in_memory.problems]
    assert streamed.problems[0].code == "mixed_encoding" and "2002" in \
        streamed.problems[0].message


# -- over the sheet limit, through the command line --------------------------------------------
def visits_line(i: int) -> str:
    employee, customer = (("E001", "C001"), ("E002", "C002"), ("E001", "C003"))[i % 3]
    at = datetime(2023, 1, 2) + timedelta(seconds=7 * i)
    return f"S{i:07d},{employee},{customer},{at:%Y-%m-%d %H:%M:%S},gps,121.4737,31.2304"


@pytest.fixture(scope="module")
def big_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """BIG visits (five rows more than a sheet holds) of the world's employees."""
    path = tmp_path_factory.mktemp("streamed-big") / "visits.csv"
    with path.open("w", encoding="utf-8") as out:
        out.write("visit_id,employee_code,customer_code,check_in_at,check_in_source,"
                  "check_in_lon,check_in_lat\n")
        step = 100_000
        for start in range(0, BIG, step):
            out.write("".join(visits_line(i) + "\n" for i in range(start, min(BIG, start + step))))
    return path


def cli(db_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(VISITLENS), "--db", str(db_path), *args], capture_output=True,
                          text=True, timeout=600, env=_clean_env())


def visit_state(path: Path) -> tuple[int, int, int]:
    """(visits, import history rows, visit day summary rows) of a database file."""
    with Database(path) as db:
        return (int(db.scalar("SELECT count(*) FROM visits")),
                int(db.scalar("SELECT count(*) FROM import_history WHERE kind = 'visits'")),
                int(db.scalar("SELECT count(*) FROM visit_day_summary")))


def test_over_the_sheet_limit_imports_on_the_command_line(world_file: Path, big_file: Path,
                                                         tmp_path: Path) -> None:
    """The browser's reader refuses the file; the command line imports it, and a part of it
    through the in-memory reader stores exactly what the streamed import stored; a resend
    adds nothing."""
    refused = formats.read_file("visits", big_file.read_bytes(), big_file.name)
    assert [p.code for p in refused.problems] == ["too_large"]

    path = tmp_path / "cli.duckdb"
    shutil.copyfile(world_file, path)
    done = cli(path, "import", "visits", str(big_file), "--json")
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout) == {"ok": True, "rows": BIG, "inserted": BIG, "skipped": 0,
                                       "problems": []}
    again = cli(path, "import", "visits", str(big_file), "--json")
    assert json.loads(again.stdout) == {"ok": True, "rows": BIG, "inserted": 0, "skipped": BIG,
                                        "problems": []}
    assert visit_state(path)[:2] == (BIG, 2)

    # The same first 200 000 rows through the in-memory reader store the same values.
    head = tmp_path / "head.csv"
    with big_file.open(encoding="utf-8") as source:
        head.write_text("".join(next(source) for _ in range(200_001)), encoding="utf-8")
    memory = tmp_path / "memory.duckdb"
    shutil.copyfile(world_file, memory)
    with Database(memory) as db:
        assert run_import(db, "visits", head.read_bytes(), "head.csv", "tests").ok
        expected = db.rows("SELECT * EXCLUDE (import_id) FROM visits ORDER BY visit_id")
    with Database(path) as db:
        got = db.rows("SELECT * EXCLUDE (import_id) FROM visits WHERE visit_id < 'S0200000' "
                      "ORDER BY visit_id")
        summary_rows = db.rows("SELECT * FROM visit_day_summary ORDER BY ALL")
        reference = db.rows("""SELECT visit_date, employee_code, count(*),
                                      count(*) FILTER (WHERE invalid_mask = 0),
                                      coalesce(sum(stay_minutes), 0), count(stay_minutes)
                               FROM visits GROUP BY ALL ORDER BY ALL""")
    assert got == expected
    assert summary_rows == reference


def test_a_bad_row_deep_in_a_big_file_is_named_and_nothing_is_written(
        world_file: Path, big_file: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    target = 1_000_000  # the data row of spreadsheet row 1 000 002
    with big_file.open(encoding="utf-8") as source, bad.open("w", encoding="utf-8") as out:
        for number, line in enumerate(source, start=1):
            if number == target + 2:
                line = line.replace("C001", "C404").replace("C002", "C404")
                line = line.replace("C003", "C404").replace(",gps,", ",sat,")
            out.write(line)
    path = tmp_path / "bad.duckdb"
    shutil.copyfile(world_file, path)
    before = visit_state(path)
    done = cli(path, "import", "visits", str(bad), "--json")
    assert done.returncode == 1
    result = json.loads(done.stdout)
    assert result["ok"] is False and result["inserted"] == 0 and result["rows"] == BIG
    assert [(p["row"], p["column"], p["code"]) for p in result["problems"]] == [
        (target + 2, "customer_code", "unknown_customer"),
        (target + 2, "check_in_source", "bad_value")]
    assert visit_state(path) == before
    text = cli(path, "import", "visits", str(bad))
    assert f"row {target + 2}, column customer_code: Unknown customer 'C404'." in text.stderr
    assert "nothing was imported" in text.stderr


def test_kill_during_the_streamed_write_leaves_the_database_as_it_was(
        world_file: Path, big_file: Path, tmp_path: Path) -> None:
    """kill -9 inside the write transaction (seen on the progress line): no visit, no
    history, no summary row; the same file then imports once."""
    path = tmp_path / "kill.duckdb"
    shutil.copyfile(world_file, path)
    before = visit_state(path)
    leader, follower = pty.openpty()
    process = subprocess.Popen([str(VISITLENS), "--db", str(path), "import", "visits",
                                str(big_file)], stdout=subprocess.DEVNULL, stderr=follower,
                               env=_clean_env())
    os.close(follower)
    seen = b""
    try:
        deadline = time.monotonic() + 300
        while b"write" not in seen:
            assert time.monotonic() < deadline and process.poll() is None, seen[-300:]
            ready, _w, _x = select.select([leader], [], [], 0.5)
            if ready:
                seen += os.read(leader, 4096)
        time.sleep(0.3)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=30)
        os.close(leader)
    assert process.returncode == -signal.SIGKILL
    assert b"rows" in seen  # the progress line names the rows
    assert visit_state(path) == before
    done = cli(path, "import", "visits", str(big_file), "--json")
    assert json.loads(done.stdout)["inserted"] == BIG
    assert visit_state(path)[:2] == (BIG, 1)


def test_every_row_of_a_big_file_keeps_its_spreadsheet_number(world: Database,
                                                              big_file: Path) -> None:
    """DuckDB reads the file in parallel; each staged row must still carry its own row
    number (visit S0000000 is on row 2): detect's problems name rows by it."""
    cur = world.cursor()
    settings = business_settings.load(world)
    with tempfile.TemporaryDirectory() as folder:
        scan = formats.scan_csv("visits", big_file, Path(folder))
        assert scan.regular and scan.plain_text and scan.problems == []
        _stage_csv(cur, scan, settings, lambda stage, fraction: None)
    try:
        assert cur.execute("""SELECT count(*), count(*) FILTER (
                                  WHERE _row <> CAST(visit_id[2:] AS BIGINT) + 2)
                              FROM imp""").fetchone() == (BIG, 0)
    finally:
        _drop_staged(cur)


def test_streamed_imports_leave_nothing_staged(world: Database, tmp_path: Path) -> None:
    """The cursor outlives the import: the file's copies must not stay in memory."""
    cur = world.cursor()

    def staged() -> list[str]:
        return [r[0] for r in cur.execute(
            "SELECT table_name FROM duckdb_tables() WHERE temporary UNION ALL "
            "SELECT view_name FROM duckdb_views() WHERE temporary AND NOT internal").fetchall()]

    path = tmp_path / "v.csv"
    for text in ("visit_id,employee_code,customer_code,check_in_at\n"
                 "L1,E001,C001,2024-05-06 09:00:00\n",
                 "visit_id,employee_code,customer_code,check_in_at\nL2,E001,C404,x\n",
                 "visit_id,employee_code,customer_code,check_in_at\n\nL3,E001,C001,"
                 "2024-05-06 10:00:00,extra\n"):
        path.write_text(text, encoding="utf-8")
        for detect_only in (True, False):
            run_import_csv_file(world, "visits", path, "tests", detect_only=detect_only)
            assert staged() == []


def test_the_scan_sees_blank_lines_and_control_characters(tmp_path: Path) -> None:
    cases = {
        b"code,name\nD1,a\nD2,b\n": (True, True),
        b"code,name\nD1,a\nD2,b\n\n\n": (True, True),  # blank lines after the last record
        b"code,name\nD1,a\n\nD2,b\n": (False, True),
        b"code,name\r\nD1,a\r\n\r\nD2,b\r\n": (False, True),
        b"code,name\nD1,a\tb\n": (True, False),
        b"code,name\nD1,a\x7fb\n": (True, False),
        "code,name\nD1,a\ufffdb\n".encode(): (True, False),
        "code,name\nD1,中文\n".encode(): (True, True),
    }
    for data, (regular, plain) in cases.items():
        path = tmp_path / "f.csv"
        path.write_bytes(data)
        scan = formats.scan_csv("departments", path, tmp_path)
        assert (scan.regular, scan.plain_text) == (regular, plain), data


def test_an_xlsx_keeps_the_upload_limit_on_the_command_line(world_file: Path,
                                                            tmp_path: Path) -> None:
    """Only CSV is streamed: a workbook over 50 MB is refused before it is read."""
    path = tmp_path / "big.xlsx"
    with path.open("wb") as sparse:
        sparse.truncate(formats.MAX_UPLOAD_BYTES + 1)
    db_path = tmp_path / "x.duckdb"
    shutil.copyfile(world_file, db_path)
    done = cli(db_path, "import", "customers", str(path), "--json")
    assert done.returncode == 1
    assert [p["code"] for p in json.loads(done.stdout)["problems"]] == ["too_large"]
