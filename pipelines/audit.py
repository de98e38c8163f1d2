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


DENIED = "denied"


def _coalesced(cur: Cursor, username: str, refused: str,
               moment: datetime) -> bool:
    """Count a refusal on this minute's entry of the same user and refused action, if any."""
    row = cur.execute(
        "SELECT audit_id, after_json FROM audit_log WHERE action = ? AND username = ? "
        "AND entity = ? AND logged_at >= ? ORDER BY audit_id DESC LIMIT 1",
        [DENIED, username, refused, moment.replace(second=0, microsecond=0)]).fetchone()
    if row is None:
        return False
    data = json.loads(row[1]) if row[1] else {}
    data = data if isinstance(data, dict) else {"after": data}
    data["attempts"] = int(data.get("attempts", 1)) + 1
    cur.execute("UPDATE audit_log SET after_json = ? WHERE audit_id = ?", [_json(data), row[0]])
    return True


def record(
    cur: Cursor,
    username: str | None,
    action: str,
    entity: str | None = None,
    entity_key: str | None = None,
    before: Any = None,
    after: Any = None,
) -> None:
    """Append one entry, inside the caller's transaction so it commits with the change.

    Refusals (action 'denied', entity = the refused action) are counted, not repeated: one
    entry per user, refused action and minute, whose ``attempts`` says how many (the first
    attempt's record key is kept). A user cannot flood the log by repeating a refused call.
    """
    now = datetime.now()
    if action == DENIED and username is not None and entity is not None:
        if _coalesced(cur, username, entity, now):
            return
        after = {**after, "attempts": 1} if isinstance(after, dict) else \
            {"after": after, "attempts": 1}
    cur.execute(
        """
        INSERT INTO audit_log
            (audit_id, logged_at, username, action, entity, entity_key, before_json, after_json)
        VALUES (nextval('seq_audit'), ?, ?, ?, ?, ?, ?, ?)
        """,
        [now, username, action, entity, entity_key, _json(before), _json(after)],
    )
