"""Audited changes to the customer archive: edits, soft delete, bindings, shares, departments.

Every change runs in one transaction (the writer lock) together with its audit entries, so
the log and the data never disagree. A single customer is validated by the import's own
checks (validate.detect on a one-row file), so the edit form and the import refuse exactly
the same values with the same messages. Edits carry the version the editor loaded; the check
happens inside the transaction, so of two admins saving the same record one wins and the
other is told to reload instead of silently overwriting.

These are admin edits (DESIGN.md section 3): each takes the acting Scope and refuses any
other role itself, inside its transaction, audited as denied (pipelines.policy), whatever
the page checked. The one exception is a phone's new customer (:func:`add_own_customer`),
bound to the token's employee only.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

import pyarrow as pa

from pipelines import audit, business_settings, formats, load_master, membership, policy, refresh
from pipelines.business_settings import BusinessSettings
from pipelines.context import WriteContext
from pipelines.coords import stage_wgs84
from pipelines.formats import FORMATS, N_, ROW, Problem, RawTable, problem
from pipelines.imports import _drop_staged
from pipelines.policy import Scope
from pipelines.store import Cursor, Store
from pipelines.validate import detect

EDITABLE = ("name", "grade", "address", "longitude", "latitude", "coord_system", "contact",
            "phone", "department_code", "note")
_COLUMNS = tuple(c.name for c in FORMATS["customers"])  # the import's columns, in order
_STORED = ("code", "name", "grade", "address", "longitude", "latitude", "contact", "phone",
           "department_code", "note")
_LISTED = 20  # codes named in one message at most


class EditError(ValueError):
    """A change that is refused; `problems` says why, field by field (row is None)."""

    def __init__(self, problems: Problem | Sequence[Problem]) -> None:
        self.problems: list[Problem] = (
            [problems] if isinstance(problems, Problem) else list(problems))
        super().__init__(" ".join(p.message for p in self.problems))


class StaleEdit(EditError):
    """The record changed since the editor loaded it: nothing was written."""

    def __init__(self) -> None:
        super().__init__(problem(None, None, "stale", N_("changed by someone else — reload")))


# -- reading -----------------------------------------------------------------------------
_RECORDS_SQL = """
    SELECT c.*, coalesce(o.owner_codes, []::VARCHAR[]) AS owner_codes
    FROM customers AS c
    LEFT JOIN (SELECT customer_code, list(employee_code ORDER BY employee_code) AS owner_codes
               FROM bindings
               WHERE customer_code IN (SELECT unnest($codes::VARCHAR[]))
               GROUP BY customer_code) AS o ON o.customer_code = c.code
    WHERE c.code IN (SELECT unnest($codes::VARCHAR[]))
"""


def _records(cur: Cursor, codes: Iterable[str]) -> dict[str, dict[str, Any]]:
    """Stored customers by code: every column plus owner_codes (direct owners, sorted)."""
    result = cur.execute(_RECORDS_SQL, {"codes": list(codes)})
    names = [d[0] for d in result.description or []]
    rows = [dict(zip(names, row, strict=True)) for row in result.fetchall()]
    for row in rows:
        row["owner_codes"] = list(row["owner_codes"])
    return {row["code"]: row for row in rows}


def get_customer(db: Store, code: str) -> dict[str, Any] | None:
    """One customer (deleted ones too) with version, deleted and owner_codes; None if unknown."""
    return _records(db.cursor(), [code]).get(code)


def missing_customers(db: Store, codes: Iterable[str]) -> list[str]:
    """The codes that name no customer at all (deleted ones exist), in the given order."""
    wanted = list(dict.fromkeys(codes))
    known = set(_records(db.cursor(), wanted))
    return [c for c in wanted if c not in known]


# -- validation --------------------------------------------------------------------------
def _text(value: Any) -> str:
    """A stored value as the text a file would hold (floats round-trip exactly)."""
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)
    return str(value)


def _form(stored: Mapping[str, Any] | None, values: Mapping[str, str | None],
          code: str | None) -> dict[str, str]:
    """The one-row file of an add or edit: the stored record overlaid with `values`.

    Stored coordinates are WGS-84, so coord_system only applies when `values` gives
    coordinates; otherwise the stored ones are kept as they are.
    """
    row = {name: "" for name in _COLUMNS}
    if stored is not None:
        row.update({name: _text(stored.get(name)) for name in _STORED})
    row.update({k: "" if v is None else str(v) for k, v in values.items() if k in row})
    if stored is not None and "longitude" not in values and "latitude" not in values:
        row["coord_system"] = ""
    if code is not None:
        row["code"] = code
    return row


def _raw(row: Mapping[str, str]) -> RawTable:
    """The row as formats.read_file would hand it over: trimmed text columns and `_row`."""
    arrays: dict[str, pa.Array] = {
        name: formats._trim(pa.array([row[name]], pa.string())) for name in _COLUMNS}
    arrays[ROW] = pa.array([2], pa.int64())
    return RawTable("customers", pa.table(arrays), list(_COLUMNS), [])


def _unknown_fields(values: Mapping[str, Any], allowed: Sequence[str]) -> list[Problem]:
    return [problem(None, key, "unknown_field", N_("Unknown field '{value}'."), value=key)
            for key in values if key not in allowed]


def _check(cur: Cursor, settings: BusinessSettings,
           row: Mapping[str, str], code: str | None) -> list[Problem]:
    """Run the import's detect on the row (staging `imp`); an edit's own code exists."""
    found, _total = detect(cur, _raw(row), settings)
    problems = [p for p in found
                if not (code is not None and p.code == "exists" and p.column == "code")]
    for p in problems:
        p.row = None
    return problems


def validate_customer(db: Store, values: Mapping[str, str | None], *,
                      code: str | None = None) -> list[Problem]:
    """The problems the import would report for these values (none = they can be saved).

    Args:
        db: the database.
        values: field -> text (None or missing = empty; for an edit missing = unchanged).
            Fields are the import's customers columns (owner_codes joined with ';').
        code: the customer being edited (None = a new customer, code taken from values).
    """
    problems = _unknown_fields(values, _COLUMNS)
    if problems:
        return problems
    cur = db.cursor()
    try:
        stored = _records(cur, [code]).get(code) if code is not None else None
        return _check(cur, business_settings.load(db), _form(stored, values, code), code)
    finally:
        _drop_staged(cur)


def _typed(cur: Cursor) -> dict[str, Any]:
    """The staged row typed and in WGS-84, as the import would store it."""
    stage_wgs84(cur, [("longitude", "latitude")])
    result = cur.execute("SELECT * FROM imp_wgs")
    names = [d[0] for d in result.description or []]
    row = result.fetchone()
    assert row is not None
    return dict(zip(names, row, strict=True))


# -- add and edit ------------------------------------------------------------------------
def add_customer(db: Store, values: Mapping[str, str | None], owners: Sequence[str],
                 scope: Scope) -> dict[str, Any]:
    """Create one customer through the import's own path and bind its owners (audited).

    Args:
        db: the database.
        values: "code" and the EDITABLE fields as text; coordinates in coord_system.
        owners: employee codes to bind directly.
        scope: who acts (an admin, or the local operator).

    Raises:
        EditError: the values fail the import's checks (duplicate code, unknown owner, ...).
        ScopeError: not an admin (audited as denied).
    """
    policy.require_editor(db, scope, "customer.add", values.get("code"))
    return _create(db, values, owners, scope.username)


def add_own_customer(db: Store, values: Mapping[str, str | None], employee_code: str,
                     actor: str | None) -> dict[str, Any]:
    """A phone's new customer, bound to the token's employee only (audited as `actor`):
    the one customer edit that is not an admin's. Raises EditError like add_customer."""
    return _create(db, values, [employee_code], actor)


def _create(db: Store, values: Mapping[str, str | None], owners: Sequence[str],
            actor: str | None) -> dict[str, Any]:
    problems = _unknown_fields(values, ("code", *EDITABLE))
    if problems:
        raise EditError(problems)
    owner_codes = ";".join(dict.fromkeys(o.strip() for o in owners if o.strip()))
    row = _form(None, {**values, "owner_codes": owner_codes}, None)
    settings = business_settings.load(db)
    now = datetime.now()
    try:
        with db.transaction() as cur:
            problems = _check(cur, settings, row, None)
            if problems:
                raise EditError(problems)
            load_master.prepare_customers(cur, settings)
            load_master.write_customers(cur, WriteContext(settings, actor, None, now))
            code = str(cur.execute("SELECT code FROM imp_new").fetchone()[0])  # type: ignore[index]
            after = _records(cur, [code])[code]
            audit.record(cur, actor, "customer.add", "customer", code, None, after)
    finally:
        _drop_staged(db.cursor())
    return after


def update_customer(db: Store, code: str, values: Mapping[str, str | None],
                    expected_version: int, scope: Scope) -> dict[str, Any]:
    """Change the EDITABLE fields of one customer (audited), refusing a stale edit.

    Fields missing from `values` keep their stored value. When the location changes, the
    deviations and validity of the customer's visits are recomputed in the same transaction.

    Raises:
        StaleEdit: the stored version is not `expected_version` (someone saved in between).
        EditError: unknown or deleted customer, the code changed, or values the import refuses.
        ScopeError: not an admin (audited as denied).
    """
    actor = scope.username
    problems = _unknown_fields({k: v for k, v in values.items() if k != "code"}, EDITABLE)
    if "code" in values and (values["code"] or "").strip() != code:
        problems.append(problem(None, "code", "not_editable",
                                N_("'{column}' cannot be changed."), column="code"))
    if problems:
        raise EditError(problems)
    edits = {k: v for k, v in values.items() if k != "code"}
    settings = business_settings.load(db)
    try:
        with policy.guarded(db, scope, "customer.update", code) as cur:
            policy.check_editor(scope)
            before = _records(cur, [code]).get(code)
            if before is None:
                raise EditError(_unknown_customers([code]))
            if before["deleted"]:
                raise EditError(problem(None, "code", "deleted",
                                        N_("Customer '{value}' is deleted; restore it first."),
                                        value=code))
            if int(before["version"]) != int(expected_version):
                raise StaleEdit
            problems = _check(cur, settings, _form(before, edits, code), code)
            if problems:
                raise EditError(problems)
            new = _typed(cur)
            if all(new[f] == before[f] for f in _STORED):
                return before
            cur.execute(
                """UPDATE customers SET name = $name, grade = $grade, address = $address,
                       longitude = $longitude, latitude = $latitude, contact = $contact,
                       phone = $phone, department_code = $department_code, note = $note,
                       version = version + 1, updated_at = $now, updated_by = $actor
                   WHERE code = $code""",
                {**{f: new[f] for f in _STORED}, "now": datetime.now(), "actor": actor},
            )
            membership.refresh_customers(cur, [code])
            if (new["longitude"], new["latitude"]) != (before["longitude"], before["latitude"]):
                refresh.validity_changed(cur, settings, [code])
            after = _records(cur, [code])[code]
            audit.record(cur, actor, "customer.update", "customer", code, before, after)
    finally:
        _drop_staged(db.cursor())
    return after


# -- delete and restore ------------------------------------------------------------------
def _set_deleted(db: Store, codes: Iterable[str], deleted: bool, scope: Scope) -> int:
    wanted = list(dict.fromkeys(codes))
    now, actor = datetime.now(), scope.username
    changed = 0
    action = "customer.delete" if deleted else "customer.restore"
    with policy.guarded(db, scope, action, None) as cur:
        policy.check_editor(scope)
        befores = _records(cur, wanted)
        targets = [c for c in wanted if c in befores and befores[c]["deleted"] != deleted]
        if not targets:
            return 0
        cur.execute(
            """UPDATE customers SET deleted = $deleted,
                   deleted_at = CASE WHEN $deleted THEN $now END,
                   version = version + 1, updated_at = $now, updated_by = $actor
               WHERE code IN (SELECT unnest($codes::VARCHAR[]))""",
            {"deleted": deleted, "now": now, "actor": actor, "codes": targets},
        )
        membership.refresh_customers(cur, targets)
        afters = _records(cur, targets)
        for code in targets:
            audit.record(cur, actor, action, "customer", code, befores[code], afters[code])
            changed += 1
    return changed


def delete_customers(db: Store, codes: Iterable[str], scope: Scope) -> int:
    """Soft-delete customers: they leave lists and customer reports, their visits stay.

    Returns how many were deleted now (already deleted and unknown codes do not count).
    Raises ScopeError (audited) for anyone but an admin.
    """
    return _set_deleted(db, codes, True, scope)


def restore_customers(db: Store, codes: Iterable[str], scope: Scope) -> int:
    """Undo a soft delete; returns how many were restored (others do not count)."""
    return _set_deleted(db, codes, False, scope)


# -- references --------------------------------------------------------------------------
def _listed(codes: Sequence[str]) -> str:
    shown = ", ".join(codes[:_LISTED])
    return shown + (f" (+{len(codes) - _LISTED})" if len(codes) > _LISTED else "")


def _unknown_customers(codes: Sequence[str]) -> Problem:
    return problem(None, "customer_code", "unknown_customer",
                   N_("Unknown customer code(s): {value}."), value=_listed(codes))


def _require_employees(cur: Cursor, codes: Sequence[str],
                       column: str = "employee_code") -> None:
    found = {r[0] for r in cur.execute(
        "SELECT code FROM employees WHERE code IN (SELECT unnest(?::VARCHAR[]))",
        [list(codes)]).fetchall()}
    unknown = [c for c in codes if c not in found]
    if unknown:
        raise EditError(problem(None, column, "unknown_employee",
                                N_("Unknown employee '{value}'."), value=_listed(unknown)))


def _live_customers(cur: Cursor, codes: Sequence[str],
                    refuse_deleted: str | None) -> dict[str, dict[str, Any]]:
    """The stored records of `codes`; unknown codes (and deleted ones, with the given
    message template) are refused."""
    records = _records(cur, codes)
    unknown = [c for c in codes if c not in records]
    if unknown:
        raise EditError(_unknown_customers(unknown))
    deleted = [c for c in codes if records[c]["deleted"]]
    if refuse_deleted is not None and deleted:
        raise EditError(problem(None, "customer_code", "deleted", refuse_deleted,
                                value=_listed(deleted)))
    return records


def _codes(codes: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(c.strip() for c in codes if c and c.strip()))


def bind(db: Store, employee_code: str, customer_codes: Iterable[str],
         scope: Scope) -> int:
    """Bind customers directly to an employee; returns how many bindings are new.

    Raises:
        EditError: unknown employee or customers, or a deleted customer.
    """
    wanted = _codes(customer_codes)
    now, actor = datetime.now(), scope.username
    with policy.guarded(db, scope, "customer.bind", employee_code) as cur:
        policy.check_editor(scope)
        _require_employees(cur, [employee_code])
        _live_customers(cur, wanted, N_("Deleted customer(s) cannot be bound: {value}."))
        bound = {r[0] for r in cur.execute(
            "SELECT customer_code FROM bindings WHERE employee_code = ?",
            [employee_code]).fetchall()}
        new = [c for c in wanted if c not in bound]
        for code in new:
            cur.execute("INSERT INTO bindings (employee_code, customer_code, created_at) "
                        "VALUES (?, ?, ?)", [employee_code, code, now])
            audit.record(cur, actor, "customer.bind", "binding", f"{employee_code}/{code}",
                         None, {"employee_code": employee_code, "customer_code": code})
        membership.refresh_customers(cur, new)
    return len(new)


def unbind(db: Store, employee_code: str, customer_codes: Iterable[str],
           scope: Scope) -> int:
    """Remove direct bindings (of deleted customers too); returns how many existed."""
    wanted, actor = _codes(customer_codes), scope.username
    with policy.guarded(db, scope, "customer.unbind", employee_code) as cur:
        policy.check_editor(scope)
        _require_employees(cur, [employee_code])
        _live_customers(cur, wanted, None)
        bound = {r[0] for r in cur.execute(
            "SELECT customer_code FROM bindings WHERE employee_code = ?",
            [employee_code]).fetchall()}
        gone = [c for c in wanted if c in bound]
        for code in gone:
            cur.execute("DELETE FROM bindings WHERE employee_code = ? AND customer_code = ?",
                        [employee_code, code])
            audit.record(cur, actor, "customer.unbind", "binding", f"{employee_code}/{code}",
                         {"employee_code": employee_code, "customer_code": code}, None)
        membership.refresh_customers(cur, gone)
    return len(gone)


def add_shares(db: Store, from_employee: str, to_employees: Iterable[str],
               scope: Scope) -> int:
    """Share an employee's customers (now and later) with others; returns new shares.

    Raises:
        EditError: unknown employees, or a share with oneself.
    """
    targets, actor = _codes(to_employees), scope.username
    policy.require_editor(db, scope, "share.add", from_employee)
    if from_employee in targets:
        raise EditError(problem(None, "to_employee_code", "self_share",
                                N_("An employee cannot share with themselves ('{value}')."),
                                value=from_employee))
    now = datetime.now()
    with db.transaction() as cur:
        _require_employees(cur, [from_employee], "from_employee_code")
        _require_employees(cur, targets, "to_employee_code")
        existing = {r[0] for r in cur.execute(
            "SELECT to_employee_code FROM shares WHERE from_employee_code = ?",
            [from_employee]).fetchall()}
        new = [t for t in targets if t not in existing]
        for target in new:
            cur.execute("INSERT INTO shares (from_employee_code, to_employee_code, created_at) "
                        "VALUES (?, ?, ?)", [from_employee, target, now])
            audit.record(cur, actor, "share.add", "share", f"{from_employee}>{target}", None,
                         {"from_employee_code": from_employee, "to_employee_code": target})
    return len(new)


def revoke_share(db: Store, from_employee: str, to_employee: str,
                 scope: Scope) -> int:
    """End a share; returns 1 when it existed, else 0.

    Raises:
        EditError: an unknown employee.
    """
    actor = scope.username
    with policy.guarded(db, scope, "share.revoke", from_employee) as cur:
        policy.check_editor(scope)
        _require_employees(cur, [from_employee], "from_employee_code")
        _require_employees(cur, [to_employee], "to_employee_code")
        found = cur.execute(
            "SELECT 1 FROM shares WHERE from_employee_code = ? AND to_employee_code = ?",
            [from_employee, to_employee]).fetchone()
        if found is None:
            return 0
        cur.execute("DELETE FROM shares WHERE from_employee_code = ? AND to_employee_code = ?",
                    [from_employee, to_employee])
        audit.record(cur, actor, "share.revoke", "share", f"{from_employee}>{to_employee}",
                     {"from_employee_code": from_employee, "to_employee_code": to_employee},
                     None)
    return 1


def assign_department(db: Store, department_code: str | None,
                      customer_codes: Iterable[str], scope: Scope) -> int:
    """Assign customers to a department (None = unassign); returns how many changed.

    Raises:
        EditError: unknown department or customers, or a deleted customer.
    """
    wanted = _codes(customer_codes)
    now, actor = datetime.now(), scope.username
    action = "customer.assign" if department_code is not None else "customer.unassign"
    with policy.guarded(db, scope, action, department_code) as cur:
        policy.check_editor(scope)
        if department_code is not None and cur.execute(
                "SELECT 1 FROM departments WHERE code = ?", [department_code]).fetchone() is None:
            raise EditError(problem(None, "department_code", "unknown_department",
                                    N_("Unknown department '{value}'."), value=department_code))
        befores = _live_customers(cur, wanted,
                                  N_("Deleted customer(s) cannot be assigned: {value}."))
        targets = [c for c in wanted if befores[c]["department_code"] != department_code]
        if not targets:
            return 0
        cur.execute(
            """UPDATE customers SET department_code = $department, version = version + 1,
                   updated_at = $now, updated_by = $actor
               WHERE code IN (SELECT unnest($codes::VARCHAR[]))""",
            {"department": department_code, "now": now, "actor": actor, "codes": targets},
        )
        membership.refresh_customers(cur, targets)
        afters = _records(cur, targets)
        for code in targets:
            audit.record(cur, actor, action, "customer", code, befores[code], afters[code])
    return len(targets)
