"""The audit log's action codes in the reader's words (issue 15 item 7), and searchable so."""

from __future__ import annotations

import re
from pathlib import Path

from flask import Flask

from dashboard import audit_view, i18n

ROOT = Path(__file__).resolve().parents[2]
# Every literal action the code audits: audit.record(cur, who, "x.y"), guarded(db, scope,
# "x.y"), require_admin("x.y"), and refusals named by their action.
ACTION_CALL = re.compile(
    r"(?:audit\.record\([^\"]*?|guarded\([^\"]*?|require_admin\(|_denied\([^\"]*?)"
    r"\"([a-z_]+\.[a-z_]+)\"")


def audited_actions() -> set[str]:
    found: set[str] = set()
    for path in [*ROOT.glob("pipelines/**/*.py"), *ROOT.glob("dashboard/**/*.py")]:
        found.update(ACTION_CALL.findall(path.read_text("utf-8")))
    return found


def speaking(lang: str):  # type: ignore[no-untyped-def]
    """A request context whose browser asks for `lang`."""
    return Flask(__name__).test_request_context(headers={"Accept-Language": lang})


def test_every_audited_action_has_words() -> None:
    actions = audited_actions()
    assert {"customer.update", "plan.create", "user.add", "session.end_all"} <= actions
    for action in actions:
        record, verb = action.split(".")
        assert record in audit_view.RECORD_LABELS, action
        assert verb in audit_view.VERB_LABELS, action


def test_actions_read_in_chinese_and_english() -> None:
    with speaking("zh-CN"):
        assert i18n.current_language() == "zh"
        assert audit_view.action_label("customer.update") == "客户：修改"
        assert audit_view.action_label("user.add") == "用户：新增"
        assert audit_view.action_label("denied") == "已拒绝"
        assert audit_view.action_label("customer") == "客户"
        assert audit_view.action_label("odd.thing") == "odd：thing"  # unknown: shown as is
    with speaking("en"):
        assert audit_view.action_label("plan.delete") == "Plan: delete"


def test_a_search_in_words_finds_the_stored_codes() -> None:
    stored = ["customer.update", "customer.add", "plan.create", "denied", "customer"]
    with speaking("zh-CN"):
        assert audit_view.codes_matching("客户", stored) == [
            "customer.update", "customer.add", "customer"]
        assert audit_view.codes_matching("拒绝", stored) == ["denied"]
        assert audit_view.codes_matching("", stored) == []
