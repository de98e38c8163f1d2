"""Translations: English source strings (msgids), Chinese and English catalogs.

The .po files under dashboard/locale are the only source: they are read once per process
and compiled in memory (no .mo files to forget to rebuild). ``_()`` picks the language per
request: the user's choice (session, else users.language), then the browser's
Accept-Language, then Chinese, the language of most users.
"""

from __future__ import annotations

import io
import re
import string
from collections.abc import Mapping
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import LazyProxy, Translations
from flask import g, has_request_context, request, session

if TYPE_CHECKING:
    from pipelines.formats import Problem

LANGUAGES: tuple[str, ...] = ("zh", "en")
DEFAULT_LANGUAGE = "zh"
SESSION_KEY = "lang"
LANGUAGE_NAMES: Mapping[str, str] = {"zh": "中文", "en": "English"}
HTML_LANG: Mapping[str, str] = {"zh": "zh-CN", "en": "en"}


def N_(message: str) -> str:
    """Mark a string for extraction where it is defined; translate it later with ``_()``."""
    return message


@cache
def catalog_messages(lang: str) -> tuple[tuple[str, str], ...]:
    """(msgid, msgstr) pairs of a catalog, fuzzy and untranslated entries left out."""
    catalog = _read_catalog(lang)
    return tuple(
        (str(m.id), str(m.string))
        for m in catalog
        if m.id and isinstance(m.id, str) and isinstance(m.string, str) and m.string
        and not m.fuzzy
    )


def _read_catalog(lang: str) -> Any:
    path = resources.files("dashboard").joinpath("locale", lang, "LC_MESSAGES", "messages.po")
    with path.open("rb") as fileobj:
        return read_po(fileobj, locale=lang)


@cache
def translations(lang: str) -> Translations:
    """The compiled catalog of a language (read once per process: the files do not change)."""
    if lang not in LANGUAGES:
        raise ValueError(f"unsupported language {lang!r}")
    buffer = io.BytesIO()
    write_mo(buffer, _read_catalog(lang))
    buffer.seek(0)
    return Translations(fp=buffer, domain="messages")


def load_all() -> None:
    """Compile every catalog now, so that a broken .po file stops the app at start-up."""
    for lang in LANGUAGES:
        translations(lang)
        catalog_messages(lang)


def normalise_language(code: str | None) -> str | None:
    """'zh', 'zh-CN', 'en_US' -> a supported language, else None."""
    if not code:
        return None
    primary = re.split(r"[-_]", code.strip().lower(), maxsplit=1)[0]
    return primary if primary in LANGUAGES else None


def current_language() -> str:
    """The language of this request (Chinese outside a request).

    Order: the choice kept in the session, the logged-in user's saved language, the best
    match of the browser's Accept-Language, Chinese. Cached on ``flask.g`` for the request.
    """
    if not has_request_context():
        return DEFAULT_LANGUAGE
    cached = g.get("visitlens_lang")
    if cached:
        return str(cached)
    lang = (
        normalise_language(session.get(SESSION_KEY))
        or normalise_language(_user_language())
        or normalise_language(request.accept_languages.best_match(LANGUAGES))
        or DEFAULT_LANGUAGE
    )
    g.visitlens_lang = lang
    return lang


def _user_language() -> str | None:
    if "_user_id" not in session:  # anonymous: do not make flask-login touch the session
        return None
    from flask_login import current_user

    return getattr(current_user, "language", None)


def forget_request_language() -> None:
    """Drop the cached language of this request (after the user changed it)."""
    if has_request_context():
        g.pop("visitlens_lang", None)


def gettext(message: str, lang: str | None = None) -> str:
    """Translate an English source string into the request's (or the given) language."""
    return translations(lang or current_language()).gettext(message)


def ngettext(singular: str, plural: str, n: int, lang: str | None = None) -> str:
    """Translate a message with a count (Chinese has one plural form)."""
    return translations(lang or current_language()).ngettext(singular, plural, n)


_ = gettext


def lazy_gettext(message: str) -> LazyProxy:
    """A string translated when it is used, for constants defined at import time."""
    return LazyProxy(gettext, message, enable_cache=False)


def placeholders(template: str) -> set[str]:
    """The names of the ``{name}`` fields of a format string."""
    return {name for _t, name, _s, _c in string.Formatter().parse(template) if name}


def translate_template(template: str, lang: str | None = None) -> str:
    """Translate a message template; a template built as msgid + suffix keeps its suffix.

    Some templates are an N_() msgid with text appended at run time (the allowed values of
    an enum): the longest msgid that starts the template is translated and the rest kept.
    """
    lang = lang or current_language()
    found = translations(lang).gettext(template)
    if found != template or lang == "en":
        return found
    best = ""
    for msgid, _msgstr in catalog_messages(lang):
        if len(msgid) > len(best) and template.startswith(msgid):
            best = msgid
    if not best:
        return template
    return translations(lang).gettext(best) + template[len(best):]


def translate_problem(problem: Problem, kind: str | None = None, lang: str | None = None) -> str:
    """A pipelines Problem's message in the request's language.

    Args:
        problem: its params hold 'template' (the English N_ msgid) and the values to fill.
        kind: the import format; when given, canonical column names are shown as the
            template's Chinese headers in Chinese.
        lang: the language (default: the request's).
    """
    lang = lang or current_language()
    params = dict(problem.params)
    template = params.pop("template", None)
    if not isinstance(template, str):
        return problem.message
    if kind is not None and lang == "zh":
        from pipelines.formats import FORMATS

        headers = {c.name: c.zh for c in FORMATS.get(kind, ())}
        value = params.get("column")
        if isinstance(value, str) and value in headers:
            params["column"] = headers[value]
    try:
        return translate_template(template, lang).format(**params)
    except (KeyError, IndexError, ValueError):
        return problem.message
