"""Backups: a consistent copy of the database, and bringing one back.

A backup is a DuckDB file holding every table, view, macro and sequence (with its current
value) of the database, copied inside one transaction: a snapshot of a single moment, even
while the server keeps writing. The server makes one for an administrator's download
(DuckDB lets only one process open the file, so the copy must be made by the process that
holds it); the command line makes one when no server runs.

Restoring never overwrites in place: the backup is checked, copied next to the database,
upgraded to the current schema, and only then moved over it; the replaced database is kept
beside it under a `.before-restore-<time>` name (a write-ahead log left by a crash is merged
into it first, so the restored file never replays an old log). The session key is not in
the database (pipelines/secret.py), and a restore ends every web session.
"""

from __future__ import annotations

import os
import secrets
import shutil
from datetime import datetime
from pathlib import Path

import duckdb

from pipelines import sessions
from pipelines.db import Database
from pipelines.store import Store
from pipelines.upgrade import upgrade

# Tables every VisitLens database has had since the first version.
REQUIRED_TABLES = frozenset({"settings", "departments", "employees", "customers", "bindings",
                             "visits", "users", "audit_log"})


class BackupError(RuntimeError):
    """A backup or restore that cannot be done; the message says why (for the user)."""


def _wal(path: Path) -> Path:
    return path.with_name(path.name + ".wal")


def _quote_identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _quote_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def snapshot(db: Store, target: Path) -> Path:
    """Copy the whole database, as of one moment, into the new DuckDB file `target`.

    Writers are not stopped: the copy runs in one transaction, so it sees every table as
    of its start (DuckDB's snapshot isolation) and commits nothing to the source.

    Raises:
        BackupError: `target` exists already.
    """
    target = Path(target)
    if target.exists() or _wal(target).exists():
        raise BackupError(f"{target} exists already; choose a new file name")
    target.parent.mkdir(parents=True, exist_ok=True)
    alias = f"visitlens_backup_{secrets.token_hex(6)}"
    cur = db.cursor()
    source = str(cur.execute("SELECT current_database()").fetchone()[0])  # type: ignore[index]
    cur.execute(f"ATTACH {_quote_literal(str(target))} AS {alias}")
    try:
        cur.execute("BEGIN TRANSACTION")
        try:
            cur.execute(f"COPY FROM DATABASE {_quote_identifier(source)} TO {alias}")
        except BaseException:
            cur.execute("ROLLBACK")
            raise
        cur.execute("COMMIT")
    finally:
        cur.execute(f"DETACH {alias}")
    return target


def backup_file(db_path: Path, target: Path) -> Path:
    """The command line's backup: open the database (no server may hold it) and copy it."""
    if not Path(db_path).exists():
        raise BackupError(f"no database at {db_path}")
    with Database(db_path) as db:
        return snapshot(db, target)


def check_backup(path: Path) -> set[str]:
    """The tables of a backup file, or BackupError when it is not a VisitLens database."""
    if not Path(path).is_file():
        raise BackupError(f"no such file: {path}")
    try:
        with duckdb.connect(str(path), read_only=True, config={
                "autoinstall_known_extensions": False,
                "autoload_known_extensions": False}) as con:
            tables = {r[0] for r in con.execute(
                "SELECT table_name FROM information_schema.tables "
                "WHERE table_schema = 'main'").fetchall()}
    except duckdb.Error as exc:
        raise BackupError(f"{path} is not a DuckDB database: {str(exc)[:200]}") from None
    missing = REQUIRED_TABLES - tables
    if missing:
        raise BackupError(f"{path} is not a VisitLens backup (no table "
                          f"{', '.join(sorted(missing))})")
    return tables


def restore(backup: Path, db_path: Path) -> Path | None:
    """Put the backup in place of the database at `db_path`.

    Returns where the replaced database was kept (None when there was none).

    Raises:
        BackupError: the file is not a VisitLens backup.
        DatabaseLockedError: a server (or another command) holds the database.
    """
    backup, db_path = Path(backup), Path(db_path)
    check_backup(backup)
    if db_path.exists():
        Database(db_path).close()  # raises DatabaseLockedError while a server holds it
    staged = db_path.with_name(f"{db_path.name}.restoring-{secrets.token_hex(4)}")
    try:
        shutil.copyfile(backup, staged)
        with Database(staged) as db:
            upgrade(db)  # a backup of an older version gets its migrations
            # Sessions of the backup's moment (some ended since) never count again; its
            # settings lost the old session key in upgrade (pipelines/secret.py).
            with db.transaction() as cur:
                sessions.end_all(cur)
            db.checkpoint()
        kept: Path | None = None
        if db_path.exists():
            kept = db_path.with_name(
                f"{db_path.name}.before-restore-{datetime.now():%Y%m%d-%H%M%S}")
            os.replace(db_path, kept)
            if _wal(db_path).exists():  # never replay the old log onto the restored file
                os.replace(_wal(db_path), _wal(kept))
        os.replace(staged, db_path)
    finally:
        staged.unlink(missing_ok=True)
        _wal(staged).unlink(missing_ok=True)
    return kept
