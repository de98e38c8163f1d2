"""Catalogs are complete and consistent; translation helpers; the date presets."""

from __future__ import annotations

import ast
from datetime import date
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from dashboard import i18n
from dashboard.components.filter_bar import (
    CUSTOM,
    LAST_31,
    MONTH,
    PRESETS,
    WEEK,
    initial_state,
    parse_date,
    preset_range,
)
from pipelines.formats import problem

ROOT = Path(__file__).resolve().parents[2]
KEYWORDS = {"_": None, "N_": None, "gettext": None, "lazy_gettext": None}


def extracted_msgids() -> set[str]:
    """Every msgid Babel's extractor finds in dashboard/ and pipelines/ (as babel.cfg)."""
    found: set[str] = set()
    for package in ("dashboard", "pipelines"):
        for _file, _line, message, _comments, _context in extract_from_dir(
            ROOT / package, method_map=[("**.py", "python")], keywords=KEYWORDS
        ):
            found.add(message if isinstance(message, str) else message[0])
    return found


def catalog(lang: str):  # type: ignore[no-untyped-def]
    path = ROOT / "dashboard" / "locale" / lang / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as fileobj:
        return read_po(fileobj, locale=lang)


def test_every_message_has_a_chinese_translation() -> None:
    zh = {m.id: m for m in catalog("zh") if m.id}
    missing = sorted(m for m in extracted_msgids() if not (m in zh and zh[m].string))
    assert not missing, "add these to dashboard/locale/zh (see its header):\n" + "\n".join(missing)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_catalogs_have_every_msgid_and_no_fuzzy_entries(lang: str) -> None:
    """Fuzzy entries are silently ignored at run time, so none may hide a translation."""
    messages = [m for m in catalog(lang) if m.id]
    assert extracted_msgids() <= {m.id for m in messages}
    assert not [m.id for m in messages if m.fuzzy]
    assert not catalog(lang).obsolete, "remove obsolete (#~) entries"


def test_translations_keep_the_placeholders() -> None:
    for message in catalog("zh"):
        if message.id and message.string:
            assert i18n.placeholders(message.string) == i18n.placeholders(message.id), message.id


def test_gettext_per_language() -> None:
    assert i18n.gettext("Employee visit summary", "zh") == "员工拜访汇总表"
    assert i18n.gettext("Employee visit summary", "en") == "Employee visit summary"
    assert i18n.gettext("A string nobody translated", "zh") == "A string nobody translated"
    assert i18n.current_language() == "zh"  # outside a request


def test_normalise_language() -> None:
    assert i18n.normalise_language("zh-CN") == "zh"
    assert i18n.normalise_language("en_US") == "en"
    assert i18n.normalise_language("fr") is None
    assert i18n.normalise_language(None) is None


def test_translate_problem() -> None:
    found = problem(3, "customer_code", "unknown_customer", "Unknown customer '{value}'.",
                    value="C9", column="customer_code")
    assert i18n.translate_problem(found, lang="en") == "Unknown customer 'C9'."
    assert i18n.translate_problem(found, lang="zh") == "未知客户“C9”。"

    required = problem(2, "name", "required", "'{column}' is required.", value=None,
                       column="name")
    assert i18n.translate_problem(required, kind="customers", lang="zh") == "“客户名称”为必填项。"
    assert i18n.translate_problem(required, lang="zh") == "“name”为必填项。"


def test_translate_problem_with_a_suffix_added_at_run_time() -> None:
    template = "'{value}' is not allowed in '{column}' (allowed: " + "A/B/C/D)."
    found = problem(4, "grade", "bad_value", template, value="Z", column="grade")
    assert i18n.translate_problem(found, kind="customers", lang="zh") == (
        "“客户等级”中不允许填写“Z” (允许的值: A/B/C/D).")
    assert i18n.translate_problem(found, lang="en") == found.message


# -- date presets ----------------------------------------------------------------------------
TODAY = date(2024, 6, 5)  # a Wednesday


def test_preset_ranges() -> None:
    assert preset_range(WEEK, TODAY) == (date(2024, 6, 3), date(2024, 6, 5))
    assert preset_range(MONTH, TODAY) == (date(2024, 6, 1), date(2024, 6, 5))
    assert preset_range(LAST_31, TODAY) == (date(2024, 5, 6), date(2024, 6, 5))
    with pytest.raises(ValueError):
        preset_range(CUSTOM, TODAY)
    assert set(PRESETS) == {WEEK, MONTH, LAST_31, CUSTOM}


def test_preset_ranges_at_the_edges() -> None:
    monday = date(2024, 6, 3)
    assert preset_range(WEEK, monday) == (monday, monday)
    assert preset_range(WEEK, date(2024, 1, 2)) == (date(2024, 1, 1), date(2024, 1, 2))
    assert preset_range(WEEK, date(2021, 1, 3)) == (date(2020, 12, 28), date(2021, 1, 3))
    assert preset_range(MONTH, date(2024, 3, 1)) == (date(2024, 3, 1), date(2024, 3, 1))
    assert preset_range(LAST_31, date(2024, 3, 1)) == (date(2024, 1, 31), date(2024, 3, 1))


def test_initial_state_from_the_query_string() -> None:
    allowed = {"R1", "B11"}
    assert initial_state({}, TODAY, allowed) == (None, MONTH, date(2024, 6, 1), TODAY)
    assert initial_state({"preset": "week", "department": "B11"}, TODAY, allowed) == (
        "B11", WEEK, date(2024, 6, 3), TODAY)
    assert initial_state({"from": "2024-01-01", "to": "2024-01-31"}, TODAY, allowed) == (
        None, CUSTOM, date(2024, 1, 1), date(2024, 1, 31))
    # Outside the scope, reversed, malformed: ignored.
    assert initial_state({"department": "B21"}, TODAY, allowed)[0] is None
    assert initial_state({"from": "2024-02-01", "to": "2024-01-01"}, TODAY, allowed)[1] == MONTH
    assert initial_state({"from": "x", "to": "2024-01-01"}, TODAY, allowed)[1] == MONTH


def test_parse_date() -> None:
    assert parse_date("2024-06-05") == TODAY
    assert parse_date("2024-06-05T00:00:00") == TODAY
    assert parse_date("1900-01-01") is None
    assert parse_date("2024-13-01") is None
    assert parse_date(None) is None


def test_every_translated_literal_is_in_the_catalogs() -> None:
    """_("...") inside an f-string is invisible to Babel's extractor (issue 15 item 8:
    "共享 · from E00001"): the syntax tree finds every call, wherever it is written."""
    names = set(KEYWORDS)
    found: set[str] = set()
    for package in ("dashboard", "pipelines"):
        for path in (ROOT / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text("utf-8"))):
                if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                        and node.func.id in names and node.args
                        and isinstance(node.args[0], ast.Constant)
                        and isinstance(node.args[0].value, str)):
                    found.add(node.args[0].value)
    assert not sorted(found - {m.id for m in catalog("zh") if m.id and m.string})
    assert not sorted(found - {m.id for m in catalog("en") if m.id})
