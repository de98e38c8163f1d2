"""Login, the request guard, CSRF defences, scope and language over real HTTP.

Every request here goes to `visitlens serve` running in a subprocess (tests/live.py), the
way a browser or an attacker would send it.
"""

from __future__ import annotations

import html
import io
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from flask import Flask
from python_calamine import CalamineWorkbook

from dashboard import auth
from dashboard.context import attach
from dashboard.settings import Settings
from tests.live import (
    ADMIN,
    ANALYST,
    NOBODY,
    READER,
    SUPERVISOR,
    LiveServer,
    Login,
    LoginFn,
    csrf_from,
    page_csrf,
    session_payload,
    switch_language,
)

ROUTER_OUTPUT = "_pages_content.children"


# -- helpers ---------------------------------------------------------------------------------
def logged_in(server: LiveServer, login: LoginFn, user: Login, lang: str = "zh") -> requests.Session:
    session = requests.Session()
    session.headers["Accept-Language"] = lang
    response = login(session, user.username, user.password)
    assert response.status_code == 302, response.text
    return session


def router_body(dependencies: list[dict[str, Any]], path: str, search: str = "") -> dict[str, Any]:
    """The body Dash's renderer posts to build the page at `path` (the pages router)."""
    router = next(d for d in dependencies if ROUTER_OUTPUT in d["output"])
    outputs = []
    for part in router["output"].strip(".").split("..."):
        component, prop = part.rsplit(".", 1)
        outputs.append({"id": component, "property": prop})
    values = {"pathname": path, "search": search}
    inputs = [{**i, "value": values[i["property"]]} for i in router["inputs"]]
    return {
        "output": router["output"],
        "outputs": outputs,
        "inputs": inputs,
        "changedPropIds": [f"{inputs[0]['id']}.{inputs[0]['property']}"],
        "state": [],
    }


def render_page(server: LiveServer, session: requests.Session, path: str,
                search: str = "") -> dict[str, Any]:
    """The component tree of a page, as the logged-in browser would receive it."""
    dependencies = session.get(server.url + "/_dash-dependencies", timeout=30).json()
    response = session.post(server.url + "/_dash-update-component",
                            json=router_body(dependencies, path, search), timeout=30)
    assert response.status_code == 200, response.text
    return response.json()["response"]["_pages_content"]["children"]


def components(tree: Any) -> Iterator[dict[str, Any]]:
    """Every component of a serialised Dash tree."""
    if isinstance(tree, list):
        for item in tree:
            yield from components(item)
    elif isinstance(tree, dict) and "props" in tree:
        yield tree
        yield from components(tree["props"].get("children"))


def department_dropdown(tree: Any, page: str) -> dict[str, Any]:
    wanted = {"type": "vl-filter-department", "page": page}
    return next(c["props"] for c in components(tree) if c["props"].get("id") == wanted)


def texts(tree: Any) -> str:
    """All string children of a tree, joined (what a reader sees)."""
    found = []
    for comp in components(tree):
        children = comp["props"].get("children")
        if isinstance(children, str):
            found.append(children)
    return "\n".join(found)


# -- the guard -------------------------------------------------------------------------------
def test_health_is_public_and_ok(server: LiveServer) -> None:
    response = server.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": True}
    assert "Set-Cookie" not in response.headers


def test_health_says_when_the_database_fails() -> None:
    """/healthz answers 503 (not a traceback) when the database does not answer."""

    class BrokenDatabase:
        def scalar(self, sql: str) -> object:
            raise RuntimeError("database is gone")

    server = Flask(__name__)
    attach(server, BrokenDatabase(), Settings())  # type: ignore[arg-type]
    server.add_url_rule("/healthz", view_func=auth._healthz_view)
    response = server.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json() == {"status": "error", "database": False}


def test_anonymous_page_is_sent_to_login(server: LiveServer) -> None:
    response = server.get("/visits", allow_redirects=False)
    assert response.status_code == 302
    assert response.headers["Location"] == "/login?next=/visits"
    response = server.get("/map?department=R1", allow_redirects=False)
    assert response.headers["Location"] == "/login?next=/map%3Fdepartment%3DR1"
    assert server.get("/visits").url.startswith(server.url + "/login")


@pytest.mark.parametrize("path", ["/_dash-layout", "/_dash-dependencies", "/_reload-hash"])
def test_anonymous_dash_routes_are_refused(server: LiveServer, path: str) -> None:
    response = server.get(path, allow_redirects=False)
    assert response.status_code == 401
    assert response.json() == {"error": "login required"}


def test_anonymous_callback_gets_401_and_no_data(server: LiveServer, login: LoginFn) -> None:
    session = logged_in(server, login, SUPERVISOR)
    dependencies = session.get(server.url + "/_dash-dependencies").json()
    body = router_body(dependencies, "/visits")
    response = server.post("/_dash-update-component", json=body)
    assert response.status_code == 401
    assert "R1" not in response.text and "华东" not in response.text
    assert response.json() == {"error": "login required"}


def test_anonymous_template_download_is_refused(server: LiveServer) -> None:
    response = server.get("/download/template/customers.xlsx", allow_redirects=False)
    assert response.status_code == 401
    assert not response.content.startswith(b"PK")


def test_public_static_files(server: LiveServer) -> None:
    assert server.get("/assets/visitlens.css").status_code == 200
    assert server.get("/_favicon.ico").status_code == 200


# -- downloads -------------------------------------------------------------------------------
def test_logged_in_template_download(server: LiveServer, login: LoginFn) -> None:
    session = logged_in(server, login, ANALYST)
    response = session.get(server.url + "/download/template/customers.xlsx?lang=zh")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert "filename*=UTF-8''" in disposition and ".xlsx" in disposition
    assert response.content.startswith(b"PK")
    sheet = CalamineWorkbook.from_filelike(io.BytesIO(response.content)).get_sheet_by_index(0)
    header = sheet.to_python()[0]
    assert header[0] == "客户编码"
    assert "客户名称" in header

    english = session.get(server.url + "/download/template/customers.xlsx?lang=en")
    header = CalamineWorkbook.from_filelike(io.BytesIO(english.content)) \
        .get_sheet_by_index(0).to_python()[0]
    assert header[:2] == ["code", "name"]
    assert 'filename="Customers import template.xlsx"' in english.headers["Content-Disposition"]


def test_unknown_template_kind_is_404(server: LiveServer, login: LoginFn) -> None:
    session = logged_in(server, login, ANALYST)
    assert session.get(server.url + "/download/template/passwords.xlsx").status_code == 404


# -- login and logout ------------------------------------------------------------------------
def test_wrong_password_shows_error_and_sets_no_session(server: LiveServer) -> None:
    session = requests.Session()
    session.headers["Accept-Language"] = "zh-CN,zh;q=0.9"
    form = session.get(server.url + "/login")
    data = {"username": SUPERVISOR.username, "password": "not-the-password",
            "csrf_token": csrf_from(form.text)}
    response = session.post(server.url + "/login", data=data, allow_redirects=False)
    assert response.status_code == 200
    assert "用户名或密码错误" in response.text
    assert "_user_id" not in session_payload(response.headers.get("Set-Cookie"))
    assert session.get(server.url + "/_dash-layout").status_code == 401

    session.headers["Accept-Language"] = "en"
    response = session.post(server.url + "/login", data=data, allow_redirects=False)
    assert "Wrong username or password." in response.text


def test_login_page_escapes_what_the_user_typed(server: LiveServer) -> None:
    session = requests.Session()
    form = session.get(server.url + "/login?next=/visits%22%3E%3Cscript%3E")
    assert "<script>" not in form.text
    data = {"username": '"><script>alert(1)</script>', "password": "x" * 9,
            "csrf_token": csrf_from(form.text)}
    response = session.post(server.url + "/login", data=data)
    assert "<script>alert(1)</script>" not in response.text
    assert "&#34;&gt;&lt;script&gt;" in response.text


def test_login_without_csrf_token_is_refused(server: LiveServer) -> None:
    session = requests.Session()
    session.get(server.url + "/login")
    data = {"username": SUPERVISOR.username, "password": SUPERVISOR.password}
    response = session.post(server.url + "/login", data=data, allow_redirects=False)
    assert response.status_code == 400
    assert session.get(server.url + "/_dash-layout").status_code == 401


@pytest.mark.parametrize("target", [
    "https://evil.example/", "//evil.example/", "/\\evil.example", "http:/evil.example",
    "javascript:alert(1)",
])
def test_login_never_redirects_off_site(server: LiveServer, target: str) -> None:
    session = requests.Session()
    form = session.get(server.url + "/login", params={"next": target})
    data = {"username": SUPERVISOR.username, "password": SUPERVISOR.password,
            "csrf_token": csrf_from(form.text), "next": target}
    response = session.post(server.url + "/login", data=data, allow_redirects=False)
    assert response.status_code == 302
    assert response.headers["Location"] == "/visits"


def test_login_follows_a_local_next(server: LiveServer) -> None:
    session = requests.Session()
    form = session.get(server.url + "/login")
    data = {"username": SUPERVISOR.username, "password": SUPERVISOR.password,
            "csrf_token": csrf_from(form.text), "next": "/map?department=R1"}
    response = session.post(server.url + "/login", data=data, allow_redirects=False)
    assert response.headers["Location"] == "/map?department=R1"


def test_session_cookie_flags(server: LiveServer, login: LoginFn) -> None:
    session = requests.Session()
    response = login(session, SUPERVISOR.username, SUPERVISOR.password)
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("visitlens_session=")
    assert session_payload(cookie)["_user_id"] == SUPERVISOR.username
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # VISITLENS_SECURE_COOKIES is off for plain HTTP


def test_unchanged_session_is_not_sent_back(server: LiveServer, login: LoginFn) -> None:
    """Only a request that changes the session sets its cookie: a slow callback answered
    after a language switch cannot bring the old language back."""
    session = logged_in(server, login, SUPERVISOR)
    session.get(server.url + "/_dash-layout")  # the CSRF token is made once
    for path in ("/_dash-layout", "/visits", "/healthz"):
        response = session.get(server.url + path)
        assert response.status_code == 200, path
        assert "visitlens_session" not in response.headers.get("Set-Cookie", ""), path
    switched = switch_language(server.url, session, "zh")  # as it was
    assert "visitlens_session" in switched.headers.get("Set-Cookie", "")


def test_logout_needs_the_csrf_token(server: LiveServer, login: LoginFn) -> None:
    session = logged_in(server, login, SUPERVISOR)
    refused = session.post(server.url + "/logout", allow_redirects=False)
    assert refused.status_code == 403
    assert session.get(server.url + "/_dash-layout").status_code == 200
    token = next(c["props"]["value"] for c in components(
        session.get(server.url + "/_dash-layout").json())
        if c["props"].get("name") == "csrf_token")
    response = session.post(server.url + "/logout", data={"csrf_token": token},
                            allow_redirects=False)
    assert response.status_code == 302
    assert response.headers["Location"] == "/login"
    assert session.get(server.url + "/_dash-layout").status_code == 401


def test_root_goes_to_the_visit_summary(server: LiveServer, login: LoginFn) -> None:
    session = logged_in(server, login, SUPERVISOR)
    response = session.get(server.url + "/", allow_redirects=False)
    assert response.status_code == 302
    assert response.headers["Location"] == "/visits"


# -- CSRF on callbacks -----------------------------------------------------------------------
def test_callback_needs_json_and_same_origin(server: LiveServer, login: LoginFn) -> None:
    session = logged_in(server, login, SUPERVISOR)
    dependencies = session.get(server.url + "/_dash-dependencies").json()
    body = json.dumps(router_body(dependencies, "/visits"))
    url = server.url + "/_dash-update-component"

    plain = session.post(url, data=body, headers={"Content-Type": "text/plain"})
    assert plain.status_code == 403
    form = session.post(url, data={"x": "1"})
    assert form.status_code == 403
    foreign = session.post(url, data=body, headers={
        "Content-Type": "application/json", "Origin": "https://evil.example"})
    assert foreign.status_code == 403
    referer = session.post(url, data=body, headers={
        "Content-Type": "application/json", "Referer": "https://evil.example/page"})
    assert referer.status_code == 403
    cross_site = session.post(url, data=body, headers={
        "Content-Type": "application/json", "Sec-Fetch-Site": "cross-site"})
    assert cross_site.status_code == 403
    for response in (plain, form, foreign, referer, cross_site):
        assert "华东" not in response.text

    same = session.post(url, data=body, headers={
        "Content-Type": "application/json", "Origin": server.url})
    assert same.status_code == 200
    assert "Access-Control-Allow-Origin" not in same.headers


def test_security_headers(server: LiveServer, login: LoginFn) -> None:
    session = logged_in(server, login, SUPERVISOR)
    for response in (server.get("/login"), session.get(server.url + "/visits"),
                     session.get(server.url + "/_dash-layout")):
        headers = response.headers
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["X-Frame-Options"] == "DENY"
        assert headers["Referrer-Policy"] == "same-origin"
        csp = headers["Content-Security-Policy"]
        assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
        assert "'unsafe-eval'" not in csp
        assert "Access-Control-Allow-Origin" not in headers
    page_csp = session.get(server.url + "/visits").headers["Content-Security-Policy"]
    assert "'sha256-" in page_csp  # Dash's own inline scripts, by hash


# -- scope -----------------------------------------------------------------------------------
@pytest.mark.parametrize(("user", "expected"), [
    (SUPERVISOR, ["R1", "B11", "B12"]),
    (ANALYST, ["B21"]),
    (ADMIN, ["HQ", "R1", "B11", "B12", "R2", "B21"]),
    (NOBODY, []),
])
def test_filter_bar_offers_only_the_scope(server: LiveServer, login: LoginFn, user: Login,
                                          expected: list[str]) -> None:
    session = logged_in(server, login, user)
    for page, path in (("visits", "/visits"), ("customers_visited", "/customers/visited"),
                       ("map", "/map")):
        dropdown = department_dropdown(render_page(server, session, path), page)
        assert [o["value"] for o in dropdown["options"]] == expected
        assert dropdown.get("disabled", False) is (not expected)


def test_filter_bar_labels_are_paths_inside_the_scope(server: LiveServer,
                                                      login: LoginFn) -> None:
    session = logged_in(server, login, SUPERVISOR)
    dropdown = department_dropdown(render_page(server, session, "/visits"), "visits")
    assert [o["label"] for o in dropdown["options"]] == [
        "华东大区", "华东大区 / 上海分公司", "华东大区 / 杭州分公司"]
    assert "总部" not in json.dumps(dropdown, ensure_ascii=False)


def test_query_string_department_outside_scope_is_ignored(server: LiveServer,
                                                          login: LoginFn) -> None:
    session = logged_in(server, login, SUPERVISOR)
    inside = department_dropdown(
        render_page(server, session, "/visits", "?department=B11"), "visits")
    assert inside["value"] == "B11"
    outside = department_dropdown(
        render_page(server, session, "/visits", "?department=B21"), "visits")
    assert outside.get("value") is None
    assert "B21" not in json.dumps(outside)


def test_admin_pages_refuse_non_admins(server: LiveServer, login: LoginFn) -> None:
    supervisor = logged_in(server, login, SUPERVISOR)
    admin = logged_in(server, login, ADMIN)
    for path in ("/settings", "/audit", "/customers/import"):
        assert "只有管理员可以打开此页面。" in texts(render_page(server, supervisor, path))
        assert "只有管理员可以打开此页面。" not in texts(render_page(server, admin, path))
    nav = texts(supervisor.get(server.url + "/_dash-layout").json())
    assert "员工拜访汇总表" in nav and "系统设置" not in nav
    assert "系统设置" in texts(admin.get(server.url + "/_dash-layout").json())


# -- language --------------------------------------------------------------------------------
def test_language_follows_the_browser_then_the_choice(server: LiveServer,
                                                      login: LoginFn) -> None:
    english = logged_in(server, login, READER, lang="en-US,en;q=0.9")
    nav = texts(english.get(server.url + "/_dash-layout").json())
    assert "Employee visit summary" in nav and "员工拜访汇总表" not in nav

    chinese = logged_in(server, login, READER, lang="zh-CN,zh;q=0.9,en;q=0.5")
    nav = texts(chinese.get(server.url + "/_dash-layout").json())
    assert "员工拜访汇总表" in nav and "Employee visit summary" not in nav

    switched = switch_language(server.url, chinese, "en", "/map")
    assert switched.status_code == 302
    assert switched.headers["Location"] == "/map"
    nav = texts(chinese.get(server.url + "/_dash-layout").json())
    assert "Employee visit summary" in nav

    # The choice is saved for the user: a new browser session keeps it too.
    again = logged_in(server, login, READER, lang="zh-CN")
    assert "Employee visit summary" in texts(again.get(server.url + "/_dash-layout").json())


def test_login_page_language(server: LiveServer) -> None:
    assert "登录" in server.get("/login", headers={"Accept-Language": "zh-CN"}).text
    english = server.get("/login", headers={"Accept-Language": "en"}).text
    assert "Sign in" in english and '<html lang="en">' in english
    default = server.get("/login").text
    assert '<html lang="zh-CN">' in default

    session = requests.Session()
    session.headers["Accept-Language"] = "zh-CN"
    response = switch_language(server.url, session, "en", "https://evil.example/")
    assert response.headers["Location"] == "/visits"
    assert "Sign in" in session.get(server.url + "/login").text
    assert switch_language(server.url, session, "fr").status_code == 404


def test_language_switch_is_a_post_with_the_csrf_token(server: LiveServer,
                                                       login: LoginFn) -> None:
    """Issue 14, item 8: a link or a form of another site cannot switch the language (nor
    write the choice to the database): GET is gone, a POST needs the page's token and
    must come from this site."""
    session = logged_in(server, login, ANALYST, lang="zh-CN")
    assert switch_language(server.url, session, "zh").status_code == 302  # a known start
    token = page_csrf(server.url, session)
    assert session.get(server.url + "/lang/en?next=/map",
                       allow_redirects=False).status_code == 405
    assert session.post(server.url + "/lang/en", data={"next": "/map"},
                        allow_redirects=False).status_code == 403
    assert session.post(server.url + "/lang/en", data={"csrf_token": "x" * 43},
                        allow_redirects=False).status_code == 403
    assert session.post(server.url + "/lang/en", data={"csrf_token": token},
                        headers={"Origin": "https://evil.example"},
                        allow_redirects=False).status_code == 403
    assert "员工拜访汇总表" in texts(session.get(server.url + "/_dash-layout").json())
    switched = session.post(server.url + "/lang/en", data={"csrf_token": token,
                                                           "next": "/map"},
                            allow_redirects=False)
    assert (switched.status_code, switched.headers["Location"]) == (302, "/map")
    assert "Employee visit summary" in texts(session.get(server.url + "/_dash-layout").json())
    switch_language(server.url, session, "zh")


def test_language_switch_on_the_login_page_keeps_next(server: LiveServer) -> None:
    session = requests.Session()
    form = session.get(server.url + "/login?next=/map%3Fdepartment%3DR1").text
    switch = re.search(r'action="/lang/en">.*?name="csrf_token" value="([^"]+)">'
                       r'<input type="hidden" name="next" value="([^"]+)">', form)
    assert switch is not None  # a form per language, no link
    response = session.post(server.url + "/lang/en", allow_redirects=False, data={
        "csrf_token": switch.group(1), "next": html.unescape(switch.group(2))})
    assert response.headers["Location"] == "/login?next=/map%3Fdepartment%3DR1"
    english = session.get(server.url + response.headers["Location"]).text
    assert "Sign in" in english
    assert 'name="next" value="/map?department=R1"' in english


# -- CORS, debug and dev tools (issue 9, item 4) ------------------------------------------------
def test_no_cors_for_other_sites(server: LiveServer, login: LoginFn) -> None:
    """Another site gets no CORS grant: not on a preflight, not on a read, not on a callback."""
    session = logged_in(server, login, SUPERVISOR)
    evil = {"Origin": "https://evil.example"}
    preflight = session.options(server.url + "/_dash-update-component", headers={
        **evil, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type"})
    read = session.get(server.url + "/_dash-dependencies", headers=evil)
    callback = session.post(server.url + "/_dash-update-component", json={}, headers=evil)
    download = session.get(server.url + "/download/template/customers.xlsx", headers=evil)
    for response in (preflight, read, callback, download, server.get("/healthz", headers=evil)):
        assert not [h for h in response.headers if h.lower().startswith("access-control-")]
    assert callback.status_code == 403


def test_multipart_form_post_to_a_callback_is_refused(server: LiveServer,
                                                      login: LoginFn) -> None:
    session = logged_in(server, login, SUPERVISOR)
    dependencies = session.get(server.url + "/_dash-dependencies").json()
    response = session.post(server.url + "/_dash-update-component",
                            files={"x": ("body.json", json.dumps(router_body(dependencies,
                                                                             "/visits")))})
    assert response.status_code == 403
    assert "华东" not in response.text


def test_debug_and_dev_tools_are_off_when_served(server: LiveServer, login: LoginFn) -> None:
    session = logged_in(server, login, SUPERVISOR)
    assert session.get(server.url + "/_reload-hash").status_code == 404
    page = session.get(server.url + "/visits").text
    config = json.loads(re.search(r'<script id="_dash-config" type="application/json">'
                                  r"(.*?)</script>", page, re.S).group(1))  # type: ignore[union-attr]
    assert config["ui"] is False and config["props_check"] is False
    assert "dash-debug-menu" not in page and "hot_reload" not in config
    # No Werkzeug debugger: its resources are not served, a bad request shows no trace.
    debugger = session.get(server.url + "/visits?__debugger__=yes&cmd=resource&f=debugger.js")
    assert "Werkzeug" not in debugger.text and "CONSOLE_MODE" not in debugger.text
    broken = session.post(server.url + "/_dash-update-component", json={"output": 1})
    assert broken.status_code == 400
    for text in (broken.text, debugger.text):
        assert "Traceback" not in text and "Werkzeug Debugger" not in text


def test_secure_cookies_and_hsts_behind_https(tmp_path: Path) -> None:
    """With VISITLENS_SECURE_COOKIES=1 the session cookie is Secure and HSTS is sent."""
    from dashboard.app import create_app
    from tests.live import build_database

    settings = Settings(db_path=str(build_database(tmp_path / "secure.duckdb")),
                        secure_cookies=True)
    app = create_app(settings)
    browser = app.server.test_client()
    form = browser.get("/login", base_url="https://visitlens.example")
    response = browser.post("/login", base_url="https://visitlens.example", data={
        "username": SUPERVISOR.username, "password": SUPERVISOR.password,
        "csrf_token": csrf_from(form.get_data(as_text=True))})
    cookie = response.headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")
    from dashboard.context import get_db

    with app.server.app_context():
        get_db().close()
