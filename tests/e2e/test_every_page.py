"""Every page, as every role, in both languages, in one real Chromium (issue 15, Done when).

On the small demo (`visitlens demo --size small`: admin, supervisor, analyst) each page
must load without a console error or page error, and show nothing that is not in the
page's language: in Chinese no Latin word, in English no Chinese, in the visible text, the
placeholders and titles, the open date picker's calendar and a multi-select's count, unless
the word comes from the data (codes and names read from the database), from the catalog's
own Chinese (CSV, Excel, GPS) or is a name (the app's, the languages' in the switch, the
configured tile attribution). A
screenshot of every page x role x language goes to test-artifacts/every-page/.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import duckdb
import pytest

from dashboard import i18n
from dashboard.components.page import APP_NAME
from dashboard.settings import Settings
from pipelines.generate import LOGINS, build_demo
from tests.live import LiveServer, live_server

pytestmark = pytest.mark.e2e

PAGES = ("/visits", "/customers/visited", "/map", "/customers", "/customers/import",
         "/assignments", "/plans", "/settings", "/audit")
REPORTS = ("/visits", "/customers/visited", "/map")  # with the shared date range picker
LANGUAGES = {"zh": "zh-CN", "en": "en-US"}  # the browser's language picks the app's


LATIN_WORD = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
HAN_RUN = re.compile(r"[\u3400-\u9fff]+")
PLACEHOLDER = re.compile(r"\{[a-z_]+\}")

VISIBLE_TEXT = """() => {
  const out = [];
  const shown = (el) => {
    const style = getComputedStyle(el);
    return el.getClientRects().length && style.visibility !== 'hidden'
      && style.display !== 'none';
  };
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const text = node.textContent.trim();
    const el = node.parentElement;
    if (text && el && !el.closest('script,style') && shown(el)) out.push(text);
  }
  for (const el of document.querySelectorAll('[placeholder],[title]')) {
    for (const attr of ['placeholder', 'title']) {
      const value = el.getAttribute(attr);
      if (value && shown(el)) out.push(value);
    }
  }
  return out;
}"""


@dataclass(frozen=True)
class World:
    """The demo database and what may appear in any language: its data's words."""

    path: Path
    data_words: frozenset[str]
    employees: dict[str, tuple[str, str]]  # username -> two employee codes in scope


def _words(values: list[str]) -> set[str]:
    words: set[str] = set()
    for value in values:
        words.update(LATIN_WORD.findall(value))
        words.update(HAN_RUN.findall(value))
    return words


def _column_values(con: duckdb.DuckDBPyConnection, sql: str) -> list[str]:
    return [str(v) for (v,) in con.execute(sql).fetchall() if v is not None]


DATA_SQL = (
    "SELECT code FROM departments UNION ALL SELECT name FROM departments",
    "SELECT code FROM employees UNION ALL SELECT name FROM employees",
    "SELECT unnest([code, name, grade, address, contact, phone, note]) FROM customers",
    "SELECT name FROM holidays",
    "SELECT plan_name FROM plans UNION ALL SELECT route_name FROM plans",
    "SELECT route_name FROM routes",
    "SELECT username FROM users",
    "SELECT filename FROM import_history",
    "SELECT value FROM settings WHERE key NOT IN ('demo', 'secret_key')",
)


def _two_employees(con: duckdb.DuckDBPyConnection, department: str | None) -> tuple[str, str]:
    rows = con.execute(
        "SELECT e.code FROM employees e WHERE ? IS NULL OR e.department_code IN "
        "(SELECT descendant_code FROM department_tree WHERE ancestor_code = ?) "
        "ORDER BY e.code LIMIT 2", [department, department]).fetchall()
    return rows[0][0], rows[1][0]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    path = tmp_path_factory.mktemp("every-page") / "demo.duckdb"
    build_demo(str(path), size="small", samples_dir=None)
    con = duckdb.connect(str(path), read_only=True)
    try:
        data = [v for sql in DATA_SQL for v in _column_values(con, sql)]
        employees = {user: _two_employees(con, dep) for user, _pw, _role, dep in LOGINS}
    finally:
        con.close()
    return World(path, frozenset(_words(data)), employees)


@pytest.fixture(scope="module")
def demo_server(world: World) -> Iterator[LiveServer]:
    with live_server(world.path) as running:
        yield running


def catalog_latin_words() -> set[str]:
    """Latin words the Chinese catalog itself uses (CSV, Excel, GPS), placeholders aside."""
    return {w for _id, text in i18n.catalog_messages("zh")
            for w in LATIN_WORD.findall(PLACEHOLDER.sub(" ", text))}


def names() -> set[str]:
    """Names that stay as they are in every language: the app's, the languages' and the
    map tiles' attribution the deployment configures (VISITLENS_TILE_ATTRIBUTION)."""
    return _words([APP_NAME, *i18n.LANGUAGE_NAMES.values(), Settings().tile_attribution])


def foreign_words(texts: list[str], lang: str, allowed: set[str]) -> list[str]:
    """The words of `texts` that are not in `lang` and not allowed (data, names)."""
    pattern = LATIN_WORD if lang == "zh" else HAN_RUN
    return sorted({w for text in texts for w in pattern.findall(text) if w not in allowed})


def test_foreign_words_finds_english_in_chinese_and_chinese_in_english() -> None:
    """The checker itself: what it must catch, what it must let through."""
    allowed = {"E00001", "VisitLens", "上海分公司"}
    assert foreign_words(["无显示行", "No Rows To Show", "E00001 张三"], "zh", allowed) == [
        "No", "Rows", "Show", "To"]
    assert foreign_words(["Department: 上海分公司", "共享"], "en", allowed) == ["共享"]
    assert "employee" not in catalog_latin_words()  # "{employee}" is a placeholder
    assert {"CSV", "Excel"} <= catalog_latin_words()


# Grid headers whose text is cut off ("Custom…"): their label is wider than its cell.
CUT_HEADERS = """() => [...document.querySelectorAll('.ag-header-cell-text')]
  .filter((el) => el.offsetParent !== null && el.scrollWidth > el.clientWidth + 1)
  .map((el) => el.textContent.trim())"""


def _settle(page: Any) -> None:
    """Wait until the page's callbacks are answered and nothing is loading."""
    page.wait_for_load_state("networkidle")
    page.wait_for_function(
        "() => !document.querySelector('[data-dash-is-loading=\"true\"]')", timeout=20_000)


def _login(page: Any, server: LiveServer, user: str, password: str) -> None:
    page.goto(server.url + "/login")
    page.fill("#username", user)
    page.fill("#password", password)
    page.click(".vl-login-card button[type=submit]")
    page.wait_for_url(re.compile(r".*/visits.*"))


def _widget_texts(page: Any, path: str, shot: Path) -> list[str]:
    """Open what only shows its texts when opened: the date range's calendar."""
    if path not in REPORTS:
        return []
    page.locator(".vl-filter-dates input").first.click()
    page.wait_for_selector(".dash-datepicker-calendar-month-header", timeout=5_000)
    texts: list[str] = page.evaluate(VISIBLE_TEXT)
    if path == REPORTS[0]:
        page.screenshot(path=str(shot))
    page.keyboard.press("Escape")
    return texts


def test_every_page_every_role_both_languages(
    demo_server: LiveServer, world: World, chromium: Any, artifacts: Path
) -> None:
    shots = artifacts / "every-page"
    shots.mkdir(exist_ok=True)
    tile_host = urlsplit(Settings().tile_url.replace("{s}", "a")).hostname or ""
    allowed = {
        "zh": set(world.data_words) | catalog_latin_words() | names(),
        "en": set(world.data_words) | names(),
    }
    failures: list[str] = []
    started = time.monotonic()
    for lang, browser_locale in LANGUAGES.items():
        for user, password, _role, _department in LOGINS:
            context = chromium.new_context(locale=browser_locale,
                                           viewport={"width": 1400, "height": 900})
            page = context.new_page()
            errors: list[str] = []

            def on_console(message: Any, errors: list[str] = errors) -> None:
                url = (message.location or {}).get("url", "")
                # This machine has no internet: the map's tiles cannot load. Not a defect.
                if message.type == "error" and not (tile_host and tile_host in url):
                    errors.append(message.text)

            page.on("console", on_console)
            page.on("pageerror", lambda exc, errors=errors: errors.append(str(exc)))
            try:
                _login(page, demo_server, user, password)
                for path in PAGES:
                    errors.clear()
                    first, second = world.employees[user]
                    query = f"?employees={first},{second}" if path == "/visits" else ""
                    page.goto(demo_server.url + path + query)
                    _settle(page)
                    name = f"{path.strip('/').replace('/', '-')}-{user}-{lang}"
                    texts = page.evaluate(VISIBLE_TEXT) + _widget_texts(
                        page, path, shots / f"{name}-calendar.png")
                    page.screenshot(path=str(shots / f"{name}.png"), full_page=True)
                    if errors:
                        failures.append(f"{name}: console errors {list(errors)}")
                    cut = page.evaluate(CUT_HEADERS)
                    if cut:
                        failures.append(f"{name}: grid headers cut off: {cut}")
                    foreign = foreign_words(texts, lang, allowed[lang])
                    if foreign:
                        failures.append(f"{name}: not in {lang}: {foreign}")
            finally:
                context.close()
    assert not failures, "\n".join(failures)
    assert time.monotonic() - started < 180, "the walk should stay under 3 minutes"


def test_first_load_asks_for_each_grid_block_once(
    demo_server: LiveServer, chromium: Any
) -> None:
    """Issue 15 item 15: the page callbacks' initial calls bumped the grids' versions, so
    each grid asked for its first rows twice on every first load; and /visits asked the
    server for the tab styles and the hidden detail grid's version, which its layout has."""
    context = chromium.new_context(locale="zh-CN", viewport={"width": 1400, "height": 900})
    page = context.new_page()
    asked: list[str] = []
    outputs: list[str] = []

    def on_request(request: Any) -> None:
        if "_dash-update-component" in request.url and request.post_data:
            output = str(json.loads(request.post_data).get("output", ""))
            outputs.append(output)
            if "getRowsResponse" in output:
                asked.append(output.strip(".").split(".")[0])

    try:
        user, password, _role, _department = LOGINS[0]
        _login(page, demo_server, user, password)
        for path, grids in (("/visits", {"vl-visits-ranking-grid"}),
                            ("/customers/visited", {"vl-cv-summary-grid", "vl-cv-list-grid"})):
            page.on("request", on_request)
            page.goto(demo_server.url + path)
            _settle(page)
            page.wait_for_timeout(500)
            page.remove_listener("request", on_request)
            for grid in grids:
                assert asked.count(grid) == 1, (path, asked)
            if path == "/visits":
                assert not [o for o in outputs if "vl-visits-detail-grid-version" in o
                            or "vl-visits-ranking-section.style" in o], outputs
            asked.clear()
            outputs.clear()
    finally:
        context.close()
