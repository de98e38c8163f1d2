"""The key that signs session cookies, kept out of the database (issue 14, item 4).

It used to live in the ``settings`` table, so every backup carried it and whoever held a
backup could sign an admin's cookie for the live server. Now it comes from
``VISITLENS_SECRET_KEY`` (several hosts serving one store set the same value), else from a
file created with mode 0600 on first use: next to the DuckDB file (``<database>.secret``),
or on ClickHouse in the job folder every web process shares (dashboard.settings). A
backup holds neither, and restoring one never brings an old key back. ``visitlens secret
rotate`` writes a new file (and ends every session).
"""

from __future__ import annotations

import os
import secrets
import stat
from pathlib import Path

ENV_VAR = "VISITLENS_SECRET_KEY"
MIN_LENGTH = 32
# The key the settings table held before: in every old backup, so never used again.
LEGACY_SETTING = "secret_key"


class SecretError(RuntimeError):
    """The key cannot be read or written safely; the message says what to do."""


def secret_path(db_path: str | Path) -> Path:
    """Where the key file of the DuckDB database at `db_path` lives."""
    path = Path(db_path)
    return path.with_name(path.name + ".secret")


def _check_file(path: Path) -> None:
    info = path.stat()
    if info.st_uid != os.getuid():
        raise SecretError(f"{path} belongs to another user; it must be this user's own file "
                          "(delete it: a new key is made, and everybody signs in again)")
    if stat.S_IMODE(info.st_mode) & 0o077:
        raise SecretError(f"{path} may be read by other users: run `chmod 600 {path}`, or "
                          "`visitlens secret rotate` (everybody signs in again)")


def _write_new(path: Path, replace: bool) -> str:
    """A new random key in `path`, created 0600 (atomically: never a half-written key)."""
    key = secrets.token_hex(32)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    staged = path.with_name(f"{path.name}.{secrets.token_hex(4)}.new")
    fd = os.open(staged, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(key + "\n")
        if replace:
            os.replace(staged, path)
        else:
            os.link(staged, path)  # fails if another process made the file first
    except FileExistsError:
        pass
    finally:
        staged.unlink(missing_ok=True)
    return key


def load(path: Path, environ: dict[str, str] | None = None) -> str:
    """The signing key: $VISITLENS_SECRET_KEY, else the key file `path` (created when
    missing)."""
    env = os.environ if environ is None else environ
    from_env = env.get(ENV_VAR, "").strip()
    if from_env:
        if len(from_env) < MIN_LENGTH:
            raise SecretError(f"{ENV_VAR} must be at least {MIN_LENGTH} characters "
                              "(e.g. the output of `python -c 'import secrets; "
                              "print(secrets.token_hex(32))'`)")
        return from_env
    if not path.exists():
        _write_new(path, replace=False)
    _check_file(path)
    key = path.read_text("ascii").strip()
    if len(key) < MIN_LENGTH:
        raise SecretError(f"{path} holds no usable key: delete it (a new one is made) or run "
                          "`visitlens secret rotate`")
    return key


def rotate(path: Path, environ: dict[str, str] | None = None) -> Path:
    """Replace the key file `path` with a new key; returns its path.

    Raises:
        SecretError: the key comes from $VISITLENS_SECRET_KEY (change it there).
    """
    env = os.environ if environ is None else environ
    if env.get(ENV_VAR, "").strip():
        raise SecretError(f"the key comes from {ENV_VAR}: set a new value there and restart "
                          "every server")
    _write_new(path, replace=True)
    return path
