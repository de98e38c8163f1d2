"""The adversarial suite's company: known rows per region, users of every kind of scope.

Every code and every name carries its branch, so a response can be searched for entities
of another scope with two regular expressions, whatever shape the response has: codes
(``CODE``: D-R3, E-B31-1, C-B31-1, V-B31-1) and names (``NAME``: 部门#R3, 员工#B31-1,
客户#B31-1, 地址#B31-1, 计划#B31-1, 路线#B31-1). A forged request may carry codes from
outside the scope, and a callback may echo them (a query string); a name never comes from
the request, so a name of another scope in a response is always a leak.

    D-HQ 总部 > D-R1 (D-B11, D-B12), D-R2 (D-B21), D-R3 (D-B31)

    branch  employees            customers (assigned there, bound to its employees)
    D-B11   E-B11-1, E-B11-2     C-B11-1 (E-B11-1), C-B11-2 (E-B11-2), C-B11-3 (E-B11-1)
    D-B12   E-B12-1              C-B12-1
    D-B21   E-B21-1              C-B21-1, C-B21-2
    D-B31   E-B31-1              C-B31-1

Visits (week of 2024-05-06): V-B11-1..4, V-B12-1..2, V-B21-1..2 by the branch's own
employees, V-B31-1..3 by E-B31-1 to C-B31-1, and V-B31-4: E-B31-1 (outside R1) visiting
C-B11-1 — a visit to R1's customer by someone outside R1: counted, never listed.

Users: boss (admin); duo (supervisor of D-R1 and D-R2: the union of two regions); branch
(analyst of D-B11); nobody (analyst without a department); south (supervisor of D-R3).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from pipelines.db import Database
from pipelines.upgrade import upgrade
from pipelines.users import add_user
from tests.conftest import Factory

FROM, TO = "2024-05-06", "2024-05-10"
CODE = re.compile(r"(?<![A-Za-z0-9])[DCEV]-(?:HQ|R\d|B\d\d)(?:-\d+)?(?![0-9])")
NAME = re.compile(r"(部门|员工|客户|地址|计划|路线)#((?:HQ|R\d|B\d\d)(?:-\d+)?)(?![0-9])")
_NAME_KIND = {"部门": "D", "员工": "E", "客户": "C", "地址": "C", "计划": "E", "路线": "E"}
BRANCHES = ("B11", "B12", "B21", "B31")
REGION_OF = {"B11": "R1", "B12": "R1", "B21": "R2", "B31": "R3"}

EMPLOYEES = {"E-B11-1": "B11", "E-B11-2": "B11", "E-B12-1": "B12", "E-B21-1": "B21",
             "E-B31-1": "B31"}
CUSTOMERS = {"C-B11-1": "B11", "C-B11-2": "B11", "C-B11-3": "B11", "C-B12-1": "B12",
             "C-B21-1": "B21", "C-B21-2": "B21", "C-B31-1": "B31"}
# visit id -> (employee, customer, check-in)
VISITS = {
    "V-B11-1": ("E-B11-1", "C-B11-1", "2024-05-06 09:00:00"),
    "V-B11-2": ("E-B11-1", "C-B11-1", "2024-05-07 09:00:00"),
    "V-B11-3": ("E-B11-1", "C-B11-3", "2024-05-08 09:00:00"),
    "V-B11-4": ("E-B11-2", "C-B11-2", "2024-05-06 10:00:00"),
    "V-B12-1": ("E-B12-1", "C-B12-1", "2024-05-06 09:30:00"),
    "V-B12-2": ("E-B12-1", "C-B12-1", "2024-05-09 09:30:00"),
    "V-B21-1": ("E-B21-1", "C-B21-1", "2024-05-07 14:00:00"),
    "V-B21-2": ("E-B21-1", "C-B21-2", "2024-05-08 14:00:00"),
    "V-B31-1": ("E-B31-1", "C-B31-1", "2024-05-06 11:00:00"),
    "V-B31-2": ("E-B31-1", "C-B31-1", "2024-05-07 11:00:00"),
    "V-B31-3": ("E-B31-1", "C-B31-1", "2024-05-08 11:00:00"),
    "V-B31-4": ("E-B31-1", "C-B11-1", "2024-05-09 11:00:00"),
}
LOCATIONS = {"C-B11-1": (121.40, 31.20), "C-B11-2": (121.45, 31.22), "C-B12-1": (120.15, 30.28),
             "C-B21-1": (116.40, 39.90), "C-B21-2": (116.42, 39.92), "C-B31-1": (113.26, 23.13)}


@dataclass(frozen=True)
class User:
    """A login of the world and the branches it may see."""

    username: str
    password: str
    role: str
    departments: tuple[str, ...]
    branches: frozenset[str]

    @property
    def departments_seen(self) -> frozenset[str]:
        """Department codes of the scope (D-...)."""
        if self.role == "admin":
            return frozenset({"D-HQ", "D-R1", "D-R2", "D-R3"} | {f"D-{b}" for b in BRANCHES})
        regions = {f"D-{REGION_OF[b]}" for b in self.branches
                   if f"D-{REGION_OF[b]}" in self.departments}
        return frozenset(regions | {f"D-{b}" for b in self.branches})


BOSS = User("boss", "boss-password-1", "admin", (), frozenset(BRANCHES))
DUO = User("duo", "duo-password-1", "supervisor", ("D-R1", "D-R2"),
           frozenset({"B11", "B12", "B21"}))
BRANCH = User("branch", "branch-password-1", "analyst", ("D-B11",), frozenset({"B11"}))
NOBODY = User("nobody", "nobody-password-1", "analyst", (), frozenset())
SOUTH = User("south", "south-password-1", "supervisor", ("D-R3",), frozenset({"B31"}))
READERS = (BOSS, DUO, BRANCH, NOBODY)


def employees_of(user: User) -> set[str]:
    return {e for e, b in EMPLOYEES.items() if b in user.branches}


def customers_of(user: User) -> set[str]:
    return {c for c, b in CUSTOMERS.items() if b in user.branches}


def visits_by(user: User) -> set[str]:
    """Visits made by the scope's employees (what employee reports list)."""
    return {v for v, (e, _c, _t) in VISITS.items() if EMPLOYEES[e] in user.branches}


def allowed(user: User) -> set[str]:
    """Every entity code the user may ever see."""
    return (employees_of(user) | customers_of(user) | visits_by(user)
            | set(user.departments_seen))


def codes_in(text: str) -> set[str]:
    """Every entity code in a text (a response, or a request that may carry forged ids)."""
    return set(CODE.findall(text))


def names_in(text: str) -> set[str]:
    """The entities whose names appear in a text (as codes: 员工#B31-1 -> E-B31-1)."""
    return {f"{_NAME_KIND[kind]}-{rest}" for kind, rest in NAME.findall(text)}


def seen(text: str) -> set[str]:
    """Every entity a response shows, by code or by name."""
    return codes_in(text) | names_in(text)


def leaks(user: User, response: str, request: str = "") -> set[str]:
    """Entities outside the user's scope in a response: any name, and any code that the
    request did not bring itself (echoing the user's own input is no leak)."""
    return (names_in(response) - allowed(user)) | (
        codes_in(response) - allowed(user) - codes_in(request))


def build_world(path: Path) -> Path:
    """Create the database file of the module docstring and close it again."""
    db = Database(path)
    try:
        upgrade(db)
        factory = Factory(db)
        factory.load("departments", "code,name,parent_code\nD-HQ,部门#HQ,\n"
                     "D-R1,部门#R1,D-HQ\nD-R2,部门#R2,D-HQ\nD-R3,部门#R3,D-HQ\n"
                     "D-B11,部门#B11,D-R1\nD-B12,部门#B12,D-R1\nD-B21,部门#B21,D-R2\n"
                     "D-B31,部门#B31,D-R3\n")
        factory.load("employees", "code,name,department_code\n" + "".join(
            f"{e},员工#{e[2:]},D-{b}\n" for e, b in EMPLOYEES.items()))
        owners = {"C-B11-1": "E-B11-1", "C-B11-2": "E-B11-2", "C-B11-3": "E-B11-1",
                  "C-B12-1": "E-B12-1", "C-B21-1": "E-B21-1", "C-B21-2": "E-B21-1",
                  "C-B31-1": "E-B31-1"}
        lines = ["code,name,grade,address,longitude,latitude,department_code,owner_codes"]
        for i, (c, b) in enumerate(CUSTOMERS.items()):
            lon, lat = LOCATIONS.get(c, ("", ""))
            grade = "" if c == "C-B11-3" else "ABCD"[i % 4]
            lines.append(f"{c},客户#{c[2:]},{grade},地址#{c[2:]},{lon},{lat},D-{b},{owners[c]}")
        factory.load("customers", "\n".join(lines) + "\n")
        visit_lines = ["visit_id,employee_code,customer_code,check_in_at,check_in_lon,"
                       "check_in_lat,check_in_source,check_out_at,check_out_lon,"
                       "check_out_lat,check_out_source"]
        for v, (e, c, at) in VISITS.items():
            lon, lat = LOCATIONS.get(c, (121.0, 31.0))
            out = at[:11] + f"{int(at[11:13]) + 1:02d}" + at[13:]
            visit_lines.append(f"{v},{e},{c},{at},{lon},{lat},gps,{out},{lon},{lat},gps")
        factory.load("visits", "\n".join(visit_lines) + "\n")
        factory.load("plans", "employee_code,date,plan_name,customer_code\n"
                     "E-B11-1,2024-05-06,计划#B11-1,C-B11-1\n"
                     "E-B11-1,2024-05-06,计划#B11-1,C-B11-3\n"
                     "E-B21-1,2024-05-07,计划#B21-1,C-B21-1\n"
                     "E-B31-1,2024-05-06,计划#B31-1,C-B31-1\n")
        from pipelines import plans
        from pipelines.policy import LOCAL_OPERATOR

        plans.create_route(db, "E-B31-1", "路线#B31-1", ["C-B31-1"], LOCAL_OPERATOR)
        plans.create_route(db, "E-B11-1", "路线#B11-1", ["C-B11-1", "C-B11-2"], LOCAL_OPERATOR)
        for user in (BOSS, DUO, BRANCH, NOBODY, SOUTH):
            add_user(db, user.username, user.password, user.role, user.departments)
        db.checkpoint()
    finally:
        db.close()
    return path
