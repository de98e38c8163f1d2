"""Two VisitLens apps on one chDB store, in a fresh process: `python -m tests.parity.two_apps
SOURCE.duckdb CHDB_FOLDER JOB_DIR` copies SOURCE into chDB, serves two complete apps (what
two web processes would be) and prints their URLs, one per line, until it is stopped.

chDB allows one folder per process, so the two "web processes" share this interpreter;
each still has its own app, Database object, job registry and request threads. Dash keeps
the callbacks that pages declare in module globals that the first app takes over on its
first request: they are handed to the second app too, as a second process would import
them itself.
"""

from __future__ import annotations

import sys
import threading

from dash import _callback
from waitress import create_server

from dashboard.app import create_app
from dashboard.settings import Settings
from pipelines.clickhouse.copy import copy_archive
from pipelines.clickhouse.database import ClickHouseDatabase
from pipelines.db import Database


def main() -> None:
    source, folder, job_dir = sys.argv[1:4]
    url = f"chdb:{folder}?database=stateless"
    with Database(source, read_only=True) as duck:
        target = ClickHouseDatabase(url)
        copy_archive(duck, target)
        target.close()
    settings = Settings(engine="clickhouse", clickhouse_url=url, job_dir=job_dir)
    first = create_app(settings)
    declared = dict(_callback.GLOBAL_CALLBACK_MAP), list(_callback.GLOBAL_CALLBACK_LIST)
    second = create_app(settings)
    first.server.test_client().get("/login")  # its first request takes the callbacks
    _callback.GLOBAL_CALLBACK_MAP.update(declared[0])
    _callback.GLOBAL_CALLBACK_LIST.extend(declared[1])
    second.server.test_client().get("/login")
    for app in (first, second):
        server = create_server(app.server, host="127.0.0.1", port=0, threads=4)
        threading.Thread(target=server.run, daemon=True).start()
        print(f"http://127.0.0.1:{server.effective_port}", flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    main()
