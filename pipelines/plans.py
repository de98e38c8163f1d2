"""Audited changes to visit plans and routes, and the repetition of a route over dates.

A plan is an employee's ordered list of customers for one day, a route a named ordered list
to reuse; a plan made from a route copies its customers (later route edits do not reach
plans already made). Every change runs in one transaction (the writer lock) with its
audit entries, and every check happens inside that transaction, so two supervisors saving
at once cannot both slip past the one-item-per-employee-customer-day rule: of a refused
change nothing is written. PlanError carries one formats.Problem per reason, with the
English template and its params, so the UI translates what the command line prints as is.

Every write takes the acting Scope and checks, inside its transaction, every record it
touches (pipelines.policy, DESIGN.md section 3): the plan's or route's stored employee and
every customer, whatever the caller checked before. Outside a scope, a record that does
not exist is refused exactly like another department's (audited as denied).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Collection, Iterable, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from pipelines import audit, policy, summaries
from pipelines.formats import N_, Problem, problem
from pipelines.policy import Scope, ScopeError
from pipelines.store import Cursor, Store

MAX_NAME = 100  # characters of a plan or route name
MAX_REPEAT_DAYS = 366  # days a repetition may cover, both ends included (a leap year)
_LISTED = 20  # codes or dates named in one message at most
_ILLEGAL = re.compile("[\x00-\x1f\x7f\ufffd]")  # as the import's single-line fields


class PlanError(ValueError):
    """A plan or route change that is refused; `problems` says why (row is None)."""

    def __init__(self, problems: Problem | Sequence[Problem]) -> None:
        self.problems: list[Problem] = (
            [problems] if isinstance(problems, Problem) else list(problems))
        super().__init__(" ".join(p.message for p in self.problems))


# -- reading -----------------------------------------------------------------------------
def plan_owner(db: Store, plan_id: int) -> str | None:
    """The employee of a plan (None = no such plan), for a page's early check."""
    row = db.execute("SELECT employee_code FROM plans WHERE plan_id = ?", [plan_id]).fetchone()
    return None if row is None else str(row[0])


def route_owner(db: Store, route_id: int) -> str | None:
    """The employee of a route (None = no such route), for a page's early check."""
    row = db.execute("SELECT employee_code FROM routes WHERE route_id = ?",
                     [route_id]).fetchone()
    return None if row is None else str(row[0])


_PLAN_SQL = """
    SELECT p.plan_id, p.employee_code, p.plan_date, p.plan_name, p.route_name,
           coalesce((SELECT list(customer_code ORDER BY position) FROM plan_items AS i
                     WHERE i.plan_id = p.plan_id), []::VARCHAR[]) AS customer_codes
    FROM plans AS p WHERE p.plan_id = ?
"""
_ROUTE_SQL = """
    SELECT r.route_id, r.employee_code, r.route_name,
           coalesce((SELECT list(customer_code ORDER BY position) FROM route_items AS i
                     WHERE i.route_id = r.route_id), []::VARCHAR[]) AS customer_codes
    FROM routes AS r WHERE r.route_id = ?
"""


def _record(cur: Cursor, sql: str, key: int) -> dict[str, Any] | None:
    result = cur.execute(sql, [key])
    names = [d[0] for d in result.description or []]
    row = result.fetchone()
    if row is None:
        return None
    record = dict(zip(names, row, strict=True))
    record["customer_codes"] = list(record["customer_codes"])
    return record


def get_plan(db: Store, plan_id: int) -> dict[str, Any] | None:
    """A plan with its customer codes in order (what the audit log stores); None if unknown."""
    return _record(db.cursor(), _PLAN_SQL, plan_id)


def get_route(db: Store, route_id: int) -> dict[str, Any] | None:
    """A route with its customer codes in order (what the audit log stores); None if unknown."""
    return _record(db.cursor(), _ROUTE_SQL, route_id)


# -- checks that need no database ---------------------------------------------------------
def _listed(items: Sequence[str]) -> str:
    shown = ", ".join(items[:_LISTED])
    return shown + (f" (+{len(items) - _LISTED})" if len(items) > _LISTED else "")


def _name(value: str | None, column: str, problems: list[Problem]) -> str:
    """The trimmed name; an empty, too long or illegal one adds a problem."""
    name = (value or "").strip()
    if not name:
        problems.append(problem(None, column, "required", N_("'{column}' is required."),
                                column=column))
    elif len(name) > MAX_NAME:
        problems.append(problem(None, column, "too_long",
                                N_("'{column}' is longer than {limit} characters."),
                                column=column, limit=MAX_NAME))
    elif (bad := _ILLEGAL.search(name)) is not None:
        problems.append(problem(None, column, "illegal_character",
                                N_("Illegal character U+{value} in '{column}'."),
                                value=f"{ord(bad.group()):04X}", column=column))
    return name


def _customer_list(codes: Iterable[str], problems: list[Problem]) -> list[str]:
    """The trimmed codes in order (blanks dropped); none, or one twice, adds a problem."""
    wanted = [c.strip() for c in codes if c and c.strip()]
    if not wanted:
        problems.append(problem(None, "customer_code", "no_customers",
                                N_("Choose at least one customer.")))
    twice = [c for c, n in Counter(wanted).items() if n > 1]  # first-seen order
    if twice:
        problems.append(problem(None, "customer_code", "duplicate_customer",
                                N_("Customer(s) listed more than once: {value}."),
                                value=_listed(twice)))
    return wanted


# -- checks against the stored data (inside the transaction) ------------------------------
def _check_employee(cur: Cursor, code: str, for_plans: bool,
                    problems: list[Problem]) -> bool:
    """Whether the employee exists; unknown (or, for plans, inactive) adds a problem."""
    row = cur.execute("SELECT status FROM employees WHERE code = ?", [code]).fetchone()
    if row is None:
        problems.append(problem(None, "employee_code", "unknown_employee",
                                N_("Unknown employee '{value}'."), value=code))
        return False
    if for_plans and row[0] != "active":
        problems.append(problem(
            None, "employee_code", "inactive_employee",
            N_("Employee '{value}' is inactive: plans are only made for active employees."),
            value=code))
    return True


def _check_customers(cur: Cursor, codes: Sequence[str],
                     problems: list[Problem]) -> None:
    """Unknown and deleted customers each add a problem naming them in the given order."""
    deleted = dict(cur.execute(
        "SELECT code, deleted FROM customers WHERE code IN (SELECT unnest(?::VARCHAR[]))",
        [list(codes)]).fetchall())
    unknown = [c for c in dict.fromkeys(codes) if c not in deleted]
    if unknown:
        problems.append(problem(None, "customer_code", "unknown_customer",
                                N_("Unknown customer code(s): {value}."),
                                value=_listed(unknown)))
    gone = [c for c in dict.fromkeys(codes) if deleted.get(c)]
    if gone:
        problems.append(problem(None, "customer_code", "deleted",
                                N_("Deleted customer(s) cannot be planned: {value}."),
                                value=_listed(gone)))


def _check_plan_name(cur: Cursor, employee: str, days: Sequence[date],
                     name: str, own_plan: int | None, problems: list[Problem]) -> None:
    """A plan name already used by the employee on any of `days` adds a problem."""
    taken = [r[0] for r in cur.execute(
        """SELECT DISTINCT plan_date FROM plans
           WHERE employee_code = ? AND plan_name = ? AND plan_id IS DISTINCT FROM ?
             AND plan_date IN (SELECT unnest(?::DATE[])) ORDER BY plan_date""",
        [employee, name, own_plan, list(days)]).fetchall()]
    if taken:
        problems.append(problem(
            None, "plan_name", "plan_name_taken",
            N_("{employee} already has a plan named '{name}' on {value}."),
            employee=employee, name=name, value=_listed([d.isoformat() for d in taken])))


def _check_clashes(cur: Cursor, employee: str, days: Sequence[date],
                   codes: Sequence[str], own_plan: int | None, problems: list[Problem]) -> None:
    """Customers the employee already has in another plan on one of `days` add a problem.

    The value lists each clashing day with its customers and the other plan's name, e.g.
    ``2024-05-06: C1, C2 (周一); 2024-05-13: C1 (周一)``: codes and dates read the same in
    every language, so the template alone is translated.
    """
    rows = cur.execute(
        """SELECT i.plan_date, p.plan_name, list(i.customer_code ORDER BY i.position)
           FROM plan_items AS i JOIN plans AS p ON p.plan_id = i.plan_id
           WHERE i.employee_code = ? AND i.plan_id IS DISTINCT FROM ?
             AND i.plan_date IN (SELECT unnest(?::DATE[]))
             AND i.customer_code IN (SELECT unnest(?::VARCHAR[]))
           GROUP BY ALL ORDER BY i.plan_date, p.plan_name""",
        [employee, own_plan, list(days), list(codes)]).fetchall()
    if rows:
        parts = [f"{day.isoformat()}: {', '.join(found)} ({name})" for day, name, found in rows]
        shown = "; ".join(parts[:_LISTED])
        if len(parts) > _LISTED:
            shown += f" (+{len(parts) - _LISTED})"
        problems.append(problem(None, "customer_code", "already_planned",
                                N_("Already planned for {employee}: {value}."),
                                employee=employee, value=shown))


def _check_route_name(cur: Cursor, employee: str, name: str,
                      own_route: int | None, problems: list[Problem]) -> None:
    found = cur.execute(
        "SELECT 1 FROM routes WHERE employee_code = ? AND route_name = ? "
        "AND route_id IS DISTINCT FROM ?", [employee, name, own_route]).fetchone()
    if found is not None:
        problems.append(problem(None, "route_name", "route_name_taken",
                                N_("{employee} already has a route named '{name}'."),
                                employee=employee, name=name))


def _unknown(kind: str, key: int, scope: Scope) -> Exception:
    """An unknown plan or route: named to admins, refused like another scope's to others."""
    if not scope.everything:
        return ScopeError(f"{kind} {key} is outside your scope")
    template = N_("Unknown plan '{value}'.") if kind == "plan" else N_("Unknown route '{value}'.")
    return PlanError(problem(None, f"{kind}_id", f"unknown_{kind}", template, value=key))


def _checked(cur: Cursor, scope: Scope, employee: str,
             customers: Sequence[str]) -> None:
    """The scope may plan, for this employee, with these customers (else ScopeError)."""
    policy.check_planner(scope)
    policy.check_records(cur, scope, employees=[employee], customers=customers)


# -- writing ----------------------------------------------------------------------------
def _insert_plan(cur: Cursor, employee: str, day: date, name: str,
                 route_name: str | None, codes: Sequence[str], now: datetime) -> int:
    row = cur.execute(
        "INSERT INTO plans (plan_id, employee_code, plan_date, plan_name, route_name, "
        "created_at) VALUES (nextval('seq_plan'), ?, ?, ?, ?, ?) RETURNING plan_id",
        [employee, day, name, route_name, now]).fetchone()
    assert row is not None
    plan_id = int(row[0])
    _insert_plan_items(cur, plan_id, employee, day, codes)
    return plan_id


def _insert_plan_items(cur: Cursor, plan_id: int, employee: str, day: date,
                       codes: Sequence[str]) -> None:
    cur.execute(
        """INSERT INTO plan_items (plan_id, position, employee_code, plan_date, customer_code)
           SELECT ?, pos, ?, ?, codes[pos]
           FROM (SELECT ?::VARCHAR[] AS codes), range(1, len(codes) + 1) AS t(pos)""",
        [plan_id, employee, day, list(codes)])
    summaries.refresh(cur, [day])


def _insert_route_items(cur: Cursor, route_id: int,
                        codes: Sequence[str]) -> None:
    cur.execute(
        """INSERT INTO route_items (route_id, position, customer_code)
           SELECT ?, pos, codes[pos]
           FROM (SELECT ?::VARCHAR[] AS codes), range(1, len(codes) + 1) AS t(pos)""",
        [route_id, list(codes)])


def _raise(problems: list[Problem]) -> None:
    if problems:
        raise PlanError(problems)


# -- plans ------------------------------------------------------------------------------
def create_plan(db: Store, employee_code: str, day: date, plan_name: str,
                customer_codes: Sequence[str], route_name: str | None,
                scope: Scope) -> int:
    """Make one plan: the employee visits these customers on `day`, in this order (audited).

    Args:
        db: the database.
        employee_code: an active employee.
        day: the plan's date.
        plan_name: unique per employee and day, 1..100 characters after trimming.
        customer_codes: live customers, each once, none already in another plan of the
            employee on that day.
        route_name: the route the plan was made from, stored as given (None = none).
        scope: who acts; the employee and every customer must be in it.

    Returns:
        The new plan_id.

    Raises:
        PlanError: any rule broken (every reason found is listed); nothing is written.
        ScopeError: a read-only role, or a record outside the scope (audited as denied).
    """
    problems: list[Problem] = []
    name = _name(plan_name, "plan_name", problems)
    route = None
    if route_name is not None and route_name.strip():
        route = _name(route_name, "route_name", problems)
    codes = _customer_list(customer_codes, problems)
    with policy.guarded(db, scope, "plan.create", employee_code) as cur:
        _checked(cur, scope, employee_code, codes)
        if _check_employee(cur, employee_code, True, problems):
            if name:
                _check_plan_name(cur, employee_code, [day], name, None, problems)
            _check_clashes(cur, employee_code, [day], codes, None, problems)
        _check_customers(cur, codes, problems)
        _raise(problems)
        plan_id = _insert_plan(cur, employee_code, day, name, route, codes, datetime.now())
        audit.record(cur, scope.username, "plan.create", "plan", str(plan_id), None,
                     _record(cur, _PLAN_SQL, plan_id))
    return plan_id


def update_plan(db: Store, plan_id: int, day: date, plan_name: str,
                customer_codes: Sequence[str], scope: Scope) -> None:
    """Move a plan to `day`, rename it and replace its items, in the given order (audited).

    The employee and route name stay. Saving what is stored writes nothing.

    Raises:
        PlanError: unknown plan (admins), inactive employee, or a rule of create_plan
            broken on the new day.
        ScopeError: a read-only role, or the plan's employee or a customer outside the
            scope (an unknown plan too, for non-admins); audited as denied.
    """
    problems: list[Problem] = []
    name = _name(plan_name, "plan_name", problems)
    codes = _customer_list(customer_codes, problems)
    with policy.guarded(db, scope, "plan.update", str(plan_id)) as cur:
        before = _record(cur, _PLAN_SQL, plan_id)
        if before is None:
            raise _unknown("plan", plan_id, scope)
        employee, old_day = before["employee_code"], before["plan_date"]
        _checked(cur, scope, employee, codes)
        _check_employee(cur, employee, True, problems)
        if name:
            _check_plan_name(cur, employee, [day], name, plan_id, problems)
        _check_clashes(cur, employee, [day], codes, plan_id, problems)
        _check_customers(cur, codes, problems)
        _raise(problems)
        if (day, name, codes) == (old_day, before["plan_name"], before["customer_codes"]):
            return
        cur.execute("UPDATE plans SET plan_name = ?, plan_date = ? WHERE plan_id = ?",
                    [name, day, plan_id])
        cur.execute("DELETE FROM plan_items WHERE plan_id = ?", [plan_id])
        _insert_plan_items(cur, plan_id, employee, day, codes)
        if day != old_day:
            summaries.refresh(cur, [old_day])
        audit.record(cur, scope.username, "plan.update", "plan", str(plan_id), before,
                     _record(cur, _PLAN_SQL, plan_id))


def delete_plan(db: Store, plan_id: int, scope: Scope) -> None:
    """Remove a plan and its items (audited); plans of inactive employees may go too.

    Raises:
        PlanError: unknown plan (admins).
        ScopeError: a read-only role, or a plan outside the scope (audited as denied).
    """
    with policy.guarded(db, scope, "plan.delete", str(plan_id)) as cur:
        before = _record(cur, _PLAN_SQL, plan_id)
        if before is None:
            raise _unknown("plan", plan_id, scope)
        _checked(cur, scope, before["employee_code"], ())
        cur.execute("DELETE FROM plan_items WHERE plan_id = ?", [plan_id])
        cur.execute("DELETE FROM plans WHERE plan_id = ?", [plan_id])
        summaries.refresh(cur, [before["plan_date"]])
        audit.record(cur, scope.username, "plan.delete", "plan", str(plan_id), before, None)


# -- routes -----------------------------------------------------------------------------
def create_route(db: Store, employee_code: str, route_name: str,
                 customer_codes: Sequence[str], scope: Scope) -> int:
    """Save a named, ordered list of customers for an employee (audited).

    Routes of inactive employees are allowed (they are templates, not plans); scheduling
    one refuses.

    Returns:
        The new route_id.

    Raises:
        PlanError: unknown employee, route name empty, too long or already used by the
            employee, no customers, one twice, unknown or deleted ones; nothing is written.
        ScopeError: a read-only role, or the employee or a customer outside the scope.
    """
    problems: list[Problem] = []
    name = _name(route_name, "route_name", problems)
    codes = _customer_list(customer_codes, problems)
    with policy.guarded(db, scope, "route.create", employee_code) as cur:
        _checked(cur, scope, employee_code, codes)
        if _check_employee(cur, employee_code, False, problems) and name:
            _check_route_name(cur, employee_code, name, None, problems)
        _check_customers(cur, codes, problems)
        _raise(problems)
        row = cur.execute(
            "INSERT INTO routes (route_id, employee_code, route_name, created_at) "
            "VALUES (nextval('seq_route'), ?, ?, ?) RETURNING route_id",
            [employee_code, name, datetime.now()]).fetchone()
        assert row is not None
        route_id = int(row[0])
        _insert_route_items(cur, route_id, codes)
        audit.record(cur, scope.username, "route.create", "route", str(route_id), None,
                     _record(cur, _ROUTE_SQL, route_id))
    return route_id


def update_route(db: Store, route_id: int, route_name: str, customer_codes: Sequence[str],
                 scope: Scope) -> None:
    """Rename a route and replace its customers, in order (audited).

    Plans already made from the route keep their customers and route name (they copied
    them). Saving what is stored writes nothing.

    Raises:
        PlanError: unknown route (admins), or a rule of create_route broken.
        ScopeError: a read-only role, or the route's employee or a customer outside the
            scope (audited as denied).
    """
    problems: list[Problem] = []
    name = _name(route_name, "route_name", problems)
    codes = _customer_list(customer_codes, problems)
    with policy.guarded(db, scope, "route.update", str(route_id)) as cur:
        before = _record(cur, _ROUTE_SQL, route_id)
        if before is None:
            raise _unknown("route", route_id, scope)
        _checked(cur, scope, before["employee_code"], codes)
        if name:
            _check_route_name(cur, before["employee_code"], name, route_id, problems)
        _check_customers(cur, codes, problems)
        _raise(problems)
        if (name, codes) == (before["route_name"], before["customer_codes"]):
            return
        cur.execute("UPDATE routes SET route_name = ? WHERE route_id = ?", [name, route_id])
        cur.execute("DELETE FROM route_items WHERE route_id = ?", [route_id])
        _insert_route_items(cur, route_id, codes)
        audit.record(cur, scope.username, "route.update", "route", str(route_id), before,
                     _record(cur, _ROUTE_SQL, route_id))


def delete_route(db: Store, route_id: int, scope: Scope) -> None:
    """Remove a route and its items (audited); plans made from it stay.

    Raises:
        PlanError: unknown route (admins).
        ScopeError: a read-only role, or a route outside the scope (audited as denied).
    """
    with policy.guarded(db, scope, "route.delete", str(route_id)) as cur:
        before = _record(cur, _ROUTE_SQL, route_id)
        if before is None:
            raise _unknown("route", route_id, scope)
        _checked(cur, scope, before["employee_code"], ())
        cur.execute("DELETE FROM route_items WHERE route_id = ?", [route_id])
        cur.execute("DELETE FROM routes WHERE route_id = ?", [route_id])
        audit.record(cur, scope.username, "route.delete", "route", str(route_id), before, None)


# -- repetition -------------------------------------------------------------------------
def repeat_dates(start: date, until: date, weekdays: Iterable[int],
                 days_off: Collection[date]) -> list[date]:
    """Every date of [start, until] on one of `weekdays`, days off left out, in order.

    Chosen weekdays are taken literally (a Saturday counts when 6 is chosen); only days off
    of the holiday calendar are skipped, since nobody visits on them.

    Args:
        start: first day, inclusive.
        until: last day, inclusive.
        weekdays: ISO weekdays, Monday = 1 .. Sunday = 7 (none = no dates).
        days_off: dates to skip (see days_off()).

    Raises:
        PlanError: until before start, more than MAX_REPEAT_DAYS days (both ends
            counted), or a weekday outside 1..7.
    """
    chosen = set(weekdays)
    bad = sorted(d for d in chosen if not (isinstance(d, int) and 1 <= d <= 7))
    if bad:
        raise PlanError(problem(None, "weekdays", "bad_weekday",
                                N_("Weekdays are numbered 1 (Monday) to 7 (Sunday), not {value}."),
                                value=", ".join(map(str, bad))))
    if until < start:
        raise PlanError(problem(None, "until", "until_before_start",
                                N_("The end date {until} is before the start date {start}."),
                                until=until.isoformat(), start=start.isoformat()))
    span = (until - start).days + 1
    if span > MAX_REPEAT_DAYS:
        raise PlanError(problem(None, "until", "span_too_long",
                                N_("The dates cover {days} days; at most {limit} are allowed."),
                                days=span, limit=MAX_REPEAT_DAYS))
    every = (start + timedelta(days=n) for n in range(span))
    return [d for d in every if d.isoweekday() in chosen and d not in days_off]


def days_off(db: Store, start: date, until: date) -> set[date]:
    """The holiday calendar's days off (kind 'off') in [start, until]."""
    rows = db.execute("SELECT day FROM holidays WHERE kind = 'off' AND day BETWEEN ? AND ?",
                      [start, until]).fetchall()
    return {r[0] for r in rows}


def schedule_route(db: Store, route_id: int, dates: Sequence[date], plan_name: str | None,
                   scope: Scope) -> list[int]:
    """Make one plan per date from a route: its customers in order, all or nothing (audited).

    Each plan stores the route's name as plans.route_name and is audited as route.schedule
    (entity plan). Repeated dates count once.

    Args:
        db: the database.
        route_id: the route to copy.
        dates: the days (e.g. from repeat_dates).
        plan_name: the plans' name; None or blank = the route's name.
        scope: who acts; the route's employee and customers must be in it.

    Returns:
        The new plan ids, in date order.

    Raises:
        PlanError: unknown route, no dates, inactive employee, deleted customers on the
            route, the plan name used on one of the dates, or any route customer already
            planned for the employee on one of the dates (every clash named); nothing is
            written then.
        ScopeError: a read-only role, or the route's employee or a customer outside the
            scope (audited as denied).
    """
    problems: list[Problem] = []
    days = sorted(set(dates))
    if not days:
        problems.append(problem(None, "dates", "no_dates", N_("Choose at least one date.")))
    with policy.guarded(db, scope, "route.schedule", str(route_id)) as cur:
        route = _record(cur, _ROUTE_SQL, route_id)
        if route is None:
            raise _unknown("route", route_id, scope)
        employee, codes = route["employee_code"], route["customer_codes"]
        _checked(cur, scope, employee, codes)
        name = (route["route_name"] if plan_name is None or not plan_name.strip()
                else _name(plan_name, "plan_name", problems))
        _check_employee(cur, employee, True, problems)
        _check_customers(cur, codes, problems)
        if name:
            _check_plan_name(cur, employee, days, name, None, problems)
        _check_clashes(cur, employee, days, codes, None, problems)
        _raise(problems)
        now = datetime.now()
        plan_ids = []
        for day in days:
            plan_id = _insert_plan(cur, employee, day, name, route["route_name"], codes, now)
            audit.record(cur, scope.username, "route.schedule", "plan", str(plan_id), None,
                         _record(cur, _PLAN_SQL, plan_id))
            plan_ids.append(plan_id)
    return plan_ids
