"""Customer archive changes (pipelines.customers) and its exports (dashboard.archive_export).

Datasets: tests.datasets.build_week (C1 at 121.0/31.0, C2 at 121.1/31.1, C3 unlocated; 11
visits) and build_customers (populations worked out in tests/unit/test_metrics_customer.py:
E1 {K0 K1 K2 K6}, E2 {K2 K5} + shared from E4 {K10 K11}, E4 {K10 K11}, K3 assigned to B12,
K6 to B21, KD deleted).

A location edit is checked against a meridian distance: moving C1 from 31.0 to 31.005
degrees north puts a visit recorded at 121.0/31.0 R * 0.005 * pi / 180 =
6 371 008.8 * 8.7266e-5 = 555.975 m away, over the 500 m gps limit.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest

from dashboard.archive_export import customers_frame, person_customers_frame
from dashboard.reports import metrics
from dashboard.reports.filters import Filters
from dashboard.scope import ScopeError, operator_scope, scope_for_username
from pipelines import customers as edits
from pipelines import geo
from pipelines.customers import EditError, StaleEdit
from pipelines.db import Database
from pipelines.derive import REASON_BIT
from pipelines.policy import LOCAL_OPERATOR as OP
from pipelines.policy import Scope
from tests.conftest import Factory
from tests.datasets import build_customers, build_week

WEEK = Filters(date(2024, 5, 6), date(2024, 5, 12))
# Admins acting (their names go to the audit log).
BOSS, FIRST, SECOND = (Scope(name, "admin", True) for name in ("boss", "first", "second"))
METRES_0_005_DEG = 555.9754011676646  # 6_371_008.8 * radians(0.005)


@pytest.fixture
def week(db: Database, factory: Factory) -> Database:
    build_week(factory)
    return db


@pytest.fixture
def populations(db: Database, factory: Factory) -> Database:
    build_customers(factory)
    return db


def _audit(db: Database, action: str) -> list[dict[str, Any]]:
    rows = db.records("SELECT username, entity, entity_key, before_json, after_json "
                      "FROM audit_log WHERE action = ? ORDER BY audit_id", [action])
    for row in rows:
        for key in ("before_json", "after_json"):
            row[key] = None if row[key] is None else json.loads(row[key])
    return rows


def _issues(problems: list[Any]) -> list[tuple[str | None, str, str]]:
    return [(p.column, p.code, p.message) for p in problems]


# -- reading -------------------------------------------------------------------------------
def test_get_customer_has_every_column_and_sorted_direct_owners(populations: Database) -> None:
    record = edits.get_customer(populations, "K2")
    assert record is not None
    assert record["owner_codes"] == ["E1", "E2"]
    assert (record["version"], record["deleted"], record["grade"]) == (1, False, "B")
    assert {"code", "name", "address", "longitude", "latitude", "contact", "phone",
            "department_code", "note", "deleted_at", "updated_at", "updated_by"} <= set(record)
    # E2 gets K10 through the share E4 -> E2, which is no direct owner.
    assert edits.get_customer(populations, "K10")["owner_codes"] == ["E4"]  # type: ignore[index]
    assert edits.get_customer(populations, "KD")["deleted"] is True  # type: ignore[index]
    assert edits.get_customer(populations, "nope") is None


# -- validation: the import's checks, field by field ----------------------------------------
BAD_VALUES = [
    ({"grade": "X"}, ("grade", "bad_value", "'X' is not allowed in 'grade' (allowed: A/B/C/D).")),
    ({"longitude": "121.5"},
     ("latitude", "coordinates_incomplete", "Longitude and latitude must be given together.")),
    ({"name": "甲\x07店"}, ("name", "illegal_character", "Illegal character U+0007 in 'name'.")),
    ({"department_code": "ZZ"},
     ("department_code", "unknown_department", "Unknown department 'ZZ'.")),
    ({"longitude": "东经", "latitude": "31"},
     ("longitude", "bad_number", "'东经' in 'longitude' is not a number.")),
    ({"latitude": "91", "longitude": "121"},
     ("latitude", "out_of_range", "Latitude 91 is outside -90..90.")),
    ({"name": "  "}, ("name", "required", "'name' is required.")),
]


@pytest.mark.parametrize(("bad", "expected"), BAD_VALUES)
def test_validation_is_the_imports_field_by_field(
    week: Database, factory: Factory, bad: dict[str, str], expected: tuple[str, str, str]
) -> None:
    values = {"code": "N1", "name": "新店", "grade": "A", "longitude": "", "latitude": "",
              "department_code": ""} | bad
    found = edits.validate_customer(week, values)
    assert _issues(found) == [expected]
    assert all(p.row is None for p in found)
    header = ",".join(values)
    row = ",".join(f'"{v}"' for v in values.values())
    imported = factory.load("customers", f"{header}\n{row}\n", expect_ok=False)
    assert _issues(imported.problems) == [expected]
    # The same form on an existing customer's edit gives the same message.
    edit = {k: v for k, v in values.items() if k != "code"}
    assert _issues(edits.validate_customer(week, edit, code="C1")) == [expected]


def test_validation_of_an_edit_ignores_its_own_code_only(week: Database) -> None:
    assert edits.validate_customer(week, {"name": "甲店 new"}, code="C1") == []
    added = edits.validate_customer(week, {"code": "C1", "name": "x"})
    assert _issues(added) == [("code", "exists", "Customer 'C1' already exists; change it in "
                               "the edit form (or restore it if it was deleted).")]
    assert _issues(edits.validate_customer(week, {"code": "N1", "name": "x", "size": "1"})) == [
        ("size", "unknown_field", "Unknown field 'size'.")]


# -- add -----------------------------------------------------------------------------------
def test_add_customer_converts_gcj02_binds_owners_and_audits(week: Database) -> None:
    stored = edits.add_customer(week, {"code": "N1", "name": " 新店 ", "grade": "b",
                                       "longitude": "121.5", "latitude": "31.2",
                                       "coord_system": "gcj02", "phone": "021-1234",
                                       "department_code": "B11"}, ["E2", "E1", "E1"], BOSS)
    assert (stored["name"], stored["grade"], stored["phone"]) == ("新店", "B", "021-1234")
    assert stored["owner_codes"] == ["E1", "E2"] and stored["version"] == 1
    # Stored as WGS-84: shifted back by a few hundred metres, and forward again exact.
    assert stored["longitude"] == pytest.approx(121.4955551, abs=1e-6)
    assert stored["latitude"] == pytest.approx(31.2020190, abs=1e-6)
    back = geo.wgs84_to_gcj02(stored["longitude"], stored["latitude"])
    assert (float(back[0]), float(back[1])) == (pytest.approx(121.5, abs=1e-8),
                                                pytest.approx(31.2, abs=1e-8))
    assert week.scalar("SELECT count(*) FROM bindings WHERE customer_code = 'N1'") == 2
    [entry] = _audit(week, "customer.add")
    assert (entry["username"], entry["entity"], entry["entity_key"]) == ("boss", "customer", "N1")
    assert entry["before_json"] is None
    assert entry["after_json"]["name"] == "新店" and entry["after_json"]["owner_codes"] == [
        "E1", "E2"]


def test_add_customer_refused_writes_nothing(week: Database) -> None:
    with pytest.raises(EditError) as refused:
        edits.add_customer(week, {"code": "C1", "name": "x", "grade": "Z"}, ["E9"], OP)
    assert _issues(refused.value.problems) == [
        ("code", "exists", "Customer 'C1' already exists; change it in the edit form "
                           "(or restore it if it was deleted)."),
        ("grade", "bad_value", "'Z' is not allowed in 'grade' (allowed: A/B/C/D)."),
        ("owner_codes", "unknown_employee", "Unknown employee code(s) in owners: E9."),
    ]
    with pytest.raises(EditError):
        edits.add_customer(week, {"code": "N2", "name": ""}, [], OP)
    assert week.scalar("SELECT count(*) FROM customers") == 3
    assert _audit(week, "customer.add") == []


# -- update --------------------------------------------------------------------------------
def test_update_changes_fields_bumps_version_and_audits(week: Database) -> None:
    updated = edits.update_customer(week, "C2", {"name": "乙店二号", "grade": "", "note": "a\nb"},
                                    1, BOSS)
    assert (updated["name"], updated["grade"], updated["note"]) == ("乙店二号", None, "a\nb")
    assert (updated["version"], updated["updated_by"]) == (2, "boss")
    assert (updated["longitude"], updated["latitude"]) == (121.1, 31.1)  # kept
    [entry] = _audit(week, "customer.update")
    assert entry["entity_key"] == "C2"
    assert (entry["before_json"]["name"], entry["after_json"]["name"]) == ("乙店", "乙店二号")
    assert (entry["before_json"]["version"], entry["after_json"]["version"]) == (1, 2)
    # Saving the same values again changes nothing: no new version, no audit entry.
    same = edits.update_customer(week, "C2", {"name": "乙店二号"}, 2, BOSS)
    assert same["version"] == 2 and len(_audit(week, "customer.update")) == 1


def test_stale_edit_second_admin_is_told_and_first_values_stay(week: Database) -> None:
    version = edits.get_customer(week, "C1")["version"]  # type: ignore[index]
    edits.update_customer(week, "C1", {"name": "甲店 (first)"}, version, FIRST)
    with pytest.raises(StaleEdit) as stale:
        edits.update_customer(week, "C1", {"name": "甲店 (second)", "grade": "D"}, version,
                              SECOND)
    assert str(stale.value) == "changed by someone else — reload"
    assert isinstance(stale.value, EditError) and stale.value.problems[0].code == "stale"
    stored = edits.get_customer(week, "C1")
    assert stored is not None
    assert (stored["name"], stored["grade"], stored["version"]) == ("甲店 (first)", "A",
                                                                    version + 1)
    assert [e["username"] for e in _audit(week, "customer.update")] == ["first"]


def test_update_refuses_bad_values_code_change_unknown_and_deleted(week: Database) -> None:
    with pytest.raises(EditError) as bad:
        edits.update_customer(week, "C1", {"grade": "X"}, 1, OP)
    assert _issues(bad.value.problems) == [
        ("grade", "bad_value", "'X' is not allowed in 'grade' (allowed: A/B/C/D).")]
    with pytest.raises(EditError) as code:
        edits.update_customer(week, "C1", {"code": "C9"}, 1, OP)
    assert code.value.problems[0].code == "not_editable"
    with pytest.raises(EditError, match="Unknown customer code"):
        edits.update_customer(week, "C9", {"name": "x"}, 1, OP)
    edits.delete_customers(week, ["C3"], OP)
    with pytest.raises(EditError, match="deleted"):
        edits.update_customer(week, "C3", {"name": "x"}, 2, OP)
    assert edits.get_customer(week, "C1")["version"] == 1  # type: ignore[index]


def _visit(db: Database, visit_id: str) -> tuple[Any, Any, int]:
    row = db.execute("SELECT check_in_deviation_m, check_out_deviation_m, invalid_mask "
                     "FROM visits WHERE visit_id = ?", [visit_id]).fetchone()
    assert row is not None
    return row[0], row[1], int(row[2])


def test_location_edit_recomputes_that_customers_visits(week: Database) -> None:
    far = REASON_BIT["checkin_far"] | REASON_BIT["checkout_far"]
    assert _visit(week, "v1") == (0.0, 0.0, 0)
    v6_before = _visit(week, "v6")
    edits.update_customer(week, "C1", {"longitude": "121.0", "latitude": "31.005"}, 1, OP)
    dev_in, dev_out, mask = _visit(week, "v1")
    assert dev_in == pytest.approx(METRES_0_005_DEG, abs=1e-6)
    assert dev_out == pytest.approx(METRES_0_005_DEG, abs=1e-6)
    assert mask == far  # 555.98 m > the 500 m gps limit at both ends
    # v5 checked in at 31.01 (now 0.005 deg away too) and out at 31.0.
    assert _visit(week, "v5") == (pytest.approx(METRES_0_005_DEG, abs=1e-6),
                                  pytest.approx(METRES_0_005_DEG, abs=1e-6), far)
    # v8: check-in only located; v3: no check-out at all.
    assert _visit(week, "v8")[2] == REASON_BIT["checkin_far"]
    assert _visit(week, "v3")[2] == REASON_BIT["no_checkout"] | REASON_BIT["checkin_far"]
    assert _visit(week, "v6") == v6_before  # another customer's visit is untouched
    detail = metrics.detail(week, operator_scope(week), WEEK, limit=None).rows
    v1 = detail[detail["visit_id"] == "v1"].iloc[0]
    assert not v1["valid"] and v1["invalid_reasons"] == ["checkin_far", "checkout_far"]
    # Moving it back makes v1 valid again.
    edits.update_customer(week, "C1", {"longitude": "121.0", "latitude": "31.0"}, 2, OP)
    assert _visit(week, "v1") == (0.0, 0.0, 0)


# -- delete and restore ----------------------------------------------------------------------
def _pie(db: Database) -> dict[str, int]:
    frame = metrics.frequency(db, operator_scope(db), WEEK)
    return dict(zip(frame["bucket"], frame["customers"], strict=True))


def test_delete_keeps_visits_in_employee_reports_and_restore_brings_it_back(
    week: Database,
) -> None:
    scope = operator_scope(week)
    # C1: 6 visits (v1 v3 v5 v8 v9 v10), C2: 4, C3: 1.
    assert _pie(week) == {"0": 0, "1": 1, "2": 0, "3-5": 1, "6-10": 1, "11+": 0}
    kpis_before = metrics.kpis(week, scope, WEEK)
    assert kpis_before["visits"] == 11
    assert edits.delete_customers(week, ["C1", "C1", "nope"], BOSS) == 1
    assert edits.delete_customers(week, ["C1"], BOSS) == 0  # already deleted
    stored = edits.get_customer(week, "C1")
    assert stored is not None and stored["deleted"] and stored["deleted_at"] is not None
    assert week.scalar("SELECT count(*) FROM visits WHERE customer_code = 'C1'") == 6
    assert metrics.kpis(week, scope, WEEK) == kpis_before  # visits stay in employee reports
    detail = metrics.detail(week, scope, WEEK, limit=None).rows
    deleted = detail[detail["customer_code"] == "C1"]
    assert len(deleted) == 6 and deleted["customer_deleted"].all()
    assert set(deleted["customer_name"]) == {"甲店"}
    ranking = metrics.ranking(week, scope, WEEK)
    assert dict(zip(ranking["employee_code"], ranking["visits"], strict=True)) == {
        "E1": 4, "E2": 4, "E3": 1, "E4": 2}
    assert _pie(week) == {"0": 0, "1": 1, "2": 0, "3-5": 1, "6-10": 0, "11+": 0}
    assert "C1" not in set(customers_frame(week, scope)["code"])
    [entry] = _audit(week, "customer.delete")
    assert (entry["before_json"]["deleted"], entry["after_json"]["deleted"]) == (False, True)

    assert edits.restore_customers(week, ["C1", "C2", "nope"], BOSS) == 1
    assert _pie(week) == {"0": 0, "1": 1, "2": 0, "3-5": 1, "6-10": 1, "11+": 0}
    stored = edits.get_customer(week, "C1")
    assert stored is not None and not stored["deleted"] and stored["deleted_at"] is None
    assert stored["version"] == 3  # delete and restore each made a version
    [entry] = _audit(week, "customer.restore")
    assert (entry["before_json"]["deleted"], entry["after_json"]["deleted"]) == (True, False)
    assert edits.missing_customers(week, ["C1", "X1", "X1", "X2"]) == ["X1", "X2"]


# -- bindings, shares, departments ------------------------------------------------------------
def test_bind_and_unbind_count_changes_and_refuse_bad_codes(populations: Database) -> None:
    db = populations
    assert edits.bind(db, "E4", ["K0", "K1", "K10", "K0"], BOSS) == 2  # K10 already bound
    assert edits.get_customer(db, "K0")["owner_codes"] == ["E1", "E4"]  # type: ignore[index]
    entries = _audit(db, "customer.bind")
    assert [e["entity_key"] for e in entries] == ["E4/K0", "E4/K1"]
    assert entries[0]["before_json"] is None
    assert entries[0]["after_json"] == {"employee_code": "E4", "customer_code": "K0"}
    with pytest.raises(EditError, match="Unknown employee 'E9'"):
        edits.bind(db, "E9", ["K0"], OP)
    with pytest.raises(EditError, match=r"Unknown customer code\(s\): X1, X2"):
        edits.bind(db, "E4", ["K5", "X1", "X2"], OP)
    with pytest.raises(EditError, match=r"Deleted customer\(s\) cannot be bound: KD"):
        edits.bind(db, "E4", ["K5", "KD"], OP)
    assert db.scalar("SELECT count(*) FROM bindings WHERE employee_code = 'E4'") == 4  # no K5
    assert edits.unbind(db, "E4", ["K0", "K3"], BOSS) == 1  # K3 was never bound to E4
    [entry] = _audit(db, "customer.unbind")
    assert entry["before_json"] == {"employee_code": "E4", "customer_code": "K0"}
    assert entry["after_json"] is None
    with pytest.raises(EditError):
        edits.unbind(db, "E4", ["X1"], OP)


def _employee_customers(db: Database, employee: str) -> int:
    frame = metrics.summary(db, operator_scope(db), WEEK, by="employee")
    row = frame[(frame["code"] == employee) & (frame["grade"] == metrics.ALL_GRADES)]
    return int(row["customers"].iloc[0])


def test_share_lets_b_see_a_customers_until_revoked(populations: Database) -> None:
    db = populations
    assert _employee_customers(db, "E4") == 2  # K10 K11
    assert edits.add_shares(db, "E1", ["E4", "E4"], BOSS) == 1
    assert _employee_customers(db, "E4") == 6  # + K0 K1 K2 K6 (KD is deleted)
    assert edits.add_shares(db, "E1", ["E4", "E2"], OP) == 1  # E1 -> E4 exists
    [first, _second] = _audit(db, "share.add")
    assert first["after_json"] == {"from_employee_code": "E1", "to_employee_code": "E4"}
    with pytest.raises(EditError, match="cannot share with themselves"):
        edits.add_shares(db, "E1", ["E2", "E1"], OP)
    with pytest.raises(EditError, match="Unknown employee 'E9'"):
        edits.add_shares(db, "E1", ["E9"], OP)
    assert edits.revoke_share(db, "E1", "E4", BOSS) == 1
    assert edits.revoke_share(db, "E1", "E4", BOSS) == 0
    assert _employee_customers(db, "E4") == 2
    [entry] = _audit(db, "share.revoke")
    assert entry["before_json"] == {"from_employee_code": "E1", "to_employee_code": "E4"}
    with pytest.raises(EditError):
        edits.revoke_share(db, "E9", "E4", OP)


def test_assign_department_moves_customers_between_populations(populations: Database) -> None:
    db = populations
    bj = scope_for_username(db, "bj")
    assert sorted(customers_frame(db, bj)["code"]) == ["K10", "K11", "K6"]
    assert edits.assign_department(db, "B21", ["K0", "K1", "K6"], BOSS) == 2  # K6 is there
    assert sorted(customers_frame(db, bj)["code"]) == ["K0", "K1", "K10", "K11", "K6"]
    entries = _audit(db, "customer.assign")
    assert [(e["entity_key"], e["before_json"]["department_code"],
             e["after_json"]["department_code"]) for e in entries] == [
        ("K0", None, "B21"), ("K1", None, "B21")]
    assert edits.assign_department(db, None, ["K0", "K3"], BOSS) == 2
    assert edits.get_customer(db, "K3")["department_code"] is None  # type: ignore[index]
    with pytest.raises(EditError, match="Unknown department 'QQ'"):
        edits.assign_department(db, "QQ", ["K1"], OP)
    with pytest.raises(EditError, match="Deleted customer"):
        edits.assign_department(db, "B21", ["KD"], OP)
    with pytest.raises(EditError, match="Unknown customer"):
        edits.assign_department(db, "B21", ["X1"], OP)


# -- exports ---------------------------------------------------------------------------------
def test_customers_frame_is_the_scope_population(populations: Database) -> None:
    db = populations
    everyone = customers_frame(db, operator_scope(db))
    assert list(everyone["code"]) == ["K0", "K1", "K10", "K11", "K2", "K3", "K5", "K6", "KU"]
    assert list(everyone.columns) == ["code", "name", "grade", "address", "longitude",
                                      "latitude", "contact", "phone", "department_code",
                                      "owner_codes", "note"]
    k2 = everyone[everyone["code"] == "K2"].iloc[0]
    assert k2["owner_codes"] == ["E1", "E2"] and k2["department_code"] is None
    assert everyone[everyone["code"] == "K10"].iloc[0]["grade"] is None
    east = customers_frame(db, scope_for_username(db, "east"))
    assert list(east["code"]) == ["K0", "K1", "K2", "K3", "K5", "K6"]


def test_person_customers_frame_by_hand(populations: Database) -> None:
    db = populations
    east = scope_for_username(db, "east")
    rows = [tuple(r) for r in person_customers_frame(db, east).itertuples(index=False)]
    assert rows == [
        ("E1", "张一", "K0", "零", "direct", None, "B11"),
        ("E1", "张一", "K1", "一", "direct", None, "B11"),
        ("E1", "张一", "K2", "二", "direct", None, "B11"),
        ("E1", "张一", "K6", "六", "direct", None, "B11"),
        ("E2", "李二", "K2", "二", "direct", None, "B12"),
        ("E2", "李二", "K5", "五", "direct", None, "B12"),
        ("E2", "李二", "K10", "十", "shared", "E4", "B12"),
        ("E2", "李二", "K11", "十一", "shared", "E4", "B12"),
        (None, None, "K3", "三", "department", None, "B12"),
    ]
    only = person_customers_frame(db, east, "E2")
    assert list(zip(only["customer_code"], only["how"], strict=True)) == [
        ("K2", "direct"), ("K5", "direct"), ("K10", "shared"), ("K11", "shared")]
    bj = scope_for_username(db, "bj")
    assert [(r.employee_code, r.customer_code, r.how) for r in
            person_customers_frame(db, bj).itertuples()] == [
        ("E4", "K10", "direct"), ("E4", "K11", "direct"), (None, "K6", "department")]
    with pytest.raises(ScopeError):
        person_customers_frame(db, bj, "E1")
    with pytest.raises(ScopeError):
        person_customers_frame(db, operator_scope(db), "E9")


def test_only_admins_edit_customers_whatever_the_caller_checked(week: Database) -> None:
    """Issue 14 item 1: the write path refuses a non-admin scope itself (a supervisor's and
    an analyst's), audited as denied, and writes nothing else."""
    tables = ("customers", "bindings", "shares", "customer_facts", "customer_membership")

    def state() -> dict[str, list[Any]]:
        return {t: sorted(map(repr, week.rows(f"SELECT * FROM {t}"))) for t in tables}

    for username in ("east", "bj"):
        scope = scope_for_username(week, username)
        for change, args in (
            (edits.add_customer, ({"code": "N9", "name": "新"}, ["E1"])),
            (edits.update_customer, ("C1", {"name": "改"}, 1)),
            (edits.delete_customers, (["C1"],)),
            (edits.restore_customers, (["C1"],)),
            (edits.bind, ("E1", ["C3"])),
            (edits.unbind, ("E1", ["C1"])),
            (edits.add_shares, ("E1", ["E2"])),
            (edits.revoke_share, ("E1", "E2")),
            (edits.assign_department, ("B11", ["C1"])),
        ):
            before = state()
            with pytest.raises(ScopeError):
                change(week, *args, scope)  # type: ignore[operator]
            assert state() == before
            assert week.rows("SELECT action, username FROM audit_log "  # the newest entry
                             "ORDER BY audit_id DESC LIMIT 1") == [("denied", username)]
