"""Values as a person reads them on the pages and in the web exports.

One place for every number, rate, time and code that a person reads, so grids, KPI cards,
the customer record, the audit log and the export files agree (issue 15). Numbers are
rounded once, from the unrounded value, to the precision they are shown at (half away from
zero); rates are percentages with one decimal. Stored times are naive: the ones the app
writes itself (audit log, import history, `updated_at`) are the server's local clock, and
are shown in the company time zone (setting `timezone`); visit times are already company
times and are shown as stored. Command-line and JSON output keep dashboard.output.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pandas as pd

from dashboard.i18n import N_, _
from pipelines import business_settings
from pipelines.store import Store

MISSING = "—"
PERCENT_DECIMALS = 1  # rates on the pages: 91.7%

REASON_LABELS: Mapping[str, str] = {
    "no_checkout": N_("No check-out"),
    "short_stay": N_("Stay too short"),
    "no_checkin_location": N_("No check-in location"),
    "no_customer_location": N_("Customer has no location"),
    "checkin_far": N_("Check-in too far"),
    "checkout_far": N_("Check-out too far"),
}
SOURCE_LABELS: Mapping[str, str] = {"net": N_("Network"), "cell": N_("Cell tower"),
                                    "gps": N_("GPS")}


def _undefined(value: Any) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))


def rounded(value: float, decimals: int) -> Decimal:
    """`value` rounded once, half away from zero, on its shortest decimal form."""
    return Decimal(repr(float(value))).quantize(Decimal(1).scaleb(-decimals),
                                                rounding=ROUND_HALF_UP)


def number(value: float | int | None, decimals: int = 2) -> str:
    """A number as shown: grouped thousands, rounded once; '—' where undefined."""
    if value is None or _undefined(value):
        return MISSING
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return f"{rounded(float(value), decimals):,.{decimals}f}"


def percent(fraction: float | None, decimals: int = PERCENT_DECIMALS) -> str:
    """A fraction as a percentage, rounded once from the unrounded fraction (11/12 -> 91.7%).

    Multiplying by 100 happens in decimal, so no float error creeps in before the rounding.
    """
    if fraction is None or _undefined(fraction):
        return MISSING
    scaled = Decimal(repr(float(fraction))).scaleb(2).quantize(
        Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)
    return f"{scaled:.{decimals}f}%"


def fraction(value: float | None, decimals: int = PERCENT_DECIMALS + 2) -> float | None:
    """A rate as a fraction at the precision of its percentage (11/12 -> 0.917), for CSV."""
    if value is None or _undefined(value):
        return None
    return float(rounded(float(value), decimals))


def company_zone(name: str) -> ZoneInfo | None:
    """The company time zone, or None when the setting names no known zone."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def zone_of(db: Store) -> tuple[str, ZoneInfo | None]:
    """The company time zone setting: its name, and the zone (None when unknown)."""
    name = business_settings.load(db).timezone
    return name, company_zone(name)


def company_time(value: Any, zone: ZoneInfo | None, with_seconds: bool = True) -> str:
    """A time the app stamped with the server clock, as the company's wall clock.

    Naive stamps are the server's local time (datetime.now()), so they are read as such and
    converted; '' where undefined.
    """
    if _undefined(value) or value is pd.NaT:
        return ""
    moment = value.to_pydatetime() if isinstance(value, pd.Timestamp) else value
    if not isinstance(moment, datetime):
        return str(value)
    if zone is not None:
        moment = moment.astimezone(zone)
    return moment.strftime("%Y-%m-%d %H:%M:%S" if with_seconds else "%Y-%m-%d %H:%M")


def company_now(zone: ZoneInfo | None) -> datetime:
    """Now on the company's wall clock (the server's when the zone is unknown)."""
    return datetime.now(zone).replace(tzinfo=None) if zone else datetime.now()


def zoned(label: str, zone_name: str) -> str:
    """A label with the time zone its times are in, e.g. '时间 (Asia/Shanghai)'."""
    return f"{label} ({zone_name})"


def file_date(db: Store) -> str:
    """Today's date for an export file name, on the company's calendar (YYYYMMDD)."""
    return f"{company_now(zone_of(db)[1]):%Y%m%d}"


def fraction_header(label: str) -> str:
    """The CSV header of a rate column, saying that it holds a fraction, not a percentage."""
    return _("{label} (fraction)").format(label=label)


def reason_words(codes: Iterable[str]) -> list[str]:
    """Invalid-visit reason codes as the user's words, in the given order."""
    return [_(REASON_LABELS[c]) if c in REASON_LABELS else c for c in codes]


def reasons_text(codes: Iterable[str]) -> str:
    """Reasons joined as a sentence of the user's language (Chinese 、, English commas)."""
    return _(", ").join(reason_words(codes))


def source_word(code: Any) -> str:
    """A location source code (net/cell/gps) as the word the page shows; '' when none."""
    return _(SOURCE_LABELS[code]) if code in SOURCE_LABELS else ""


def valid_word(valid: Any) -> str:
    return _("Valid") if valid else _("Invalid")
