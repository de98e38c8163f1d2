"""Who sees what (DESIGN.md section 3): a user becomes a Scope, and every query takes one.

A Scope is resolved on the server for every request from the logged-in user. Ids sent by
the browser are only filters inside it: :meth:`Scope.narrow` refuses one outside. Scope
and ScopeError live in pipelines.policy (the write side checks them too) and are
re-exported here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pipelines.policy import Scope, ScopeError

if TYPE_CHECKING:
    from pipelines.store import Store
    from pipelines.users import User

__all__ = ["Scope", "ScopeError", "operator_scope", "resolve_scope", "scope_for_username"]


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
