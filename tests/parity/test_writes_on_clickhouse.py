"""Writes on ClickHouse: the same edits applied to DuckDB and to chDB leave the same data.

The seeded small demo is loaded into both stores; then the archive's writes — soft
delete and restore, bind and unbind, shares, department assignment, a customer edit that
moves the customer (validity of its visits recomputed), the edit form's detect, a new
customer in GCJ-02 —, a plan, a holiday, a settings change (every visit's validity and the
summaries recomputed) and a new user run on both through the same pipelines functions, and after each one every table must hold the same rows (ids drawn from a
sequence on DuckDB and a Snowflake id on ClickHouse, timestamps and password hashes
aside), and the reports must agree.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from dashboard.reports import metrics
from dashboard.reports.filters import Filters
from dashboard.scope import operator_scope
from pipelines import (
    audit,
    business_settings,
    calendar,
    customers,
    plans,
    policy,
    sessions,
    throttle,
    users,
)
from pipelines.clickhouse.copy import copy_archive
from pipelines.clickhouse.database import ClickHouseDatabase
from pipelines.db import Database
from pipelines.generate import build_demo
from pipelines.imports import run_import
from pipelines.policy import Scope
from tests.conftest import chdb_url

pytest.importorskip("chdb")

ADMIN_T = Scope("t", "admin", True)

ANCHOR = date(2024, 6, 30)
# Differ by construction between engines: sequence vs Snowflake ids, clocks, salts.
VOLATILE = {"created_at", "updated_at", "logged_at", "started_at", "finished_at",
            "expires_at", "last_used_at", "deleted_at", "audit_id", "import_id", "plan_id",
            "route_id", "password_hash", "token_hash", "token_id", "before_json",
            "after_json", "value", "session_hash", "last_seen_at", "ended_at"}


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory,
         chdb_folder: Path) -> Iterator[tuple[Database, ClickHouseDatabase]]:
    path = tmp_path_factory.mktemp("writes") / "demo.duckdb"
    build_demo(str(path), size="small", seed=3, samples_dir=None, anchor=ANCHOR)
    duck = Database(path)
    click = ClickHouseDatabase(chdb_url(chdb_folder, "writes"))
    copy_archive(duck, click)
    yield duck, click
    click.close()
    duck.close()


def table_rows(db: Any, table: str) -> pd.DataFrame:
    frame = db.df(f"SELECT * FROM {table}")
    if table == "audit_log":  # a plan's, route's or import's key is its id: drawn differently
        ids = frame["entity"].isin(["plan", "route", "import"])
        frame["entity_key"] = frame["entity_key"].astype(object).where(~ids, None)
    keep = [c for c in frame.columns if c not in VOLATILE]
    frame = frame[keep].astype(object).where(frame[keep].notna(), None)
    return frame.sort_values(keep, key=lambda s: s.astype(str)).reset_index(drop=True)


def assert_same_data(duck: Database, click: ClickHouseDatabase, where: str) -> None:
    tables = [r[0] for r in duck.rows(
        "SELECT table_name FROM duckdb_tables() WHERE NOT temporary ORDER BY table_name")]
    for table in tables:
        left, right = table_rows(duck, table), table_rows(click, table)
        assert len(left) == len(right), (where, table, len(left), len(right))
        pd.testing.assert_frame_equal(left, right, check_dtype=False, obj=f"{where}: {table}")
    month = Filters(date(2024, 6, 1), ANCHOR)
    for report in (metrics.ranking, metrics.frequency, metrics.summary):
        pd.testing.assert_frame_equal(report(duck, operator_scope(duck), month),
                                      report(click, operator_scope(click), month),
                                      check_dtype=False, obj=f"{where}: {report.__name__}")


def both(pair: tuple[Database, ClickHouseDatabase], where: str,
         write: Callable[[Any], Any]) -> tuple[Any, Any]:
    duck, click = pair
    answers = write(duck), write(click)
    assert_same_data(duck, click, where)
    return answers


def some(db: Database, sql: str) -> list[Any]:
    return [r[0] for r in db.rows(sql)]


def test_copied_archives_start_equal(pair: tuple[Database, ClickHouseDatabase]) -> None:
    assert_same_data(*pair, "after the copy")


def test_archive_edits(pair: tuple[Database, ClickHouseDatabase]) -> None:
    duck = pair[0]
    codes = some(duck, "SELECT code FROM customers WHERE NOT deleted ORDER BY code LIMIT 3")
    employee, other = some(duck, "SELECT code FROM employees WHERE status = 'active' "
                                 "ORDER BY code LIMIT 2")
    department = some(duck, "SELECT code FROM departments ORDER BY code DESC LIMIT 1")[0]
    assert both(pair, "delete", lambda db: customers.delete_customers(db, codes, ADMIN_T)) == (3, 3)
    both(pair, "restore", lambda db: customers.restore_customers(db, codes[:1], ADMIN_T))
    both(pair, "bind", lambda db: customers.bind(db, other, codes[:1], ADMIN_T))
    both(pair, "unbind", lambda db: customers.unbind(db, other, codes[:1], ADMIN_T))
    both(pair, "share", lambda db: customers.add_shares(db, employee, [other], ADMIN_T))
    both(pair, "revoke", lambda db: customers.revoke_share(db, employee, other, ADMIN_T))
    both(pair, "assign", lambda db: customers.assign_department(db, department, codes[:1],
                                                                ADMIN_T))
    record = customers.get_customer(duck, codes[0])
    assert record is not None
    both(pair, "edit", lambda db: customers.update_customer(
        db, codes[0], {"name": "改名后的客户", "grade": "A", "longitude": "104.2",
                       "latitude": "30.6"}, int(record["version"]), ADMIN_T))
    refused = both(pair, "detect", lambda db: customers.validate_customer(
        db, {"code": codes[1], "name": "坏\x07名", "grade": "Z", "longitude": "abc"}))
    assert refused[0] == refused[1] and len(refused[0]) >= 4
    both(pair, "add", lambda db: customers.add_customer(
        db, {"code": "NEW001", "name": "新客户", "grade": "B", "longitude": "104.05",
             "latitude": "30.65", "coord_system": "gcj02"}, [employee], ADMIN_T))


def test_plans_holidays_settings_users(pair: tuple[Database, ClickHouseDatabase]) -> None:
    duck = pair[0]
    employee = some(duck, "SELECT code FROM employees WHERE status = 'active' ORDER BY code "
                          "LIMIT 1")[0]
    owned = some(duck, f"SELECT customer_code FROM bindings WHERE employee_code = '{employee}'"
                       " ORDER BY customer_code LIMIT 2")
    day = date(2024, 7, 3)
    # As a supervisor of the employee's department: the write's scope checks (customer
    # membership) answer the same on both engines, for a customer outside too.
    department = some(duck, f"SELECT department_code FROM employees WHERE code = '{employee}'")
    supervisor = Scope("t", "supervisor", False, (department[0],), frozenset(department))
    stranger = some(duck, "SELECT code FROM customers WHERE code NOT IN (SELECT customer_code "
                          "FROM customer_facts JOIN customer_membership USING (customer_id) "
                          f"WHERE customer_membership.department_code = '{department[0]}') "
                          "ORDER BY code LIMIT 1")
    assert both(pair, "outside", lambda db: policy.outside_customers(
        db.cursor(), supervisor, [*owned, *stranger, "NOPE"])) == ([*stranger, "NOPE"],) * 2
    both(pair, "plan", lambda db: plans.create_plan(db, employee, day, "拜访", owned, None,
                                                    supervisor))
    both(pair, "holiday", lambda db: calendar.set_holiday(db, date(2024, 7, 5), "off", "休",
                                                          "t"))
    settings = business_settings.load(duck)
    both(pair, "settings", lambda db: business_settings.save(
        db, replace(settings, min_valid_stay_minutes=25.0), "t"))
    both(pair, "user", lambda db: users.add_user(db, "newuser", "password-9", "analyst"))


def test_file_imports(pair: tuple[Database, ClickHouseDatabase]) -> None:
    duck = pair[0]
    employee, customer = duck.rows(
        "SELECT b.employee_code, b.customer_code FROM bindings b JOIN employees e "
        "ON e.code = b.employee_code WHERE e.status = 'active' ORDER BY 1, 2 LIMIT 1")[0]
    visits = ("employee_code,customer_code,check_in_at,check_out_at,check_in_lon,check_in_lat,"
              "check_in_source\n"
              f"{employee},{customer},2024-6-29 9:00,2024-06-29 09:40:00,104.06,30.57,gps\n"
              f"{employee},{customer},2024-06-29T15:00:00+08:00,2024-06-29 15:05:00,,,\n")
    first = both(pair, "visits import", lambda db: run_import(
        db, "visits", visits.encode("gbk"), "visits.csv", "t"))
    assert first[0].ok and first[1].ok and first[0].inserted == first[1].inserted == 2
    again = both(pair, "visits resent", lambda db: run_import(
        db, "visits", visits.encode(), "visits.csv", "t"))
    assert again[0].inserted == again[1].inserted == 0
    bad = both(pair, "refused import", lambda db: run_import(
        db, "visits", (visits + "E-NONE,C-NONE,2024-13-01 09:00,,,,\n").encode(), "v.csv", "t"))
    assert not bad[0].ok and [p.as_dict() for p in bad[0].problems] == [
        p.as_dict() for p in bad[1].problems]
    customers_file = ("code,name,grade,longitude,latitude,owner_codes\n"
                      f"IMP001,导入客户,C,104.07,30.66,{employee}\n")
    both(pair, "customers import", lambda db: run_import(
        db, "customers", customers_file.encode(), "customers.csv", "t"))


def test_phone_api_writes(pair: tuple[Database, ClickHouseDatabase]) -> None:
    """Check-in, check-out, an offline batch with a resend, a customer from the field."""
    from pipelines import phone

    duck = pair[0]
    employee, customer = duck.rows(
        "SELECT b.employee_code, b.customer_code FROM bindings b JOIN employees e "
        "ON e.code = b.employee_code WHERE e.status = 'active' ORDER BY 1 DESC, 2 LIMIT 1")[0]
    now = datetime(2024, 6, 30, 18, 0)
    start = phone.VisitEnd(datetime(2024, 6, 30, 9, 0), 104.07, 30.66, "gps")
    checked_in = both(pair, "check-in", lambda db: phone.record_visits(
        db, employee, [phone.PhoneVisit("phone-1", customer, start)], "t", "check-in", now))
    assert [o.status for o in checked_in[0]] == [o.status for o in checked_in[1]]
    end = phone.VisitEnd(datetime(2024, 6, 30, 9, 45), 104.07, 30.66, "gps")
    both(pair, "check-out", lambda db: phone.check_out(db, employee, "phone-1", end, "wgs84",
                                                       "t", now))
    batch = [phone.PhoneVisit(f"phone-{i}", customer,
                              phone.VisitEnd(datetime(2024, 6, 30, 10 + i, 0), 104.0, 30.6,
                                             "net"),
                              phone.VisitEnd(datetime(2024, 6, 30, 10 + i, 20)))
             for i in range(2, 5)]
    both(pair, "batch", lambda db: phone.record_visits(db, employee, batch, "t", "batch", now))
    resent = both(pair, "resent batch", lambda db: phone.record_visits(db, employee, batch,
                                                                       "t", "batch", now))
    assert [o.status for o in resent[0]] == [o.status for o in resent[1]]
    both(pair, "field customer", lambda db: phone.add_phone_customer(
        db, employee, {"code": phone.phone_customer_code(employee, "c-1"), "name": "田间客户",
                       "longitude": "104.08", "latitude": "30.67"}, "t"))


def test_sessions_throttling_and_refusals(pair: tuple[Database, ClickHouseDatabase]) -> None:
    """Issue 14: sessions end with a role change, sign-in counts and coalesced refusals
    hold the same rows on both stores (session ids are random: their hashes aside)."""
    both(pair, "session user", lambda db: users.add_user(db, "sessions", "password-9",
                                                          "analyst"))
    started = both(pair, "sign in", lambda db: sessions.start(db, "sessions"))
    assert all(sessions.check(db, sid) is not None for db, sid in zip(pair, started,
                                                                      strict=True))
    both(pair, "role change", lambda db: users.set_role(db, "sessions", "supervisor", ()))
    assert all(sessions.check(db, sid) is None for db, sid in zip(pair, started, strict=True))
    limits, now = throttle.Limits(account=(2, 60)), datetime(2024, 6, 30, 12, 0)

    def fail_twice(db: Any) -> int | None:
        for _ in range(2):
            assert throttle.attempt(db, limits, "sessions", "10.0.0.1", now) is None
            throttle.failed(db, limits, "sessions", "10.0.0.1", now)
        return throttle.attempt(db, limits, "sessions", "10.0.0.1", now)

    assert both(pair, "throttle", fail_twice) == (60, 60)

    def refuse_thrice(db: Any) -> None:
        with db.transaction() as cur:
            for _ in range(3):
                audit.record(cur, "sessions", "denied", "settings.update", None, None,
                             {"role": "supervisor"})

    both(pair, "refusals", refuse_thrice)
