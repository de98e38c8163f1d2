"""The audit log: who changed what, when, with the record before and after."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from pipelines.store import Cursor


def _json(value: Any) -> str | None:
    if value is None:
        return None
    return json.dumps(value, ensure_ascii=False, default=str, sort_keys=True)


def record(
    cur: Cursor,
    username: str | None,
    action: str,
    entity: str | None = None,
    entity_key: str | None = None,
    before: Any = None,
    after: Any = None,
) -> None:
    """Append one entry, inside the caller's transaction so it commits with the change."""
    cur.execute(
        """
        INSERT INTO audit_log
            (audit_id, logged_at, username, action, entity, entity_key, before_json, after_json)
        VALUES (nextval('seq_audit'), ?, ?, ?, ?, ?, ?, ?)
        """,
        [datetime.now(), username, action, entity, entity_key, _json(before), _json(after)],
    )
