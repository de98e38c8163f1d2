"""The write side of the phone API without HTTP: tokens, import_records, check-out, the
group commit of concurrent check-ins."""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import replace
from datetime import datetime, timedelta

import pytest

from pipelines import api_tokens, business_settings, derive, phone
from pipelines.db import Database
from pipelines.imports import import_records, run_import
from tests.conftest import Factory
from tests.datasets import VISITS


@pytest.fixture
def company(factory: Factory) -> Database:
    factory.org()
    factory.load("employees", "code,name,department_code,status\nE1,张一,B11,active\n"
                 "E2,李二,B11,active\nE3,王三,B12,inactive\n")
    factory.load("customers", "code,name,longitude,latitude,owner_codes\n"
                 "C1,甲,121.0,31.0,E1\nC2,乙,121.1,31.1,E2\nC3,丙,,,E1\n")
    return factory.db


# -- import_records is the file import -------------------------------------------------------
def test_import_records_stores_what_the_file_import_stores(company: Database) -> None:
    lines = VISITS.replace("E4", "E2").replace("E3", "E2").strip().splitlines()
    header = lines[0].split(",")
    records = [dict(zip(header, line.split(","), strict=True)) for line in lines[1:]]
    result = import_records(company, "visits", [{k: v or None for k, v in r.items()}
                                                for r in records], "employee:E1", "api:test")
    assert result.ok and (result.inserted, result.skipped) == (11, 0)
    from_api = company.rows("SELECT * EXCLUDE (import_id) FROM visits ORDER BY visit_id")
    company.execute("DELETE FROM visits")
    file_result = run_import(company, "visits", VISITS.replace("E4", "E2").replace(
        "E3", "E2").encode(), "visits.csv", "tests")
    assert file_result.ok
    assert company.rows("SELECT * EXCLUDE (import_id) FROM visits ORDER BY visit_id") == from_api
    again = import_records(company, "visits", records, None, "api:test")
    assert (again.inserted, again.skipped) == (0, 11)
    history = company.rows("SELECT username, filename FROM import_history "
                           "WHERE filename = 'api:test' ORDER BY import_id")
    assert history == [("employee:E1", "api:test"), (None, "api:test")]
    bad = import_records(company, "visits", [{"employee_code": "E1", "customer_code": "C1",
                                              "check_in_at": "2024-05-06 25:00"}], None, "x")
    assert not bad.ok and [(p.row, p.column, p.code) for p in bad.problems] == [
        (2, "check_in_at", "bad_timestamp")]
    with pytest.raises(ValueError, match="unknown visits field"):
        import_records(company, "visits", [{"employee": "E1"}], None, "x")
    assert import_records(company, "visits", [], None, "x").ok


# -- tokens and passwords --------------------------------------------------------------------
def test_tokens_expire_are_revoked_and_die_with_the_employee(company: Database) -> None:
    issued = api_tokens.issue_token(company, "E1", days=1)
    found = api_tokens.verify_token(company, issued.token)
    assert found is not None and found[1].code == "E1"
    stored = company.rows("SELECT token_hash FROM api_tokens")
    assert issued.token.split(".")[2] not in str(stored)  # only the hash is kept
    later = issued.created_at + timedelta(days=1, seconds=1)
    assert api_tokens.verify_token(company, issued.token, now=later) is None
    tampered = issued.token[:-1] + ("A" if issued.token[-1] != "A" else "B")
    assert api_tokens.verify_token(company, tampered) is None
    for junk in ("", "vl1..", "vl1.xyz.abc", "Bearer x", "vl2." + issued.token[4:]):
        assert api_tokens.verify_token(company, junk) is None
    assert api_tokens.revoke_token(company, issued.token_id) is True
    assert api_tokens.revoke_token(company, issued.token_id) is False
    assert api_tokens.verify_token(company, issued.token) is None
    with pytest.raises(api_tokens.TokenError):
        api_tokens.revoke_token(company, "0" * 16)
    other = api_tokens.issue_token(company, "E2")
    company.execute("UPDATE employees SET status = 'inactive' WHERE code = 'E2'")
    assert api_tokens.verify_token(company, other.token) is None
    with pytest.raises(api_tokens.TokenError):
        api_tokens.issue_token(company, "E3")  # inactive
    with pytest.raises(api_tokens.TokenError):
        api_tokens.issue_token(company, "E1", days=0)
    states = {t.token_id: t.revoked_at is not None for t in api_tokens.list_tokens(company)}
    assert states == {issued.token_id: True, other.token_id: False}
    actions = [r[0] for r in company.rows("SELECT action FROM audit_log WHERE action "
                                          "LIKE 'token.%' ORDER BY audit_id")]
    assert actions == ["token.issue", "token.revoke", "token.issue"]


def test_employee_passwords(company: Database) -> None:
    api_tokens.set_employee_password(company, "E1", "first-password")
    api_tokens.set_employee_password(company, "E1", "second-password")
    assert api_tokens.authenticate_employee(company, "E1", "first-password") is None
    assert api_tokens.authenticate_employee(company, "E1", "second-password") is not None
    assert api_tokens.authenticate_employee(company, "E2", "second-password") is None
    api_tokens.set_employee_password(company, "E3", "inactive-password")
    assert api_tokens.authenticate_employee(company, "E3", "inactive-password") is None
    with pytest.raises(api_tokens.TokenError):
        api_tokens.set_employee_password(company, "E1", "short")
    with pytest.raises(api_tokens.TokenError):
        api_tokens.set_employee_password(company, "E9", "long-enough-1")
    assert "second-password" not in str(company.rows("SELECT * FROM employee_passwords"))


# -- visits ----------------------------------------------------------------------------------
def _visit(client_id: str, at: datetime, customer: str = "C1",
           out: datetime | None = None) -> phone.PhoneVisit:
    end = phone.VisitEnd(out, 121.0, 31.0, "gps") if out is not None else None
    return phone.PhoneVisit(client_id, customer, phone.VisitEnd(at, 121.0, 31.001, "net"), end)


def test_check_out_recomputes_the_visit_and_its_day(company: Database) -> None:
    at = datetime(2024, 5, 6, 9, 0)
    now = datetime(2024, 5, 6, 12, 0)
    [first] = phone.record_visits(company, "E1", [_visit("v1", at)], "employee:E1", "t",
                                  now=now)
    assert first.status == "created" and first.visit is not None
    assert first.visit.reasons == ["no_checkout"] and first.visit.valid_so_far
    assert company.scalar("SELECT valid_visits FROM visit_day_summary") == 0
    row, changed = phone.check_out(company, "E1", "v1", phone.VisitEnd(
        at + timedelta(minutes=9, seconds=59), 121.0, 31.0, "gps"), "wgs84", "x", now)
    assert changed and row.stay_minutes == pytest.approx(9 + 59 / 60)
    assert row.reasons == ["short_stay"] and row.check_out_deviation_m == 0.0
    with company.transaction() as cur:  # the full refresh agrees with the one-visit one
        derive.refresh_validity(cur, business_settings.load(company), ["C1"])
    assert company.scalar("SELECT invalid_mask FROM visits") == row.invalid_mask
    second = phone.record_visits(company, "E1", [_visit("v2", at + timedelta(hours=1), out=at
                                                         + timedelta(hours=1, minutes=30))],
                                 None, "t", now=now)
    assert second[0].status == "created" and second[0].visit and second[0].visit.valid
    assert company.scalar("SELECT valid_visits FROM visit_day_summary") == 1
    with pytest.raises(phone.VisitRefused) as refused:
        phone.check_out(company, "E2", "v1", phone.VisitEnd(at), "wgs84", None, now)
    assert refused.value.problems[0].code == "no_checkin" and not refused.value.conflict


def test_batch_outcomes(company: Database) -> None:
    now = datetime(2024, 5, 7, 12, 0)
    day = datetime(2024, 5, 6, 9, 0)
    phone.record_visits(company, "E1", [_visit("open", day)], None, "t", now=now)
    batch = [
        _visit("new", day + timedelta(hours=1), out=day + timedelta(hours=2)),
        _visit("open", day, out=day + timedelta(minutes=30)),  # completes the check-in
        _visit("new", day + timedelta(hours=3)),  # same client id twice in one batch
        _visit("far", now + timedelta(minutes=11)),
        _visit("theirs", day, customer="C2"),
        _visit("back", day + timedelta(hours=4), out=day + timedelta(hours=3)),
        _visit("nolocation", day + timedelta(hours=5), customer="C3",
               out=day + timedelta(hours=6)),
    ]
    outcomes = phone.record_visits(company, "E1", batch, None, "t", now=now)
    assert [(o.status, [p.code for p in o.problems]) for o in outcomes] == [
        ("created", []), ("updated", []), ("rejected", ["duplicate_in_batch"]),
        ("rejected", ["in_future"]), ("rejected", ["not_your_customer"]),
        ("rejected", ["checkout_before_checkin"]), ("created", [])]
    assert outcomes[6].visit is not None
    assert outcomes[6].visit.reasons == ["no_customer_location"]
    again = phone.record_visits(company, "E1", batch[:2], None, "t", now=now)
    assert [o.status for o in again] == ["duplicate", "duplicate"]
    # E1's own client id for another visit is a conflict (the phone's own data) ...
    clash = phone.record_visits(company, "E1", [_visit("new", day, customer="C3")], None, "t",
                                now=now)
    assert clash[0].status == "conflict"
    assert company.scalar("SELECT count(*) FROM visits") == 3


def test_another_employees_visit_id_answers_like_a_free_one(company: Database) -> None:
    """Issue 14 item 6: E2 sending a client id that E1's visit has is stored under
    'new@E2' and answered like any new visit (created, then duplicate, check-out works):
    nothing tells that the id was taken."""
    now, day = datetime(2024, 5, 7, 12, 0), datetime(2024, 5, 6, 9, 0)
    phone.record_visits(company, "E1", [_visit("new", day)], None, "t", now=now)
    answers = []
    for client_id in ("new", "free"):
        first = phone.record_visits(company, "E2", [_visit(client_id, day, customer="C2")],
                                    None, "t", now=now)
        again = phone.record_visits(company, "E2", [_visit(client_id, day, customer="C2")],
                                    None, "t", now=now)
        stored, changed = phone.check_out(company, "E2", client_id,
                                          phone.VisitEnd(day + timedelta(minutes=30)),
                                          "wgs84", None, now)
        assert phone.client_id_of(stored.visit_id, "E2") == client_id
        answers.append((first[0].status, first[0].problems, again[0].status, changed))
    assert answers[0] == answers[1] == ("created", [], "duplicate", True)
    assert company.rows("SELECT visit_id, employee_code FROM visits ORDER BY visit_id") == [
        ("free", "E2"), ("new", "E1"), ("new@E2", "E2")]


def test_back_dating_is_limited_by_a_setting(company: Database) -> None:
    """Issue 14 item 7: a new visit checked in more than api_max_backdate_days (default 7)
    before today (company time) is refused as too_old, naming the limit; the limit's own day
    passes; a resend of a visit stored while it was recent stays a duplicate."""
    now = datetime(2024, 5, 20, 8, 0)
    edge, old = datetime(2024, 5, 13, 0, 0), datetime(2024, 5, 12, 23, 59)
    stored = phone.record_visits(company, "E1", [_visit("stored", old)], None, "t",
                                 now=old + timedelta(hours=1))
    assert stored[0].status == "created"
    outcomes = phone.record_visits(
        company, "E1", [_visit("edge", edge), _visit("old", old), _visit("stored", old)],
        None, "t", now=now)
    assert [(o.status, [p.code for p in o.problems]) for o in outcomes] == [
        ("created", []), ("rejected", ["too_old"]), ("duplicate", [])]
    assert outcomes[1].problems[0].message == (
        "2024-05-12 23:59:00 is more than 7 days ago: older visits are imported from a file "
        "by an admin.")
    settings = business_settings.load(company)
    business_settings.save(company, replace(settings, api_max_backdate_days=30), "boss")
    again = phone.record_visits(company, "E1", [_visit("old", old)], None, "t", now=now)
    assert again[0].status == "created"
    assert company.scalar("SELECT count(*) FROM visits") == 3


def test_group_commit_stores_each_visit_once(company: Database) -> None:
    """Sixteen threads check in at once, some with the same client id: one row each."""
    combiner = phone.GroupCommit(company)
    now = datetime(2024, 5, 7, 12, 0)
    results: list[phone.Outcome] = []
    lock = threading.Lock()

    def run(n: int) -> None:
        for i in range(8):
            client_id = f"shared-{i}" if n % 2 else f"t{n}-{i}"
            at = datetime(2024, 5, 6, 9, 0) + timedelta(minutes=i)
            out = phone.record_visits(company, "E1", [_visit(client_id, at)],
                                      f"employee:E1#{n}", "api:check-in", now=now,
                                      combiner=combiner)
            with lock:
                results.extend(out)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    statuses = Counter(o.status for o in results)
    assert statuses == {"created": 8 * 8 + 8, "duplicate": 7 * 8}
    assert company.scalar("SELECT count(*) FROM visits") == 72
    assert company.scalar("SELECT count(DISTINCT visit_id) FROM visits") == 72
    assert company.scalar("SELECT sum(visits) FROM visit_day_summary") == 72
    rounds = company.scalar("SELECT count(*) FROM import_history WHERE filename = "
                            "'api:check-in'")
    assert rounds < len(results)  # combined: fewer imports than check-ins
