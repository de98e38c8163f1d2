"""Who may do what (DESIGN.md section 3): the Scope, and the checks every write makes.

The dashboard resolves a Scope from the logged-in user (dashboard.scope); the write side
takes it as a parameter and checks, inside its own transaction, every record a change
touches: a plan, its route, their employee, every customer. A page's check is a courtesy
to the user; this one is the door, so a forged id that slips past a page stops here.

A refusal is a ScopeError that names nothing outside the scope, and a record that does
not exist is refused exactly like one of another department (no existence oracle).
:func:`guarded` opens the write's transaction and audits a refusal as ``denied``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from pipelines import audit

if TYPE_CHECKING:

    from pipelines.store import Cursor, Store

PLANNERS = ("admin", "supervisor", "operator")  # who may plan (analysts only read)


class ScopeError(PermissionError):
    """A filter or a write names a department, employee or customer outside the scope."""


@dataclass(frozen=True)
class Scope:
    """The departments a user may see.

    Attributes:
        username: the user (None for the local command-line operator).
        role: admin, supervisor, analyst, or operator (command line without --as).
        everything: sees the whole company (admin, operator).
        tops: the user's own departments, the roots of what they see (sorted).
        departments: every department code in scope (the subtrees of tops).
    """

    username: str | None
    role: str
    everything: bool
    tops: tuple[str, ...] = ()
    departments: frozenset[str] = field(default_factory=frozenset)

    @property
    def department_list(self) -> list[str]:
        """Sorted department codes, for binding as a SQL list parameter."""
        return sorted(self.departments)

    @property
    def is_admin(self) -> bool:
        """An administrator of the whole company (the only role that edits master data)."""
        return self.role == "admin" and self.everything

    @property
    def can_edit(self) -> bool:
        """Edits customers, assignments, users and settings: admins and the local operator."""
        return self.is_admin or (self.role == "operator" and self.everything)

    @property
    def can_plan(self) -> bool:
        """Makes visit plans and routes (for the employees of the scope)."""
        return self.role in PLANNERS

    @property
    def is_empty(self) -> bool:
        return not self.everything and not self.departments

    def allows_department(self, code: str) -> bool:
        return code in self.departments

    def check_department(self, code: str | None) -> None:
        """Refuse a department filter outside the scope (or unknown)."""
        if code is not None and not self.allows_department(code):
            raise ScopeError(f"department {code!r} is outside your scope")


# The local operator of a write (command line, fixtures): everything, no department list.
LOCAL_OPERATOR = Scope(None, "operator", True)


def check_editor(scope: Scope) -> None:
    """Refuse master-data edits (customers, assignments) to anyone but an admin."""
    if not scope.can_edit:
        raise ScopeError(f"{scope.role} may not change master data")


def require_editor(db: Store, scope: Scope, action: str, entity_key: str | None) -> None:
    """check_editor before any transaction is open: a refusal is audited, then raised."""
    if not scope.can_edit:
        record_denied(db, scope, action, entity_key)
        check_editor(scope)


def check_planner(scope: Scope) -> None:
    """Refuse plan and route changes to read-only roles."""
    if not scope.can_plan:
        raise ScopeError(f"{scope.role} may not change plans")


def outside_employees(cur: Cursor, scope: Scope,
                      codes: Iterable[str]) -> list[str]:
    """The codes (sorted) of employees outside the scope; unknown ones count as outside."""
    wanted = sorted(set(codes))
    if scope.everything or not wanted:
        return []
    inside = {r[0] for r in cur.execute(
        "SELECT code FROM employees WHERE code IN (SELECT unnest(?::VARCHAR[])) "
        "AND department_code IN (SELECT unnest(?::VARCHAR[]))",
        [wanted, scope.department_list]).fetchall()}
    return [c for c in wanted if c not in inside]


def outside_customers(cur: Cursor, scope: Scope,
                      codes: Iterable[str]) -> list[str]:
    """The codes (sorted) of customers outside the scope's population (DESIGN.md section
    2: assigned to a department of the scope, or bound to one of its employees, not
    deleted); unknown and deleted ones count as outside. Admins: none."""
    wanted = sorted(set(codes))
    if scope.everything or not wanted:
        return []
    inside = {r[0] for r in cur.execute(  # uncorrelated: the same SQL runs on ClickHouse
        """SELECT f.customer_code FROM customer_facts AS f
           WHERE f.customer_code IN (SELECT unnest(?::VARCHAR[])) AND NOT f.deleted
             AND f.customer_id IN (
                 SELECT m.customer_id FROM customer_membership AS m
                 WHERE m.department_code IN (SELECT unnest(?::VARCHAR[]))
                   AND m.customer_id IN (SELECT customer_id FROM customer_facts
                                         WHERE customer_code IN (SELECT unnest(?::VARCHAR[]))))""",
        [wanted, scope.department_list, wanted]).fetchall()}
    return [c for c in wanted if c not in inside]


def check_records(cur: Cursor, scope: Scope, *,
                  employees: Iterable[str] = (), customers: Iterable[str] = ()) -> None:
    """Refuse a write unless every employee and customer it touches is in the scope.

    The error names nothing: the caller shows a generic refusal either way.
    """
    if outside_employees(cur, scope, employees) or outside_customers(cur, scope, customers):
        raise ScopeError("a record of this change is outside your scope")


def check_same_owner(owners: Iterable[str | None]) -> str:
    """The one employee that every record of a change belongs to; two owners (a plan of
    one employee with a route of another) or an unknown record are refused."""
    found = set(owners)
    if len(found) != 1 or None in found:
        raise ScopeError("the records of this change belong to different employees")
    (owner,) = found
    assert owner is not None
    return owner


@contextmanager
def guarded(db: Store, scope: Scope, action: str,
            entity_key: str | None = None) -> Iterator[Cursor]:
    """db.transaction() for a write on behalf of `scope`: a ScopeError raised inside rolls
    the whole change back and is audited as ``denied`` (action, key, role), then re-raised
    for the caller to show its generic refusal."""
    try:
        with db.transaction() as cur:
            yield cur
    except ScopeError:
        record_denied(db, scope, action, entity_key)
        raise


def record_denied(db: Store, scope: Scope, action: str, entity_key: str | None) -> None:
    """The audit row of a refused attempt, in a transaction of its own."""
    with db.transaction() as cur:
        audit.record(cur, scope.username, "denied", action, entity_key, None,
                     {"role": scope.role})
