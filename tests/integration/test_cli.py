"""The `visitlens` command as a user runs it: a real process on a real database file."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from pipelines.db import Database
from pipelines.upgrade import upgrade
from tests.conftest import Factory
from tests.datasets import build_week

VISITLENS = str(Path(sys.executable).with_name("visitlens"))


def run(db_path: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([VISITLENS, "--db", str(db_path), *args], capture_output=True,
                          text=True, input=stdin, timeout=120)


@pytest.fixture
def week_file(tmp_path: Path) -> Path:
    path = tmp_path / "week.duckdb"
    database = Database(path)
    upgrade(database)
    build_week(Factory(database))
    database.close()
    return path


def test_init_is_idempotent(tmp_path: Path) -> None:
    path = tmp_path / "x.duckdb"
    assert run(path, "init").returncode == 0
    assert run(path, "init").returncode == 0
    assert "Database ready" in run(path, "init").stdout


def test_ranking_json_as_supervisor(week_file: Path) -> None:
    result = run(week_file, "report", "ranking", "--from", "2024-05-06", "--to", "2024-05-12",
                 "--as", "east", "--format", "json")
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["report"] == "ranking"
    rows = {r["employee_code"]: r for r in doc["rows"]}
    assert sorted(rows) == ["E1", "E2", "E3"]
    assert rows["E1"]["completion_rate"] == 0.67 and rows["E1"]["rank"] == 1
    assert rows["E1"]["avg_stay_minutes"] == 19.99
    assert rows["E3"]["completion_rate"] is None and rows["E3"]["daily_avg"] == 0.25
    assert list(rows["E1"]) == ["employee_code", "employee_name", "department_code", "visits",
                                "valid_visits", "daily_avg", "planned", "planned_done",
                                "completion_rate", "customers_visited", "avg_stay_minutes",
                                "rank"]


def test_detail_json_fields(week_file: Path) -> None:
    result = run(week_file, "report", "detail", "--from", "2024-05-06", "--to", "2024-05-12",
                 "--format", "json", "--employee", "E1")
    rows = json.loads(result.stdout)["rows"]
    assert [r["visit_id"] for r in rows] == ["v1", "v2", "v3", "v4"]
    assert rows[0]["check_in_at"] == "2024-05-06 09:00:00" and rows[0]["valid"] is True
    assert rows[1]["stay_minutes"] == 9.98 and rows[1]["invalid_reasons"] == ["short_stay"]
    assert rows[2]["check_out_at"] is None and rows[2]["stay_minutes"] is None


def test_trend_csv_and_table(week_file: Path) -> None:
    csv_out = run(week_file, "report", "trend", "--from", "2024-05-06", "--to", "2024-05-12",
                  "--granularity", "week", "--as", "east", "--format", "csv")
    lines = csv_out.stdout.strip().splitlines()
    assert lines[0].startswith("period,start,end,workdays,headcount,visits")
    assert lines[-1].startswith("2024-W19,2024-05-06,2024-05-12,4,2,9,5,1.13,0.63,0.92")
    table = run(week_file, "report", "trend", "--from", "2024-05-06", "--to", "2024-05-12")
    assert table.returncode == 0 and "2024-05" in table.stdout


def test_scope_of_as_is_applied_and_refused_outside(week_file: Path) -> None:
    analyst = run(week_file, "report", "ranking", "--from", "2024-05-06", "--to", "2024-05-12",
                  "--as", "bj", "--format", "json")
    assert [r["employee_code"] for r in json.loads(analyst.stdout)["rows"]] == ["E4"]
    refused = run(week_file, "report", "ranking", "--from", "2024-05-06", "--to", "2024-05-12",
                  "--as", "bj", "--department", "R1")
    assert refused.returncode == 1 and "outside your scope" in refused.stderr
    assert "Traceback" not in refused.stderr and refused.stdout == ""


def test_bad_arguments_exit_1_without_traceback(week_file: Path) -> None:
    for args in (["report", "ranking", "--from", "2024-13-01", "--to", "2024-05-12"],
                 ["report", "ranking", "--from", "2024-05-12", "--to", "2024-05-01"],
                 ["report", "ranking", "--from", "2024-05-01", "--to", "2024-05-12",
                  "--sort", "nonsense"],
                 ["report", "ranking", "--from", "2024-05-01", "--to", "2024-05-12",
                  "--as", "ghost"],
                 ["import", "customers", "/no/such/file.csv"],
                 ["frobnicate"]):
        result = run(week_file, *args)
        assert result.returncode == 1, (args, result.stderr)
        assert "Traceback" not in result.stderr and "error" in result.stderr


def test_import_detect_only_and_json(week_file: Path, tmp_path: Path) -> None:
    bad = tmp_path / "customers.csv"
    bad.write_bytes("客户编码,客户名称,客户等级\nC9,新店,Z\nC1,重复,A\n".encode("gbk"))
    detect = run(week_file, "import", "customers", str(bad), "--detect-only")
    assert detect.returncode == 1
    assert "row 2, column grade: 'Z' is not allowed" in detect.stderr
    assert "row 3, column code: Customer 'C1' already exists" in detect.stderr
    as_json = run(week_file, "import", "customers", str(bad), "--json")
    doc = json.loads(as_json.stdout)
    assert as_json.returncode == 1 and doc["ok"] is False and doc["inserted"] == 0
    assert [(p["row"], p["column"], p["code"]) for p in doc["problems"]] == [
        (2, "grade", "bad_value"), (3, "code", "exists")]
    good = tmp_path / "good.csv"
    good.write_text("code,name\nC9,新店\n", encoding="utf-8-sig")
    imported = run(week_file, "import", "customers", str(good), "--json")
    assert json.loads(imported.stdout) == {"ok": True, "rows": 1, "inserted": 1, "skipped": 0,
                                           "problems": []}


def test_user_add_reads_password_from_stdin(week_file: Path) -> None:
    result = run(week_file, "user", "add", "newbie", "--role", "analyst", "--department", "B11",
                 "--password-stdin", stdin="long-enough-pw\n")
    assert result.returncode == 0, result.stderr
    from pipelines.users import authenticate

    database = Database(week_file)
    try:
        user = authenticate(database, "newbie", "long-enough-pw")
        assert user is not None and user.departments == ("B11",)
    finally:
        database.close()
    short = run(week_file, "user", "add", "x", "--role", "analyst", "--password-stdin",
                stdin="short\n")
    assert short.returncode == 1 and "at least 8" in short.stderr
