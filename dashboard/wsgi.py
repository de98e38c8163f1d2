"""The WSGI application for servers that run several worker processes.

``gunicorn -w 4 dashboard.wsgi:application`` (or any WSGI server) with the settings in the
environment (``VISITLENS_ENGINE=clickhouse``, ``VISITLENS_CLICKHOUSE_URL``,
``VISITLENS_JOB_DIR``): every worker builds its own app on the shared store. On DuckDB only
one process may open the file, so use ``visitlens serve`` (one process, many threads).
"""

from __future__ import annotations

from dashboard.app import create_app
from dashboard.settings import Settings

application = create_app(Settings.from_env()).server
