"""Bring a store up to this version of VisitLens when it is opened.

Runs at app start, on ``visitlens init`` and every command on a DuckDB file, and after a
restore; cheap when the store is current (one version read, the default settings, a stale
check). In order:

1. the numbered migrations the store has not had (:mod:`pipelines.migrations`), each
   recorded in ``schema_version``;
2. the default business settings that are not set yet;
3. derived data: rebuilt from scratch once for a store from before
   :data:`REBUILD_BELOW` (files from before versioned migrations kept their derived tables
   in step by probing at each start; whatever they missed is rebuilt here), else only
   when rows were written behind the app's back (:func:`pipelines.refresh.ensure_current`).
"""

from __future__ import annotations

from pipelines import business_settings, refresh
from pipelines.migrations import Migration, migrations
from pipelines.store import Store

# A store whose version was below this before upgrading gets every derived table rebuilt.
# A migration that changes how a derived table is computed raises it to its own number.
REBUILD_BELOW = 1

_HAS_DATA = ("SELECT EXISTS (SELECT 1 FROM customers) OR EXISTS (SELECT 1 FROM visits) "
             "OR EXISTS (SELECT 1 FROM plan_items)")


def upgrade(store: Store) -> list[Migration]:
    """Apply what the store lacks (see the module docstring); the migrations applied."""
    before = store.schema_version()
    applied = [m for m in migrations() if m.version > before]
    for migration in applied:
        store.apply_migration(migration)
    business_settings.ensure_defaults(store)
    if before < REBUILD_BELOW and store.scalar(_HAS_DATA):
        with store.transaction() as cur:
            refresh.rebuild(cur)
    else:
        refresh.ensure_current(store)
    return applied
