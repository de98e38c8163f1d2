"""The phone API's test company and a phone client, shared by the API tests.

The database is built before the server starts (DuckDB lets one process open the file),
so passwords and tokens are set here with the same pipelines helpers the CLI uses; the
clear-text tokens are kept for the tests.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import requests

from pipelines import api_tokens
from pipelines.db import Database
from pipelines.upgrade import upgrade
from pipelines.users import add_user
from tests.conftest import Factory

TZ = ZoneInfo("Asia/Shanghai")
PHONE_PASSWORDS = {"E001": "phone-password-1", "E002": "phone-password-2",
                   "E003": "phone-password-3", "E004": "phone-password-4"}
SUPERVISOR = ("east", "east-password-1")  # supervisor of R1 (B11, B12)

# Customers: (code, lon, lat, owners). E001 looks after C001-C005 and, through the share
# E002 -> E001, C006; C009 is E001's but deleted; C007 is E003's, in Beijing.
CUSTOMERS = (
    ("C001", 121.4700, 31.2300, "E001"),
    ("C002", 121.4800, 31.2200, "E001"),
    ("C003", 121.4900, 31.2100, "E001"),
    ("C004", 121.5000, 31.2000, "E001"),
    ("C005", 121.5100, 31.1900, "E001"),
    ("C006", 121.5200, 31.1800, "E002"),
    ("C007", 116.4000, 39.9000, "E003"),
    ("C008", None, None, "E001"),
    ("C009", 121.5300, 31.1700, "E001"),
)


def today() -> date:
    """Today in the company's time zone (the server's notion of 'now')."""
    return datetime.now(TZ).date()


@dataclass
class ApiCompany:
    """A built database: its path and the tokens issued before the server started."""

    path: Path
    tokens: dict[str, list[str]] = field(default_factory=dict)  # purpose -> tokens
    token_ids: dict[str, list[str]] = field(default_factory=dict)


def build_api_company(path: Path, token_plan: dict[str, tuple[str, int]],
                      extra_employees: int = 0) -> ApiCompany:
    """The test company of the API tests.

    Args:
        path: the database file to create.
        token_plan: purpose -> (employee code, how many tokens) to issue now.
        extra_employees: soak phones P0001... (B11), each with one customer K0001...
    """
    db = Database(path)
    company = ApiCompany(path)
    try:
        upgrade(db)
        factory = Factory(db)
        factory.org()
        lines = ["code,name,department_code,status", "E001,张一,B11,active",
                 "E002,李二,B11,active", "E003,王三,B21,active", "E004,赵四,B12,inactive"]
        lines += [f"P{n:04d},手机{n},B11,active" for n in range(1, extra_employees + 1)]
        factory.load("employees", "\n".join(lines) + "\n")
        rows = ["code,name,grade,longitude,latitude,owner_codes"]
        for code, lon, lat, owner in CUSTOMERS:
            rows.append(f"{code},客户{code},A,{'' if lon is None else lon},"
                        f"{'' if lat is None else lat},{owner}")
        rows += [f"K{n:04d},门店{n},B,121.4,31.2,P{n:04d}" for n in range(1, extra_employees + 1)]
        factory.load("customers", "\n".join(rows) + "\n")
        with db.transaction() as cur:
            cur.execute("INSERT INTO shares VALUES ('E002', 'E001', now())")
            cur.execute("UPDATE customers SET deleted = true WHERE code = 'C009'")
        day1 = today() - timedelta(days=2)
        factory.load("plans", "employee_code,date,plan_name,customer_code\n"
                     f"E001,{day1},巡店,C001\nE001,{day1},巡店,C004\n"
                     f"E001,{day1 + timedelta(days=1)},巡店,C004\n")
        for code, password in PHONE_PASSWORDS.items():
            api_tokens.set_employee_password(db, code, password)
        add_user(db, SUPERVISOR[0], SUPERVISOR[1], "supervisor", ("R1",))
        for purpose, (employee, count) in token_plan.items():
            issued = [api_tokens.issue_token(db, employee, 1) for _ in range(count)]
            company.tokens[purpose] = [t.token for t in issued]
            company.token_ids[purpose] = [t.token_id for t in issued]
        db.checkpoint()
    finally:
        db.close()
    return company


class Phone:
    """The phone app: a keep-alive HTTP session with a bearer token."""

    def __init__(self, base_url: str, token: str | None = None) -> None:
        self.api = base_url + "/api/v1"
        self.session = requests.Session()
        if token is not None:
            self.use(token)

    def use(self, token: str) -> None:
        self.session.headers["Authorization"] = f"Bearer {token}"

    def login(self, code: str, password: str) -> requests.Response:
        response = self.session.post(self.api + "/login", timeout=30,
                                     json={"employee_code": code, "password": password})
        if response.status_code == 200:
            self.use(response.json()["token"])
        return response

    def get(self, path: str, **params: Any) -> requests.Response:
        return self.session.get(self.api + path, params=params, timeout=30)

    def post(self, path: str, body: Any) -> requests.Response:
        return self.session.post(self.api + path, json=body, timeout=30)


def local(day: date, hh: int, mm: int = 0) -> str:
    """An ISO time of the company's time zone, with its offset (as a phone sends it)."""
    return datetime(day.year, day.month, day.day, hh, mm, tzinfo=TZ).isoformat()


def new_id() -> str:
    return str(uuid.uuid4())


def errors_by_field(response: requests.Response) -> dict[str | None, str]:
    """A 4xx answer's errors as field -> code."""
    return {e["field"]: e["code"] for e in response.json()["errors"]}
