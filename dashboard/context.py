"""Per-process objects of the web app, reached through the Flask app instead of globals.

create_app() opens one Database and keeps it, with the Settings, in ``server.extensions``;
pages, callbacks and routes reach them here, so no module holds mutable state and two apps
in one process (tests) never share a connection by accident.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from flask import Flask, current_app

if TYPE_CHECKING:
    from dashboard.jobs import JobRegistry
    from dashboard.settings import Settings
    from pipelines.store import Store

DB_KEY = "visitlens_db"
JOBS_KEY = "visitlens_jobs"
SETTINGS_KEY = "visitlens_settings"


def attach(server: Flask, db: Store, settings: Settings) -> None:
    """Keep the process's Database and Settings on the Flask app."""
    server.extensions[DB_KEY] = db
    server.extensions[SETTINGS_KEY] = settings
    from dashboard.jobs import JobRegistry, SharedJobRegistry

    # DuckDB: one process, jobs in memory. ClickHouse: any process may answer a poll.
    server.extensions[JOBS_KEY] = JobRegistry() if settings.embedded \
        else SharedJobRegistry(db, settings.job_folder)


def get_db() -> Store:
    """The process's Database (inside a request or app context)."""
    return cast("Store", current_app.extensions[DB_KEY])


def get_settings() -> Settings:
    """The process's Settings (inside a request or app context)."""
    return cast("Settings", current_app.extensions[SETTINGS_KEY])


def get_jobs() -> JobRegistry:
    """The process's registry of long work (exports, imports)."""
    return cast("JobRegistry", current_app.extensions[JOBS_KEY])
