"""Visit plans and routes (pipelines.plans): audited changes, refusals, repetition, reports.

Dataset: tests.datasets.build_week (see tests/unit/test_metrics_employee.py), plus C4 loaded
and soft-deleted here. E1, E2, E4 active, E3 inactive. Imported plans (seq_plan 1..4, in
no promised order, so tests look them up by employee, date and name):
    E1 2024-05-06 周一 [C1, C2]     E1 2024-05-07 周二 [C2]
    E2 2024-05-10 周五 [C2, C1]     E4 2024-05-06 周一 [C1]
Holiday 2024-05-08 (Wednesday) is a day off. Visits of E1: C1 and C2 on 05-06, C1 on 05-07,
C3 on 05-09.

Report effect (DESIGN.md section 2: fulfilled = a visit by the same employee to the same
customer on the plan's date, valid or not). A new plan E1 2024-05-09 [C3, C1]: v4 (E1, C3,
05-09) fulfils C3; C1 was not visited by E1 that day. So:
    05-09 alone, E1: plan items 2, done 1, completion 1/2 = 0.5; headcount 1, workdays 1
        (a Thursday) -> planned per capita 2 / (1 * 1) = 2.0 (before: 0 items, completion null).
    05-09 alone, whole company: headcount 3 (E3 inactive) -> planned per capita 2 / 3.
    The week 05-06..05-12, E1: before 3 items, 2 done (05-06 C1 and C2 visited, 05-07 C2 not);
        after 5 items, 3 done -> completion 3/5 = 0.6; workdays Mon, Tue, Thu, Fri = 4 ->
        planned per capita 5 / (1 * 4) = 1.25.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest

from dashboard.reports import metrics
from dashboard.reports.filters import Filters
from dashboard.scope import operator_scope
from pipelines import calendar
from pipelines import plans as pl
from pipelines.customers import delete_customers
from pipelines.db import Database
from pipelines.plans import PlanError
from pipelines.policy import LOCAL_OPERATOR as OP
from pipelines.policy import Scope, ScopeError
from tests.conftest import Factory
from tests.datasets import build_week

MON, TUE, THU = date(2024, 5, 6), date(2024, 5, 7), date(2024, 5, 9)
EAST = Scope("east", "admin", True)  # an admin: audited under its name


@pytest.fixture
def week(db: Database, factory: Factory) -> Database:
    build_week(factory)
    factory.load("customers", "code,name\nC4,丁店\n")
    delete_customers(db, ["C4"], OP)
    return db


def _audit(db: Database, action: str) -> list[dict[str, Any]]:
    rows = db.records("SELECT username, entity, entity_key, before_json, after_json "
                      "FROM audit_log WHERE action = ? ORDER BY audit_id", [action])
    for row in rows:
        for key in ("before_json", "after_json"):
            row[key] = None if row[key] is None else json.loads(row[key])
    return rows


def _snapshot(db: Database) -> dict[str, list[tuple[Any, ...]]]:
    """Everything a plan or route change may write, to show a refusal wrote nothing."""
    return {
        "plans": db.rows("SELECT plan_id, employee_code, plan_date, plan_name, route_name "
                         "FROM plans ORDER BY plan_id"),
        "plan_items": db.rows("SELECT * FROM plan_items ORDER BY plan_id, position"),
        "routes": db.rows("SELECT route_id, employee_code, route_name FROM routes "
                          "ORDER BY route_id"),
        "route_items": db.rows("SELECT * FROM route_items ORDER BY route_id, position"),
        "audit": db.rows("SELECT audit_id, action FROM audit_log ORDER BY audit_id"),
    }


def _items(db: Database, plan_id: int) -> list[tuple[int, str]]:
    return [(int(p), str(c)) for p, c in db.rows(
        "SELECT position, customer_code FROM plan_items WHERE plan_id = ? ORDER BY position",
        [plan_id])]


def _monday(db: Database) -> int:
    """The id of E1's imported plan 周一 of 2024-05-06 ([C1, C2])."""
    return int(db.scalar("SELECT plan_id FROM plans WHERE employee_code = 'E1' "
                         "AND plan_date = '2024-05-06'"))


def _refused(db: Database, call: Any) -> list[tuple[str, str]]:
    """Run a change that must be refused; returns (code, message) of each problem."""
    before = _snapshot(db)
    with pytest.raises(PlanError) as caught:
        call()
    assert _snapshot(db) == before, "a refused change wrote something"
    for p in caught.value.problems:  # every message is its template filled with its params
        template = p.params["template"]
        assert p.message == template.format(**{k: v for k, v in p.params.items()
                                               if k != "template"})
    return [(p.code, p.message) for p in caught.value.problems]


# -- plans ---------------------------------------------------------------------------------
def test_create_plan_writes_the_plan_its_items_in_order_and_the_audit(week: Database) -> None:
    plan_id = pl.create_plan(week, "E1", THU, "  周四  ", ["C3", " C1 "], "东线", EAST)
    assert plan_id == 5  # seq_plan: the import took 1..4
    assert week.rows("SELECT employee_code, plan_date, plan_name, route_name FROM plans "
                     "WHERE plan_id = 5") == [("E1", THU, "周四", "东线")]
    assert _items(week, plan_id) == [(1, "C3"), (2, "C1")]
    assert week.rows("SELECT DISTINCT employee_code, plan_date FROM plan_items "
                     "WHERE plan_id = 5") == [("E1", THU)]
    [entry] = _audit(week, "plan.create")
    assert entry == {"username": "east", "entity": "plan", "entity_key": "5", "before_json": None,
                     "after_json": {"plan_id": 5, "employee_code": "E1", "plan_date": "2024-05-09",
                                    "plan_name": "周四", "route_name": "东线",
                                    "customer_codes": ["C3", "C1"]}}
    assert pl.plan_owner(week, plan_id) == "E1"
    assert pl.plan_owner(week, 999) is None
    assert pl.get_plan(week, plan_id)["customer_codes"] == ["C3", "C1"]  # type: ignore[index]


def test_a_name_of_exactly_100_characters_is_accepted(week: Database) -> None:
    plan_id = pl.create_plan(week, "E1", THU, "计" * 100, ["C3"], None, OP)
    assert week.scalar("SELECT plan_name FROM plans WHERE plan_id = ?", [plan_id]) == "计" * 100


def test_update_plan_replaces_name_and_items_in_order_and_audits(week: Database) -> None:
    # E1's 05-06 周一 [C1, C2] becomes 周一上午 [C3, C2, C1]: its own C1 and C2 do not
    # clash with itself.
    plan_id = _monday(week)
    pl.update_plan(week, plan_id, MON, "周一上午", ["C3", "C2", "C1"], EAST)
    assert week.rows("SELECT plan_name, route_name FROM plans WHERE plan_id = ?", [plan_id]) == [
        ("周一上午", None)]
    assert _items(week, plan_id) == [(1, "C3"), (2, "C2"), (3, "C1")]
    [entry] = _audit(week, "plan.update")
    assert entry["entity_key"] == str(plan_id)
    assert entry["before_json"]["plan_name"] == "周一"
    assert entry["before_json"]["customer_codes"] == ["C1", "C2"]
    assert entry["after_json"]["plan_name"] == "周一上午"
    assert entry["after_json"]["customer_codes"] == ["C3", "C2", "C1"]
    # Fewer items: the dropped ones leave plan_items.
    pl.update_plan(week, plan_id, MON, "周一上午", ["C2"], EAST)
    assert _items(week, plan_id) == [(1, "C2")]
    assert len(_audit(week, "plan.update")) == 2


def test_update_plan_with_the_stored_values_writes_nothing(week: Database) -> None:
    before = _snapshot(week)
    pl.update_plan(week, _monday(week), MON, " 周一 ", ["C1", "C2"], EAST)
    assert _snapshot(week) == before


def test_delete_plan_removes_the_plan_and_its_items_and_audits(week: Database) -> None:
    plan_id = _monday(week)
    pl.delete_plan(week, plan_id, EAST)
    assert week.rows("SELECT * FROM plans WHERE plan_id = ?", [plan_id]) == []
    assert week.rows("SELECT * FROM plan_items WHERE plan_id = ?", [plan_id]) == []
    assert week.scalar("SELECT count(*) FROM plan_items") == 4  # the other plans' 1 + 2 + 1
    [entry] = _audit(week, "plan.delete")
    assert (entry["entity_key"], entry["after_json"]) == (str(plan_id), None)
    assert entry["before_json"]["customer_codes"] == ["C1", "C2"]
    # The freed day takes C1 again.
    pl.create_plan(week, "E1", MON, "周一", ["C1"], None, OP)


LONG = "x" * 101
CREATE_REFUSALS = [
    (("E9", THU, "周四", ["C1"], None),
     [("unknown_employee", "Unknown employee 'E9'.")]),
    (("E3", THU, "周四", ["C1"], None),
     [("inactive_employee",
       "Employee 'E3' is inactive: plans are only made for active employees.")]),
    (("E1", THU, "周四", ["C1", "C9", "C8"], None),
     [("unknown_customer", "Unknown customer code(s): C9, C8.")]),
    (("E1", THU, "周四", ["C4", "C1"], None),
     [("deleted", "Deleted customer(s) cannot be planned: C4.")]),
    (("E1", THU, "周四", ["C1", "C3", "C1"], None),
     [("duplicate_customer", "Customer(s) listed more than once: C1.")]),
    (("E1", THU, "   ", ["C1"], None),
     [("required", "'plan_name' is required.")]),
    (("E1", THU, "周四", [], None),
     [("no_customers", "Choose at least one customer.")]),
    (("E1", THU, "周四", ["  "], None),
     [("no_customers", "Choose at least one customer.")]),
    (("E1", THU, LONG, ["C1"], None),
     [("too_long", "'plan_name' is longer than 100 characters.")]),
    (("E1", THU, "周四", ["C1"], LONG),
     [("too_long", "'route_name' is longer than 100 characters.")]),
    (("E1", THU, "周\x07四", ["C1"], None),
     [("illegal_character", "Illegal character U+0007 in 'plan_name'.")]),
    (("E1", MON, "周一", ["C3"], None),
     [("plan_name_taken", "E1 already has a plan named '周一' on 2024-05-06.")]),
    (("E1", MON, "补充", ["C3", "C2"], None),
     [("already_planned", "Already planned for E1: 2024-05-06: C2 (周一).")]),
    # Several reasons at once are all reported.
    (("E1", MON, "周一", ["C2", "C2", "C9"], None),
     [("duplicate_customer", "Customer(s) listed more than once: C2."),
      ("plan_name_taken", "E1 already has a plan named '周一' on 2024-05-06."),
      ("already_planned", "Already planned for E1: 2024-05-06: C2 (周一)."),
      ("unknown_customer", "Unknown customer code(s): C9.")]),
]


@pytest.mark.parametrize(("args", "expected"), CREATE_REFUSALS)
def test_create_plan_refusals_write_nothing(week: Database, args: tuple[Any, ...],
                                            expected: list[tuple[str, str]]) -> None:
    assert _refused(week, lambda: pl.create_plan(week, *args, EAST)) == expected


def test_the_clash_rule_is_per_employee_and_day(week: Database) -> None:
    """C1 is planned for E1 on Monday: E2 may plan it that day, E1 on another day."""
    pl.create_plan(week, "E2", MON, "周一", ["C1"], None, OP)
    pl.create_plan(week, "E1", THU, "周一", ["C1"], None, OP)


def test_update_plan_refusals_write_nothing(week: Database) -> None:
    extra = pl.create_plan(week, "E1", MON, "补充", ["C3"], None, OP)
    assert _refused(week, lambda: pl.update_plan(week, extra, MON, "补充", ["C3", "C1"], EAST)) == [
        ("already_planned", "Already planned for E1: 2024-05-06: C1 (周一).")]
    assert _refused(week, lambda: pl.update_plan(week, extra, MON, "周一", ["C3"], EAST)) == [
        ("plan_name_taken", "E1 already has a plan named '周一' on 2024-05-06.")]
    assert _refused(week, lambda: pl.update_plan(week, extra, MON, "补充", ["C4"], EAST)) == [
        ("deleted", "Deleted customer(s) cannot be planned: C4.")]
    assert _refused(week, lambda: pl.update_plan(week, extra, MON, "", [], EAST)) == [
        ("required", "'plan_name' is required."),
        ("no_customers", "Choose at least one customer.")]
    assert _refused(week, lambda: pl.update_plan(week, 999, MON, "x", ["C1"], EAST)) == [
        ("unknown_plan", "Unknown plan '999'.")]
    assert _refused(week, lambda: pl.delete_plan(week, 999, EAST)) == [
        ("unknown_plan", "Unknown plan '999'.")]


def test_plans_of_an_employee_who_left_cannot_change_but_can_go(week: Database) -> None:
    plan_id = _monday(week)
    week.execute("UPDATE employees SET status = 'inactive' WHERE code = 'E1'")
    assert _refused(week, lambda: pl.update_plan(week, plan_id, MON, "周一", ["C1"], EAST)) == [
        ("inactive_employee",
         "Employee 'E1' is inactive: plans are only made for active employees.")]
    pl.delete_plan(week, plan_id, EAST)
    assert pl.plan_owner(week, plan_id) is None


def test_a_plan_moves_to_another_day_and_the_audit_says_so(week: Database) -> None:
    """Issue 15 item 1: the date reaches the write; the plan, its items and the day
    summaries all move, and the audit entry shows both dates."""
    plan_id = _monday(week)
    pl.update_plan(week, plan_id, THU, "周一", ["C1", "C2"], EAST)
    assert week.rows("SELECT plan_date FROM plans WHERE plan_id = ?", [plan_id]) == [(THU,)]
    assert week.rows("SELECT DISTINCT plan_date FROM plan_items WHERE plan_id = ?",
                     [plan_id]) == [(THU,)]
    [entry] = _audit(week, "plan.update")
    assert (entry["before_json"]["plan_date"], entry["after_json"]["plan_date"]) == (
        "2024-05-06", "2024-05-09")
    # The day it left is free again; the new day clashes with what it holds.
    pl.create_plan(week, "E1", MON, "补充", ["C1"], None, OP)
    other = pl.create_plan(week, "E1", TUE, "补充", ["C1"], None, OP)
    assert _refused(week, lambda: pl.update_plan(week, other, THU, "补充", ["C1"], EAST)) == [
        ("already_planned", "Already planned for E1: 2024-05-09: C1 (周一).")]


def _scope_of(db: Database, username: str) -> Scope:
    from dashboard.scope import scope_for_username

    return scope_for_username(db, username)


def _denied(db: Database, call: Any) -> None:
    """A change refused for its scope: nothing written; the newest audit entry is a
    `denied` one (repeats may be counted in one row)."""
    before = _snapshot(db)
    with pytest.raises(ScopeError) as caught:
        call()
    assert "E4" not in str(caught.value) and "C9" not in str(caught.value)  # names nothing
    after = _snapshot(db)
    assert {k: v for k, v in after.items() if k != "audit"} == {
        k: v for k, v in before.items() if k != "audit"}, "a refused change wrote something"
    assert after["audit"][-1][1] == "denied"


def test_every_record_a_write_touches_is_checked_against_the_scope(week: Database) -> None:
    """Issue 14 item 1: east supervises R1 (E1, E2, E3; C1..C3 through their owners); E4
    is of B21. Whatever a caller checked, the write refuses a record outside: the plan's or
    route's stored employee, the employee given, any customer, and unknown ids alike."""
    east = _scope_of(week, "east")
    e4_plan = int(week.scalar("SELECT plan_id FROM plans WHERE employee_code = 'E4'"))
    e4_route = pl.create_route(week, "E4", "西线", ["C1"], OP)
    own_route = pl.create_route(week, "E1", "东线", ["C1"], OP)
    _denied(week, lambda: pl.update_route(week, e4_route, "改名", ["C1"], east))
    _denied(week, lambda: pl.schedule_route(week, e4_route, [THU], None, east))
    _denied(week, lambda: pl.delete_route(week, e4_route, east))
    _denied(week, lambda: pl.update_plan(week, e4_plan, MON, "周一", ["C1"], east))
    _denied(week, lambda: pl.delete_plan(week, e4_plan, east))
    _denied(week, lambda: pl.create_plan(week, "E4", THU, "周四", ["C1"], None, east))
    _denied(week, lambda: pl.create_route(week, "E4", "北线", ["C1"], east))
    # An unknown id, employee or customer answers exactly like another scope's.
    _denied(week, lambda: pl.delete_route(week, 999, east))
    _denied(week, lambda: pl.update_plan(week, 999, MON, "x", ["C1"], east))
    _denied(week, lambda: pl.create_plan(week, "E9", THU, "周四", ["C1"], None, east))
    _denied(week, lambda: pl.create_plan(week, "E1", THU, "周四", ["C1", "C9"], None, east))
    _denied(week, lambda: pl.update_route(week, own_route, "东线", ["C9"], east))
    # Analysts read only, even their own department.
    _denied(week, lambda: pl.create_route(week, "E4", "北线", ["C1"], _scope_of(week, "bj")))
    # Inside the scope the same calls work.
    pl.update_route(week, own_route, "东线二", ["C1", "C2"], east)
    assert pl.schedule_route(week, own_route, [THU], None, east)
    pl.delete_route(week, own_route, east)
    assert pl.route_owner(week, e4_route) == "E4"


# -- routes --------------------------------------------------------------------------------
def test_route_create_update_delete_change_the_tables_and_the_audit(week: Database) -> None:
    route_id = pl.create_route(week, "E1", " 东线 ", ["C2", "C1", "C3"], EAST)
    assert route_id == 1  # seq_route
    assert week.rows("SELECT employee_code, route_name FROM routes") == [("E1", "东线")]
    assert week.rows("SELECT position, customer_code FROM route_items ORDER BY position") == [
        (1, "C2"), (2, "C1"), (3, "C3")]
    assert pl.route_owner(week, route_id) == "E1"
    assert pl.route_owner(week, 99) is None
    [created] = _audit(week, "route.create")
    assert created == {"username": "east", "entity": "route", "entity_key": "1",
                       "before_json": None,
                       "after_json": {"route_id": 1, "employee_code": "E1", "route_name": "东线",
                                      "customer_codes": ["C2", "C1", "C3"]}}

    pl.update_route(week, route_id, "东线二", ["C3", "C1"], EAST)
    assert week.rows("SELECT route_name FROM routes") == [("东线二",)]
    assert week.rows("SELECT position, customer_code FROM route_items ORDER BY position") == [
        (1, "C3"), (2, "C1")]
    [updated] = _audit(week, "route.update")
    assert updated["before_json"]["customer_codes"] == ["C2", "C1", "C3"]
    assert updated["after_json"] == {"route_id": 1, "employee_code": "E1",
                                     "route_name": "东线二", "customer_codes": ["C3", "C1"]}

    pl.delete_route(week, route_id, EAST)
    assert week.rows("SELECT * FROM routes") == []
    assert week.rows("SELECT * FROM route_items") == []
    [deleted] = _audit(week, "route.delete")
    assert (deleted["before_json"]["route_name"], deleted["after_json"]) == ("东线二", None)


def test_route_refusals_write_nothing(week: Database) -> None:
    route_id = pl.create_route(week, "E1", "东线", ["C1"], OP)
    other = pl.create_route(week, "E1", "西线", ["C2"], OP)
    pl.create_route(week, "E2", "东线", ["C1"], OP)  # the name is per employee
    cases = [
        (lambda: pl.create_route(week, "E1", "东线", ["C2"], OP),
         [("route_name_taken", "E1 already has a route named '东线'.")]),
        (lambda: pl.update_route(week, other, "东线", ["C2"], OP),
         [("route_name_taken", "E1 already has a route named '东线'.")]),
        (lambda: pl.create_route(week, "E9", "北线", ["C1"], OP),
         [("unknown_employee", "Unknown employee 'E9'.")]),
        (lambda: pl.create_route(week, "E1", "北线", ["C1", "C4", "C9"], OP),
         [("unknown_customer", "Unknown customer code(s): C9."),
          ("deleted", "Deleted customer(s) cannot be planned: C4.")]),
        (lambda: pl.create_route(week, "E1", "北线", ["C1", "C1"], OP),
         [("duplicate_customer", "Customer(s) listed more than once: C1.")]),
        (lambda: pl.create_route(week, "E1", " ", ["C1"], OP),
         [("required", "'route_name' is required.")]),
        (lambda: pl.create_route(week, "E1", "北线", [], OP),
         [("no_customers", "Choose at least one customer.")]),
        (lambda: pl.update_route(week, route_id, LONG, ["C1"], OP),
         [("too_long", "'route_name' is longer than 100 characters.")]),
        (lambda: pl.update_route(week, 99, "北线", ["C1"], OP),
         [("unknown_route", "Unknown route '99'.")]),
        (lambda: pl.delete_route(week, 99, OP),
         [("unknown_route", "Unknown route '99'.")]),
    ]
    for call, expected in cases:
        assert _refused(week, call) == expected


def test_update_route_with_the_stored_values_writes_nothing(week: Database) -> None:
    route_id = pl.create_route(week, "E1", "东线", ["C1", "C2"], OP)
    before = _snapshot(week)
    pl.update_route(week, route_id, "东线", ["C1", "C2"], EAST)
    assert _snapshot(week) == before


# -- scheduling ----------------------------------------------------------------------------
def test_schedule_route_makes_one_plan_per_date_from_the_route(week: Database) -> None:
    route_id = pl.create_route(week, "E1", "东线", ["C3", "C1"], OP)
    later, earlier = date(2024, 5, 20), date(2024, 5, 13)
    ids = pl.schedule_route(week, route_id, [later, earlier, later], None, EAST)
    assert ids == [5, 6]  # in date order; the repeated date counts once
    assert week.rows("SELECT plan_id, employee_code, plan_date, plan_name, route_name FROM plans "
                     "WHERE plan_id >= 5 ORDER BY plan_id") == [
        (5, "E1", earlier, "东线", "东线"), (6, "E1", later, "东线", "东线")]
    assert _items(week, 5) == _items(week, 6) == [(1, "C3"), (2, "C1")]
    entries = _audit(week, "route.schedule")
    assert [(e["entity"], e["entity_key"], e["before_json"]) for e in entries] == [
        ("plan", "5", None), ("plan", "6", None)]
    assert entries[1]["after_json"] == {"plan_id": 6, "employee_code": "E1",
                                        "plan_date": "2024-05-20", "plan_name": "东线",
                                        "route_name": "东线", "customer_codes": ["C3", "C1"]}
    # A given plan name replaces the default; the route name is still recorded.
    [own] = pl.schedule_route(week, route_id, [date(2024, 5, 27)], "周一东线", OP)
    assert week.rows("SELECT plan_name, route_name FROM plans WHERE plan_id = ?", [own]) == [
        ("周一东线", "东线")]


def test_schedule_route_is_all_or_nothing_and_names_every_clash(week: Database) -> None:
    """Route [C1, C2] on 05-06, 05-07, 05-09: E1 has C1 and C2 on 05-06 (周一) and C2 on 05-07
    (周二); 05-09 is free but gets no plan either."""
    route_id = pl.create_route(week, "E1", "东线", ["C1", "C2"], OP)
    assert _refused(week, lambda: pl.schedule_route(week, route_id, [THU, MON, TUE], None,
                                                    EAST)) == [
        ("already_planned",
         "Already planned for E1: 2024-05-06: C1, C2 (周一); 2024-05-07: C2 (周二).")]
    assert week.rows("SELECT * FROM plans WHERE plan_date = ?", [THU]) == []


def test_schedule_route_refusals(week: Database) -> None:
    route_id = pl.create_route(week, "E1", "周二", ["C3"], OP)
    # The plan name (default: the route's) is already used by E1 on 05-07.
    assert _refused(week, lambda: pl.schedule_route(week, route_id, [TUE, THU], None, OP)) == [
        ("plan_name_taken", "E1 already has a plan named '周二' on 2024-05-07.")]
    assert _refused(week, lambda: pl.schedule_route(week, route_id, [], None, OP)) == [
        ("no_dates", "Choose at least one date.")]
    assert _refused(week, lambda: pl.schedule_route(week, 99, [THU], None, OP)) == [
        ("unknown_route", "Unknown route '99'.")]
    assert _refused(week, lambda: pl.schedule_route(week, route_id, [THU], LONG, OP)) == [
        ("too_long", "'plan_name' is longer than 100 characters.")]
    # A route of an employee who left may exist, but makes no plans.
    gone = pl.create_route(week, "E3", "北线", ["C2"], OP)
    assert _refused(week, lambda: pl.schedule_route(week, gone, [THU], None, OP)) == [
        ("inactive_employee",
         "Employee 'E3' is inactive: plans are only made for active employees.")]
    # A customer deleted since the route was saved.
    delete_customers(week, ["C3"], OP)
    assert _refused(week, lambda: pl.schedule_route(week, route_id, [THU], "x", OP)) == [
        ("deleted", "Deleted customer(s) cannot be planned: C3.")]


# -- repetition ----------------------------------------------------------------------------
def test_repeat_dates_across_a_month_end_and_a_day_off() -> None:
    """Mondays (1) and Wednesdays (3) from Wed 2024-04-24 to Wed 2024-05-15, 05-01 off.

    April 2024 has 30 days and 2024-04-24 is a Wednesday, so the Wednesdays are 04-24,
    05-01 (Labour Day, off: skipped), 05-08, 05-15 and the Mondays 04-29, 05-06, 05-13.
    """
    assert pl.repeat_dates(date(2024, 4, 24), date(2024, 5, 15), [1, 3], {date(2024, 5, 1)}) == [
        date(2024, 4, 24), date(2024, 4, 29), date(2024, 5, 6), date(2024, 5, 8),
        date(2024, 5, 13), date(2024, 5, 15)]


def test_repeat_dates_edges() -> None:
    day = date(2024, 5, 6)  # a Monday
    assert pl.repeat_dates(day, day, [1], set()) == [day]
    assert pl.repeat_dates(day, day, [2], set()) == []
    assert pl.repeat_dates(day, day, [], set()) == []
    # 2024-01-01 .. 2024-12-31 is 366 days (a leap year): allowed. It starts on a Monday and
    # holds 52 weeks and 2 days, so 53 Mondays, the last on 12-30.
    mondays = pl.repeat_dates(date(2024, 1, 1), date(2024, 12, 31), [1], set())
    assert (len(mondays), mondays[0], mondays[-1]) == (53, date(2024, 1, 1), date(2024, 12, 30))
    with pytest.raises(PlanError) as caught:
        pl.repeat_dates(date(2024, 1, 1), date(2025, 1, 1), [1], set())  # 367 days
    assert caught.value.problems[0].message == (
        "The dates cover 367 days; at most 366 are allowed.")
    with pytest.raises(PlanError) as caught:
        pl.repeat_dates(day, date(2024, 5, 5), [1], set())
    assert caught.value.problems[0].message == (
        "The end date 2024-05-05 is before the start date 2024-05-06.")
    with pytest.raises(PlanError) as caught:
        pl.repeat_dates(day, day, [0, 1, 8], set())
    assert caught.value.problems[0].message == (
        "Weekdays are numbered 1 (Monday) to 7 (Sunday), not 0, 8.")


def test_days_off_reads_the_calendar(week: Database) -> None:
    """build_week has 2024-05-08 off; an extra working day and an off day outside the range
    are not days off of May 6..12."""
    calendar.set_holiday(week, date(2024, 5, 11), "work", "调休上班", None)
    calendar.set_holiday(week, date(2024, 5, 13), "off", None, None)
    assert pl.days_off(week, MON, date(2024, 5, 12)) == {date(2024, 5, 8)}
    assert pl.days_off(week, MON, date(2024, 5, 13)) == {date(2024, 5, 8), date(2024, 5, 13)}
    assert pl.days_off(week, date(2024, 5, 9), date(2024, 5, 12)) == set()
    # Together: Wednesdays of May 6..13 without the day off leave none.
    start, until = MON, date(2024, 5, 13)
    assert pl.repeat_dates(start, until, [3], pl.days_off(week, start, until)) == []


# -- the reports see the plans -------------------------------------------------------------
def test_a_new_plan_shows_in_the_kpis(week: Database) -> None:
    scope = operator_scope(week)
    e1_thursday = Filters(THU, THU, employees=("E1",))
    before = metrics.kpis(week, scope, e1_thursday)
    assert (before["plan_items"], before["plan_done"], before["completion_rate"]) == (0, 0, None)
    e1_week = metrics.kpis(week, scope, Filters(MON, date(2024, 5, 12), employees=("E1",)))
    assert (e1_week["plan_items"], e1_week["plan_done"]) == (3, 2)

    pl.create_plan(week, "E1", THU, "周四", ["C3", "C1"], None, EAST)

    after = metrics.kpis(week, scope, e1_thursday)
    assert (after["plan_items"], after["plan_done"], after["completion_rate"]) == (2, 1, 0.5)
    assert (after["headcount"], after["workdays"], after["planned_per_capita"]) == (1, 1, 2.0)
    company = metrics.kpis(week, scope, Filters(THU, THU))
    assert company["headcount"] == 3
    assert company["planned_per_capita"] == pytest.approx(2 / 3)
    e1_week = metrics.kpis(week, scope, Filters(MON, date(2024, 5, 12), employees=("E1",)))
    assert (e1_week["plan_items"], e1_week["plan_done"], e1_week["workdays"]) == (5, 3, 4)
    assert e1_week["completion_rate"] == pytest.approx(0.6)
    assert e1_week["planned_per_capita"] == pytest.approx(1.25)
