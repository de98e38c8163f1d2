"""Employees of the phone API: their passwords and the bearer tokens they sign in with.

Employees are a fourth kind of login, next to the web's admin, supervisor and analyst: an
employee sees only their own customers (direct and shared) and writes only their own
visits. They have no web session; the phone sends a bearer token on every request.

A token reads ``vl1.<token_id>.<secret>``. Only the SHA-256 of the secret is stored, under
the public token_id: a token is 256 random bits, so a fast hash is as safe as a slow one and
costs nothing per request, while a stolen database still yields no usable token. Every
request checks the stored row, so a revoked or expired token, or one of an employee who
became inactive, is refused at once. Passwords are hashed with scrypt, as users' are.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache

from werkzeug.security import check_password_hash, generate_password_hash

from pipelines import audit
from pipelines.store import Store

TOKEN_PREFIX = "vl1"
DEFAULT_TOKEN_DAYS = 30
MAX_TOKEN_DAYS = 365
MIN_PASSWORD = 8
MAX_PASSWORD = 1024
# last_used_at is written at most this often per token: a write per request would make
# every read of the phone take the writer lock.
LAST_USED_RESOLUTION = timedelta(minutes=1)


class TokenError(ValueError):
    """A password or token cannot be set, issued or revoked as asked."""


@dataclass(frozen=True)
class IssuedToken:
    """A new token: `token` is shown once and never stored."""

    token: str
    token_id: str
    employee_code: str
    created_at: datetime
    expires_at: datetime


@dataclass(frozen=True)
class TokenInfo:
    """A stored token (without its secret), for lists and for the request being served."""

    token_id: str
    employee_code: str
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None

    def active(self, now: datetime) -> bool:
        return self.revoked_at is None and now < self.expires_at


@dataclass(frozen=True)
class Employee:
    """The signed-in employee of a token or a login."""

    code: str
    name: str
    department_code: str


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def _employee(db: Store, code: str, *, active_only: bool) -> Employee | None:
    row = db.execute(
        "SELECT code, name, department_code, status FROM employees WHERE code = ?", [code]
    ).fetchone()
    if row is None or (active_only and row[3] != "active"):
        return None
    return Employee(str(row[0]), str(row[1]), str(row[2]))


# -- passwords -------------------------------------------------------------------------------
def set_employee_password(db: Store, employee_code: str, password: str,
                          actor: str | None = None) -> None:
    """Set (or replace) an employee's API password; the change is audited, the hash only.

    Raises:
        TokenError: unknown employee, or a password shorter than MIN_PASSWORD characters.
    """
    if _employee(db, employee_code, active_only=False) is None:
        raise TokenError(f"Unknown employee {employee_code!r}.")
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise TokenError(f"A password has {MIN_PASSWORD} to {MAX_PASSWORD} characters.")
    hashed = generate_password_hash(password, method="scrypt")
    with db.transaction() as cur:
        cur.execute(
            """INSERT INTO employee_passwords (employee_code, password_hash, updated_at)
               VALUES (?, ?, ?)
               ON CONFLICT (employee_code) DO UPDATE
               SET password_hash = excluded.password_hash, updated_at = excluded.updated_at""",
            [employee_code, hashed, datetime.now()],
        )
        audit.record(cur, actor, "employee.password", "employee", employee_code)


def authenticate_employee(db: Store, employee_code: str, password: str) -> Employee | None:
    """The active employee with this API password, else None (same answer, same time, for
    an unknown code, an inactive employee, no password set and a wrong password)."""
    row = db.execute(
        """SELECT p.password_hash FROM employee_passwords AS p
           JOIN employees AS e ON e.code = p.employee_code
           WHERE p.employee_code = ? AND e.status = 'active'""",
        [employee_code],
    ).fetchone()
    if row is None:
        check_password_hash(_dummy_hash(), password)
        return None
    if not check_password_hash(str(row[0]), password):
        return None
    return _employee(db, employee_code, active_only=True)


@cache
def _dummy_hash() -> str:
    return generate_password_hash("not-a-password", method="scrypt")


# -- tokens ----------------------------------------------------------------------------------
def issue_token(db: Store, employee_code: str, days: float = DEFAULT_TOKEN_DAYS,
                actor: str | None = None, now: datetime | None = None) -> IssuedToken:
    """Create a token for an active employee, valid for `days` (audited, without the secret).

    Raises:
        TokenError: unknown or inactive employee, or days outside (0, MAX_TOKEN_DAYS].
    """
    if not 0 < days <= MAX_TOKEN_DAYS:
        raise TokenError(f"A token lasts more than 0 and at most {MAX_TOKEN_DAYS} days.")
    if _employee(db, employee_code, active_only=True) is None:
        raise TokenError(f"Unknown or inactive employee {employee_code!r}.")
    created = now or datetime.now()
    expires = created + timedelta(days=days)
    token_id = secrets.token_hex(8)
    secret = secrets.token_urlsafe(32)
    with db.transaction() as cur:
        cur.execute(
            """INSERT INTO api_tokens (token_id, token_hash, employee_code, created_at,
                                       expires_at)
               VALUES (?, ?, ?, ?, ?)""",
            [token_id, _hash(secret), employee_code, created, expires],
        )
        audit.record(cur, actor, "token.issue", "api_token", token_id, None,
                     {"employee_code": employee_code, "expires_at": expires})
    return IssuedToken(f"{TOKEN_PREFIX}.{token_id}.{secret}", token_id, employee_code,
                       created, expires)


def parse_token(token: str) -> tuple[str, str] | None:
    """(token_id, secret) of a well-formed token, else None."""
    parts = token.split(".")
    if len(parts) != 3 or parts[0] != TOKEN_PREFIX:
        return None
    token_id, secret = parts[1], parts[2]
    if len(token_id) != 16 or not all(ch in "0123456789abcdef" for ch in token_id):
        return None
    if not 20 <= len(secret) <= 100:
        return None
    return token_id, secret


def verify_token(db: Store, token: str,
                 now: datetime | None = None) -> tuple[TokenInfo, Employee] | None:
    """The token's record and its employee when the token is valid now, else None.

    Valid = well-formed, known, secret matching (constant-time), not revoked, not expired,
    and its employee still active. Notes last_used_at at most once per minute.
    """
    parsed = parse_token(token)
    if parsed is None:
        return None
    token_id, secret = parsed
    row = db.execute(
        """SELECT t.token_hash, t.employee_code, t.created_at, t.expires_at, t.revoked_at,
                  t.last_used_at
           FROM api_tokens AS t WHERE t.token_id = ?""",
        [token_id],
    ).fetchone()
    if row is None or not hmac.compare_digest(str(row[0]), _hash(secret)):
        return None
    info = TokenInfo(token_id, str(row[1]), row[2], row[3], row[4], row[5])
    moment = now or datetime.now()
    if not info.active(moment):
        return None
    employee = _employee(db, info.employee_code, active_only=True)
    if employee is None:
        return None
    if info.last_used_at is None or moment - info.last_used_at >= LAST_USED_RESOLUTION:
        with db.transaction() as cur:
            cur.execute("UPDATE api_tokens SET last_used_at = ? WHERE token_id = ?",
                        [moment, token_id])
    return info, employee


def revoke_token(db: Store, token_id: str, actor: str | None = None) -> bool:
    """Revoke a token by its id (audited). Returns False when it was already revoked.

    Raises:
        TokenError: no token has this id.
    """
    with db.transaction() as cur:
        row = cur.execute("SELECT revoked_at FROM api_tokens WHERE token_id = ?",
                          [token_id]).fetchone()
        if row is None:
            raise TokenError(f"No token {token_id!r}.")
        if row[0] is not None:
            return False
        cur.execute("UPDATE api_tokens SET revoked_at = ? WHERE token_id = ?",
                    [datetime.now(), token_id])
        audit.record(cur, actor, "token.revoke", "api_token", token_id)
    return True


def list_tokens(db: Store, employee_code: str | None = None) -> list[TokenInfo]:
    """Tokens (all, or one employee's), newest first, without their secrets."""
    rows = db.rows(
        """SELECT token_id, employee_code, created_at, expires_at, revoked_at, last_used_at
           FROM api_tokens WHERE ? IS NULL OR employee_code = ?
           ORDER BY created_at DESC, token_id""",
        [employee_code, employee_code],
    )
    return [TokenInfo(str(r[0]), str(r[1]), r[2], r[3], r[4], r[5]) for r in rows]
