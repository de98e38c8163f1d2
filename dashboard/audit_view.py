"""The audit log's before/after as a person reads it: translated field names and values.

Entries store the record as JSON (pipelines.audit); the page shows `字段: 值` pairs in the
user's language instead. For a change with both sides only the fields that changed are
shown; the bookkeeping fields (version, stamps) are left out, the row already says who
changed it and when. Unknown fields keep their stored name, so nothing is hidden.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from dashboard import display
from dashboard.i18n import N_, _
from pipelines.derive import reasons_of

FIELD_LABELS: Mapping[str, str] = {
    "code": N_("Code"), "name": N_("Name"), "grade": N_("Grade"), "address": N_("Address"),
    "longitude": N_("Longitude"), "latitude": N_("Latitude"),
    "coord_system": N_("Coordinate system"), "contact": N_("Contact"), "phone": N_("Phone"),
    "department_code": N_("Department code"), "note": N_("Note"),
    "owner_codes": N_("Owners"), "deleted": N_("Deleted"),
    "employee_code": N_("Employee code"), "customer_code": N_("Customer code"),
    "plan_date": N_("Plan date"), "plan_name": N_("Plan name"), "route_name": N_("Route name"),
    "customer_codes": N_("Customers"), "role": N_("Role"), "departments": N_("Departments"),
    "kind": N_("Kind"), "file": N_("File"), "rows": N_("Rows"), "inserted": N_("Inserted"),
    "expires_at": N_("Expires"), "from_employee_code": N_("Shared from"),
    "to_employee_code": N_("Shared with"), "check_out_at": N_("Check-out time"),
    "source": N_("Check-out source"), "invalid_mask": N_("Reasons"),
    "min_valid_stay_minutes": N_("Minimum valid stay (minutes)"),
    "deviation_limit_net_m": N_("Deviation limit, network location (m)"),
    "deviation_limit_cell_m": N_("Deviation limit, cell tower location (m)"),
    "deviation_limit_gps_m": N_("Deviation limit, GPS location (m)"),
    "workdays": N_("Workdays"), "grades": N_("Grades"),
    "frequency_buckets": N_("Frequency buckets"),
    "export_max_days": N_("Longest export (days)"), "timezone": N_("Time zone"),
}
BOOKKEEPING = frozenset({"version", "created_at", "updated_at", "updated_by", "plan_id",
                         "route_id"})
ROLE_LABELS: Mapping[str, str] = {"admin": N_("Administrator"), "supervisor": N_("Supervisor"),
                                  "analyst": N_("Analyst")}
HOLIDAY_KINDS: Mapping[str, str] = {"off": N_("Day off"), "work": N_("Working day")}


# Actions are stored as `record.verb` codes (pipelines.audit); a person reads them in words.
RECORD_LABELS: Mapping[str, str] = {
    "customer": N_("Customer"), "plan": N_("Plan"), "route": N_("Route"), "user": N_("User"),
    "employee": N_("Employee"), "holiday": N_("Holiday"), "import": N_("Import"),
    "settings": N_("Settings"), "share": N_("Share"), "token": N_("API token"),
    "visit": N_("Visit"), "session": N_("Sessions"), "backup": N_("Backup"),
    "audit": N_("Audit log"), "database": N_("Database"), "export": N_("Export"),
}
VERB_LABELS: Mapping[str, str] = {
    "add": N_("add"), "create": N_("create"), "update": N_("change"), "save": N_("save"),
    "edit": N_("change"), "set": N_("set"), "delete": N_("delete"), "restore": N_("restore"),
    "bind": N_("bind"), "unbind": N_("unbind"), "assign": N_("assign"),
    "unassign": N_("unassign"), "schedule": N_("add to calendar"),
    "password": N_("password change"), "role": N_("role change"),
    "activate": N_("activate"), "deactivate": N_("deactivate"), "revoke": N_("revoke"),
    "issue": N_("issue"), "check_out": N_("check-out"), "end_all": N_("log out everywhere"),
    "download": N_("download"), "read": N_("read"), "run": N_("import"),
    "detect": N_("detect"), "file": N_("upload"), "poll": N_("progress"),
    "problems": N_("problems"), "choose": N_("choose kind"),
}
DENIED_LABEL = N_("Refused")


def action_label(code: Any) -> str:
    """A stored action (`customer.update`, `denied`) in the reader's words; an unknown part
    keeps its code, so nothing is hidden."""
    if not isinstance(code, str) or not code:
        return display.MISSING
    if code == "denied":
        return _(DENIED_LABEL)
    record, _dot, verb = code.partition(".")
    if not verb:
        return _(RECORD_LABELS[record]) if record in RECORD_LABELS else record
    return _("{record}: {verb}").format(
        record=_(RECORD_LABELS[record]) if record in RECORD_LABELS else record,
        verb=_(VERB_LABELS[verb]) if verb in VERB_LABELS else verb)


def codes_matching(text: str, stored: list[str]) -> list[str]:
    """The stored action and record codes whose words contain `text` (case folded): a
    search in the reader's language finds what the log stores as codes."""
    wanted = text.casefold()
    return [c for c in stored if wanted and wanted in action_label(c).casefold()]


def _parsed(text: Any) -> Any:
    if not isinstance(text, str) or not text:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


def _value(field: str, value: Any) -> str:
    """One stored value as words: yes/no, roles, sources, reasons, lists joined."""
    if value is None or value == "":
        return display.MISSING
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if field == "invalid_mask" and isinstance(value, int):
        return display.reasons_text(reasons_of(value)) or display.valid_word(True)
    if field == "source":
        return display.source_word(value) or str(value)
    if field == "role" and value in ROLE_LABELS:
        return _(ROLE_LABELS[value])
    if field == "kind" and value in HOLIDAY_KINDS:
        return _(HOLIDAY_KINDS[value])
    if isinstance(value, list):
        return _(", ").join(_value(field, v) for v in value) or display.MISSING
    return str(value)


def _pairs(record: Mapping[str, Any], fields: list[str]) -> str:
    return "; ".join(f"{_(FIELD_LABELS[f]) if f in FIELD_LABELS else f}: {_value(f, record[f])}"
                     for f in fields)


def _whole(side: Any) -> str:
    """One side shown in full (an entry that adds or removes a record)."""
    if isinstance(side, dict):
        return _pairs(side, [f for f in side if f not in BOOKKEEPING])
    return "" if side is None else str(side)


def readable(before_json: Any, after_json: Any) -> tuple[str, str]:
    """(before, after) of one entry as text; a change shows only what changed."""
    before, after = _parsed(before_json), _parsed(after_json)
    if not isinstance(before, dict) or not isinstance(after, dict):
        return _whole(before), _whole(after)
    changed = [f for f in dict.fromkeys([*before, *after])
               if f not in BOOKKEEPING and before.get(f) != after.get(f)]
    return (_pairs({f: before.get(f) for f in changed}, changed),
            _pairs({f: after.get(f) for f in changed}, changed))
