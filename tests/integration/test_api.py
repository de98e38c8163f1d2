"""The phone API over real HTTP (`visitlens serve` in a subprocess): a phone's day, who may
see and write what, tokens, limits and every fault answered with the field it is about.

Data: tests/api_support.build_api_company. E001 looks after C001-C005, C008 (no location)
and, shared by E002, C006; E003 looks after C007 in Beijing; E004 is inactive.
"""

from __future__ import annotations

import json
import statistics
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from flask import Flask

from dashboard import api
from dashboard.components import ids
from dashboard.context import attach
from dashboard.settings import Settings
from pipelines import derive
from pipelines.db import Database
from tests.api_support import (
    CUSTOMERS,
    PHONE_PASSWORDS,
    SUPERVISOR,
    TZ,
    Phone,
    build_api_company,
    errors_by_field,
    local,
    new_id,
    today,
)
from tests.dash_client import DashClient, key
from tests.live import LiveServer, live_server, login_with

TOKENS = {
    "rate": ("E002", 1),
    "expired": ("E002", 1),
    "revoked": ("E002", 1),
    "other": ("E003", 1),
    "faults": ("E002", 1),
    "body": ("E002", 1),
    "customers": ("E002", 1),
    "backdate": ("E002", 1),
}


@pytest.fixture(scope="module")
def company(tmp_path_factory: pytest.TempPathFactory) -> Any:
    built = build_api_company(tmp_path_factory.mktemp("api") / "api.duckdb", TOKENS)
    db = Database(built.path)
    try:  # an expired and a revoked token, as the database holds them
        db.execute("UPDATE api_tokens SET expires_at = now()::TIMESTAMP - INTERVAL 1 MINUTE "
                   "WHERE token_id = ?", [built.token_ids["expired"][0]])
        db.execute("UPDATE api_tokens SET revoked_at = now()::TIMESTAMP WHERE token_id = ?",
                   [built.token_ids["revoked"][0]])
        db.checkpoint()
    finally:
        db.close()
    return built


@pytest.fixture(scope="module")
def server(company: Any) -> Iterator[LiveServer]:
    with live_server(company.path) as running:
        yield running


def supervisor(server: LiveServer) -> requests.Session:
    session = requests.Session()
    assert login_with(server.url, session, *SUPERVISOR).status_code == 302
    return session


# -- a day on the phone ----------------------------------------------------------------------
def test_a_phone_day_then_an_offline_batch_sent_twice(server: LiveServer) -> None:
    """Log in, list customers, check in and out at three, then send the next day's visits
    in one batch twice: the reports (the visits page over HTTP) show each visit once."""
    phone = Phone(server.url)
    login = phone.login("E001", PHONE_PASSWORDS["E001"])
    assert login.status_code == 200, login.text
    assert login.json()["employee"] == {"code": "E001", "name": "张一",
                                        "department_code": "B11"}
    assert "Set-Cookie" not in login.headers

    listed = phone.get("/customers", page_size=4)
    assert listed.status_code == 200
    first = listed.json()
    assert first["total"] == 7 and len(first["items"]) == 4
    rest = phone.get("/customers", page=2, page_size=4).json()["items"]
    customers = {c["code"]: c for c in first["items"] + rest}
    assert sorted(customers) == ["C001", "C002", "C003", "C004", "C005", "C006", "C008"]
    assert customers["C006"]["shared_from"] == "E002"
    assert customers["C001"]["shared_from"] is None
    assert (customers["C001"]["longitude"], customers["C001"]["latitude"]) == (121.47, 31.23)
    assert customers["C001"]["last_visit_at"] is None

    day1, day2 = today() - timedelta(days=2), today() - timedelta(days=1)
    # C001: 20 m off, 30 minutes: valid. C002: ~1.1 km off by GPS: too far. C003: 5 minutes.
    plan = [("C001", 121.4702, 31.2300, 9, 30), ("C002", 121.4800, 31.2300, 11, 25),
            ("C003", 121.4900, 31.2100, 15, 5)]
    where = {code: (lon, lat) for code, lon, lat, _owner in CUSTOMERS}
    day1_ids = []
    for code, lon, lat, hour, stay in plan:
        client_id = new_id()
        day1_ids.append(client_id)
        checked_in = phone.post("/check-in", {
            "client_id": client_id, "customer_code": code, "time": local(day1, hour),
            "lon": lon, "lat": lat, "source": "gps", "accuracy_m": 15})
        assert checked_in.status_code == 201, checked_in.text
        answer = checked_in.json()
        assert answer["created"] is True and answer["limit_m"] == 500
        assert answer["visit"]["reasons"] == (["no_checkout", "checkin_far"] if code == "C002"
                                              else ["no_checkout"])
        assert answer["valid"] is (code != "C002")  # valid so far: the stay is yet to come
        assert answer["within_limit"] is (code != "C002")
        out = phone.post("/check-out", {
            "client_id": client_id, "time": local(day1, hour, stay), "lon": where[code][0],
            "lat": where[code][1], "source": "net"})
        assert out.status_code == 200, out.text
        done = out.json()
        assert done["visit"]["stay_minutes"] == stay
        assert done["limit_m"] == 1000 and done["within_limit"] is True
        expected = {"C001": [], "C002": ["checkin_far"], "C003": ["short_stay"]}[code]
        assert done["visit"]["reasons"] == expected and done["valid"] is (not expected)
    c001 = phone.post("/check-in", {"client_id": day1_ids[0], "customer_code": "C001",
                                   "time": local(day1, 9), "lon": 121.4702, "lat": 31.23,
                                   "source": "gps"})
    assert c001.status_code == 200 and c001.json()["created"] is False  # a resend

    # Offline on day 2: four visits, one of them left open, sent in one batch twice.
    offline = [
        {"client_id": new_id(), "customer_code": code,
         "check_in": {"time": local(day2, hour), "lon": 121.5, "lat": 31.2, "source": "cell"},
         **({} if code == "C006" else {"check_out": {"time": local(day2, hour, 40),
                                                     "lon": 121.5, "lat": 31.2,
                                                     "source": "cell"}})}
        for code, hour in (("C004", 9), ("C005", 10), ("C006", 14), ("C008", 16))]
    for visit in offline:  # at the customer (C008 has no location: the phone's own)
        lon, lat = where[visit["customer_code"]]
        for end in ("check_in", "check_out"):
            if end in visit and lon is not None:
                visit[end] |= {"lon": lon, "lat": lat}
    sent = phone.post("/visits:batch", {"visits": offline})
    assert sent.status_code == 200, sent.text
    assert sent.json()["created"] == 4 and sent.json()["rejected"] == 0
    again = phone.post("/visits:batch", {"visits": offline})
    assert again.status_code == 200
    assert (again.json()["created"], again.json()["duplicates"]) == (0, 4)
    assert [r["status"] for r in again.json()["results"]] == ["duplicate"] * 4
    no_location = next(r for r in sent.json()["results"] if r["visit"]["customer_code"] == "C008")
    assert no_location["visit"]["reasons"] == ["no_customer_location"]

    # The reports see exactly these seven visits, at once (no rebuild, no restart).
    dash = DashClient(supervisor(server), server.url)
    values = {key(ids.filter_department("visits"), "value"): None,
              key(ids.filter_dates("visits"), "start_date"): day1.isoformat(),
              key(ids.filter_dates("visits"), "end_date"): day2.isoformat(),
              key(ids.filter_employees("visits"), "value"): ["E001"],
              key(ids.VISITS_VALIDITY, "value"): "all", key(ids.VISITS_REASON, "value"): None,
              key(ids.VISITS_DETAIL_GRID, "getRowsRequest"): {
                  "startRow": 0, "endRow": 100, "sortModel": [], "filterModel": {}}}
    response = dash.call(ids.VISITS_DETAIL_GRID, "getRowsResponse", values)
    assert response.status_code == 200, response.text
    block = response.json()["response"][ids.VISITS_DETAIL_GRID]["getRowsResponse"]
    assert block["rowCount"] == 7
    assert sorted(r["visit_id"] for r in block["rowData"]) == sorted(
        day1_ids + [v["client_id"] for v in offline])
    assert sum(bool(r["valid"]) for r in block["rowData"]) == 3  # C001, C004, C005

    plans = phone.get("/plans", **{"from": day1.isoformat(), "to": day2.isoformat()})
    assert plans.status_code == 200
    fulfilled = [[i["fulfilled"] for i in p["items"]] for p in plans.json()["plans"]]
    assert fulfilled == [[True, False], [True]]

    listed_after = {c["code"]: c for c in phone.get("/customers").json()["items"]}
    seen = datetime.fromisoformat(listed_after["C001"]["my_last_visit_at"])
    assert seen == datetime(day1.year, day1.month, day1.day, 9, tzinfo=TZ)


def test_a_new_customer_from_the_field(server: LiveServer, company: Any) -> None:
    phone = Phone(server.url, company.tokens["customers"][0])
    body = {"client_id": new_id(), "name": "新开门店", "grade": "b", "longitude": 121.55,
            "latitude": 31.25, "coord_system": "gcj02", "phone": "021-555"}
    created = phone.post("/customers", body)
    assert created.status_code == 201, created.text
    customer = created.json()["customer"]
    assert customer["code"].startswith("APP") and customer["grade"] == "B"
    assert abs(customer["longitude"] - 121.55) > 1e-4  # GCJ-02 was converted to WGS-84
    resent = phone.post("/customers", body)
    assert resent.status_code == 200 and resent.json()["created"] is False
    assert resent.json()["customer"]["code"] == customer["code"]
    mine = [c["code"] for c in phone.get("/customers", page_size=500).json()["items"]]
    assert customer["code"] in mine

    refused = phone.post("/customers", {**body, "client_id": new_id(), "grade": "Z"})
    assert refused.status_code == 422 and errors_by_field(refused) == {"grade": "bad_value"}
    # No code from the phone (issue 14 item 6): one taken by another employee's customer
    # and a free one get the same answer, so codes cannot be probed.
    taken, free = (phone.post("/customers", {**body, "client_id": new_id(), "code": code})
                   for code in ("C007", "NOPE-404"))
    assert taken.status_code == free.status_code == 422
    assert errors_by_field(taken) == errors_by_field(free) == {"code": "extra_forbidden"}
    control = phone.post("/customers", {**body, "client_id": new_id(), "name": "坏\x07名"})
    assert control.status_code == 422 and errors_by_field(control) == {
        "name": "illegal_character"}


# -- who may see and write what --------------------------------------------------------------
def test_an_employee_token_reaches_only_its_own_customers(server: LiveServer,
                                                           company: Any) -> None:
    other = Phone(server.url, company.tokens["other"][0])  # E003
    listed = [c["code"] for c in other.get("/customers").json()["items"]]
    assert listed == ["C007"]
    now = datetime.now(TZ).replace(microsecond=0)
    check_in = {"client_id": new_id(), "customer_code": "C001", "time": now.isoformat(),
                "lon": 121.47, "lat": 31.23, "source": "gps"}
    refused = other.post("/check-in", check_in)
    assert refused.status_code == 422
    assert errors_by_field(refused) == {"customer_code": "not_your_customer"}
    # The body has no employee field: naming one is refused, never obeyed.
    forged = other.post("/check-in", {**check_in, "employee_code": "E001"})
    assert forged.status_code == 422 and errors_by_field(forged) == {
        "employee_code": "extra_forbidden"}
    batch = other.post("/visits:batch", {"visits": [{
        "client_id": new_id(), "customer_code": "C002", "employee_code": "E001",
        "check_in": {"time": now.isoformat(), "lon": 121.48, "lat": 31.22, "source": "gps"}}]})
    assert batch.status_code == 200 and batch.json()["rejected"] == 1

    # E002's open check-in cannot be checked out by E003; the same client id is E003's own
    # (issue 14 item 6: answered like a free id, so nothing tells that it was taken).
    owner = Phone(server.url, company.tokens["faults"][0])
    client_id = new_id()
    assert owner.post("/check-in", {**check_in, "client_id": client_id,
                                    "customer_code": "C006"}).status_code == 201
    out = other.post("/check-out", {"client_id": client_id, "time": now.isoformat(),
                                    "lon": 121.52, "lat": 31.18, "source": "gps"})
    assert out.status_code == 422 and errors_by_field(out) == {"client_id": "no_checkin"}
    reuse, fresh = (other.post("/check-in", {**check_in, "client_id": cid,
                                             "customer_code": "C007", "lon": 116.4,
                                             "lat": 39.9}) for cid in (client_id, new_id()))
    assert reuse.status_code == fresh.status_code == 201, reuse.text
    assert reuse.json()["visit"]["client_id"] == client_id
    assert reuse.json().keys() == fresh.json().keys()
    again = other.post("/check-out", {"client_id": client_id, "time": now.isoformat(),
                                      "lon": 116.4, "lat": 39.9, "source": "gps"})
    assert again.status_code == 200 and again.json()["visit"]["client_id"] == client_id
    mine = owner.post("/check-out", {"client_id": client_id, "time": now.isoformat(),
                                     "lon": 121.52, "lat": 31.18, "source": "gps"})
    assert mine.status_code == 200 and mine.json()["visit"]["customer_code"] == "C006"


def test_a_web_session_cannot_use_the_api(server: LiveServer) -> None:
    session = supervisor(server)
    assert session.get(server.url + "/_dash-layout", timeout=30).status_code == 200
    for response in (
        session.get(server.url + "/api/v1/customers", timeout=30),
        session.get(server.url + "/api/v1/plans?from=2024-01-01&to=2024-01-02", timeout=30),
        session.post(server.url + "/api/v1/check-in", timeout=30, json={
            "client_id": "web-1", "customer_code": "C001", "time": "2024-05-06T09:00:00",
            "lon": 121.47, "lat": 31.23, "source": "gps"}),
        session.post(server.url + "/api/v1/logout", timeout=30),
    ):
        assert response.status_code == 401, response.text
        assert response.json()["errors"][0]["code"] == "unauthorized"
        assert "Set-Cookie" not in response.headers  # the cookie is not even refreshed
    # ... and a bearer token opens no web page.
    phone = Phone(server.url)
    assert phone.login("E002", PHONE_PASSWORDS["E002"]).status_code == 200
    page = phone.session.get(server.url + "/visits", allow_redirects=False, timeout=30)
    assert page.status_code == 302 and page.headers["Location"].startswith("/login")
    layout = phone.session.get(server.url + "/_dash-layout", timeout=30)
    assert layout.status_code == 401


def test_sign_in_refusals(server: LiveServer) -> None:
    phone = Phone(server.url)
    for code, password in (("E002", "wrong-password"), ("E004", PHONE_PASSWORDS["E004"]),
                           ("NOBODY", "whatever-1"), ("E002 ", PHONE_PASSWORDS["E002"])):
        response = phone.login(code, password)
        assert response.status_code in (401, 422), (code, response.text)
        assert "token" not in response.json()
    attempts = [phone.login("E003", "guess-" + str(n)).status_code for n in range(11)]
    assert attempts[:10] == [401] * 10 and attempts[10] == 429


# -- tokens and limits -----------------------------------------------------------------------
def test_expired_revoked_and_malformed_tokens_are_refused(server: LiveServer,
                                                          company: Any) -> None:
    for token in (company.tokens["expired"][0], company.tokens["revoked"][0],
                  "vl1.0000000000000000.not-a-real-secret-at-all", "garbage",
                  company.tokens["rate"][0][:-2] + "xx"):
        response = Phone(server.url, token).get("/customers")
        assert response.status_code == 401, token
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    phone = Phone(server.url)
    assert phone.login("E002", PHONE_PASSWORDS["E002"]).status_code == 200
    assert phone.get("/customers").status_code == 200
    assert phone.post("/logout", None).json() == {"revoked": True}
    assert phone.get("/customers").status_code == 401  # revoked at once


def test_rate_limit_per_token(server: LiveServer, company: Any) -> None:
    phone = Phone(server.url, company.tokens["rate"][0])
    codes = [phone.get("/plans", **{"from": "2024-01-01", "to": "2024-01-01"}).status_code
             for _ in range(api.RATE_LIMIT)]
    assert codes == [200] * api.RATE_LIMIT
    limited = phone.get("/customers")
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) >= 1
    assert Phone(server.url, company.tokens["body"][0]).get("/customers").status_code == 200


def test_body_limit(server: LiveServer, company: Any) -> None:
    phone = Phone(server.url, company.tokens["body"][0])
    big = json.dumps({"visits": [{"client_id": "x" * 60, "pad": "y" * 1000}] * 1100})
    assert len(big) > api.MAX_BODY_BYTES
    response = phone.session.post(phone.api + "/visits:batch", data=big, timeout=30,
                                  headers={"Content-Type": "application/json"})
    assert response.status_code == 413 and response.json()["errors"][0]["code"] == (
        "payload_too_large")

    def chunks() -> Iterator[bytes]:  # no Content-Length: the limit applies while reading
        data = big.encode()
        for start in range(0, len(data), 65536):
            yield data[start:start + 65536]

    chunked = phone.session.post(phone.api + "/visits:batch", data=chunks(), timeout=30,
                                 headers={"Content-Type": "application/json"})
    assert chunked.status_code == 413
    over = phone.post("/visits:batch", {"visits": [{}] * 1001})
    assert over.status_code == 422 and errors_by_field(over) == {"visits": "too_long"}


# -- faults: 422 naming the field ------------------------------------------------------------
def test_each_fault_is_a_422_naming_its_field(server: LiveServer, company: Any) -> None:
    phone = Phone(server.url, company.tokens["faults"][0])
    now = datetime.now(TZ).replace(microsecond=0)
    good = {"client_id": new_id(), "customer_code": "C006", "time": now.isoformat(),
            "lon": 121.52, "lat": 31.18, "source": "gps"}
    cases: list[tuple[str, dict[str, Any], dict[str | None, str]]] = [
        ("/check-out", {**{k: good[k] for k in ("time", "lon", "lat", "source")},
                        "client_id": new_id()}, {"client_id": "no_checkin"}),
        ("/check-in", {**good, "time": (now + timedelta(minutes=11)).isoformat()},
         {"time": "in_future"}),
        ("/check-in", {**good, "lon": 181}, {"lon": "less_than_equal"}),
        ("/check-in", {**good, "lat": -90.5}, {"lat": "greater_than_equal"}),
        ("/check-in", {**good, "lon": "121.5"}, {"lon": "value_error"}),
        ("/check-in", {**good, "source": "wifi"}, {"source": "literal_error"}),
        ("/check-in", {**good, "time": "yesterday"}, {"time": "datetime_from_date_parsing"}),
        ("/check-in", {**good, "time": "1970-01-01T00:00:00"}, {"time": "value_error"}),
        ("/check-in", {k: v for k, v in good.items() if k != "lat"}, {"lat": "missing"}),
        ("/check-in", {**good, "client_id": "has space"}, {"client_id": "string_pattern_mismatch"}),
        ("/check-in", {**good, "customer_code": "C009"}, {"customer_code": "not_your_customer"}),
        ("/visits:batch", {"visits": []}, {"visits": "too_short"}),
        ("/plans", {}, {}),
    ]
    for path, body, expected in cases:
        if path == "/plans":
            response = phone.get("/plans", **{"from": "2024-05-31", "to": "2024-05-01"})
            assert response.status_code == 422 and response.json()["errors"][0]["message"] == (
                "'to' is before 'from'")
            continue
        response = phone.post(path, body)
        assert response.status_code == 422, (path, body, response.text)
        assert errors_by_field(response) == expected, (path, body, response.text)
        assert all(e["message"] for e in response.json()["errors"])

    assert phone.post("/check-in", good).status_code == 201
    body = {k: good[k] for k in ("client_id", "time", "lon", "lat", "source")}
    before = phone.post("/check-out", {**body, "time": (now - timedelta(minutes=1)).isoformat()})
    assert before.status_code == 422 and errors_by_field(before) == {
        "time": "checkout_before_checkin"}
    assert "before the check-in" in before.json()["errors"][0]["message"]
    future = phone.post("/check-out", {**body, "time": (now + timedelta(hours=1)).isoformat()})
    assert future.status_code == 422 and errors_by_field(future) == {"time": "in_future"}
    assert phone.post("/check-out", body).status_code == 200
    assert phone.post("/check-out", body).json()["created"] is False  # a resend
    later = phone.post("/check-out", {**body, "time": (now + timedelta(minutes=5)).isoformat()})
    assert later.status_code == 409 and errors_by_field(later) == {
        "time": "already_checked_out"}

    raw = phone.session.post(phone.api + "/check-in", data=b"{not json", timeout=30,
                             headers={"Content-Type": "application/json"})
    assert raw.status_code == 422 and errors_by_field(raw) == {None: "json_invalid"}
    form = phone.session.post(phone.api + "/check-in", data={"a": "b"}, timeout=30)
    assert form.status_code == 415
    batch = phone.post("/visits:batch", {"visits": [
        {"client_id": "ok-1", "customer_code": "C006",
         "check_in": {"time": now.isoformat(), "lon": 121.52, "lat": 31.18, "source": "gps"},
         "check_out": {"time": (now - timedelta(hours=1)).isoformat(), "lon": 121.52,
                       "lat": 31.18, "source": "gps"}},
        {"client_id": "ok-2", "customer_code": "C006",
         "check_in": {"time": now.isoformat(), "lon": 999, "lat": 31.18, "source": "gps"}},
    ]})
    results = batch.json()["results"]
    assert [r["status"] for r in results] == ["rejected", "rejected"]
    assert [e["field"] for e in results[0]["errors"]] == ["visits[0].check_out.time"]
    assert [e["field"] for e in results[1]["errors"]] == ["visits[1].check_in.lon"]


def test_back_dated_check_ins_are_refused_and_counted(server: LiveServer, company: Any) -> None:
    """Issue 14 item 7: a check-in more than api_max_backdate_days (7) days back is refused
    (422 too_old naming the limit; in a batch, counted in too_old and rejected)."""
    phone = Phone(server.url, company.tokens["backdate"][0])
    now = datetime.now(TZ).replace(microsecond=0)

    def visit(client_id: str, days: int) -> dict[str, Any]:
        return {"client_id": client_id, "customer_code": "C006", "check_in": {
            "time": (now - timedelta(days=days)).isoformat(), "lon": 121.52, "lat": 31.18,
            "source": "gps"}}

    single = phone.post("/check-in", {"client_id": new_id(), "customer_code": "C006",
                                      **visit("x", 9)["check_in"]})
    assert single.status_code == 422 and errors_by_field(single) == {"time": "too_old"}
    assert "more than 7 days ago" in single.json()["errors"][0]["message"]
    batch = phone.post("/visits:batch", {"visits": [
        visit(new_id(), 8), visit(new_id(), 1), visit(new_id(), 30)]})
    assert batch.status_code == 200, batch.text
    answer = batch.json()
    assert (answer["created"], answer["rejected"], answer["too_old"]) == (1, 2, 2)
    assert [[e["code"] for e in r["errors"]] for r in answer["results"]] == [
        ["too_old"], [], ["too_old"]]
    assert answer["results"][0]["errors"][0]["field"] == "visits[0].check_in.time"
    doc = requests.get(server.url + "/api/v1/openapi.json", timeout=30).json()
    assert "too_old" in doc["components"]["schemas"]["BatchResponse"]["required"]


def test_unknown_paths_and_methods_answer_json(server: LiveServer, company: Any) -> None:
    phone = Phone(server.url, company.tokens["faults"][0])
    missing = phone.get("/nothing-here")
    assert missing.status_code == 404 and missing.json()["errors"][0]["code"] == "not_found"
    wrong = phone.session.get(phone.api + "/check-in", timeout=30)
    assert wrong.status_code == 405 and wrong.headers["Allow"] == "POST"


def test_openapi_document_is_public_and_generated(server: LiveServer) -> None:
    response = requests.get(server.url + "/api/v1/openapi.json", timeout=30)
    assert response.status_code == 200
    doc = response.json()
    assert doc["openapi"].startswith("3.")
    assert set(doc["paths"]) == {f"/api/v1{p}" for p in (
        "/login", "/logout", "/customers", "/check-in", "/check-out", "/visits:batch",
        "/plans", "/openapi.json")}
    check_in = doc["paths"]["/api/v1/check-in"]["post"]
    schema_ref = check_in["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    schema = doc["components"]["schemas"][schema_ref.rsplit("/", 1)[1]]
    assert schema["properties"]["lon"]["maximum"] == 180
    assert schema["properties"]["source"]["enum"] == ["net", "cell", "gps"]
    assert set(schema["required"]) >= {"client_id", "customer_code", "time", "lon", "lat",
                                       "source"}
    assert {"401", "409", "422", "429"} <= set(check_in["responses"])
    assert check_in["security"] == [{"bearerAuth": []}]
    plans = doc["paths"]["/api/v1/plans"]["get"]
    assert {p["name"] for p in plans["parameters"]} == {"from", "to"}
    for ref in json.dumps(doc).split('"$ref": "')[1:]:
        assert ref.split('"')[0].rsplit("/", 1)[1] in doc["components"]["schemas"]


def test_an_unexpected_error_is_a_json_500_without_traceback() -> None:
    """A failing database inside a request: logged, answered 500 as JSON, no traceback."""

    class BrokenDatabase:
        def execute(self, *args: object) -> object:
            raise RuntimeError("secret internal detail")

    server = Flask(__name__)
    attach(server, BrokenDatabase(), Settings())  # type: ignore[arg-type]
    api.init_api(server)
    client = server.test_client()
    response = client.get("/api/v1/customers", headers={
        "Authorization": "Bearer vl1.0123456789abcdef.abcdefghijklmnopqrstuvwxyz"})
    assert response.status_code == 500
    assert response.json == {"errors": [{"field": None, "code": "internal_error", "message":
                                         "internal error; it was logged, please try again "
                                         "later"}]}
    assert b"secret internal detail" not in response.data and b"Traceback" not in response.data


# -- soak: 50 phones for 60 seconds ----------------------------------------------------------
SOAK_PHONES = 50
SOAK_SECONDS = 60.0
SOAK_MAX_PER_PHONE = 5000  # bounded loops, whatever the speed


@pytest.mark.soak
def test_soak_fifty_phones_check_in_for_a_minute(tmp_path: Path) -> None:
    """50 concurrent phones post check-ins (every other one checked out) for 60 seconds on
    127.0.0.1, resending now and then: every acknowledged visit is stored exactly once."""
    plan = {f"P{n:04d}": (f"P{n:04d}", 1) for n in range(1, SOAK_PHONES + 1)}
    built = build_api_company(tmp_path / "soak.duckdb", plan, extra_employees=SOAK_PHONES)
    acknowledged: dict[str, set[str]] = {code: set() for code in plan}
    checked_out: dict[str, set[str]] = {code: set() for code in plan}
    latencies: list[float] = []
    counts = {"requests": 0, "rate_limited": 0, "retries": 0, "resends": 0}
    lock = threading.Lock()
    failures: list[str] = []

    with live_server(built.path) as server:
        start = time.monotonic()
        deadline = start + SOAK_SECONDS

        def run_phone(code: str, token: str) -> None:
            phone = Phone(server.url, token)
            customer = "K" + code[1:]
            mine: list[str] = []
            for n in range(SOAK_MAX_PER_PHONE):
                if time.monotonic() >= deadline:
                    return
                resend = n % 20 == 19 and mine
                client_id = mine[-1] if resend else new_id()
                at = datetime.now(TZ).replace(microsecond=0)
                body = {"client_id": client_id, "customer_code": customer,
                        "time": at.isoformat(), "lon": 121.4, "lat": 31.2, "source": "gps"}
                if resend:  # the resend carries the first request's time
                    body["time"] = sent_times[client_id]
                else:
                    sent_times[client_id] = body["time"]
                status = post(phone, "/check-in", body)
                if status in (200, 201):
                    mine.append(client_id)
                    with lock:
                        acknowledged[code].add(client_id)
                        counts["resends"] += bool(resend)
                    if resend and status != 200:
                        failures.append(f"{code}: resend answered {status}")
                    if not resend and n % 2 == 0:
                        out = {"client_id": client_id, "time": body["time"], "lon": 121.4,
                               "lat": 31.2, "source": "net"}
                        if post(phone, "/check-out", out) == 200:
                            with lock:
                                checked_out[code].add(client_id)
                elif status != 429:
                    failures.append(f"{code}: check-in answered {status}")

        sent_times: dict[str, str] = {}

        def post(phone: Phone, path: str, body: dict[str, Any]) -> int:
            """The final status; a timeout or a 429 is retried with the same client id."""
            status = 0
            for _attempt in range(5):
                began = time.monotonic()
                try:
                    response = phone.session.post(phone.api + path, json=body, timeout=30)
                except requests.RequestException:
                    with lock:
                        counts["retries"] += 1
                    continue
                status = response.status_code
                with lock:
                    counts["requests"] += 1
                    latencies.append(time.monotonic() - began)
                if status != 429:
                    return status
                with lock:
                    counts["rate_limited"] += 1
                if time.monotonic() >= deadline:
                    break
                time.sleep(min(float(response.headers.get("Retry-After", "1")), 2.0))
            return status

        threads = [threading.Thread(target=run_phone, args=(code, built.tokens[code][0]))
                   for code in plan]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=SOAK_SECONDS + 120)
        elapsed = time.monotonic() - start
        assert not any(t.is_alive() for t in threads), "a phone did not stop"

    db = Database(built.path)
    try:
        stored = db.rows("SELECT employee_code, visit_id, check_out_at IS NOT NULL, "
                         "invalid_mask FROM visits WHERE employee_code LIKE 'P%'")
        summary_visits = db.scalar("SELECT sum(visits) FROM visit_day_summary "
                                   "WHERE employee_code LIKE 'P%'")
    finally:
        db.close()
    total = sum(len(v) for v in acknowledged.values())
    p50 = statistics.median(latencies) * 1000 if latencies else 0.0
    p95 = (statistics.quantiles(latencies, n=20)[-1] * 1000) if len(latencies) > 20 else 0.0
    print(f"\nsoak: {SOAK_PHONES} phones, {elapsed:.1f} s: {total} visits checked in "
          f"({total / elapsed:.1f}/s), {sum(len(v) for v in checked_out.values())} checked "
          f"out; {counts['requests']} requests ({counts['requests'] / elapsed:.1f}/s), "
          f"latency p50 {p50:.0f} ms, p95 {p95:.0f} ms; {counts['rate_limited']} rate-limited, "
          f"{counts['retries']} retried after errors, {counts['resends']} resends")
    assert not failures, failures[:10]
    ids_stored = [row[1] for row in stored]
    assert len(ids_stored) == len(set(ids_stored)), "a visit was stored twice"
    for code, sent in acknowledged.items():
        theirs = {row[1] for row in stored if row[0] == code}
        assert theirs == sent, f"{code}: lost {len(sent - theirs)}, extra {len(theirs - sent)}"
    closed = {row[1] for row in stored if row[2]}
    assert closed == set().union(*checked_out.values())
    assert all(row[3] & derive.REASON_BIT["no_checkout"] == (0 if row[2] else 1)
               for row in stored)
    assert summary_visits == total  # the daily summaries kept in step
    assert total > SOAK_PHONES
