"""Values as a person reads them (dashboard.display, dashboard.audit_view), hand-computed.

Rates are rounded once, from the unrounded fraction, at the precision shown (issue 15):
11/12 = 0.916666… -> 91.7%; 10/15 = 0.666… -> 66.7%; 25/31 = 0.806451… -> 80.6% (rounding
to 2 decimals first gives 80.65 and then 80.7%, the defect).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
from flask import Flask

from dashboard import audit_view, display
from dashboard.components import cards
from pipelines import business_settings
from pipelines.db import Database

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def english() -> Iterator[None]:
    app = Flask(__name__)
    app.secret_key = "test"
    with app.test_request_context(headers={"Accept-Language": "en"}):
        yield


@pytest.mark.parametrize(("fraction", "shown"), [
    (11 / 12, "91.7%"), (10 / 15, "66.7%"), (25 / 31, "80.6%"), (1 / 3, "33.3%"),
    (1.0, "100.0%"), (0.0, "0.0%"), (0.0005, "0.1%"), (0.00049, "0.0%"), (2 / 3, "66.7%"),
    (0.8065, "80.7%"),  # exactly half: away from zero
])
def test_percent_rounds_once_from_the_fraction(fraction: float, shown: str) -> None:
    assert display.percent(fraction) == shown
    assert cards.percent(fraction) == shown  # the cards use the same helper


@pytest.mark.parametrize("missing", [None, float("nan"), pd.NA])
def test_undefined_values_read_as_a_dash(missing: object) -> None:
    assert display.percent(missing) == "—"  # type: ignore[arg-type]
    assert display.number(missing) == "—"  # type: ignore[arg-type]
    assert display.fraction(missing) is None  # type: ignore[arg-type]


def test_number_and_fraction() -> None:
    assert display.number(1234567) == "1,234,567"
    assert display.number(2.675) == "2.68"  # 2.675 is 2.67499… as a float; its shortest form
    assert display.number(1 / 8, 1) == "0.1"  # 0.125 -> 0.1 at one decimal, rounded once
    assert display.fraction(11 / 12) == 0.917 and display.fraction(25 / 31) == 0.806
    assert display.fraction(1 / 3) == 0.333


def test_company_time_converts_the_server_clock() -> None:
    # A stamp the server wrote with datetime.now() (local, naive) is that moment in time.
    moment = datetime(2024, 5, 6, 23, 30, tzinfo=UTC)
    stamp = moment.astimezone().replace(tzinfo=None)  # as this machine's clock shows it
    assert display.company_time(stamp, SHANGHAI) == "2024-05-07 07:30:00"
    assert display.company_time(pd.Timestamp(stamp), SHANGHAI, with_seconds=False) == \
        "2024-05-07 07:30"
    assert display.company_time(None, SHANGHAI) == ""
    assert display.company_time(pd.NaT, SHANGHAI) == ""
    assert display.company_zone("Not/AZone") is None


def test_file_date_is_the_company_calendar(db: Database) -> None:
    """A zone 12 or 14 hours from UTC is on another date than UTC for half of the day."""
    utc_now = datetime.now(UTC)
    zone = "Etc/GMT+12" if utc_now.hour < 12 else "Etc/GMT-14"
    business_settings.save(db, business_settings.BusinessSettings(timezone=zone), "tests")
    expected = (utc_now + timedelta(hours=-12 if utc_now.hour < 12 else 14)).strftime("%Y%m%d")
    assert expected != utc_now.strftime("%Y%m%d")
    assert display.file_date(db) == expected


def test_reasons_and_sources_in_both_languages(english: None) -> None:
    assert display.reasons_text(["no_checkout", "checkin_far"]) == \
        "No check-out, Check-in too far"
    assert display.source_word("cell") == "Cell tower" and display.source_word(None) == ""
    assert display.fraction_header("Completion rate") == "Completion rate (fraction)"


def test_reasons_in_chinese() -> None:
    assert display.reasons_text(["no_checkout", "short_stay", "checkin_far"]) == \
        "未签退、停留过短、签到距离过远"
    assert [display.source_word(s) for s in ("net", "cell", "gps")] == ["网络", "基站", "GPS"]
    assert display.valid_word(True) == "有效" and display.valid_word(False) == "无效"
    assert display.fraction_header("完成率") == "完成率 (比例)"


def test_audit_change_shows_what_changed_in_words() -> None:
    before = '{"code": "C1", "grade": "A", "name": "甲店", "version": 3, "deleted": false}'
    after = '{"code": "C1", "grade": "B", "name": "甲店", "version": 4, "deleted": false}'
    assert audit_view.readable(before, after) == ("等级: A", "等级: B")
    assert audit_view.readable('{"deleted": false}', '{"deleted": true}') == (
        "已删除: 否", "已删除: 是")
    assert audit_view.readable(None, '{"role": "supervisor", "departments": ["R1", "R2"]}') \
        == ("", "角色: 主管; 部门: R1、R2")
    assert audit_view.readable(None, '{"check_out_at": "2024-05-06 10:00:00", "source": '
                                     '"net", "invalid_mask": 3}') == (
        "", "签退时间: 2024-05-06 10:00:00; 签退定位方式: 网络; 无效原因: 未签退、停留过短")
    assert audit_view.readable(None, '{"mystery": 1}') == ("", "mystery: 1")


def test_audit_in_english(english: None) -> None:
    assert audit_view.readable('{"kind": "off", "name": "调休"}', None) == (
        "Kind: Day off; Name: 调休", "")
