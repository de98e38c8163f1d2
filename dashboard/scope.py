"""Who sees what (DESIGN.md section 3): a user becomes a Scope, and every query takes one.

A Scope is resolved on the server for every request from the logged-in user. Ids sent by
the browser are only filters inside it: :meth:`Scope.narrow` refuses one outside.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pipelines.store import Store
    from pipelines.users import User


class ScopeError(PermissionError):
    """A filter names a department, employee or customer outside the user's scope."""


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
    def can_edit(self) -> bool:
        return self.role in ("admin", "operator")

    @property
    def is_empty(self) -> bool:
        return not self.everything and not self.departments

    def allows_department(self, code: str) -> bool:
        return code in self.departments

    def check_department(self, code: str | None) -> None:
        """Refuse a department filter outside the scope (or unknown)."""
        if code is not None and not self.allows_department(code):
            raise ScopeError(f"department {code!r} is outside your scope")


def operator_scope(db: Store) -> Scope:
    """The local command-line operator: everything (whoever reads the file sees it anyway)."""
    roots, departments = _whole_company(db)
    return Scope(None, "operator", True, roots, departments)


def _whole_company(db: Store) -> tuple[tuple[str, ...], frozenset[str]]:
    """(root departments sorted, every department): one query, as it runs per request."""
    rows = db.rows("SELECT code, parent_code IS NULL FROM departments ORDER BY code")
    return tuple(code for code, root in rows if root), frozenset(code for code, _ in rows)


def resolve_scope(db: Store, user: User) -> Scope:
    """The scope of a user: admins everything, others the subtrees of their departments."""
    if not user.active:
        return Scope(user.username, user.role, False)
    if user.role == "admin":
        roots, departments = _whole_company(db)
        return Scope(user.username, "admin", True, roots, departments)
    tops = sorted(set(user.departments))
    rows = db.rows(
        "SELECT DISTINCT descendant_code FROM department_tree "
        "WHERE ancestor_code IN (SELECT unnest(?::VARCHAR[]))",
        [tops],
    )
    departments = frozenset(r[0] for r in rows)
    # A top inside another top's subtree is not a top of its own.
    own_tops = tuple(
        t for t in tops
        if t in departments and not any(
            db.scalar(
                "SELECT count(*) FROM department_tree WHERE ancestor_code = ? "
                "AND descendant_code = ? AND depth > 0", [other, t]) for other in tops if other != t
        )
    )
    return Scope(user.username, user.role, False, own_tops, departments)


def scope_for_username(db: Store, username: str) -> Scope:
    """Resolve by name (the command line's --as); unknown names raise ScopeError."""
    from pipelines.users import get_user

    user = get_user(db, username)
    if user is None:
        raise ScopeError(f"unknown user {username!r}")
    return resolve_scope(db, user)
