"""Bring code written against the old store API to the Store protocol (issue 16, item 5).

For merging branches started before it: run on the files a merge brought in, then
``ruff check --fix`` (import order, unused ``duckdb``) and ``mypy``. Idempotent.

    python scripts/store_types.py $(git ls-files 'pipelines/*.py' 'dashboard/*.py')

(Tests may keep ``Database``: they build DuckDB files and are not type-checked.)

What it rewrites (nothing else):

- annotations ``Database`` -> ``Store`` (``db: Database``, ``-> Database``,
  ``X | Database``), the import following (``Database`` stays imported where a file
  constructs the DuckDB store, ``Database(path)``);
- in pipelines/: ``duckdb.DuckDBPyConnection`` -> ``Cursor`` (what a transaction hands
  its block on either engine);
- ``X.init_schema()`` -> ``upgrade(X)`` (pipelines.upgrade), and ``open_store`` /
  ``ENGINES`` imported from pipelines.engines.

- calls into derived data that moved to pipelines/refresh.py:
  ``derive.refresh_validity`` -> ``refresh.validity_changed``,
  ``summaries.refresh_for_visits`` -> ``refresh.visits_added``,
  ``membership.ensure_current`` -> ``refresh.ensure_current``.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

# The store modules themselves keep their own names.
SKIP = {"pipelines/db.py", "pipelines/store.py", "pipelines/engines.py",
        "pipelines/clickhouse/database.py", "pipelines/clickhouse/schema.py"}
ANNOTATION = re.compile(
    r"(?<=: )Database\b|(?<=-> )Database\b|(?<=\[)Database\b|\bDatabase(?= \|)"
    r"|(?<=\| )Database\b|(?<=\")Database(?=\")")
DB_IMPORT = re.compile(r"^([ \t]*)from pipelines\.db import ([^\n(]*)$", re.M)
INIT = re.compile(r"\b([\w.]+)\.init_schema\(\)")
MOVED = {"derive.refresh_validity(": "refresh.validity_changed(",
         "summaries.refresh_for_visits(": "refresh.visits_added(",
         "membership.ensure_current(": "refresh.ensure_current("}


def _add_import(text: str, module: str, name: str) -> str:
    """`from module import name`, merged into an existing import of `module` if any."""
    line = re.compile(rf"^([ \t]*)from {re.escape(module)} import ([^\n(]*)$", re.M)
    found = line.search(text)
    if found:
        names = {n.strip() for n in found[2].split(",")} | {name}
        return text[:found.start()] + f"{found[1]}from {module} import " \
            f"{', '.join(sorted(names))}" + text[found.end():]
    anchor = re.search(r"^(?:from pipelines|import duckdb)[^\n]*\n", text, re.M) \
        or re.search(r"^from __future__[^\n]*\n", text, re.M)
    at = anchor.end() if anchor else 0
    return text[:at] + f"from {module} import {name}\n" + text[at:]


def rewrite(name: str, text: str) -> str:
    text = re.sub(r"from pipelines\.store import (ENGINES, open_store|open_store|ENGINES)$",
                  r"from pipelines.engines import \1", text, flags=re.M)
    constructs = re.search(r"\bDatabase\(|DatabaseLockedError", text) is not None
    text, annotated = ANNOTATION.subn("Store", text)
    for found in list(DB_IMPORT.finditer(text))[:1] if annotated else []:
        names = [n.strip() for n in found[2].split(",")]
        keep = [n for n in names if n not in ("Database", "Params")]
        if constructs and "Database" in names:
            keep.insert(0, "Database")
        store = [n for n in ("Store", "Params") if n == "Store" or n in names]
        lines = [f"{found[1]}from pipelines.db import {', '.join(keep)}"] if keep else []
        lines.append(f"{found[1]}from pipelines.store import {', '.join(store)}")
        text = text[:found.start()] + "\n".join(lines) + text[found.end():]
    if annotated and not re.search(r"from pipelines\.store import [^\n]*\bStore\b", text):
        text = _add_import(text, "pipelines.store", "Store")
    if name.startswith("pipelines/") and "duckdb.DuckDBPyConnection" in text:
        text = _add_import(text.replace("duckdb.DuckDBPyConnection", "Cursor"),
                           "pipelines.store", "Cursor")
    if name != "pipelines/refresh.py" and any(old in text for old in MOVED):
        for old, new in MOVED.items():
            text = text.replace(old, new)
        text = _add_import(text, "pipelines", "refresh")
    if INIT.search(text):
        text = _add_import(INIT.sub(r"upgrade(\1)", text), "pipelines.upgrade", "upgrade")
    return text


def main(names: list[str]) -> int:
    for name in names:
        if name in SKIP or not name.endswith(".py"):
            continue
        path = Path(name)
        old = path.read_text("utf-8")
        new = rewrite(name, old)
        if new != old:
            path.write_text(new, "utf-8")
            print(f"rewrote {name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
