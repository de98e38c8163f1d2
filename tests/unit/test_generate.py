"""The demo generator: deterministic, the right size, realistic, safe, and its samples import."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from pipelines import generate
from pipelines.api_tokens import authenticate_employee
from pipelines.db import Database
from pipelines.generate import DemoError, build_demo
from pipelines.imports import run_import
from pipelines.upgrade import upgrade
from pipelines.users import authenticate

ANCHOR = date(2026, 11, 27)
SEED = 7
KEY_TABLES = (
    "departments", "department_tree", "employees", "customers", "bindings", "shares", "routes",
    "route_items", "plans", "plan_items", "holidays", "visits",
)


def _row(db: Database, sql: str, params: list[Any] | None = None) -> tuple[Any, ...]:
    row = db.execute(sql, params).fetchone()
    assert row is not None
    return row


def _checksums(db: Database) -> dict[str, tuple[Any, ...]]:
    """Row count and an order-independent digest of every key table."""
    return {
        table: _row(db, f"SELECT count(*), md5(coalesce(string_agg(CAST(t AS VARCHAR), chr(10) "
                        f"ORDER BY CAST(t AS VARCHAR)), '')) FROM {table} AS t")
        for table in KEY_TABLES
    }


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Database, list, list]]:
    """One small demo built once for the read-only tests: (db, logins, progress calls)."""
    folder = tmp_path_factory.mktemp("demo")
    calls: list[tuple[str, float]] = []
    logins = build_demo(str(folder / "demo.duckdb"), "small", SEED,
                        progress=lambda stage, f: calls.append((stage, f)),
                        samples_dir=folder / "samples", anchor=ANCHOR)
    database = Database(folder / "demo.duckdb")
    yield database, logins, calls
    database.close()


@pytest.fixture(scope="module")
def demo_db(demo: tuple[Database, list, list]) -> Database:
    return demo[0]


# -- determinism ------------------------------------------------------------------------------
def test_same_inputs_give_identical_tables(demo_db: Database, tmp_path: Path) -> None:
    build_demo(str(tmp_path / "again.duckdb"), "small", SEED, samples_dir=None, anchor=ANCHOR)
    with Database(tmp_path / "again.duckdb") as again:
        assert _checksums(again) == _checksums(demo_db)


def test_another_seed_gives_other_data(demo_db: Database, tmp_path: Path) -> None:
    build_demo(str(tmp_path / "other.duckdb"), "small", SEED + 1, samples_dir=None,
               anchor=ANCHOR)
    with Database(tmp_path / "other.duckdb") as other:
        mine, theirs = _checksums(demo_db), _checksums(other)
    for table in ("employees", "customers", "visits", "plan_items"):
        assert mine[table] != theirs[table], table
    assert mine["departments"] == theirs["departments"]  # the org chart is fixed by size


# -- size and shape -------------------------------------------------------------------------
def test_small_size_is_roughly_right(demo_db: Database) -> None:
    assert demo_db.scalar("SELECT count(*) FROM employees") == 50
    assert demo_db.scalar("SELECT count(*) FROM customers") == 2000
    assert 18_000 <= demo_db.scalar("SELECT count(*) FROM visits") <= 22_000
    bindings = demo_db.scalar("SELECT count(*) FROM bindings")
    assert 2000 <= bindings <= 2300  # most customers one owner, ~10% two, ~5% none
    inactive = demo_db.scalar("SELECT count(*) FROM employees WHERE status = 'inactive'")
    assert 1 <= inactive <= 5
    assert 1 <= demo_db.scalar("SELECT count(*) FROM shares") <= 10


def test_department_tree_has_three_levels(demo_db: Database) -> None:
    assert demo_db.rows("SELECT code, name FROM departments WHERE parent_code IS NULL") == [
        ("HQ", "总部")]
    assert demo_db.scalar("SELECT max(depth) FROM department_tree") == 2
    assert demo_db.scalar(
        "SELECT name FROM departments WHERE code = 'R01'") == "华东大区"
    assert demo_db.scalar(
        "SELECT name FROM departments WHERE code = 'B0201'") == "北京分公司"
    # every employee works in a branch (a leaf three levels down)
    assert demo_db.scalar(
        """SELECT count(*) FROM employees AS e JOIN department_tree AS t
           ON t.descendant_code = e.department_code AND t.ancestor_code = 'HQ'
           WHERE t.depth = 2""") == 50


def test_codes_and_text_look_real(demo_db: Database) -> None:
    assert demo_db.scalar("SELECT count(*) FROM employees WHERE NOT regexp_full_match("
                          "code, 'E[0-9]{5}')") == 0
    assert demo_db.scalar("SELECT count(*) FROM customers WHERE NOT regexp_full_match("
                          "code, 'C[0-9]{7}') OR NOT regexp_full_match(phone, '1[0-9]{10}')") == 0
    assert demo_db.scalar("SELECT count(*) FROM visits WHERE NOT regexp_full_match("
                          "visit_id, 'V[0-9]{9}')") == 0
    assert demo_db.scalar("SELECT count(DISTINCT visit_id) = count(*) FROM visits")
    name = demo_db.scalar("SELECT name FROM employees WHERE code = 'E00001'")
    assert 2 <= len(name) <= 3 and all("\u4e00" <= ch <= "\u9fff" for ch in name)
    # customers sit around their branch's city: within ~60 km of it (3 km + noise)
    assert demo_db.scalar(
        """SELECT max(abs(c.latitude - avg_lat)) FROM customers AS c
           JOIN (SELECT department_code, avg(latitude) AS avg_lat FROM customers
                 GROUP BY 1) AS a USING (department_code)""") < 0.6


def test_grade_and_location_mix(demo_db: Database) -> None:
    shares = dict(demo_db.rows(
        "SELECT coalesce(grade, '-'), count(*) / 2000 FROM customers GROUP BY 1"))
    for grade, expected in {"A": 0.10, "B": 0.25, "C": 0.35, "D": 0.20, "-": 0.10}.items():
        assert abs(shares[grade] - expected) < 0.04, grade
    no_location = demo_db.scalar("SELECT avg((longitude IS NULL)::INT) FROM customers")
    assert 0.01 <= no_location <= 0.06


# -- realism of the visits --------------------------------------------------------------------
def test_grade_a_customers_are_visited_more_than_grade_d(demo_db: Database) -> None:
    means = dict(demo_db.rows(
        """SELECT c.grade, avg(coalesce(v.n, 0)) FROM customers AS c
           LEFT JOIN (SELECT customer_code, count(*) AS n FROM visits GROUP BY 1) AS v
             ON v.customer_code = c.code
           WHERE c.grade IN ('A', 'D') GROUP BY 1"""))
    assert means["A"] > 1.5 * means["D"]


def test_weekdays_are_busy_and_weekends_and_holidays_light(demo_db: Database) -> None:
    per_day = dict(demo_db.rows(
        """SELECT isodow(d.day) >= 6, count(v.visit_date) / count(DISTINCT d.day)
           FROM (SELECT CAST(range AS DATE) AS day
                 FROM range(DATE '2025-11-28', DATE '2026-11-28', INTERVAL 1 DAY)) AS d
           LEFT JOIN visits AS v ON v.visit_date = d.day
           WHERE d.day NOT IN (SELECT day FROM holidays) GROUP BY 1"""))
    assert per_day[False] > 3 * per_day[True]
    off = demo_db.scalar(
        """SELECT count(v.visit_date) / count(DISTINCT h.day) FROM holidays AS h
           LEFT JOIN visits AS v ON v.visit_date = h.day WHERE h.kind = 'off'""")
    assert off < 0.2 * per_day[False]


def test_visits_cover_the_year_and_plans_two_weeks_more(demo_db: Database) -> None:
    first, last = _row(demo_db, "SELECT min(visit_date), max(visit_date) FROM visits")
    assert (first, last) == (ANCHOR - timedelta(days=364), ANCHOR)
    assert demo_db.scalar("SELECT max(plan_date) FROM plans") <= ANCHOR + timedelta(days=14)
    assert demo_db.scalar("SELECT max(plan_date) FROM plans") > ANCHOR + timedelta(days=7)
    hours = _row(demo_db, "SELECT min(hour(check_in_at)), "
                          "quantile_disc(hour(check_in_at), 0.99) FROM visits")
    assert hours[0] >= 7 and hours[1] <= 19


def test_invalid_share_and_reasons(demo_db: Database) -> None:
    invalid = demo_db.scalar("SELECT avg((invalid_mask <> 0)::INT) FROM visits")
    assert 0.10 <= invalid <= 0.50
    short, no_checkout, stay = _row(
        demo_db,
        "SELECT avg((stay_minutes < 10)::INT), avg((check_out_at IS NULL)::INT), "
        "median(stay_minutes) FROM visits")
    assert 0.07 <= short <= 0.17 and 0.03 <= no_checkout <= 0.09 and 18 <= stay <= 32
    gps, cell = (demo_db.scalar(
        "SELECT median(check_in_deviation_m) FROM visits WHERE check_in_source = ?", [s])
        for s in ("gps", "cell"))
    assert gps < 100 < cell < 1000


def test_every_visit_has_a_known_employee_and_customer(demo_db: Database) -> None:
    assert demo_db.scalar(
        """SELECT count(*) FROM visits AS v
           WHERE v.employee_code NOT IN (SELECT code FROM employees)
              OR v.customer_code NOT IN (SELECT code FROM customers)""") == 0
    own = demo_db.scalar(
        """SELECT avg((b.employee_code IS NOT NULL)::INT) FROM visits AS v
           LEFT JOIN bindings AS b USING (employee_code, customer_code)""")
    assert own > 0.7  # customers are mostly visited by their owners


def test_plan_completion_is_realistic(demo_db: Database) -> None:
    completion = demo_db.scalar(
        """SELECT avg((EXISTS (SELECT 1 FROM visits AS v WHERE v.employee_code = p.employee_code
                      AND v.customer_code = p.customer_code AND v.visit_date = p.plan_date))::INT)
           FROM plan_items AS p WHERE p.plan_date <= ?""", [ANCHOR])
    assert 0.50 <= completion <= 0.90
    sizes = _row(
        demo_db,
        "SELECT min(n), max(n) FROM (SELECT plan_id, count(*) AS n FROM plan_items GROUP BY 1)"
    )
    assert sizes[0] >= 3 and sizes[1] <= 10
    assert demo_db.scalar("SELECT count(*) FROM plans p WHERE isodow(plan_date) >= 6 AND "
                          "plan_date NOT IN (SELECT day FROM holidays WHERE kind = 'work')") == 0


def test_routes_hold_the_employees_own_customers(demo_db: Database) -> None:
    per_employee = _row(
        demo_db,
        "SELECT min(n), max(n) FROM (SELECT employee_code, count(*) AS n FROM routes GROUP BY 1)"
    )
    assert per_employee[0] >= 1 and per_employee[1] <= 3
    assert demo_db.scalar(
        """SELECT count(*) FROM route_items AS i JOIN routes AS r USING (route_id)
           LEFT JOIN bindings AS b ON b.employee_code = r.employee_code
                                  AND b.customer_code = i.customer_code
           WHERE b.customer_code IS NULL""") == 0


def test_holiday_calendar(demo_db: Database) -> None:
    names = dict(demo_db.rows("SELECT name, count(*) FROM holidays WHERE kind = 'off' "
                              "GROUP BY 1"))
    assert names["国庆节"] == 7 and names["春节"] >= 7
    work = demo_db.rows("SELECT day FROM holidays WHERE kind = 'work'")
    assert len(work) == 1 and work[0][0].isoweekday() == 6


# -- users, settings, progress ---------------------------------------------------------------
def test_logins_and_demo_marker(demo: tuple[Database, list, list]) -> None:
    db, logins, _ = demo
    web, phone_login = logins[:3], logins[3]
    assert [login.username for login in web] == ["admin", "supervisor", "analyst"]
    employee = authenticate_employee(db, phone_login.username, phone_login.password)
    assert employee is not None and employee.code == phone_login.username
    assert "phone API" in phone_login.description and len(logins) == 4
    for login in web:
        assert len(login.password) >= 8
        user = authenticate(db, login.username, login.password)
        assert user is not None and user.role == login.username
    assert authenticate(db, "supervisor", "visitlens-supervisor").departments == ("R01",)  # type: ignore[union-attr]
    assert "华东大区 (R01)" in logins[1].description
    assert "北京分公司 (B0201)" in logins[2].description
    marker = json.loads(db.scalar("SELECT value FROM settings WHERE key = 'demo'"))
    assert marker == {"size": "small", "seed": SEED, "anchor": ANCHOR.isoformat()}


def test_progress_is_reported_to_the_end(demo: tuple[Database, list, list]) -> None:
    calls = demo[2]
    fractions = [f for _, f in calls]
    assert fractions == sorted(fractions)
    assert calls[-1] == ("done", 1.0)
    assert {"departments", "employees", "customers", "visits", "plans", "samples"} <= {
        s for s, _ in calls}


# -- safety -----------------------------------------------------------------------------------
def test_refuses_to_overwrite_a_real_database(tmp_path: Path) -> None:
    path = tmp_path / "real.duckdb"
    with Database(path) as real:
        upgrade(real)
        real.execute("INSERT INTO departments (code, name) VALUES ('X', '真实数据')")
    with pytest.raises(DemoError, match="not a demo database"):
        build_demo(str(path), "small", samples_dir=None, anchor=ANCHOR)
    with Database(path) as real:
        assert real.scalar("SELECT name FROM departments") == "真实数据"


def test_refuses_to_overwrite_a_file_that_is_no_database(tmp_path: Path) -> None:
    path = tmp_path / "notes.duckdb"
    path.write_text("not a database")
    with pytest.raises(DemoError, match="refusing"):
        build_demo(str(path), "small", samples_dir=None, anchor=ANCHOR)
    assert path.read_text() == "not a database"


def test_unknown_size_is_refused(tmp_path: Path) -> None:
    with pytest.raises(DemoError, match="size"):
        build_demo(str(tmp_path / "x.duckdb"), "huge", samples_dir=None)


# -- sample import files ----------------------------------------------------------------------
def _import_samples(db: Database, folder: Path) -> dict[str, tuple[bool, int, int, int]]:
    results: dict[str, tuple[bool, int, int, int]] = {}
    for name, kind in generate.SAMPLE_FILES:
        path = folder / name
        result = run_import(db, kind, path.read_bytes(), name, "tests")
        assert result.ok, (name, result.as_json()["problems"])
        results[name] = (result.ok, result.rows, result.inserted, result.skipped)
    return results


@pytest.fixture(scope="module")
def demo_with_samples(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A small demo database (its own seed) and the samples `visitlens demo` wrote."""
    folder = tmp_path_factory.mktemp("samples-demo")
    path = folder / "demo.duckdb"
    build_demo(str(path), "small", SEED + 3, samples_dir=folder / "samples", anchor=ANCHOR)
    return path, folder / "samples"


def test_demo_writes_the_committed_samples(demo_with_samples: tuple[Path, Path]) -> None:
    _path, folder = demo_with_samples
    committed = Path(__file__).resolve().parents[2] / "data" / "samples"
    names = sorted(p.name for p in folder.iterdir())
    assert names == sorted([*(n for n, _ in generate.SAMPLE_FILES), generate.ERRORS_SAMPLE])
    assert names == sorted(p.name for p in committed.iterdir())
    for name in names:
        assert (folder / name).read_bytes() == (committed / name).read_bytes(), name
    assert (folder / "customers.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    (folder / "customers_gbk.csv").read_bytes().decode("gbk")


def test_customer_samples_import_on_their_own_into_the_demo(
        demo_with_samples: tuple[Path, Path], tmp_path: Path) -> None:
    """The first file a user tries (e.g. the GBK one) detects clean in a fresh demo."""
    path, folder = demo_with_samples
    copy = tmp_path / "copy.duckdb"
    copy.write_bytes(path.read_bytes())
    with Database(copy) as db:
        for name in ("customers_gbk.csv", "customers.csv", "customers.xlsx"):
            result = run_import(db, "customers", (folder / name).read_bytes(), name, "tests",
                                detect_only=True)
            assert result.ok and result.rows == len(generate.SAMPLE_CUSTOMERS), (
                name, result.as_json()["problems"])


def test_samples_import_into_a_fresh_demo_in_order(demo_with_samples: tuple[Path, Path],
                                                   tmp_path: Path) -> None:
    path, folder = demo_with_samples
    copy = tmp_path / "copy.duckdb"
    copy.write_bytes(path.read_bytes())
    with Database(copy) as db:
        before = db.scalar("SELECT count(*) FROM customers")
        results = _import_samples(db, folder)
        for name, (_ok, rows, inserted, skipped) in results.items():
            assert 10 <= rows <= 25 and inserted == rows and skipped == 0, name
        assert db.scalar("SELECT count(*) FROM customers") == before + 3 * len(
            generate.SAMPLE_CUSTOMERS)
        # the GCJ-02 customer is stored in WGS-84, the +08:00 visit in local time
        lon, lat = _row(db, "SELECT longitude, latitude FROM customers WHERE code = 'SC000003'")
        assert abs(lon - 123.4420) < 1e-5 and abs(lat - 41.7860) < 1e-5
        assert db.scalar("SELECT check_in_at FROM visits WHERE visit_id = 'SV0000008'") == \
            datetime(2026, 11, 18, 10, 5)
        assert db.scalar("SELECT phone FROM customers WHERE code = 'SC200001'") == "13840001234"
        for name, kind in generate.SAMPLE_FILES:
            if kind in ("visits", "plans", "holidays"):
                again = run_import(db, kind, (folder / name).read_bytes(), name, "tests")
                assert again.ok and again.inserted == 0 and again.skipped == again.rows, name


def test_the_errors_sample_gives_its_documented_problems(
        demo_with_samples: tuple[Path, Path]) -> None:
    """customers_with_errors.csv: one problem per row 3..10 (README, 'Importing files')."""
    path, folder = demo_with_samples
    with Database(path) as db:
        result = run_import(db, "customers", (folder / generate.ERRORS_SAMPLE).read_bytes(),
                            generate.ERRORS_SAMPLE, "tests", detect_only=True)
    assert not result.ok
    found = [(p["row"], p["column"]) for p in result.as_json()["problems"]]
    assert found == [(3, "grade"), (4, "longitude"), (5, "latitude"), (6, "department_code"),
                     (7, "owner_codes"), (8, "code"), (9, "code"), (10, "code")]


def test_sample_files_are_stable() -> None:
    """The samples are committed: they must not change from run to run."""
    assert generate.sample_files() == generate.sample_files()
