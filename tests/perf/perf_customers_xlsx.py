"""Performance sanity: a 100 000-row customers XLSX, detect and import timed with perf_counter.

Usage: .venv/bin/python /tmp/perf/perf_customers_xlsx.py [rows]
"""

from __future__ import annotations

import io
import random
import sys
import tempfile
import time
from pathlib import Path

import xlsxwriter

from pipelines import formats
from pipelines.business_settings import load
from pipelines.db import Database
from pipelines.imports import run_import
from pipelines.upgrade import upgrade
from pipelines.validate import detect

HEADERS = ["客户编码", "客户名称", "客户等级", "地址", "经度", "纬度", "坐标系", "联系人", "电话",
           "所属部门编码", "负责人工号", "备注"]


def build_xlsx(rows: int) -> bytes:
    rng = random.Random(7)
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True, "constant_memory": True})
    sheet = book.add_worksheet("customers")
    sheet.write_row(0, 0, HEADERS)
    systems = ["", "wgs84", "gcj02", "bd09"]
    for i in range(rows):
        r = i + 1
        sheet.write_string(r, 0, f"{i:07d}")
        sheet.write_string(r, 1, f"上海市浦东新区客户{i}号商行")
        sheet.write_string(r, 2, "ABCD"[i % 4] if i % 5 else "")
        sheet.write_string(r, 3, f"上海市浦东新区世纪大道{i % 999}号{i % 30}楼")
        sheet.write_number(r, 4, round(121.0 + rng.random(), 6))
        sheet.write_number(r, 5, round(31.0 + rng.random(), 6))
        sheet.write_string(r, 6, systems[i % 4])
        sheet.write_string(r, 7, f"联系人{i % 1000}")
        sheet.write_number(r, 8, 13800000000 + i)
        sheet.write_string(r, 9, ["B11", "B12", "B21", ""][i % 4])
        sheet.write_string(r, 10, f"E00{1 + i % 3};E00{1 + (i + 1) % 3}" if i % 7 else "")
        sheet.write_string(r, 11, "重点客户\n每周拜访" if i % 11 == 0 else "")
    book.close()
    return buffer.getvalue()


def main() -> None:
    rows = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    t = time.perf_counter()
    data = build_xlsx(rows)
    print(f"built {rows} rows, {len(data) / 2**20:.1f} MB in {time.perf_counter() - t:.2f} s")
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(Path(tmp) / "perf.duckdb")
        upgrade(db)
        run_import(db, "departments", "code,name,parent_code\nHQ,总部,\nB11,a,HQ\nB12,b,HQ\n"
                   "B21,c,HQ\n".encode(), "d.csv")
        run_import(db, "employees", b"code,name,department_code\nE001,a,B11\nE002,b,B12\n"
                   b"E003,c,B21\n", "e.csv")
        t = time.perf_counter()
        raw = formats.read_file("customers", data, "customers.xlsx")
        t_read = time.perf_counter() - t
        t = time.perf_counter()
        problems, _ = detect(db.cursor(), raw, load(db))
        t_checks = time.perf_counter() - t
        assert not problems, problems[:5]
        t = time.perf_counter()
        preview = run_import(db, "customers", data, "customers.xlsx", detect_only=True)
        t_detect = time.perf_counter() - t
        assert preview.ok and preview.inserted == rows, preview.as_json()["problems"][:5]
        t = time.perf_counter()
        result = run_import(db, "customers", data, "customers.xlsx", "perf")
        t_import = time.perf_counter() - t
        assert result.ok and result.inserted == rows
        print(f"formats.read_file {t_read:.2f} s; validate.detect on the read table {t_checks:.2f} s")
        print(f"detect (run_import detect_only) {t_detect:.2f} s")
        print(f"import (run_import: read, detect, write, one transaction) {t_import:.2f} s")
        print(f"detect + import {t_detect + t_import:.2f} s")
        print("customers", db.scalar("SELECT count(*) FROM customers"),
              "bindings", db.scalar("SELECT count(*) FROM bindings"))
        db.close()


if __name__ == "__main__":
    main()
