"""The command line on ClickHouse: `visitlens clickhouse copy` moves an archive, and every
`visitlens report` prints the same rows on both engines (as each user, so the scope holds).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from pipelines.generate import build_demo

pytest.importorskip("chdb")

VISITLENS = str(Path(sys.executable).with_name("visitlens"))
REPORTS = (("ranking",), ("detail",), ("trend",), ("trend", "--granularity", "week"),
           ("frequency",), ("grades",), ("summary",), ("summary", "--by", "employee"))


def run(args: list[str], env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("VISITLENS_")}
    return subprocess.run([VISITLENS, *args], capture_output=True, text=True,
                          env=clean | (env or {}), timeout=300)


def test_copy_then_every_report_is_the_same(tmp_path: Path) -> None:
    demo = tmp_path / "demo.duckdb"
    build_demo(str(demo), size="small", seed=5, samples_dir=None, anchor=date(2024, 6, 30))
    url = f"chdb:{tmp_path / 'clickhouse'}"
    copied = run(["--db", str(demo), "clickhouse", "copy", str(demo), "--url", url, "--json"])
    assert copied.returncode == 0, copied.stderr
    assert json.loads(copied.stdout)["visits"] > 10_000
    again = run(["--db", str(demo), "clickhouse", "copy", str(demo), "--url", url])
    assert again.returncode != 0 and "not empty" in again.stderr

    engine = {"VISITLENS_ENGINE": "clickhouse", "VISITLENS_CLICKHOUSE_URL": url}
    for user in ("admin", "supervisor", "analyst"):
        for report in REPORTS:
            args = ["report", *report, "--from", "2024-06-01", "--to", "2024-06-30",
                    "--as", user, "--format", "csv"]
            on_duckdb = run(["--db", str(demo), *args])
            on_clickhouse = run(["--db", str(tmp_path / "absent.duckdb"), *args], engine)
            assert on_duckdb.returncode == 0, on_duckdb.stderr
            assert on_clickhouse.returncode == 0, (report, user, on_clickhouse.stderr[-2000:])
            assert on_clickhouse.stdout == on_duckdb.stdout, (report, user)
            assert on_duckdb.stdout.count("\n") > 1, (report, user)
