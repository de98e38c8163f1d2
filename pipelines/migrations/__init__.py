"""Numbered schema migrations: how a database of any earlier version becomes this one.

Migration 1 is ``pipelines/schema.sql``, the base schema (every statement idempotent, so a
database from before versioned migrations — version 0 — takes it as it is). Each later
change is a file of its own here, ``NNNN_what.sql`` (DuckDB's dialect, numbered from
0002, never edited once released). A store records what it applied in ``schema_version``;
:func:`pipelines.upgrade.upgrade` applies the missing ones in order, so a new database and
an upgraded one go through the same steps and end with the same schema.

On ClickHouse a migration's DDL is not run as written: the tables and columns it adds are
derived from DuckDB's catalog (:mod:`pipelines.clickhouse.schema`).

This module reads files only; it imports nothing of VisitLens, so the stores and the
ClickHouse schema may use it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from importlib import resources

_FILE = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


@dataclass(frozen=True)
class Migration:
    """One step: its number, a name, and the DDL (DuckDB's dialect, several statements)."""

    version: int
    name: str
    sql: str


@cache
def migrations() -> tuple[Migration, ...]:
    """Every migration, in order (numbers 1, 2, 3, ... without gaps)."""
    found = [Migration(1, "base", resources.files("pipelines").joinpath("schema.sql")
                       .read_text("utf-8"))]
    here = resources.files("pipelines.migrations")
    for entry in sorted(here.iterdir(), key=lambda e: e.name):
        match = _FILE.match(entry.name)
        if match:
            found.append(Migration(int(match[1]), match[2], entry.read_text("utf-8")))
    numbers = [m.version for m in found]
    if numbers != list(range(1, len(found) + 1)):
        raise RuntimeError(f"migrations must be numbered 1, 2, 3, ... (found {numbers})")
    return tuple(found)


def latest() -> int:
    """The version a fully upgraded database is at."""
    return migrations()[-1].version


def script(upto: int | None = None) -> str:
    """The DDL of every migration up to `upto` (all when None), in order: the schema a
    database at that version has."""
    return "\n".join(m.sql for m in migrations() if upto is None or m.version <= upto)
