"""A stand-in for a ClickHouse server's HTTP interface, backed by chDB, for the tests.

No ClickHouse server is reachable here, so this serves the part of the HTTP protocol
VisitLens's HTTP store uses: POST / with the query in the body (or in ``query`` with the
rows to insert in the body as ArrowStream), ``database``, ``param_<name>`` values,
settings as URL parameters, ``default_format=ArrowStream``; errors answer 500 with
ClickHouse's message. It checks the client side of the protocol, not ClickHouse's server.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pyarrow as pa
from chdb import session

SETTINGS = {"join_use_nulls", "prefer_column_name_to_alias", "session_timezone",
            "allow_experimental_lightweight_update", "mutations_sync",
            "lightweight_deletes_sync", "data_type_default_nullable"}


@contextmanager
def fake_clickhouse(folder: str) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """Serve chDB on `folder` over HTTP; yields (base URL, the requests seen)."""
    store = session.Session(folder)
    lock = threading.Lock()
    seen: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_POST(self) -> None:  # the http.server API
            query = {k: v[0] for k, v in parse_qs(urlsplit(self.path).query).items()}
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            params = {k[6:]: v for k, v in query.items() if k.startswith("param_")}
            seen.append({"query": query, "auth": self.headers.get("Authorization")})
            summary = "{}"
            try:
                with lock:
                    store.query(f"USE {query.get('database', 'default')}")
                    for name in SETTINGS & set(query):
                        value = query[name]
                        store.query(f"SET {name} = " + (f"'{value}'" if name ==
                                                         "session_timezone" else value))
                    if "query" in query:  # INSERT ... FORMAT ArrowStream, rows in the body
                        rows = pa.ipc.open_stream(io.BytesIO(body)).read_all()  # noqa: F841
                        table = query["query"].split()[2]
                        store.query(f"INSERT INTO {table} SELECT * FROM Python(rows)")
                        answer = b""
                    elif body.decode().lstrip()[:6].upper() == "INSERT":
                        done = store.query(body.decode(), "CSV", params=params or None)
                        answer = b""
                        summary = f'{{"written_rows":"{done.rows_written()}"}}'
                    else:
                        answer = store.query(body.decode(), "ArrowStream",
                                             params=params or None).bytes()
            except RuntimeError as exc:
                self.send_response(500)
                self.end_headers()
                self.wfile.write(str(exc).encode())
                return
            self.send_response(200)
            self.send_header("X-ClickHouse-Summary", summary)
            self.end_headers()
            self.wfile.write(answer)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        store.close()
