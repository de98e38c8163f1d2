"""create_app(settings): the Dash app with its shell, pages, login and downloads.

No callbacks live here: the shell's, the filter bar's and each page's are defined next to
their components. The app opens the process's single Database and keeps it on the Flask
app (dashboard.context), so every request thread gets its own cursor on that connection.
"""

from __future__ import annotations

import importlib
import json
import os
import re
from pathlib import Path
from typing import Any

import dash
from markupsafe import escape

from dashboard import i18n
from dashboard.api import init_api
from dashboard.auth import init_auth
from dashboard.components import basemap, widgets
from dashboard.context import attach
from dashboard.downloads import init_downloads
from dashboard.settings import Settings
from pipelines.upgrade import upgrade

ASSETS = Path(__file__).resolve().parent / "assets"
PAGE_MODULES: tuple[str, ...] = (
    "home",
    "visits",
    "customers_visited",
    "map",
    "customers",
    "customers_import",
    "assignments",
    "plans",
    "settings_page",
    "audit",
    "not_found_404",
)

# Dash's index page without the IE warning (an inline script CSP would have to allow).
INDEX_STRING = """<!DOCTYPE html>
<html lang="{%html_lang%}">
    <head>
        {%metas%}
        <title>{%title%}</title>
        {%favicon%}
        {%css%}
    </head>
    <body>
        {%app_entry%}
        <footer>
            {%config%}
            {%scripts%}
            {%renderer%}
        </footer>
    </body>
</html>"""


class VisitLensDash(dash.Dash):
    """Dash with an index page in the request's language (html lang, loading text)."""

    def interpolate_index(
        self,
        metas: Any = "",
        title: Any = "",
        css: Any = "",
        config: Any = "",
        scripts: Any = "",
        app_entry: Any = "",
        favicon: Any = "",
        renderer: Any = "",
    ) -> Any:
        html = super().interpolate_index(
            metas=metas, title=title, css=css, config=config, scripts=scripts,
            app_entry=app_entry, favicon=favicon, renderer=renderer,
        )
        lang = i18n.HTML_LANG[i18n.current_language()]
        texts = escape(json.dumps(widgets.client_texts(), ensure_ascii=False))
        return (
            html.replace("{%html_lang%}", lang, 1)
            .replace("Loading...", i18n.gettext("Loading…"), 1)
            .replace("<head>", f'<head>\n<meta name="visitlens-texts" content="{texts}">', 1)
        )


def create_app(settings: Settings) -> dash.Dash:
    """Build the web app for one process.

    Opens ONE Database (settings.db_path), compiles the translations (a broken catalog
    stops here, not at the first request), sets up login and the request guard, registers
    the download routes and imports the page modules, which register themselves.
    """
    db = settings.open_database()
    upgrade(db)  # an older database gets its migrations (pipelines.upgrade)
    if settings.embedded:
        tune_served_duckdb(db, settings.duckdb_memory_limit)
    i18n.load_all()
    app = VisitLensDash(
        __name__,
        use_pages=True,
        pages_folder="",
        assets_folder=str(ASSETS),
        serve_locally=True,
        suppress_callback_exceptions=True,
        include_pages_meta=False,
        title="VisitLens",
        update_title="",
        index_string=INDEX_STRING,
        enable_mcp=False,
    )
    server = app.server
    server.debug = False
    server.config["MAX_CONTENT_LENGTH"] = _max_request_bytes(settings.max_upload_mb)
    compress_responses(server)
    basemap.cache_versioned_assets(server)
    attach(server, db, settings)
    init_auth(app, settings, db)
    init_downloads(server)
    init_api(server)
    for name in PAGE_MODULES:
        importlib.import_module(f"dashboard.pages.{name}")
    from dashboard.components import shell

    widgets.localise_page_layouts(dash.page_registry)

    app.layout = shell.layout
    return app


def compress_responses(server: Any) -> None:
    """Compress what the server sends (issue 15: 8.7 MB of JavaScript on a first load).

    zstd, brotli or gzip, as the browser accepts. Responses are compressed as they are
    sent, so the levels are fast ones: brotli's default (4) takes 0.7 s of CPU on Plotly's
    4.8 MB bundle, level 1 takes 70 ms for a file 18 % larger; zstd 3 takes 55 ms.
    """
    from flask_compress import Compress

    server.config.update(COMPRESS_ALGORITHM=["zstd", "br", "gzip"], COMPRESS_BR_LEVEL=1,
                         COMPRESS_ZSTD_LEVEL=3, COMPRESS_LEVEL=6)
    Compress(server)


# DuckDB of the served process (issue 8). The buffer pool otherwise grows to 80 % of the
# machine's memory, caching table blocks the OS page cache holds anyway: 1.6 GB resident
# after a load test on the large demo. 1 GB keeps the process under 1.5 GB with Python,
# Dash and the request threads; bigger operators spill to DATABASE.tmp instead of failing.
DUCKDB_MEMORY_LIMIT = "1GB"
_MEMORY = re.compile(r"^\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)$", re.IGNORECASE)


def tune_served_duckdb(db: Any, memory_limit: str = DUCKDB_MEMORY_LIMIT) -> None:
    """Settings for a DuckDB serving many small concurrent requests on few cores.

    threads = the CPUs this process may run on (not the host's count a container may
    report): several request threads run queries at once, so more DuckDB workers than
    cores would only add switching. The settings are global to the process's database.
    """
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    db.execute(f"SET threads = {max(1, int(cores or 1))}")
    if not _MEMORY.match(memory_limit.strip()):
        raise ValueError(f"VISITLENS_DUCKDB_MEMORY must be a size like 1GB, not {memory_limit!r}")
    db.execute(f"SET memory_limit = '{memory_limit.strip()}'")


def _max_request_bytes(max_upload_mb: int) -> int:
    """Largest request body: an upload travels base64-encoded in a callback (4/3 larger)."""
    return int(max_upload_mb * 1024 * 1024 * 4 / 3) + 1024 * 1024
