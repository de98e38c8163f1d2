"""Adding a report is one module and one SQL file (issue 16): the registry finds it, and
`visitlens report` lists it, takes it and prints its JSON, with no other file touched."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from dashboard import reports
from dashboard.reports.filters import Filters
from dashboard.reports.sql import load_sql
from dashboard.scope import scope_for_username
from pipelines.db import Database
from pipelines.upgrade import upgrade
from tests.conftest import Factory
from tests.datasets import build_week

VISITLENS = str(Path(sys.executable).with_name("visitlens"))

TOY_MODULE = '''"""A toy report: visits per employee and day."""
from dashboard.i18n import N_
from dashboard.reports import Parameter, Report, metrics
from dashboard.reports.sql import query


def visit_days(db, scope, filters, minimum="1"):
    employees = metrics.group_employees(db, scope, filters)
    return query(db, "toy_visit_days", {"employees": employees, "date_from": filters.date_from,
                                        "date_to": filters.date_to, "minimum": int(minimum)})


REPORT = Report("toy-days", "visits per employee and day", ("employee_code", "day", "visits"),
                {"employee_code": N_("Employee code"), "day": N_("Date"),
                 "visits": N_("Visits")},
                visit_days, (Parameter("minimum", "toy-days: fewest visits a day", default="1"),))
'''
TOY_SQL = """SELECT employee_code, visit_date AS day, count(*) AS visits
FROM visits
WHERE employee_code IN (SELECT unnest($employees)) AND visit_date BETWEEN $date_from AND $date_to
GROUP BY employee_code, visit_date
HAVING count(*) >= $minimum
ORDER BY employee_code, day
"""


@pytest.fixture
def toy_dir(tmp_path: Path) -> Path:
    """A directory holding the toy report's module and its SQL, outside the source tree."""
    folder = tmp_path / "toy_reports"
    (folder / "queries").mkdir(parents=True)
    (folder / "toy_days.py").write_text(TOY_MODULE, "utf-8")
    (folder / "queries" / "toy_visit_days.sql").write_text(TOY_SQL, "utf-8")
    return folder


@pytest.fixture
def week_file(tmp_path: Path) -> Path:
    path = tmp_path / "week.duckdb"
    database = Database(path)
    upgrade(database)
    build_week(Factory(database))
    database.close()
    return path


@pytest.fixture
def registered(toy_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """This process's registry with the toy directory on the package path."""
    monkeypatch.setattr(reports, "__path__", [*reports.__path__, str(toy_dir)])
    reports.registry.cache_clear()
    yield
    reports.registry.cache_clear()
    load_sql.cache_clear()
    sys.modules.pop("dashboard.reports.toy_days", None)


def run(toy_dir: Path | None, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env.pop("VISITLENS_REPORT_PATH", None)
    if toy_dir is not None:
        env["VISITLENS_REPORT_PATH"] = str(toy_dir)
    return subprocess.run([VISITLENS, *args], capture_output=True, text=True, env=env,
                          timeout=120)


def test_the_six_reports_of_design_are_registered() -> None:
    """DESIGN.md section 5's reports, in its order, each field with a header label."""
    registry = reports.registry()
    assert list(registry)[:6] == ["ranking", "detail", "trend", "frequency", "grades",
                                  "summary"]
    for report in registry.values():
        assert set(report.fields) <= set(report.labels), report.name
    assert {"sort", "granularity", "by"} <= set(reports.parameters())


def test_a_toy_report_is_found_by_the_registry(registered: None, week_file: Path) -> None:
    report = reports.get("toy-days")
    assert report.fields == ("employee_code", "day", "visits")
    assert [p.name for p in report.parameters] == ["minimum"]
    db = Database(week_file)
    try:
        scope = scope_for_username(db, "bj")
        week = Filters(date(2024, 5, 6), date(2024, 5, 12))
        frame = report.frame(db, scope, week)
        ranking = reports.get("ranking").frame(db, scope, week)
    finally:
        db.close()
    assert set(frame["employee_code"]) <= set(ranking["employee_code"])  # bj's scope only
    assert frame["visits"].sum() == ranking["visits"].sum() > 0


def test_a_toy_report_appears_on_the_command_line(toy_dir: Path, week_file: Path) -> None:
    """--help lists it and its parameter; --format json prints its rows in DESIGN's shape;
    --as applies the scope like every report."""
    assert "toy-days" not in run(None, "report", "--help").stdout  # not there by itself
    helped = run(toy_dir, "report", "--help")
    assert helped.returncode == 0, helped.stderr
    assert "toy-days" in helped.stdout and "--minimum" in helped.stdout
    result = run(toy_dir, "--db", str(week_file), "report", "toy-days", "--from",
                 "2024-05-06", "--to", "2024-05-12", "--as", "east", "--format", "json")
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["report"] == "toy-days"
    assert doc["rows"] and all(list(r) == ["employee_code", "day", "visits"]
                               for r in doc["rows"])
    assert {r["employee_code"] for r in doc["rows"]} <= {"E1", "E2", "E3"}
    ranking = run(toy_dir, "--db", str(week_file), "report", "ranking", "--from", "2024-05-06",
                  "--to", "2024-05-12", "--as", "east", "--format", "json")
    assert sum(r["visits"] for r in doc["rows"]) == sum(
        r["visits"] for r in json.loads(ranking.stdout)["rows"])
    busy = run(toy_dir, "--db", str(week_file), "report", "toy-days", "--from", "2024-05-06",
               "--to", "2024-05-12", "--minimum", "2", "--format", "json")
    assert all(r["visits"] >= 2 for r in json.loads(busy.stdout)["rows"])
    outside = run(toy_dir, "--db", str(week_file), "report", "toy-days", "--from",
                  "2024-05-06", "--to", "2024-05-12", "--as", "bj", "--employee", "E1")
    assert outside.returncode == 1 and "Traceback" not in outside.stderr
