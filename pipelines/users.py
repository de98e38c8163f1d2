"""Users of the web app and the command line's `--as`: roles, departments, passwords."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cache

from werkzeug.security import check_password_hash, generate_password_hash

from pipelines import audit, sessions
from pipelines.store import Store

ROLES = ("admin", "supervisor", "analyst")


class UserError(ValueError):
    """A user cannot be created or changed as asked."""


@dataclass(frozen=True)
class User:
    username: str
    role: str
    departments: tuple[str, ...]
    language: str | None = None
    active: bool = True


def add_user(
    db: Store,
    username: str,
    password: str,
    role: str,
    departments: tuple[str, ...] = (),
    actor: str | None = None,
) -> User:
    """Create a user with a scrypt-hashed password."""
    username = username.strip()
    if not username or len(username) > 64 or any(ch.isspace() for ch in username):
        raise UserError("A username is 1 to 64 characters without spaces.")
    if role not in ROLES:
        raise UserError(f"Unknown role {role!r}; use one of {', '.join(ROLES)}.")
    _check_password(password)
    _check_departments(db, departments)
    with db.transaction() as cur:
        if cur.execute("SELECT 1 FROM users WHERE username = ?", [username]).fetchone():
            raise UserError(f"User {username!r} already exists.")
        cur.execute(
            "INSERT INTO users (username, password_hash, role, created_at) VALUES (?, ?, ?, ?)",
            [username, generate_password_hash(password, method="scrypt"), role, datetime.now()],
        )
        for code in dict.fromkeys(departments):
            cur.execute("INSERT INTO user_departments VALUES (?, ?)", [username, code])
        audit.record(cur, actor, "user.add", "user", username, None,
                     {"role": role, "departments": list(departments)})
    return User(username, role, tuple(departments))


def _check_password(password: str) -> None:
    if len(password) < 8:
        raise UserError("A password has at least 8 characters.")


def _check_departments(db: Store, departments: tuple[str, ...]) -> None:
    unknown = [
        code for code in departments
        if db.scalar("SELECT count(*) FROM departments WHERE code = ?", [code]) == 0
    ]
    if unknown:
        raise UserError(f"Unknown department(s): {', '.join(unknown)}.")


def _existing(db: Store, username: str) -> User:
    user = get_user(db, username)
    if user is None:
        raise UserError(f"No user {username!r}.")
    return user


def set_password(db: Store, username: str, password: str, actor: str | None = None) -> None:
    """A new password; every session of the user ends with the old one."""
    _existing(db, username)
    _check_password(password)
    with db.transaction() as cur:
        cur.execute("UPDATE users SET password_hash = ? WHERE username = ?",
                    [generate_password_hash(password, method="scrypt"), username])
        sessions.end_for_user(cur, username)
        audit.record(cur, actor, "user.password", "user", username)


def set_role(
    db: Store,
    username: str,
    role: str,
    departments: tuple[str, ...],
    actor: str | None = None,
) -> User:
    """A new role and set of departments; the user's sessions end (they sign in again
    and see the new scope from the first page on)."""
    before = _existing(db, username)
    if role not in ROLES:
        raise UserError(f"Unknown role {role!r}; use one of {', '.join(ROLES)}.")
    _check_departments(db, departments)
    with db.transaction() as cur:
        cur.execute("UPDATE users SET role = ? WHERE username = ?", [role, username])
        cur.execute("DELETE FROM user_departments WHERE username = ?", [username])
        for code in dict.fromkeys(departments):
            cur.execute("INSERT INTO user_departments VALUES (?, ?)", [username, code])
        sessions.end_for_user(cur, username)
        audit.record(cur, actor, "user.role", "user", username,
                     {"role": before.role, "departments": list(before.departments)},
                     {"role": role, "departments": list(dict.fromkeys(departments))})
    return User(username, role, tuple(dict.fromkeys(departments)), before.language)


def set_active(db: Store, username: str, active: bool, actor: str | None = None) -> None:
    """Deactivate (every session ends, no new login) or reactivate a user."""
    _existing(db, username)
    with db.transaction() as cur:
        cur.execute("UPDATE users SET active = ? WHERE username = ?", [active, username])
        sessions.end_for_user(cur, username)
        audit.record(cur, actor, "user.activate" if active else "user.deactivate", "user",
                     username)


def get_user(db: Store, username: str) -> User | None:
    row = db.execute(
        "SELECT username, role, language, active FROM users WHERE username = ?", [username]
    ).fetchone()
    if row is None:
        return None
    departments = tuple(
        r[0] for r in db.rows(
            "SELECT department_code FROM user_departments WHERE username = ? ORDER BY 1",
            [username],
        )
    )
    return User(row[0], row[1], departments, row[2], bool(row[3]))


def authenticate(db: Store, username: str, password: str) -> User | None:
    """The active user with this password, else None (same answer for both failures)."""
    row = db.execute(
        "SELECT password_hash FROM users WHERE username = ? AND active", [username]
    ).fetchone()
    if row is None:
        # Spend the same time as a real check so that names cannot be probed by timing.
        check_password_hash(_dummy_hash(), password)
        return None
    if not check_password_hash(row[0], password):
        return None
    return get_user(db, username)


def set_language(db: Store, username: str, language: str | None) -> None:
    with db.transaction() as cur:
        cur.execute("UPDATE users SET language = ? WHERE username = ?", [language, username])


@cache
def _dummy_hash() -> str:
    return generate_password_hash("not-a-password", method="scrypt")
