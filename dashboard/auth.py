"""Login, the request guard, CSRF defences and security headers (DESIGN.md section 3).

Everything is closed by default: a ``before_request`` guard lets through only the login
page, the language switch, health checks and static files; every page, every Dash route
(layout, dependencies, callbacks, ...) and every download needs a logged-in user. The
Scope of that user is resolved from the database on every call of :func:`current_scope`,
so a changed role or department applies at the next request.

The signed cookie names a server-side session (pipelines.sessions) that every request
checks, so logout, "log out everywhere" and user changes end sessions at once; its key is
not in the database (pipelines.secret). Sign-ins are throttled before any password hash
(pipelines.throttle).
"""

from __future__ import annotations

import hmac
import json
import secrets
from collections.abc import Callable
from datetime import timedelta
from functools import wraps
from typing import TYPE_CHECKING, Any, TypeVar, cast
from urllib.parse import quote, urlsplit

from flask import Flask, Response, g, has_request_context, jsonify, redirect, request, session
from flask_login import LoginManager, UserMixin, current_user, login_user, logout_user
from markupsafe import Markup
from werkzeug.wrappers import Response as BaseResponse

from dashboard import i18n
from dashboard.context import get_db
from dashboard.i18n import N_, _
from dashboard.scope import Scope, resolve_scope
from pipelines import secret, sessions, throttle, users

if TYPE_CHECKING:
    import dash

    from dashboard.settings import Settings
    from pipelines.store import Store

F = TypeVar("F", bound=Callable[..., Any])

CSRF_SESSION_KEY = "csrf"
SESSION_ID_KEY = "sid"  # the server-side session (pipelines.sessions) this cookie stands for
SCOPE_KEY = "visitlens_scope"  # flask.g: the Scope of this request
CSRF_FIELD = "csrf_token"
HOME_PATH = "/visits"
LOGIN_PATH = "/login"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
PUBLIC_PATHS = frozenset({LOGIN_PATH, "/logout", "/healthz", "/_favicon.ico", "/favicon.ico"})
# /api/v1/ is the phone API: bearer tokens only, checked by dashboard.api itself.
LANG_PREFIX = "/lang/"
PUBLIC_PREFIXES = (LANG_PREFIX, "/assets/", "/_dash-component-suites/", "/api/v1/")
STATIC_PREFIXES = ("/assets/", "/_dash-component-suites/", "/_favicon.ico")
CALLBACK_PATH = "/_dash-update-component"
# Routes that take a classic form POST (not JSON): each checks form_csrf_ok() itself.
FORM_PATHS = frozenset({"/download/backup"})
# Dash's development routes: VisitLens never serves with dev tools, so they do not exist.
DEV_PATHS = frozenset({"/_reload-hash"})
# Dash's own page router assumes a path ('/...') and a query string ('?...' or empty).
ROUTER_INPUTS = {"_pages_location.pathname": "/", "_pages_location.search": "?"}
MAX_USERNAME = 64
MAX_PASSWORD = 1024

ROLE_NAMES = {
    "admin": N_("Administrator"),
    "supervisor": N_("Supervisor"),
    "analyst": N_("Analyst"),
}


class SessionUser(UserMixin):
    """The logged-in user as flask-login sees it, reloaded from the database per request."""

    def __init__(self, user: users.User) -> None:
        self.user = user

    def get_id(self) -> str:
        return self.user.username

    @property
    def is_active(self) -> bool:  # type: ignore[override]
        return self.user.active

    @property
    def username(self) -> str:
        return self.user.username

    @property
    def role(self) -> str:
        return self.user.role

    @property
    def language(self) -> str | None:
        return self.user.language


# -- helpers for pages, callbacks and routes -------------------------------------------------
def current_scope() -> Scope:
    """The logged-in user's Scope, resolved from the database once per request.

    flask-login already read the user from the database for this request (load_user), so
    that row is used instead of a second read; the Scope is kept on ``flask.g`` because a
    callback asks for it several times. A changed role or department applies at the next
    request, as before.
    """
    cached = g.get(SCOPE_KEY) if has_request_context() else None
    if isinstance(cached, Scope):
        return cached
    scope = _resolve_current_scope()
    if has_request_context():
        setattr(g, SCOPE_KEY, scope)
    return scope


def _resolve_current_scope() -> Scope:
    if not current_user.is_authenticated:
        return Scope(None, "anonymous", False)
    db = get_db()
    loaded = getattr(current_user, "user", None)
    user = loaded if isinstance(loaded, users.User) else users.get_user(db, current_user.get_id())
    if user is None:
        return Scope(None, "anonymous", False)
    return resolve_scope(db, user)


def is_admin() -> bool:
    """Whether the logged-in user is an (active) admin, checked against the database."""
    scope = current_scope()
    return scope.role == "admin" and scope.everything


def role_name(role: str) -> str:
    """A role in the request's language."""
    return _(ROLE_NAMES[role]) if role in ROLE_NAMES else role


def csrf_token() -> str:
    """This session's CSRF token (created on first use), for forms that POST."""
    token = session.get(CSRF_SESSION_KEY)
    if not isinstance(token, str) or len(token) < 32:
        token = secrets.token_urlsafe(32)
        session[CSRF_SESSION_KEY] = token
    return token


def _valid_csrf(sent: str | None) -> bool:
    expected = session.get(CSRF_SESSION_KEY)
    return (
        isinstance(expected, str) and isinstance(sent, str)
        and hmac.compare_digest(expected.encode(), sent.encode())
    )


def form_csrf_ok() -> bool:
    """Whether a form POST comes from this site and carries the session's CSRF token."""
    return _same_origin() and _valid_csrf(request.form.get(CSRF_FIELD))


def login_required_download(view: F) -> F:
    """Protect a file download route: 401 for anonymous requests (the guard does it too)."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not current_user.is_authenticated:
            return _error(401, "login required")
        return view(*args, **kwargs)

    return cast("F", wrapper)


def safe_next(target: str | None, default: str = HOME_PATH) -> str:
    """A redirect target only if it is a path of this site, else `default`.

    Refuses absolute and scheme-relative URLs (``//evil``, ``/\\evil``), other schemes and
    control characters, so a crafted ``next`` can never send a user off-site.
    """
    if not target or len(target) > 2000:
        return default
    if any(ord(ch) < 32 or ch == "\\" for ch in target):
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return default
    if parts.path == "/logout" or parts.path.startswith("/lang/"):
        return default
    return target


def _request_target() -> str:
    """This request's path with its query string (what ``next`` should bring back)."""
    query = request.query_string.decode("latin-1")
    return request.path + (f"?{query}" if query else "")


def _error(status: int, message: str) -> Response:
    response = jsonify({"error": message})
    response.status_code = status
    return response


def _same_origin() -> bool:
    """Whether the browser says this request comes from a page of this site.

    Compares the Origin header (else the Referer) with the Host the request was sent to;
    the host alone, so that a TLS-terminating proxy in front does not break the check.
    A request without either header (curl, tests) passes: cookies are SameSite=Lax and
    the JSON content type cannot be sent cross-site without a CORS preflight.
    """
    fetch_site = request.headers.get("Sec-Fetch-Site")
    if fetch_site is not None and fetch_site not in ("same-origin", "none"):
        return False
    source = request.headers.get("Origin") or request.headers.get("Referer")
    if source is None:
        return True
    parts = urlsplit(source)
    return parts.scheme in ("http", "https") and parts.netloc.lower() == request.host.lower()


# -- the guard -------------------------------------------------------------------------------
def _is_public(path: str) -> bool:
    return path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES)


def _guard() -> BaseResponse | None:
    """Runs before every request, before Dash's own handlers: closed unless public."""
    path = request.path
    if path.startswith(LANG_PREFIX) and request.method != "POST":
        return _error(405, "the language is switched by the page's form (POST)")
    if _is_public(path):
        return None
    if not current_user.is_authenticated:
        is_page = request.method in ("GET", "HEAD") and not path.startswith(("/_", "/download/"))
        if is_page:
            return redirect(f"{LOGIN_PATH}?next={quote(_request_target(), safe='/')}", 302)
        return _error(401, "login required")
    if request.method not in SAFE_METHODS:
        if not _same_origin():
            return _error(403, "cross-site request refused")
        if request.mimetype != "application/json" and path not in FORM_PATHS:
            return _error(403, "a JSON request is required")
    if path in DEV_PATHS:
        return _error(404, "not found")
    if request.method in ("GET", "HEAD") and path == "/":
        return redirect(HOME_PATH, 302)
    return None


# -- the shape of a callback request ----------------------------------------------------------
def _wildcard_keys(dependency_id: str) -> dict[str, str] | None:
    """For a pattern-matching id ('{"page":["ALL"],...}'): key -> wildcard or '' (fixed)."""
    if not dependency_id.startswith("{"):
        return None
    try:
        parsed = json.loads(dependency_id)
    except ValueError:
        return None
    return {k: v[0] if isinstance(v, list) and v and isinstance(v[0], str) else ""
            for k, v in parsed.items()} if isinstance(parsed, dict) else None


def _matches(dependency_id: str, item: Any) -> bool:
    """Whether a request item ({id, property, value}) stands for this dependency's id."""
    if not isinstance(item, dict) or not isinstance(item.get("property"), str):
        return False
    ident = item.get("id")
    wildcards = _wildcard_keys(dependency_id)
    if wildcards is None:
        return ident == dependency_id
    if not isinstance(ident, dict) or set(ident) != set(wildcards):
        return False
    fixed = json.loads(dependency_id)
    return all(ident[k] == fixed[k] for k, w in wildcards.items() if not w)


def _multi(dependency_id: str) -> bool:
    """ALL and ALLSMALLER dependencies arrive as a list of items."""
    return any(w in ("ALL", "ALLSMALLER") for w in (_wildcard_keys(dependency_id) or {}).values())


def _property(item: dict[str, Any]) -> str:
    """A request item's property without Dash's '@hash' mark of allow_duplicate outputs."""
    return str(item["property"]).split("@")[0]


def _items_ok(items: Any, dependencies: list[dict[str, Any]], outputs: bool = False) -> bool:
    if not isinstance(items, list) or len(items) != len(dependencies):
        return False
    for item, dependency in zip(items, dependencies, strict=True):
        ident, prop = dependency["id"], dependency["property"].split("@")[0]
        if _multi(ident):
            group = item if isinstance(item, list) else None if outputs else [item]
            if group is None or not all(
                    _matches(ident, i) and _property(i) == prop for i in group):
                return False
        elif not (_matches(ident, item) and _property(item) == prop):
            return False
    return True


def _output_dependencies(output: str) -> list[dict[str, Any]]:
    parts = output[2:-2].split("...") if output.startswith("..") else [output]
    found = []
    for part in parts:
        ident, prop = part.rsplit(".", 1)
        found.append({"id": ident, "property": prop.split("@")[0]})
    return found


def callback_request_problem(body: Any, callbacks: dict[str, Any]) -> str | None:
    """What is wrong with a /_dash-update-component body (None: a well-formed request).

    The browser's renderer always sends the inputs, state and outputs of a registered
    callback, in its order, with the ids and properties it declared, and changed ids among
    its inputs. Anything else is forged: it is refused with 400 here, before Dash's own
    code (which assumes that shape and would fail with a 500) or any callback runs.
    """
    if not isinstance(body, dict):
        return "the body is not a JSON object"
    output = body.get("output")
    spec = callbacks.get(output) if isinstance(output, str) else None
    if spec is None or not isinstance(output, str):
        return "unknown callback"
    inputs, state = body.get("inputs"), body.get("state", [])
    if not _items_ok(inputs, spec.get("inputs", [])) or not _items_ok(
            state, spec.get("state", [])):
        return "inputs or state do not match the callback"
    declared = _output_dependencies(output)
    outputs = body.get("outputs")
    if not output.startswith(".."):
        outputs = [outputs]
    if not spec.get("no_output") and not _items_ok(outputs, declared, outputs=True):
        return "outputs do not match the callback"
    from dash._utils import stringify_id

    keys = set()
    for item in cast("list[Any]", inputs) + cast("list[Any]", state):
        for one in item if isinstance(item, list) else [item]:
            name = f"{stringify_id(one['id'])}.{one['property']}"
            keys.add(name)
            value, start = one.get("value"), ROUTER_INPUTS.get(name)
            if start is not None and value is not None and not (
                    isinstance(value, str) and (value.startswith(start)
                                                or (start == "?" and value == ""))):
                return f"{name} must be text starting with {start}"
    changed = body.get("changedPropIds", [])
    if not isinstance(changed, list) or not all(c in keys for c in changed):
        return "changed ids are not inputs of the callback"
    return None


def _callback_request_check(dash_app: dash.Dash) -> Callable[[], BaseResponse | None]:
    """A before_request hook (after Dash's own set-up) refusing malformed callback bodies."""

    def check() -> BaseResponse | None:
        if request.path != CALLBACK_PATH or request.method != "POST":
            return None
        problem = callback_request_problem(request.get_json(silent=True),
                                           dash_app.callback_map)
        return _error(400, f"bad callback request: {problem}") if problem else None

    return check


# -- security headers ------------------------------------------------------------------------
def _tile_source(tile_url: str) -> str:
    """The origin of the map tiles, for img-src ('{s}' subdomains become a wildcard)."""
    parts = urlsplit(tile_url.replace("{s}", "tiles-subdomain"))
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return ""
    host = parts.netloc.replace("tiles-subdomain", "*")
    return f"{parts.scheme}://{host}"


def content_security_policy(script_hashes: list[str], tile_url: str) -> str:
    """The CSP header: only this site's scripts plus Dash's own inline scripts (by hash).

    Styles allow 'unsafe-inline' because Dash components (date picker, AG Grid) set
    inline styles and insert <style> elements; scripts never do.
    """
    img = " ".join(s for s in ("'self'", "data:", "blob:", _tile_source(tile_url)) if s)
    directives = [
        "default-src 'self'",
        "script-src " + " ".join(["'self'", *script_hashes]),
        "style-src 'self' 'unsafe-inline'",
        f"img-src {img}",
        "font-src 'self' data:",
        "connect-src 'self'",
        "worker-src 'self' blob:",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
    return "; ".join(directives)


def _security_headers_for(
    dash_app: dash.Dash, settings: Settings
) -> Callable[[Response], Response]:
    def add_headers(response: Response) -> Response:
        headers = response.headers
        headers["X-Content-Type-Options"] = "nosniff"
        headers["X-Frame-Options"] = "DENY"
        headers["Referrer-Policy"] = "same-origin"
        headers["Cross-Origin-Opener-Policy"] = "same-origin"
        headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=()"
        if settings.secure_cookies:  # served over HTTPS: browsers should never fall back
            headers["Strict-Transport-Security"] = "max-age=31536000"
        hashes = list(dash_app.csp_hashes()) if response.mimetype == "text/html" else []
        headers["Content-Security-Policy"] = content_security_policy(hashes, settings.tile_url)
        for name in list(headers.keys()):
            if name.lower().startswith("access-control-"):
                del headers[name]
        if not request.path.startswith(STATIC_PREFIXES) and "Cache-Control" not in headers:
            headers["Cache-Control"] = "no-store"
        return response

    return add_headers


# -- routes ----------------------------------------------------------------------------------
_LOGIN_TEMPLATE = Markup("""<!DOCTYPE html>
<html lang="{html_lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} · VisitLens</title>
<link rel="stylesheet" href="/assets/visitlens.css">
</head>
<body class="vl-login-body">
<header class="vl-header">
  <div class="vl-brand">VisitLens</div>
  <nav class="vl-lang" aria-label="{language_label}">{languages}</nav>
</header>
<main class="vl-login-main">
  <form class="vl-login-card" method="post" action="/login" autocomplete="on">
    <h1>{title}</h1>
    <p class="vl-login-lead">{lead}</p>
    {error}
    <label for="username">{username_label}</label>
    <input id="username" name="username" type="text" value="{username}" maxlength="64"
           autocomplete="username" required autofocus>
    <label for="password">{password_label}</label>
    <input id="password" name="password" type="password" autocomplete="current-password"
           required>
    <input type="hidden" name="csrf_token" value="{csrf}">
    <input type="hidden" name="next" value="{next}">
    <button type="submit" class="vl-button vl-button-primary">{submit}</button>
  </form>
</main>
</body>
</html>
""")


_LANGUAGE_FORM = Markup(
    '<form class="vl-lang-form" method="post" action="/lang/{code}">'
    '<input type="hidden" name="csrf_token" value="{csrf}">'
    '<input type="hidden" name="next" value="{back_to}">'
    '<button type="submit" class="{css}" lang="{code}">{name}</button></form>')


def _language_links(back_to: str) -> Markup:
    """The language switch: one small form per language (a POST with the CSRF token, so
    another site cannot switch it; works without JavaScript)."""
    current = i18n.current_language()
    links = []
    for code in i18n.LANGUAGES:
        css = "vl-lang-link vl-lang-active" if code == current else "vl-lang-link"
        links.append(_LANGUAGE_FORM.format(code=code, csrf=csrf_token(), back_to=back_to,
                                           css=css, name=i18n.LANGUAGE_NAMES[code]))
    return Markup('<span class="vl-lang-sep">/</span>').join(links)


def render_login(next_url: str, error: str | None = None, username: str = "") -> str:
    """The server-rendered login page; every value is escaped by Markup.format."""
    back_to = LOGIN_PATH + (f"?next={quote(next_url, safe='/')}" if next_url != HOME_PATH else "")
    error_html = (
        Markup('<p class="vl-login-error" role="alert">{}</p>').format(error) if error else ""
    )
    return str(_LOGIN_TEMPLATE.format(
        html_lang=i18n.HTML_LANG[i18n.current_language()],
        title=_("Sign in"),
        lead=_("Field-sales visit analytics"),
        language_label=_("Language"),
        languages=_language_links(back_to),
        error=error_html,
        username_label=_("Username"),
        username=username[:MAX_USERNAME],
        password_label=_("Password"),
        csrf=csrf_token(),
        next=next_url,
        submit=_("Sign in"),
    ))


def _html(body: str, status: int = 200) -> Response:
    return Response(body, status=status, mimetype="text/html")


def _login_view() -> BaseResponse:
    """GET: the form. POST: check the CSRF token and the password, then go to `next`."""
    if request.method == "GET":
        next_url = safe_next(request.args.get("next"))
        if current_user.is_authenticated:
            return redirect(next_url, 302)
        return _html(render_login(next_url))
    next_url = safe_next(request.form.get("next"))
    username = (request.form.get("username") or "").strip()[:MAX_USERNAME]
    password = (request.form.get("password") or "")[:MAX_PASSWORD]
    if not _same_origin() or not _valid_csrf(request.form.get(CSRF_FIELD)):
        return _html(render_login(next_url, _("Your session has expired. Please sign in again."),
                                  username), 400)
    if not username or not password:
        return _html(render_login(next_url, _("Wrong username or password."), username))
    wait = login_throttled(username)
    if wait is not None:
        response = _html(render_login(next_url, _(
            "Too many sign-in attempts. Try again in {seconds} s.").format(seconds=wait),
            username), 429)
        response.headers["Retry-After"] = str(wait)
        return response
    user = users.authenticate(get_db(), username, password)
    if user is None:
        login_failed(username)
        return _html(render_login(next_url, _("Wrong username or password."), username))
    throttle.succeeded(get_db(), username)
    language = session.get(i18n.SESSION_KEY)
    session.clear()  # a fresh session (and CSRF token) for the logged-in user
    if language:
        session[i18n.SESSION_KEY] = language
    session.permanent = True
    session[SESSION_ID_KEY] = sessions.start(get_db(), user.username)
    login_user(SessionUser(user))
    csrf_token()
    i18n.forget_request_language()
    return redirect(next_url, 302)


def _limits() -> throttle.Limits:
    from dashboard.context import get_settings

    return throttle.parse_limits(get_settings().login_limits)


def login_throttled(account: str) -> int | None:
    """Before a sign-in's password hash (pipelines.throttle): None when it may go on, else
    the seconds to wait. The web login and the phone API share it."""
    return throttle.attempt(get_db(), _limits(), account, request.remote_addr or "unknown")


def login_failed(account: str) -> None:
    """Count a wrong password against the account and the client address."""
    throttle.failed(get_db(), _limits(), account, request.remote_addr or "unknown")


def _logout_view() -> BaseResponse:
    """POST with the session's CSRF token: end the session on the server (a copy of the
    cookie stops working too), keep the language choice.

    With ``everywhere=1`` ("log out everywhere" on the user menu) every session of the
    user ends, on every device.
    """
    if current_user.is_authenticated:
        if not _same_origin() or not _valid_csrf(request.form.get(CSRF_FIELD)):
            return _error(403, "invalid CSRF token")
        if request.form.get("everywhere") == "1":
            from pipelines import audit

            with get_db().transaction() as cur:
                sessions.end_for_user(cur, str(current_user.get_id()))
                audit.record(cur, str(current_user.get_id()), "session.end_all", "user",
                             str(current_user.get_id()))
        else:
            sessions.end(get_db(), session.get(SESSION_ID_KEY))
        language = session.get(i18n.SESSION_KEY)
        logout_user()
        session.clear()
        if language:
            session[i18n.SESSION_KEY] = language
    return redirect(LOGIN_PATH, 302)


def _lang_view(code: str) -> BaseResponse:
    """Remember the language in the session (and for a logged-in user, in the database).

    A POST from this site's own forms with the session's CSRF token: a link or a form on
    another site cannot switch it (nor write to the database).
    """
    lang = i18n.normalise_language(code)
    if lang is None or lang != code:
        return _error(404, "unknown language")
    if not _same_origin() or not _valid_csrf(request.form.get(CSRF_FIELD)):
        return _error(403, "invalid CSRF token")
    session[i18n.SESSION_KEY] = lang
    if current_user.is_authenticated:
        users.set_language(get_db(), current_user.get_id(), lang)
    i18n.forget_request_language()
    target = request.form.get("next")
    if target is None:
        referer = request.headers.get("Referer")
        if referer and urlsplit(referer).netloc.lower() == request.host.lower():
            parts = urlsplit(referer)
            target = parts.path + (f"?{parts.query}" if parts.query else "")
    return redirect(safe_next(target), 302)


def _healthz_view() -> tuple[Response, int]:
    """Monitoring: the process answers and its database too."""
    try:
        ok = get_db().scalar("SELECT 1") == 1
    except Exception:  # any database failure is "not healthy", never a traceback
        ok = False
    if ok:
        return jsonify({"status": "ok", "database": True}), 200
    return jsonify({"status": "error", "database": False}), 503


# -- set-up ----------------------------------------------------------------------------------
def init_auth(dash_app: dash.Dash, settings: Settings, db: Store) -> None:
    """Configure sessions, flask-login, the guard, the public routes and the headers."""
    server = cast("Flask", dash_app.server)
    server.secret_key = secret.load(settings.secret_file)
    throttle.parse_limits(settings.login_limits)  # a bad VISITLENS_LOGIN_LIMITS stops here
    server.config.update(
        SESSION_COOKIE_NAME="visitlens_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.secure_cookies,
        PERMANENT_SESSION_LIFETIME=timedelta(hours=12),
        # Send the session cookie only when a request changed the session: refreshed on
        # every response, a callback that started before a language switch and ended
        # after it put the old language back (seen once in CI as a Chinese login page).
        SESSION_REFRESH_EACH_REQUEST=False,
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_SECURE=settings.secure_cookies,
    )

    manager = LoginManager()
    manager.session_protection = "basic"
    manager.init_app(server)

    @manager.user_loader
    def load_user(username: str) -> SessionUser | None:
        """The user of a session that still counts (pipelines.sessions), else anonymous."""
        state = sessions.check(get_db(), session.get(SESSION_ID_KEY))
        if state is None or state.username != username:
            return None
        user = users.get_user(get_db(), username)
        return SessionUser(user) if user is not None and user.active else None

    # First of all before_request handlers: nothing of Dash runs for a refused request.
    server.before_request_funcs.setdefault(None, []).insert(0, _guard)
    # Appended: runs after Dash's own set-up hook, which registers the callbacks.
    server.before_request(_callback_request_check(dash_app))
    server.after_request(_security_headers_for(dash_app, settings))
    server.add_url_rule(LOGIN_PATH, "visitlens_login", _login_view, methods=["GET", "POST"])
    server.add_url_rule("/logout", "visitlens_logout", _logout_view, methods=["POST"])
    server.add_url_rule("/lang/<code>", "visitlens_lang", _lang_view, methods=["POST"])
    server.add_url_rule("/healthz", "visitlens_healthz", _healthz_view, methods=["GET"])


class NotAllowed(PermissionError):
    """The logged-in user's role may not do this (the attempt is in the audit log)."""


def require_admin(action: str, entity_key: str | None = None) -> Scope:
    """The admin's scope, or record the refused attempt and raise NotAllowed.

    Every mutation callback calls this first: the role is checked on the server, against
    the database, whatever the page showed.
    """
    scope = current_scope()
    if scope.role == "admin" and scope.everything:
        return scope
    from pipelines import audit

    with get_db().transaction() as cur:
        audit.record(cur, scope.username, "denied", action, entity_key,
                     None, {"role": scope.role})
    raise NotAllowed(f"{scope.role} may not {action}")
