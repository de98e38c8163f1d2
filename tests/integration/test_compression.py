"""Responses travel compressed and hashed assets stay cached for a year (issue 15 item 15)."""

from __future__ import annotations

import gzip
import re
from collections.abc import Iterator

import brotli
import pytest
import requests

from tests.live import ADMIN, LiveServer, build_database, live_server, login_with

SUITE = re.compile(r'src="(/_dash-component-suites/dash/dash-renderer/build/[^"]+\.js)"')


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    path = build_database(tmp_path_factory.mktemp("compression") / "compression.duckdb")
    with live_server(path) as running:
        yield running


@pytest.fixture(scope="module")
def session(server: LiveServer) -> requests.Session:
    browser = requests.Session()
    assert login_with(server.url, browser, ADMIN.username, ADMIN.password).status_code == 302
    return browser


def raw(session: requests.Session, url: str, encoding: str) -> requests.Response:
    """A GET whose body is left as sent (requests would decode gzip itself)."""
    return session.get(url, headers={"Accept-Encoding": encoding}, stream=True, timeout=30)


@pytest.mark.parametrize(("encoding", "decode"), [
    ("br", brotli.decompress), ("gzip", gzip.decompress)])
def test_scripts_are_compressed_and_hashed_ones_cached_for_a_year(
    server: LiveServer, session: requests.Session, encoding: str, decode: object
) -> None:
    page = session.get(server.url + "/visits", timeout=30).text
    script = SUITE.search(page)
    assert script, "the index page names the renderer's fingerprinted bundle"
    response = raw(session, server.url + script.group(1), encoding)
    body = response.raw.read()
    assert response.headers["Content-Encoding"] == encoding
    plain = decode(body)  # type: ignore[operator]
    assert len(body) < len(plain) / 2
    assert "max-age=31536000" in response.headers["Cache-Control"]
    assert "Accept-Encoding" in response.headers["Vary"]


def test_pages_and_layouts_are_compressed(server: LiveServer, session: requests.Session) -> None:
    for path in ("/visits", "/_dash-layout", "/_dash-dependencies"):
        response = raw(session, server.url + path, "gzip, deflate, br, zstd")
        assert response.headers.get("Content-Encoding") == "zstd", path
        assert "no-store" in response.headers["Cache-Control"], path
