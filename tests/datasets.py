"""Small datasets worked out by hand, shared by unit, integration and browser tests."""

from __future__ import annotations

from pipelines import refresh
from pipelines.users import add_user
from tests.conftest import Factory

VISITS = """visit_id,employee_code,customer_code,check_in_at,check_in_lon,check_in_lat,check_in_source,check_out_at,check_out_lon,check_out_lat,check_out_source
v1,E1,C1,2024-05-06 09:00:00,121.0,31.0,gps,2024-05-06 09:30:00,121.0,31.0,gps
v2,E1,C2,2024-05-06 10:00:00,121.1,31.1,gps,2024-05-06 10:09:59,121.1,31.1,gps
v3,E1,C1,2024-05-07 09:00:00,121.0,31.0,gps,,,,
v4,E1,C3,2024-05-09 09:00:00,121.0,31.0,net,2024-05-09 09:20:00,,,
v5,E2,C1,2024-05-07 09:00:00,121.0,31.01,gps,2024-05-07 09:40:00,121.0,31.0,gps
v6,E2,C2,2024-05-10 14:00:00,121.1,31.1,cell,2024-05-10 14:15:00,121.1,31.1,cell
v7,E3,C2,2024-05-09 09:00:00,121.1,31.1,gps,2024-05-09 09:20:00,,,
v8,E4,C1,2024-05-06 11:00:00,121.0,31.0,gps,2024-05-06 11:30:00,,,
v9,E4,C1,2024-05-07 11:00:00,121.0,31.0,gps,2024-05-07 11:30:00,,,
v10,E2,C1,2024-05-09 10:00:00,121.0,31.0,gps,2024-05-09 10:30:00,121.0,31.01,gps
v11,E2,C2,2024-05-10 09:00:00,,,,2024-05-10 09:30:00,121.1,31.1,net
"""


def build_week(factory: Factory) -> None:
    """The hand-computed week of tests/unit/test_metrics_employee.py (see its docstring).

    Users: east (supervisor of R1), boss (admin), bj (analyst of B21); passwords
    'password-1', 'password-2', 'password-3'.
    """
    db = factory.db
    factory.org()
    factory.load("employees", "code,name,department_code,status\nE1,张一,B11,active\n"
                 "E2,李二,B11,active\nE3,王三,B12,inactive\nE4,赵四,B21,active\n")
    factory.load("customers", "code,name,grade,longitude,latitude,owner_codes\n"
                 "C1,甲店,A,121.0,31.0,E1\nC2,乙店,B,121.1,31.1,E1\nC3,丙店,,,,E2\n")
    factory.load("visits", VISITS)
    factory.load("plans", "employee_code,date,plan_name,customer_code\n"
                 "E1,2024-05-06,周一,C1\nE1,2024-05-06,周一,C2\nE1,2024-05-07,周二,C2\n"
                 "E2,2024-05-10,周五,C2\nE2,2024-05-10,周五,C1\nE4,2024-05-06,周一,C1\n")
    factory.load("holidays", "date,kind,name\n2024-05-08,off,调休\n")
    add_user(db, "east", "password-1", "supervisor", ("R1",))
    add_user(db, "boss", "password-2", "admin")
    add_user(db, "bj", "password-3", "analyst", ("B21",))




CUSTOMER_VISIT_COUNTS = {"K0": 0, "K1": 1, "K2": 2, "K3": 3, "K5": 5, "K6": 6, "K10": 10,
                         "K11": 11, "KD": 4}


def build_customers(factory: Factory) -> None:
    """The customer populations of tests/unit/test_metrics_customer.py (see its docstring).

    Users: boss (admin), east (supervisor of R1), bj (analyst of B21); passwords
    'password-1', 'password-2', 'password-3'.
    """
    db = factory.db
    factory.org()
    factory.load("employees", "code,name,department_code\nE1,张一,B11\nE2,李二,B12\n"
                 "E4,赵四,B21\n")
    factory.load("customers", "code,name,grade,department_code,owner_codes\n"
                 "K0,零,A,,E1\nK1,一,A,,E1\nK2,二,B,,E1;E2\nK3,三,B,B12,\nK5,五,C,,E2\n"
                 "K6,六,C,B21,E1\nK10,十,,,E4\nK11,十一,,,E4\nKD,删,A,,E1\nKU,无,D,,\n")
    lines = ["employee_code,customer_code,check_in_at"]
    for customer, count in CUSTOMER_VISIT_COUNTS.items():
        for i in range(count):
            lines.append(f"E1,{customer},2024-05-{6 + i % 7:02d} {8 + i // 7:02d}:{i:02d}:00")
    lines.append("E2,K0,2024-04-30 09:00:00")
    factory.load("visits", "\n".join(lines) + "\n")
    db.execute("INSERT INTO shares VALUES ('E4', 'E2', now())")
    db.execute("UPDATE customers SET deleted = true WHERE code = 'KD'")
    # Written by hand (no audit entries): bring the derived customer tables in step, as
    # the app does at start-up for a file changed behind its back.
    refresh.ensure_current(db)
    add_user(db, "boss", "password-1", "admin")
    add_user(db, "east", "password-2", "supervisor", ("R1",))
    add_user(db, "bj", "password-3", "analyst", ("B21",))


def build_map(factory: Factory, per_employee: int = 600) -> None:
    """Customers on a grid around Shanghai for E1 and E2 (B11), and a few in Beijing for E3
    (B21); enough for the map to bin them at city zoom and show markers closer in.

    Users: east (supervisor of R1) 'password-1', bj (analyst of B21) 'password-3'.
    """
    db = factory.db
    factory.org()
    factory.load("employees", "code,name,department_code\nE1,张一,B11\nE2,李二,B11\n"
                 "E3,王三,B21\n")
    lines = ["code,name,grade,longitude,latitude,owner_codes"]
    for n in range(per_employee * 2):
        owner = "E1" if n % 2 == 0 else "E2"
        lon = 121.30 + (n % 40) * 0.008
        lat = 31.10 + (n // 40) * 0.006
        lines.append(f"S{n:05d},上海客户{n},{'ABCD'[n % 4]},{lon:.5f},{lat:.5f},{owner}")
    for n in range(5):
        lines.append(f"B{n:05d},北京客户{n},A,{116.30 + n * 0.01:.5f},39.90,E3")
    factory.load("customers", "\n".join(lines) + "\n")
    add_user(db, "east", "password-1", "supervisor", ("R1",))
    add_user(db, "bj", "password-3", "analyst", ("B21",))


# The world of tests/integration/test_imports.py and test_streamed_import.py (the `world`
# fixtures of tests/integration/conftest.py): departments HQ/R1/R2/B11/B12/B21, employees
# E001-E003 (E003 inactive), customers C001 (located), C002 (no location) and C003 (E001
# and E002).
EMPLOYEES = (
    "code,name,department_code,status\n"
    "E001,张三,B11,active\nE002,李四,B12,在职\nE003,王五,B21,离职\n"
)
CUSTOMERS = (
    "code,name,grade,longitude,latitude,department_code,owner_codes\n"
    "C001,客户一,A,121.4737,31.2304,B11,E001\n"
    "C002,客户二,,,,,E002\n"
    "C003,客户三,B,121.5,31.2,,E001;E002\n"
)
