"""Property-based tests of the phone API: random and malformed bodies to every POST endpoint.

Hypothesis draws bodies from near-valid (each field from a mix of good, edge and wrong
values) to junk (any JSON, random bytes, other content types) and posts them to a live
server (tests/live.py: create_app runs once per process, so the app lives in its own).
Properties: never a 500, every refusal is `{"errors": [...]}` naming a field or the request,
and at the end the visits and customers tables hold no row the import would refuse.
"""

from __future__ import annotations

import itertools
import json
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipelines import derive
from pipelines.db import Database
from tests.api_support import PHONE_PASSWORDS, TZ, build_api_company
from tests.live import LiveServer, live_server

EXAMPLES = 100
SETTINGS = settings(max_examples=EXAMPLES, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow,
                                           HealthCheck.function_scoped_fixture])
NOW = datetime.now(TZ).replace(microsecond=0)
ALLOWED = {200, 201, 401, 409, 413, 415, 422, 429}
TOKENS = {"writes": ("E001", 40), "logout": ("E001", EXAMPLES + 20)}


@dataclass
class Running:
    server: LiveServer
    path: Path
    writes: Iterator[str]
    logouts: Iterator[str]
    stack: ExitStack


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    company = build_api_company(tmp_path_factory.mktemp("prop") / "prop.duckdb", TOKENS)
    stack = ExitStack()
    server = stack.enter_context(live_server(company.path))
    # Many tokens in turn, so that the rate limit (per token) does not hide the answers.
    yield Running(server, company.path, itertools.cycle(company.tokens["writes"]),
                  iter(company.tokens["logout"]), stack)
    stack.close()


# -- strategies ------------------------------------------------------------------------------
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                max_size=4),
    max_leaves=12,
)
WEIRD_TEXT = st.sampled_from(["", " ", "C0\x00", "\u202e", "é" * 70, "\ud800x", "NaN", "null",
                              "'; DROP TABLE visits; --", "=cmd|' /C calc'!A0", "\t"])
TEXT = st.text(max_size=70) | WEIRD_TEXT
TIMES = st.one_of(
    st.integers(-3 * 24 * 60, 60).map(
        lambda m: (NOW + timedelta(minutes=m)).isoformat()),  # mostly past, some future
    st.integers(-3 * 24 * 60, 0).map(
        lambda m: (NOW + timedelta(minutes=m)).replace(tzinfo=None).isoformat(sep=" ")),
    st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30)).map(
        lambda d: d.isoformat()),
    st.sampled_from(["2024-02-30T10:00:00", "2024-05-31T09:30:00Z", "9999-12-31T23:59:59-23:59",
                     "0001-01-01T00:00:00+14:00", "yesterday", "1714000000"]),
    st.integers(), TEXT, st.none(),
)
NUMBERS = st.one_of(st.floats(-200, 200), st.floats(), st.integers(-10**30, 10**30),
                    st.sampled_from([121.47, 31.23, 180, -90, 180.0000001]), st.booleans(),
                    TEXT, st.none())
SOURCES = st.sampled_from(["net", "cell", "gps", "GPS", "wifi", ""]) | st.integers() | TEXT
CLIENT_IDS = st.one_of(st.sampled_from([f"p-{n}" for n in range(12)]), st.uuids().map(str),
                       TEXT, st.integers())
CUSTOMERS = st.sampled_from(["C001", "C002", "C006", "C007", "C008", "C009", "NOPE"]) | TEXT
COORDS = st.sampled_from(["wgs84", "gcj02", "bd09", "WGS84", ""]) | TEXT


@st.composite
def _near(draw: st.DrawFn, valid: st.SearchStrategy[dict[str, Any]],
          wild: dict[str, st.SearchStrategy[Any]]) -> dict[str, Any]:
    """A valid body as it is, or with one field wrong, missing or one field too many."""
    body = dict(draw(valid))
    action = draw(st.sampled_from(["keep", "keep", "keep", "replace", "drop", "extra"]))
    if action == "replace":
        name = draw(st.sampled_from(sorted(wild)))
        body[name] = draw(wild[name])
    elif action == "drop" and body:
        del body[draw(st.sampled_from(sorted(body)))]
    elif action == "extra":
        body[draw(st.text(max_size=10))] = draw(JSON)
    return body


def bodies(wild: dict[str, st.SearchStrategy[Any]],
           valid: dict[str, st.SearchStrategy[Any]] | None = None) -> st.SearchStrategy[Any]:
    """Mostly near-valid bodies (so that writes happen), else any mix of the fields' good
    and bad values, some of them only, or any JSON at all."""
    options = [st.fixed_dictionaries(wild), st.fixed_dictionaries({}, optional=wild), JSON]
    if valid is not None:
        near = _near(st.fixed_dictionaries(valid), wild)
        options = [near] * 6 + options
    return st.one_of(*options)


GOOD_TIMES = st.integers(-3 * 24 * 60, 5).map(lambda m: (NOW + timedelta(minutes=m)).isoformat())
# FRESH becomes a new UUID when sent (Hypothesis repeats its values, a phone does not).
FRESH = "fresh-id"
GOOD_IDS = st.just(FRESH) | st.sampled_from([f"p-{n}" for n in range(12)])
GOOD_END = {"time": GOOD_TIMES, "lon": st.floats(121.4, 121.6), "lat": st.floats(31.1, 31.3),
            "source": st.sampled_from(["net", "cell", "gps"])}
MINE = st.sampled_from(["C001", "C002", "C003", "C004", "C005", "C006", "C008"])
END = {"time": TIMES, "lon": NUMBERS, "lat": NUMBERS, "source": SOURCES, "accuracy_m": NUMBERS}
CHECK_IN = bodies({"client_id": CLIENT_IDS, "customer_code": CUSTOMERS, **END,
                   "coord_system": COORDS},
                  {"client_id": GOOD_IDS, "customer_code": MINE, **GOOD_END})
CHECK_OUT = bodies({"client_id": CLIENT_IDS, **END, "coord_system": COORDS},
                   {"client_id": GOOD_IDS, **GOOD_END})
BATCH_VISIT = bodies({"client_id": CLIENT_IDS, "customer_code": CUSTOMERS,
                      "check_in": bodies(END), "check_out": bodies(END) | st.none(),
                      "coord_system": COORDS},
                     {"client_id": GOOD_IDS, "customer_code": MINE,
                      "check_in": st.fixed_dictionaries(GOOD_END),
                      "check_out": st.fixed_dictionaries(GOOD_END) | st.none()})
BATCH = bodies({"visits": st.lists(BATCH_VISIT, max_size=8)},
               {"visits": st.lists(BATCH_VISIT, min_size=1, max_size=8)})
CUSTOMER = bodies({"client_id": CLIENT_IDS, "code": CLIENT_IDS | st.none(), "name": TEXT,
                   "grade": st.sampled_from(["A", "b", "Z", None]) | TEXT,
                   "address": TEXT, "longitude": NUMBERS, "latitude": NUMBERS,
                   "coord_system": COORDS, "contact": TEXT, "phone": TEXT, "note": TEXT},
                  {"client_id": GOOD_IDS, "name": st.text(min_size=1, max_size=20),
                   "grade": st.sampled_from(["A", "b", None]),
                   "longitude": st.floats(121.4, 121.6), "latitude": st.floats(31.1, 31.3)})
LOGIN = bodies({"employee_code": st.sampled_from(["E001", "E002", "E004", "X"]) | TEXT,
                "password": st.sampled_from([PHONE_PASSWORDS["E001"], "wrong"]) | TEXT},
               {"employee_code": st.just("E001"),
                "password": st.sampled_from([PHONE_PASSWORDS["E001"], "wrong-password"])})


@dataclass(frozen=True)
class Raw:
    """A body as bytes with a content type, for what no JSON encoder would produce."""

    data: bytes
    content_type: str


RAW = st.builds(Raw, st.binary(max_size=300) | st.text(max_size=100).map(str.encode),
                st.sampled_from(["application/json", "text/plain", "application/x-www-form-"
                                 "urlencoded", "application/json; charset=latin-1", ""]))


def _freshen(body: Any) -> Any:
    """The body with every client_id FRESH replaced by a new UUID."""
    if isinstance(body, dict):
        return {k: (str(uuid.uuid4()) if k == "client_id" and v == FRESH else _freshen(v))
                for k, v in body.items()}
    if isinstance(body, list):
        return [_freshen(item) for item in body]
    return body


def post(running: Running, path: str, body: Any, token: str | None) -> requests.Response:
    body = _freshen(body)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    url = running.server.url + "/api/v1" + path
    if isinstance(body, Raw):
        if body.content_type:
            headers["Content-Type"] = body.content_type
        return requests.post(url, data=body.data, headers=headers, timeout=60)
    return requests.post(url, data=json.dumps(body), timeout=60,
                         headers={**headers, "Content-Type": "application/json"})


def check_answer(response: requests.Response) -> dict[str, Any]:
    """Never a 500; always JSON; a refusal lists its errors with field, code and message."""
    assert response.status_code in ALLOWED, (response.status_code, response.text[:500])
    assert response.headers["Content-Type"].startswith("application/json")
    payload = response.json()
    if response.status_code >= 400:
        assert payload["errors"], payload
        for error in payload["errors"]:
            assert set(error) == {"field", "code", "message"}
            assert error["field"] is None or isinstance(error["field"], str)
            assert isinstance(error["message"], str) and error["message"]
    return dict(payload)


def check_visit(visit: dict[str, Any]) -> None:
    """A visit the server says it stored is one the import would accept."""
    check_in = datetime.fromisoformat(visit["check_in_at"])
    assert check_in <= datetime.now(TZ) + timedelta(minutes=10)
    if visit["check_out_at"] is not None:
        assert datetime.fromisoformat(visit["check_out_at"]) >= check_in
    assert visit["customer_code"] in {"C001", "C002", "C003", "C004", "C005", "C006", "C008"}


# -- the properties --------------------------------------------------------------------------
@SETTINGS
@given(body=CHECK_IN | RAW)
def test_check_in_never_fails_nor_stores_junk(running: Running, body: Any) -> None:
    answer = check_answer(post(running, "/check-in", body, next(running.writes)))
    if "visit" in answer:
        check_visit(answer["visit"])


@SETTINGS
@given(body=CHECK_OUT | RAW)
def test_check_out_never_fails_nor_stores_junk(running: Running, body: Any) -> None:
    answer = check_answer(post(running, "/check-out", body, next(running.writes)))
    if "visit" in answer:
        check_visit(answer["visit"])


@SETTINGS
@given(body=BATCH | RAW)
def test_batch_never_fails_nor_stores_junk(running: Running, body: Any) -> None:
    answer = check_answer(post(running, "/visits:batch", body, next(running.writes)))
    for result in answer.get("results", []):
        assert (result["visit"] is not None) == (result["status"] in ("created", "updated",
                                                                      "duplicate"))
        assert bool(result["errors"]) == (result["status"] in ("rejected", "conflict"))
        if result["visit"] is not None:
            check_visit(result["visit"])


@SETTINGS
@given(body=CUSTOMER | RAW)
def test_new_customer_never_fails_nor_stores_junk(running: Running, body: Any) -> None:
    check_answer(post(running, "/customers", body, next(running.writes)))


@SETTINGS
@given(body=LOGIN | RAW)
def test_login_never_fails(running: Running, body: Any) -> None:
    answer = check_answer(post(running, "/login", body, None))
    if "token" in answer:
        assert answer["employee"]["code"] == "E001"


@SETTINGS
@given(body=JSON | RAW, authorization=st.booleans())
def test_logout_never_fails(running: Running, body: Any, authorization: bool) -> None:
    token = next(running.logouts) if authorization else None
    answer = check_answer(post(running, "/logout", body, token))
    assert ("revoked" in answer) == authorization


def test_no_invalid_row_was_stored(running: Running) -> None:
    """After all of the above (the server stopped): every stored visit and customer is one
    the import accepts, its derived columns are what derive computes, none duplicated."""
    running.stack.close()
    db = Database(running.path)
    try:
        bad = db.rows(
            f"""
            SELECT v.visit_id FROM visits AS v
            LEFT JOIN customers AS c ON c.code = v.customer_code
            WHERE v.visit_id IS NULL OR v.employee_code <> 'E001' OR c.code IS NULL
               OR v.customer_code NOT IN ('C001','C002','C003','C004','C005','C006','C008')
               OR v.check_in_at > $latest OR year(v.check_in_at) < 1990
               OR v.check_out_at < v.check_in_at
               OR abs(v.check_in_lon) > 180 OR abs(v.check_in_lat) > 90
               OR abs(v.check_out_lon) > 180 OR abs(v.check_out_lat) > 90
               OR (v.check_in_lon IS NULL) <> (v.check_in_source IS NULL)
               OR (v.check_out_lon IS NULL) <> (v.check_out_source IS NULL)
               OR (v.check_out_lon IS NOT NULL AND v.check_out_at IS NULL)
               OR v.check_in_source NOT IN ('net', 'cell', 'gps')
               OR v.check_out_source NOT IN ('net', 'cell', 'gps')
               OR v.visit_date <> CAST(v.check_in_at AS DATE)
               OR v.stay_minutes IS DISTINCT FROM
                  (epoch(v.check_out_at) - epoch(v.check_in_at)) / 60.0
               OR abs(v.check_in_deviation_m - {derive.haversine_sql(
                   "v.check_in_lon", "v.check_in_lat", "c.longitude", "c.latitude")}) > 1e-6
               OR abs(v.check_out_deviation_m - {derive.haversine_sql(
                   "v.check_out_lon", "v.check_out_lat", "c.longitude", "c.latitude")}) > 1e-6
            """,
            {"latest": datetime.now(TZ).replace(tzinfo=None) + timedelta(minutes=10)},
        )
        assert bad == []
        stored = db.scalar("SELECT count(*) FROM visits")
        print(f"\nproperty tests stored {stored} visits")
        assert stored == db.scalar("SELECT count(DISTINCT visit_id) FROM visits")
        with db.transaction() as cur:  # recomputing validity changes nothing
            before = cur.execute("SELECT visit_id, invalid_mask FROM visits ORDER BY 1").fetchall()
            from pipelines import business_settings

            derive.refresh_validity(cur, business_settings.load(db))
            after = cur.execute("SELECT visit_id, invalid_mask FROM visits ORDER BY 1").fetchall()
        assert before == after
        summary = db.scalar("SELECT coalesce(sum(visits), 0) FROM visit_day_summary")
        assert summary == stored  # the daily summaries kept in step
        customers = db.rows(
            """SELECT c.code FROM customers AS c
               WHERE c.code NOT LIKE 'C00_'
                 AND (c.code NOT IN (SELECT customer_code FROM bindings
                                     WHERE employee_code = 'E001')
                      OR c.grade NOT IN ('A', 'B', 'C', 'D')
                      OR abs(c.longitude) > 180 OR abs(c.latitude) > 90
                      OR (c.longitude IS NULL) <> (c.latitude IS NULL)
                      OR regexp_matches(c.name || coalesce(c.code, ''), '[\\x00-\\x1F\\x7F]'))""")
        assert customers == []
    finally:
        db.close()
