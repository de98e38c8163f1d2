"""The import path end to end (DESIGN.md sections 1, 2 and 4): detect, import, conversions,
time zones and the derived visit columns."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterator
from datetime import date, datetime
from typing import Any

import pytest

from pipelines import audit, business_settings, derive, geo, load_visits
from pipelines.db import Database
from pipelines.imports import ImportResult, run_import

R = 6_371_008.8
Problems = list[dict[str, Any]]

C001 = (121.4737, 31.2304)


def load(db: Database, kind: str, text: str, **kwargs: Any) -> ImportResult:
    return run_import(db, kind, text.encode("utf-8"), f"{kind}.csv", "tests", **kwargs)


def detect(db: Database, kind: str, text: str) -> Problems:
    result = load(db, kind, text, detect_only=True)
    assert result.ok == (not result.problems)
    assert result.total_problems == len(result.problems)
    return [p.as_dict() for p in result.problems]


def P(row: int | None, column: str | None, code: str, message: str) -> dict[str, Any]:
    return {"row": row, "column": column, "code": code, "message": message}


def snapshot(db: Database) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table of the database file."""
    tables = [r[0] for r in db.rows(
        "SELECT table_name FROM duckdb_tables() WHERE NOT temporary AND schema_name = 'main' "
        "ORDER BY table_name")]
    assert {"customers", "bindings", "visits", "import_history", "audit_log"} <= set(tables)
    return {t: db.rows(f'SELECT * FROM "{t}" ORDER BY ALL') for t in tables}


def north(point: tuple[float, float], metres: float) -> tuple[float, float]:
    """A point `metres` due north of `point` (along the meridian)."""
    return point[0], point[1] + math.degrees(metres / R)


def haversine(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance in metres, R = 6 371 008.8 m, independent of the code under test."""
    p1, p2 = math.radians(a[1]), math.radians(b[1])
    h = (math.sin((p2 - p1) / 2) ** 2
         + math.cos(p1) * math.cos(p2) * math.sin(math.radians(b[0] - a[0]) / 2) ** 2)
    return 2 * R * math.asin(math.sqrt(h))


def fmt(point: tuple[float, float] | None) -> str:
    """lon,lat cells with every digit (repr round-trips floats exactly)."""
    return "," if point is None else f"{point[0]!r},{point[1]!r}"


def visit_rows(db: Database, where: str = "true") -> dict[str, dict[str, Any]]:
    return {r["visit_id"]: r for r in db.records(
        f"SELECT * FROM visits WHERE {where} ORDER BY visit_id")}


# == 2. detect: one test per kind of problem ==================================================
DETECT_CASES: list[tuple[str, str, str, Problems]] = [
    (
        "illegal_character_single_line", "departments",
        'code,name\nD1,a\x00b\nD2,bell\x07\nD3,esc\x1b\nD4,bad\ufffd\nD5,"tab\there"\n'
        'D6,"two\nlines"\nD7,ok\nD8,vt\x0b\n',
        [P(2, "name", "illegal_character", "Illegal character U+0000 in 'name'."),
         P(3, "name", "illegal_character", "Illegal character U+0007 in 'name'."),
         P(4, "name", "illegal_character", "Illegal character U+001B in 'name'."),
         P(5, "name", "illegal_character", "Illegal character U+FFFD in 'name'."),
         P(6, "name", "illegal_character", "Illegal character U+0009 in 'name'."),
         P(7, "name", "illegal_character", "Illegal character U+000A in 'name'."),
         P(9, "name", "illegal_character", "Illegal character U+000B in 'name'.")],
    ),
    (
        "illegal_character_address_and_note", "customers",
        'code,name,address,note\nC101,n,"l1\r\n\tl2","a\tb\nc"\nC102,n,"x\x07",\n'
        'C103,n,,"y\x1b"\nC104,"c\x00de",\ufffd,\n',
        [P(3, "address", "illegal_character", "Illegal character U+0007 in 'address'."),
         P(4, "note", "illegal_character", "Illegal character U+001B in 'note'."),
         P(5, "name", "illegal_character", "Illegal character U+0000 in 'name'."),
         P(5, "address", "illegal_character", "Illegal character U+FFFD in 'address'.")],
    ),
    (
        "required", "employees",
        "code,name,department_code\n,张,B11\nE101,,B11\nE102,李,  \n",
        [P(2, "code", "required", "'code' is required."),
         P(3, "name", "required", "'name' is required."),
         P(4, "department_code", "required", "'department_code' is required.")],
    ),
    (
        "bad_number", "customers",
        "code,name,longitude,latitude\nC101,n,121.5x,31.2\nC102,n,121.5,北纬31\n"
        "C103,n,\"121,5\",31\n",
        [P(2, "longitude", "bad_number", "'121.5x' in 'longitude' is not a number."),
         P(3, "latitude", "bad_number", "'北纬31' in 'latitude' is not a number."),
         P(4, "longitude", "bad_number", "'121,5' in 'longitude' is not a number.")],
    ),
    (
        "out_of_range", "customers",
        "code,name,longitude,latitude\nC101,n,181,31\nC102,n,121,-90.5\nC103,n,-180,90\n"
        "C104,n,nan,31\n",
        [P(2, "longitude", "out_of_range", "Longitude 181 is outside -180..180."),
         P(3, "latitude", "out_of_range", "Latitude -90.5 is outside -90..90."),
         P(5, "longitude", "out_of_range", "Longitude nan is outside -180..180.")],
    ),
    (
        "out_of_range_visit", "visits",
        "employee_code,customer_code,check_in_at,check_in_lon,check_in_lat,check_in_source\n"
        "E001,C001,2024-05-06 09:00:00,200.5,31,gps\n",
        [P(2, "check_in_lon", "out_of_range", "Longitude 200.5 is outside -180..180.")],
    ),
    (
        "bad_value_grade", "customers",
        "code,name,grade\nC101,n,Z\nC102,n,a\nC103,n,AA\nC104,n,d\n",
        [P(2, "grade", "bad_value", "'Z' is not allowed in 'grade' (allowed: A/B/C/D)."),
         P(4, "grade", "bad_value", "'AA' is not allowed in 'grade' (allowed: A/B/C/D).")],
    ),
    (
        "bad_value_status", "employees",
        "code,name,department_code,status\nE101,x,B11,retired\nE102,y,B11,离职\nE103,z,B11,"
        "ACTIVE\n",
        [P(2, "status", "bad_value",
           "'retired' is not allowed in 'status' (allowed: active, inactive).")],
    ),
    (
        "bad_value_source", "visits",
        "employee_code,customer_code,check_in_at,check_in_lon,check_in_lat,check_in_source\n"
        "E001,C001,2024-05-06 09:00:00,121.47,31.23,wifi\n"
        "E001,C001,2024-05-06 10:00:00,121.47,31.23,基站\n",
        [P(2, "check_in_source", "bad_value",
           "'wifi' is not allowed in 'check_in_source' (allowed: cell, gps, net).")],
    ),
    (
        "bad_value_coord_system", "customers",
        "code,name,longitude,latitude,coord_system\nC101,n,121,31,utm\nC102,n,121,31,GCJ-02\n"
        "C103,n,121,31,\n",
        [P(2, "coord_system", "bad_value",
           "'utm' is not allowed in 'coord_system' (allowed: bd09, gcj02, wgs84).")],
    ),
    (
        "bad_value_holiday_kind", "holidays",
        "date,kind,name\n2024-10-01,party,国庆\n2024-10-08,调休上班,\n",
        [P(2, "kind", "bad_value", "'party' is not allowed in 'kind' (allowed: off, work).")],
    ),
    (
        "bad_timestamp", "visits",
        "visit_id,employee_code,customer_code,check_in_at,check_out_at\n"
        "V1,E001,C001,2024-13-01 10:00,\n"
        "V2,E001,C001,2024-05-06 09:00:00,tomorrow\n"
        "V3,E001,C001,1899-12-31 00:00:00,\n"
        "V4,E001,C001,2024-05-06 25:00:00,\n"
        "V5,E001,C001,2024/05/06 09:00,2024-05-06T09:20:00+08:00\n",
        [P(2, "check_in_at", "bad_timestamp",
           "'2024-13-01 10:00' in 'check_in_at' is not a time like 2024-05-31 09:30:00."),
         P(3, "check_out_at", "bad_timestamp",
           "'tomorrow' in 'check_out_at' is not a time like 2024-05-31 09:30:00."),
         P(4, "check_in_at", "bad_timestamp",
           "'1899-12-31 00:00:00' in 'check_in_at' is not a time like 2024-05-31 09:30:00."),
         P(5, "check_in_at", "bad_timestamp",
           "'2024-05-06 25:00:00' in 'check_in_at' is not a time like 2024-05-31 09:30:00.")],
    ),
    (
        "bad_date_plan", "plans",
        "employee_code,date,plan_name,customer_code\nE001,2024-02-30,P,C001\n"
        "E001,20240506,P,C001\n",
        [P(2, "date", "bad_date", "'2024-02-30' in 'date' is not a date like 2024-05-31.")],
    ),
    (
        "bad_date_holiday", "holidays",
        "date,kind\n5/1/2024,off\n2024.10.01,off\n",
        [P(2, "date", "bad_date", "'5/1/2024' in 'date' is not a date like 2024-05-31.")],
    ),
    (
        "coordinates_incomplete_customer", "customers",
        "code,name,longitude,latitude\nC101,n,121.5,\nC102,n,,31.2\nC103,n,,\n",
        [P(2, "latitude", "coordinates_incomplete",
           "Longitude and latitude must be given together."),
         P(3, "longitude", "coordinates_incomplete",
           "Longitude and latitude must be given together.")],
    ),
    (
        "coordinates_incomplete_visit", "visits",
        "employee_code,customer_code,check_in_at,check_in_lon,check_in_lat,check_in_source,"
        "check_out_at,check_out_lon,check_out_lat,check_out_source\n"
        "E001,C001,2024-05-06 09:00,121.47,,gps,2024-05-06 09:30,,31.23,net\n",
        [P(2, "check_in_lat", "coordinates_incomplete",
           "Longitude and latitude must be given together."),
         P(2, "check_out_lon", "coordinates_incomplete",
           "Longitude and latitude must be given together.")],
    ),
    (
        "coordinates_missing", "customers",
        "code,name,longitude,latitude,coord_system\nC101,n,,,gcj02\n",
        [P(2, "coord_system", "coordinates_missing",
           "A coordinate system is given without coordinates.")],
    ),
    (
        "location_without_source", "visits",
        "employee_code,customer_code,check_in_at,check_in_lon,check_in_lat,check_in_source,"
        "check_out_at,check_out_lon,check_out_lat,check_out_source\n"
        "E001,C001,2024-05-06 09:00,121.47,31.23,,2024-05-06 09:30,121.47,31.23,\n",
        [P(2, "check_in_source", "location_without_source",
           "A location needs its location source (net, cell or gps)."),
         P(2, "check_out_source", "location_without_source",
           "A location needs its location source (net, cell or gps).")],
    ),
    (
        "source_without_location", "visits",
        "employee_code,customer_code,check_in_at,check_in_lon,check_in_lat,check_in_source,"
        "check_out_at,check_out_lon,check_out_lat,check_out_source\n"
        "E001,C001,2024-05-06 09:00,,,net,2024-05-06 09:30,,,cell\n",
        [P(2, "check_in_source", "source_without_location",
           "A location source is given without a location."),
         P(2, "check_out_source", "source_without_location",
           "A location source is given without a location.")],
    ),
    (
        "checkout_location_without_time", "visits",
        "employee_code,customer_code,check_in_at,check_out_at,check_out_lon,check_out_lat,"
        "check_out_source\nE001,C001,2024-05-06 09:00,,121.47,31.23,gps\n",
        [P(2, "check_out_at", "checkout_location_without_time",
           "A check-out location is given without a check-out time.")],
    ),
    (
        "checkout_before_checkin", "visits",
        "employee_code,customer_code,check_in_at,check_out_at\n"
        "E001,C001,2024-05-06 10:00:00,2024-05-06 09:59:59\n"
        "E001,C001,2024-05-06 11:00:00,2024-05-06 11:00:00\n"
        "E001,C001,2024-05-06T12:00:00+08:00,2024-05-06T03:30:00Z\n",
        [P(2, "check_out_at", "checkout_before_checkin",
           "Check-out time 2024-05-06 09:59:59 is before the check-in time."),
         P(4, "check_out_at", "checkout_before_checkin",
           "Check-out time 2024-05-06T03:30:00Z is before the check-in time.")],
    ),
    (
        "duplicate_in_file_departments", "departments",
        "code,name\nD1,a\nD2,b\nD1,c\nD1,d\n",
        [P(4, "code", "duplicate_in_file", "Duplicate of row 2 in this file."),
         P(5, "code", "duplicate_in_file", "Duplicate of row 2 in this file.")],
    ),
    (
        "duplicate_in_file_employees", "employees",
        "code,name,department_code\nE101,a,B11\nE102,b,B11\nE102,c,B12\n",
        [P(4, "code", "duplicate_in_file", "Duplicate of row 3 in this file.")],
    ),
    (
        "duplicate_in_file_customers", "customers",
        "code,name\n00101,a\n101,b\n00101,c\n",
        [P(4, "code", "duplicate_in_file", "Duplicate of row 2 in this file.")],
    ),
    (
        "duplicate_in_file_visits_by_id", "visits",
        "visit_id,employee_code,customer_code,check_in_at\n"
        "V1,E001,C001,2024-05-06 09:00\nV2,E001,C001,2024-05-06 09:00\n"
        "V1,E002,C002,2024-05-07 09:00\n",
        [P(4, "visit_id", "duplicate_in_file", "Duplicate of row 2 in this file.")],
    ),
    (
        "duplicate_in_file_visits_by_key", "visits",
        "visit_id,employee_code,customer_code,check_in_at\n"
        "V9,E001,C001,2024-05-06 09:00:00\n"
        ",E001,C001,2024-05-06 09:00:00\n"
        ",E001,C001,2024-05-06T01:00:00Z\n"
        ",E002,C001,2024-05-06 09:00:00\n"
        ",E001,C001,2024-05-06 09:00:01\n",
        [P(4, "check_in_at", "duplicate_in_file", "Duplicate of row 3 in this file.")],
    ),
    (
        "duplicate_in_file_plans", "plans",
        "employee_code,date,plan_name,customer_code\nE001,2024-05-06,P1,C001\n"
        "E001,2024-05-06,P1,C003\nE001,2024/05/06,P2,C001\nE002,2024-05-06,P1,C001\n",
        [P(4, "customer_code", "duplicate_in_file", "Duplicate of row 2 in this file.")],
    ),
    (
        "duplicate_in_file_holidays", "holidays",
        "date,kind,name\n2024-10-01,off,国庆\n2024-10-02,off,\n2024/10/01,work,\n",
        [P(4, "date", "duplicate_in_file", "Duplicate of row 2 in this file.")],
    ),
    (
        "exists_department", "departments",
        "code,name,parent_code\nR1,again,HQ\nD9,new,HQ\n",
        [P(2, "code", "exists",
           "Department 'R1' already exists; change it in the edit form.")],
    ),
    (
        "exists_employee", "employees",
        "code,name,department_code\nE101,new,B11\nE001,again,B11\n",
        [P(3, "code", "exists",
           "Employee 'E001' already exists; change them in the edit form.")],
    ),
    (
        "exists_customer", "customers",
        "code,name\nC001,again\nC101,new\n",
        [P(2, "code", "exists", "Customer 'C001' already exists; change it in the edit form "
                                "(or restore it if it was deleted).")],
    ),
    (
        "unknown_department_employee", "employees",
        "code,name,department_code\nE101,x,B99\nE102,y,B21\n",
        [P(2, "department_code", "unknown_department", "Unknown department 'B99'.")],
    ),
    (
        "unknown_department_customer", "customers",
        "code,name,department_code\nC101,x,\nC102,y,X1\n",
        [P(3, "department_code", "unknown_department", "Unknown department 'X1'.")],
    ),
    (
        "unknown_department_parent", "departments",
        "code,name,parent_code\nD1,a,ZZ\nD2,b,D3\nD3,c,HQ\n",
        [P(2, "parent_code", "unknown_department", "Unknown parent department 'ZZ'.")],
    ),
    (
        "unknown_employee_visit", "visits",
        "employee_code,customer_code,check_in_at\nE999,C001,2024-05-06 09:00\n"
        "E003,C001,2024-05-06 09:00\n",
        [P(2, "employee_code", "unknown_employee", "Unknown employee 'E999'.")],
    ),
    (
        "unknown_employee_plan", "plans",
        "employee_code,date,plan_name,customer_code\nE001,2024-05-06,P,C001\n"
        "e001,2024-05-06,P,C001\n",
        [P(3, "employee_code", "unknown_employee", "Unknown employee 'e001'.")],
    ),
    (
        "unknown_employee_owners", "customers",
        "code,name,owner_codes\nC101,a,E001;E999; E998 ;\nC102,b,E001；E002\nC103,c,E997\n",
        [P(2, "owner_codes", "unknown_employee",
           "Unknown employee code(s) in owners: E999, E998."),
         P(4, "owner_codes", "unknown_employee", "Unknown employee code(s) in owners: E997.")],
    ),
    (
        "unknown_customer_visit", "visits",
        "employee_code,customer_code,check_in_at\nE001,C999,2024-05-06 09:00\n"
        "E001,C002,2024-05-06 09:00\n",
        [P(2, "customer_code", "unknown_customer", "Unknown customer 'C999'.")],
    ),
    (
        "cycle", "departments",
        "code,name,parent_code\nD1,self,D1\nD2,a,D3\nD3,b,D4\nD4,c,D2\nD5,d,D2\nD6,e,HQ\n",
        [P(2, "parent_code", "cycle", "A department cannot be its own parent."),
         P(3, "parent_code", "cycle", "Department 'D2' is its own ancestor."),
         P(4, "parent_code", "cycle", "Department 'D3' is its own ancestor."),
         P(5, "parent_code", "cycle", "Department 'D4' is its own ancestor.")],
    ),
]


@pytest.mark.parametrize(("kind", "text", "expected"), [c[1:] for c in DETECT_CASES],
                         ids=[c[0] for c in DETECT_CASES])
def test_detect_problem(world: Database, kind: str, text: str, expected: Problems) -> None:
    before = snapshot(world)
    assert detect(world, kind, text) == expected
    result = load(world, kind, text)
    assert result.ok is False
    assert [p.as_dict() for p in result.problems] == expected
    assert snapshot(world) == before


def test_detect_accepts_what_it_should(world: Database) -> None:
    """The 'good' rows of the cases above import: lowercase grades, Chinese enum spellings."""
    result = load(world, "customers", "code,name,grade,coord_system,longitude,latitude\n"
                  "C101,n,a,GCJ-02,-0.1276,51.5072\nC102,m,d,,121,31\n")
    assert result.ok, result.as_json()
    assert world.rows("SELECT code, grade FROM customers WHERE code >= 'C101' ORDER BY 1") == [
        ("C101", "A"), ("C102", "D")]
    load(world, "employees", "code,name,department_code,status\nE101,x,B11,离职\nE102,y,B11,"
         "ACTIVE\nE103,z,B11,\n")
    assert world.rows("SELECT code, status FROM employees WHERE code > 'E100' ORDER BY 1") == [
        ("E101", "inactive"), ("E102", "active"), ("E103", "active")]


def test_unknown_customer_plan_refuses_a_deleted_customer(world: Database) -> None:
    world.execute("UPDATE customers SET deleted = true WHERE code = 'C003'")
    text = ("employee_code,date,plan_name,customer_code\nE001,2024-05-06,P,C001\n"
            "E001,2024-05-06,P,C003\nE001,2024-05-06,P,C404\n")
    assert detect(world, "plans", text) == [
        P(3, "customer_code", "unknown_customer", "Unknown or deleted customer 'C003'."),
        P(4, "customer_code", "unknown_customer", "Unknown or deleted customer 'C404'."),
    ]
    # A deleted customer's code still exists; its visits are still accepted.
    assert detect(world, "customers", "code,name\nC003,again\n") == [
        P(2, "code", "exists", "Customer 'C003' already exists; change it in the edit form "
                               "(or restore it if it was deleted).")]
    assert load(world, "visits", "employee_code,customer_code,check_in_at\n"
                "E001,C003,2024-05-06 09:00\n").inserted == 1


def test_detect_lists_every_problem_of_every_row_in_row_order(world: Database) -> None:
    text = (
        "客户编码,客户名称,客户等级,经度,纬度,坐标系,负责人工号,所属部门编码\n"
        "C101,好客户,A,121.5,31.2,gcj02,E001,B11\n"            # 2 good
        ",,Z,181,,,E999,B99\n"                                 # 3 five problems
        "C103,ok,B,,,,,\n"                                     # 4 good
        "C001,dup of db,b,abc,31,bd09,,\n"                     # 5 exists, bad lon
        "C101,dup of row 2,C,121,91,wgs84,E001;E002,\n"        # 6 duplicate, lat range
        "C106,x\x07y,E,,,utm,,\n"                              # 7 illegal, grade, coord
    )
    assert detect(world, "customers", text) == [
        P(3, "code", "required", "'code' is required."),
        P(3, "name", "required", "'name' is required."),
        P(3, "grade", "bad_value", "'Z' is not allowed in 'grade' (allowed: A/B/C/D)."),
        P(3, "longitude", "out_of_range", "Longitude 181 is outside -180..180."),
        P(3, "latitude", "coordinates_incomplete",
          "Longitude and latitude must be given together."),
        P(3, "department_code", "unknown_department", "Unknown department 'B99'."),
        P(3, "owner_codes", "unknown_employee", "Unknown employee code(s) in owners: E999."),
        P(5, "code", "exists", "Customer 'C001' already exists; change it in the edit form "
                               "(or restore it if it was deleted)."),
        P(5, "longitude", "bad_number", "'abc' in 'longitude' is not a number."),
        P(6, "code", "duplicate_in_file", "Duplicate of row 2 in this file."),
        P(6, "latitude", "out_of_range", "Latitude 91 is outside -90..90."),
        P(7, "name", "illegal_character", "Illegal character U+0007 in 'name'."),
        P(7, "grade", "bad_value", "'E' is not allowed in 'grade' (allowed: A/B/C/D)."),
        P(7, "coord_system", "bad_value",
          "'utm' is not allowed in 'coord_system' (allowed: bd09, gcj02, wgs84)."),
    ]


def test_header_and_row_problems_together(world: Database) -> None:
    text = "code,name,colour\nD1,,red\nD2,b,blue,extra\n"
    assert detect(world, "departments", text) == [
        P(1, "colour", "unknown_column", "Unknown column 'colour'."),
        P(2, "name", "required", "'name' is required."),
        P(3, None, "extra_cells",
          "Row has a value in column D, which has no header (the header ends at column C)."),
    ]


def test_grades_follow_the_settings(world: Database) -> None:
    settings = business_settings.load(world)
    business_settings.save(world, dataclasses.replace(settings, grades=("VIP", "普通")), "t")
    text = "code,name,grade\nC101,a,vip\nC102,b,A\nC103,c,普通\n"
    assert detect(world, "customers", text) == [
        P(3, "grade", "bad_value", "'A' is not allowed in 'grade' (allowed: VIP/普通).")]


# == 3. atomicity and resent files ============================================================
def _customers_file(count: int, bad_row: int | None = None) -> str:
    lines = ["code,name,grade,address,longitude,latitude,coord_system,contact,phone,"
             "department_code,owner_codes,note"]
    for i in range(count):
        row = i + 2
        grade = "Z" if row == bad_row else "ABCD"[i % 4]
        system = ("", "wgs84", "gcj02", "bd09")[i % 4]
        lines.append(
            f"K{i:05d},客户{i},{grade},\"地址 {i}\n二楼\",{116 + i % 7 / 10},{30 + i % 9 / 10},"
            f"{system},联系人{i},0{13800000000 + i},B1{1 + i % 2},E00{1 + i % 3};E002,备注{i}")
    return "\n".join(lines) + "\n"


def test_customers_file_with_one_bad_row_changes_nothing(world: Database) -> None:
    before = snapshot(world)
    text = _customers_file(2000, bad_row=1990)
    result = load(world, "customers", text)
    assert result.ok is False
    assert result.rows == 2000
    assert [p.as_dict() for p in result.problems] == [
        P(1990, "grade", "bad_value", "'Z' is not allowed in 'grade' (allowed: A/B/C/D).")]
    assert snapshot(world) == before
    # the same file without the bad row imports in full: the refusal was not for another reason
    good = load(world, "customers", _customers_file(2000))
    assert (good.ok, good.inserted, good.skipped) == (True, 2000, 0)
    # two owners a customer, but 'E002;E002' (667 of the rows) is one binding
    assert world.scalar("SELECT count(*) FROM bindings WHERE customer_code LIKE 'K%'") == 3333


def _visits_file(rows: list[tuple[str, str, str, str]]) -> str:
    lines = ["visit_id,employee_code,customer_code,check_in_at,check_in_lon,check_in_lat,"
             "check_in_source,check_out_at"]
    lines += [f"{v},{e},{c},{t},{C001[0]},{C001[1]},gps," for v, e, c, t in rows]
    return "\n".join(lines) + "\n"


VISITS = [
    ("V1", "E001", "C001", "2024-05-06 09:00:00"),
    ("V2", "E002", "C002", "2024-05-06 10:00:00"),
    ("", "E001", "C003", "2024-05-06 11:00:00"),
    ("", "E003", "C001", "2024-05-07 09:00:00"),
]


def test_visits_import_failing_mid_write_changes_nothing(
    world: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    load(world, "visits", _visits_file(VISITS[:1]))
    before = snapshot(world)
    original = load_visits.insert_new_visits
    inside: list[int] = []

    def insert_then_fail(cur: Any, settings: Any, import_id: int | None) -> int:
        original(cur, settings, import_id)
        inside.append(int(cur.execute("SELECT count(*) FROM visits").fetchone()[0]))
        raise RuntimeError("disk full")

    monkeypatch.setattr(load_visits, "insert_new_visits", insert_then_fail)
    with pytest.raises(RuntimeError, match="disk full"):
        load(world, "visits", _visits_file(VISITS))
    assert inside == [4]  # the rows were written before the failure...
    assert snapshot(world) == before  # ...and rolled back with it
    monkeypatch.undo()
    result = load(world, "visits", _visits_file(VISITS))
    assert (result.ok, result.inserted, result.skipped) == (True, 3, 1)


def test_failure_after_writing_customers_and_bindings_changes_nothing(
    world: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = snapshot(world)

    def fail(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("audit log unavailable")

    monkeypatch.setattr(audit, "record", fail)
    with pytest.raises(RuntimeError, match="audit log unavailable"):
        load(world, "customers", _customers_file(50))
    assert snapshot(world) == before


def test_resent_visits_file_adds_nothing_then_only_new_rows(world: Database) -> None:
    text = _visits_file(VISITS)
    first = load(world, "visits", text)
    assert (first.ok, first.rows, first.inserted, first.skipped) == (True, 4, 4, 0)
    stored = snapshot(world)["visits"]
    preview = load(world, "visits", text, detect_only=True)
    assert (preview.ok, preview.inserted, preview.skipped) == (True, 0, 4)
    again = load(world, "visits", text)
    assert (again.ok, again.rows, again.inserted, again.skipped) == (True, 4, 0, 4)
    assert snapshot(world)["visits"] == stored
    # the same check-in written with an offset is the same visit (key without visit_id)
    same = load(world, "visits", _visits_file([("", "E001", "C003", "2024-05-06T03:00:00Z")]))
    assert (same.inserted, same.skipped) == (0, 1)
    more = [*VISITS, ("V5", "E001", "C001", "2024-05-08 09:00:00"),
            ("", "E002", "C003", "2024-05-06 11:00:00")]
    resent = load(world, "visits", _visits_file(more))
    assert (resent.ok, resent.rows, resent.inserted, resent.skipped) == (True, 6, 2, 4)
    assert world.rows("SELECT visit_id, employee_code, customer_code, check_in_at FROM visits "
                      "ORDER BY check_in_at, employee_code") == [
        ("V1", "E001", "C001", datetime(2024, 5, 6, 9)),
        ("V2", "E002", "C002", datetime(2024, 5, 6, 10)),
        (None, "E001", "C003", datetime(2024, 5, 6, 11)),
        (None, "E002", "C003", datetime(2024, 5, 6, 11)),
        (None, "E003", "C001", datetime(2024, 5, 7, 9)),
        ("V5", "E001", "C001", datetime(2024, 5, 8, 9)),
    ]
    assert world.rows("SELECT rows, inserted, skipped FROM import_history WHERE kind = 'visits' "
                      "ORDER BY import_id") == [(4, 4, 0), (4, 0, 4), (1, 0, 1), (6, 2, 4)]


def test_imports_leave_no_staged_copy_of_the_file(world: Database) -> None:
    """The cursor outlives the import (one per web thread): the file must not stay in memory."""
    cur = world.cursor()

    def staged() -> list[str]:
        return [r[0] for r in cur.execute(
            "SELECT table_name FROM duckdb_tables() WHERE temporary UNION ALL "
            "SELECT view_name FROM duckdb_views() WHERE temporary AND NOT internal").fetchall()]

    gcj = "code,name,longitude,latitude,coord_system\nS1,a,121.5,31.2,gcj02\n"
    load(world, "customers", gcj, detect_only=True)
    assert staged() == []
    assert load(world, "customers", gcj).ok
    assert staged() == []
    assert not load(world, "customers", gcj).ok  # refused: S1 exists now
    assert staged() == []
    assert load(world, "visits", _visits_file(VISITS)).ok
    assert staged() == []


def test_resent_plans_file_adds_nothing(world: Database) -> None:
    text = ("employee_code,date,plan_name,customer_code,route_name\n"
            "E001,2024-05-06,周一,C003,\nE001,2024-05-06,周一,C001,R1\n"
            "E002,2024-05-06,周一,C002,\nE001,2024-05-07,周二,C001,\n")
    first = load(world, "plans", text)
    assert (first.ok, first.inserted, first.skipped) == (True, 4, 0)
    again = load(world, "plans", text)
    assert (again.ok, again.inserted, again.skipped) == (True, 0, 4)
    more = text + "E001,2024-05-06,周一,C002,\n"
    third = load(world, "plans", more)
    assert (third.ok, third.inserted, third.skipped) == (True, 1, 4)
    assert world.rows(
        "SELECT p.employee_code, p.plan_date, p.plan_name, p.route_name, i.position, "
        "i.customer_code FROM plans p JOIN plan_items i USING (plan_id) ORDER BY ALL") == [
        ("E001", date(2024, 5, 6), "周一", "R1", 1, "C003"),
        ("E001", date(2024, 5, 6), "周一", "R1", 2, "C001"),
        ("E001", date(2024, 5, 6), "周一", "R1", 3, "C002"),
        ("E001", date(2024, 5, 7), "周二", None, 1, "C001"),
        ("E002", date(2024, 5, 6), "周一", None, 1, "C002"),
    ]


def test_resent_holidays_file_adds_nothing(world: Database) -> None:
    text = "日期,类型,名称\n2024-10-01,休息,国庆\n2024-10-12,调休上班,\n"
    first = load(world, "holidays", text)
    assert (first.ok, first.inserted, first.skipped) == (True, 2, 0)
    again = load(world, "holidays", text)
    assert (again.ok, again.inserted, again.skipped) == (True, 0, 2)
    assert world.rows("SELECT * FROM holidays ORDER BY day") == [
        (date(2024, 10, 1), "off", "国庆"), (date(2024, 10, 12), "work", None)]


# == 4. coordinate conversions on import ======================================================
def test_customers_are_stored_in_wgs84(world: Database) -> None:
    shanghai = (121.4737, 31.2304)
    bd = geo.gcj02_to_bd09(*geo.wgs84_to_gcj02(*shanghai))
    text = ("code,name,longitude,latitude,coord_system\n"
            "G1,published,116.41024449916938,39.91640428150164,gcj02\n"
            f"G2,baidu,{float(bd[0])!r},{float(bd[1])!r},BD-09\n"
            "G3,wgs,116.404,39.915,wgs84\n"
            "G4,default,116.404,39.915,\n"
            "G5,london,-0.1276,51.5072,gcj02\n")
    assert load(world, "customers", text).ok
    stored = {c: (lon, lat) for c, lon, lat in world.rows(
        "SELECT code, longitude, latitude FROM customers WHERE code LIKE 'G%'")}
    assert haversine(stored["G1"], (116.404, 39.915)) < 0.1
    assert haversine(stored["G2"], shanghai) < 0.1
    assert stored["G3"] == stored["G4"] == (116.404, 39.915)
    assert stored["G5"] == (-0.1276, 51.5072)


def test_visit_both_ends_are_converted(world: Database) -> None:
    load(world, "customers", "code,name,longitude,latitude\nC900,天安门,116.404,39.915\n")
    out_wgs = (116.405, 39.916)
    out_gcj = geo.wgs84_to_gcj02(*out_wgs)
    bd_in = geo.gcj02_to_bd09(116.41024449916938, 39.91640428150164)
    bd_out = geo.gcj02_to_bd09(*out_gcj)
    text = (
        "visit_id,employee_code,customer_code,check_in_at,check_in_lon,check_in_lat,"
        "check_in_source,check_out_at,check_out_lon,check_out_lat,check_out_source,coord_system\n"
        "G,E001,C900,2024-05-06 09:00,116.41024449916938,39.91640428150164,gps,"
        f"2024-05-06 09:30,{float(out_gcj[0])!r},{float(out_gcj[1])!r},net,gcj02\n"
        f"B,E001,C900,2024-05-06 10:00,{float(bd_in[0])!r},{float(bd_in[1])!r},gps,"
        f"2024-05-06 10:30,{float(bd_out[0])!r},{float(bd_out[1])!r},net,bd09\n"
        "W,E001,C900,2024-05-06 11:00,116.404,39.915,gps,2024-05-06 11:30,116.405,39.916,net,\n"
    )
    result = load(world, "visits", text)
    assert result.ok, result.as_json()
    rows = visit_rows(world, "customer_code = 'C900'")
    expected_out = haversine((116.404, 39.915), out_wgs)
    for vid in ("G", "B", "W"):
        row = rows[vid]
        assert haversine((row["check_in_lon"], row["check_in_lat"]), (116.404, 39.915)) < 0.1
        assert haversine((row["check_out_lon"], row["check_out_lat"]), out_wgs) < 0.1
        assert row["check_in_deviation_m"] < 0.1
        assert row["check_out_deviation_m"] == pytest.approx(expected_out, abs=0.1)
        assert row["invalid_mask"] == 0


# == 5. time zones ============================================================================
TZ_FILE = (
    "visit_id,employee_code,customer_code,check_in_at,check_out_at\n"
    "Z,E001,C001,2024-05-06T17:30:00Z,\n"
    "UTC,E001,C001,2024-05-06 17:30:00+00:00,\n"
    "CST,E001,C001,2024-05-06 09:30:00+0800,\n"
    "NAIVE,E001,C001,2024-05-06 09:30:00,\n"
    "NY,E001,C001,2024-05-06T23:59:59-04:00,\n"
    "MIX,E001,C001,2024-05-06T01:00:00Z,2024-05-06 09:12:30+08:00\n"
    "WINTER,E001,C001,2024-01-15 17:30:00+08:00,\n"
)


def _times(db: Database) -> dict[str, tuple[datetime, date, datetime | None, float | None]]:
    return {r[0]: r[1:] for r in db.rows(
        "SELECT visit_id, check_in_at, visit_date, check_out_at, stay_minutes FROM visits")}


def test_offsets_are_stored_as_shanghai_wall_time(world: Database) -> None:
    assert load(world, "visits", TZ_FILE).ok
    assert _times(world) == {
        "Z": (datetime(2024, 5, 7, 1, 30), date(2024, 5, 7), None, None),
        "UTC": (datetime(2024, 5, 7, 1, 30), date(2024, 5, 7), None, None),
        "CST": (datetime(2024, 5, 6, 9, 30), date(2024, 5, 6), None, None),
        "NAIVE": (datetime(2024, 5, 6, 9, 30), date(2024, 5, 6), None, None),
        "NY": (datetime(2024, 5, 7, 11, 59, 59), date(2024, 5, 7), None, None),
        "MIX": (datetime(2024, 5, 6, 9, 0), date(2024, 5, 6), datetime(2024, 5, 6, 9, 12, 30),
                12.5),
        "WINTER": (datetime(2024, 1, 15, 17, 30), date(2024, 1, 15), None, None),
    }


def test_timezone_setting_changes_how_offsets_convert(world: Database) -> None:
    world.execute("UPDATE settings SET value = ? WHERE key = 'timezone'", ['"Europe/London"'])
    assert load(world, "visits", TZ_FILE).ok
    assert _times(world) == {
        "Z": (datetime(2024, 5, 6, 18, 30), date(2024, 5, 6), None, None),  # BST
        "UTC": (datetime(2024, 5, 6, 18, 30), date(2024, 5, 6), None, None),
        "CST": (datetime(2024, 5, 6, 2, 30), date(2024, 5, 6), None, None),
        "NAIVE": (datetime(2024, 5, 6, 9, 30), date(2024, 5, 6), None, None),
        "NY": (datetime(2024, 5, 7, 4, 59, 59), date(2024, 5, 7), None, None),
        "MIX": (datetime(2024, 5, 6, 2, 0), date(2024, 5, 6), datetime(2024, 5, 6, 2, 12, 30),
                12.5),
        "WINTER": (datetime(2024, 1, 15, 9, 30), date(2024, 1, 15), None, None),  # GMT
    }


# == 6. derived visit columns =================================================================
FAR_C001 = {m: north(C001, m) for m in (50, 100, 600, 700, 999, 1200)}


def _derived_file() -> tuple[str, dict[str, tuple[float | None, float | None, float | None]]]:
    """Visits covering each invalid reason and some combinations, and what to expect:
    visit_id -> (stay_minutes, check-in deviation, check-out deviation)."""
    c2_point = (120.0, 30.0)
    spec: list[tuple[str, str, tuple[float, float] | None, str, str, tuple[float, float] | None,
                     str]] = [
        # id, customer, check-in point, source, check-out time, check-out point, source
        ("V01", "C001", FAR_C001[100], "gps", "09:15:00", FAR_C001[50], "net"),
        ("V02", "C001", C001, "gps", "", None, ""),
        ("V03", "C001", C001, "gps", "09:09:59", None, ""),
        ("V04", "C001", None, "", "09:20:00", None, ""),
        ("V05", "C002", c2_point, "gps", "09:20:00", c2_point, "gps"),
        ("V06", "C001", FAR_C001[600], "gps", "09:20:00", None, ""),
        ("V07", "C001", FAR_C001[600], "net", "09:20:00", FAR_C001[1200], "cell"),
        ("V08", "C001", FAR_C001[700], "gps", "09:05:00", FAR_C001[600], "gps"),
        ("V09", "C002", None, "", "", None, ""),
        ("V10", "C001", FAR_C001[999], "cell", "09:10:00", FAR_C001[999], "cell"),
        ("V11", "C003", (121.5, 31.2), "gps", "09:30:00", None, ""),
    ]
    lines = ["visit_id,employee_code,customer_code,check_in_at,check_in_lon,check_in_lat,"
             "check_in_source,check_out_at,check_out_lon,check_out_lat,check_out_source"]
    expected: dict[str, tuple[float | None, float | None, float | None]] = {}
    customers = {"C001": C001, "C003": (121.5, 31.2)}
    for vid, cust, pin, sin, tout, pout, sout in spec:
        out_at = f"2024-05-06 {tout}" if tout else ""
        lines.append(f"{vid},E001,{cust},2024-05-06 09:00:00,{fmt(pin)},{sin},{out_at},"
                     f"{fmt(pout)},{sout}")
        stay = None
        if tout:
            h, m, s = (int(x) for x in tout.split(":"))
            stay = ((h - 9) * 3600 + m * 60 + s) / 60
        where = customers.get(cust)
        expected[vid] = (
            stay,
            haversine(pin, where) if pin and where else None,
            haversine(pout, where) if pout and where else None,
        )
    return "\n".join(lines) + "\n", expected


MASKS = {
    "V01": 0,
    "V02": 1,             # no_checkout
    "V03": 2,             # short_stay (9 min 59 s)
    "V04": 4,             # no_checkin_location
    "V05": 8,             # no_customer_location
    "V06": 16,            # checkin_far (600 m by gps)
    "V07": 32,            # checkout_far (1200 m by cell; 600 m by net is fine)
    "V08": 2 | 16 | 32,   # short, both ends far by gps
    "V09": 1 | 4 | 8,     # no check-out, no check-in location, customer without location
    "V10": 0,             # exactly 10 minutes, 999 m by cell
    "V11": 0,
}


def _masks(db: Database) -> dict[str, int]:
    return dict(db.rows("SELECT visit_id, invalid_mask FROM visits"))


@pytest.fixture
def derived(world: Database) -> Iterator[tuple[Database, dict[str, Any]]]:
    text, expected = _derived_file()
    result = load(world, "visits", text)
    assert result.ok, result.as_json()
    yield world, expected


def test_stay_deviations_and_masks_at_import(derived: tuple[Database, dict[str, Any]]) -> None:
    db, expected = derived
    rows = visit_rows(db)
    for vid, (stay, dev_in, dev_out) in expected.items():
        row = rows[vid]
        for got, want in ((row["stay_minutes"], stay), (row["check_in_deviation_m"], dev_in),
                          (row["check_out_deviation_m"], dev_out)):
            assert (got is None) == (want is None), vid
            if want is not None:
                assert got == pytest.approx(want, rel=1e-9, abs=1e-6), vid
    assert rows["V03"]["stay_minutes"] == pytest.approx(599 / 60, abs=1e-12)
    assert rows["V03"]["stay_minutes"] < 10
    assert rows["V01"]["check_in_deviation_m"] == pytest.approx(100, abs=1e-6)
    assert _masks(db) == MASKS
    assert {vid: derive.reasons_of(mask) for vid, mask in MASKS.items() if mask} == {
        "V02": ["no_checkout"],
        "V03": ["short_stay"],
        "V04": ["no_checkin_location"],
        "V05": ["no_customer_location"],
        "V06": ["checkin_far"],
        "V07": ["checkout_far"],
        "V08": ["short_stay", "checkin_far", "checkout_far"],
        "V09": ["no_checkout", "no_checkin_location", "no_customer_location"],
    }
    assert derive.REASONS == ("no_checkout", "short_stay", "no_checkin_location",
                              "no_customer_location", "checkin_far", "checkout_far")


def test_fractional_stay_from_fractional_seconds(world: Database) -> None:
    load(world, "visits", "visit_id,employee_code,customer_code,check_in_at,check_out_at\n"
         "F,E001,C001,2024-05-06 09:00:00.250,2024-05-06 09:10:00\n")
    stay, mask = world.rows("SELECT stay_minutes, invalid_mask FROM visits")[0]
    assert stay == pytest.approx(599.75 / 60, abs=1e-12)
    assert derive.reasons_of(mask) == ["short_stay", "no_checkin_location"]


def test_limits_are_inclusive(derived: tuple[Database, dict[str, Any]]) -> None:
    db, _ = derived
    settings = business_settings.load(db)
    distance = db.scalar("SELECT check_in_deviation_m FROM visits WHERE visit_id = 'V06'")
    assert distance == pytest.approx(600, abs=1e-6)
    business_settings.save(db, dataclasses.replace(settings, deviation_limit_gps_m=distance), "t")
    assert _masks(db)["V06"] == 0  # exactly at the limit: valid
    business_settings.save(
        db, dataclasses.replace(settings, deviation_limit_gps_m=math.nextafter(distance, 0)), "t")
    assert _masks(db)["V06"] == 16  # a hair below: far
    business_settings.save(db, dataclasses.replace(settings, min_valid_stay_minutes=599 / 60), "t")
    assert _masks(db)["V03"] == 0  # stay exactly the minimum: valid


def test_refresh_validity_after_a_settings_change(
    derived: tuple[Database, dict[str, Any]],
) -> None:
    db, _ = derived
    settings = business_settings.load(db)
    changed = business_settings.save(
        db, dataclasses.replace(settings, min_valid_stay_minutes=5.0), "t")
    assert changed == ["min_valid_stay_minutes"]
    assert _masks(db) == MASKS | {"V03": 0, "V08": 16 | 32}
    settings = business_settings.load(db)
    business_settings.save(db, dataclasses.replace(
        settings, deviation_limit_gps_m=800.0, deviation_limit_cell_m=900.0), "t")
    assert _masks(db) == MASKS | {"V03": 0, "V06": 0, "V07": 32, "V08": 0, "V10": 16 | 32}
    business_settings.save(db, business_settings.BusinessSettings(), "t")
    assert _masks(db) == MASKS


def test_refresh_validity_after_a_customer_moves(
    derived: tuple[Database, dict[str, Any]],
) -> None:
    db, _ = derived
    settings = business_settings.load(db)
    other = {vid: row for vid, row in visit_rows(db, "customer_code <> 'C001'").items()}
    moved = FAR_C001[600]
    with db.transaction() as cur:
        cur.execute("UPDATE customers SET longitude = ?, latitude = ? WHERE code = 'C001'",
                    list(moved))
        derive.refresh_validity(cur, settings, ["C001"])
    rows = visit_rows(db)
    assert rows["V06"]["check_in_deviation_m"] == pytest.approx(0, abs=1e-6)
    assert rows["V01"]["check_in_deviation_m"] == pytest.approx(
        haversine(FAR_C001[100], moved), rel=1e-9)
    assert rows["V07"]["check_out_deviation_m"] == pytest.approx(
        haversine(FAR_C001[1200], moved), rel=1e-9)
    assert rows["V02"]["check_in_deviation_m"] == pytest.approx(600, abs=1e-6)
    assert _masks(db) == MASKS | {
        "V01": 16,            # 500 m from the new place by gps
        "V02": 1 | 16,
        "V03": 2 | 16,
        "V06": 0,
        "V07": 0,             # 0 m by net, 600 m by cell
        "V08": 2,             # 100 m and 0 m now
        "V10": 0,             # 399 m by cell
    }
    assert visit_rows(db, "customer_code <> 'C001'") == other
    with db.transaction() as cur:
        cur.execute("UPDATE customers SET longitude = NULL, latitude = NULL WHERE code = 'C001'")
        derive.refresh_validity(cur, settings, ["C001"])
    rows = visit_rows(db)
    assert all(rows[v]["check_in_deviation_m"] is None for v in ("V01", "V02", "V06"))
    assert _masks(db) == MASKS | {
        "V01": 8, "V02": 1 | 8, "V03": 2 | 8, "V04": 4 | 8, "V06": 8, "V07": 8,
        "V08": 2 | 8, "V10": 8,
    }
