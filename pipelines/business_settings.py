"""Business settings kept in the database (DESIGN.md section 2), editable by an admin.

They change report numbers, so every report reads them from the database at query time
through :func:`load`; nothing caches them across requests.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pipelines.store import Store

SOURCES = ("net", "cell", "gps")
DEFAULT_BUCKETS: tuple[tuple[int, int | None], ...] = (
    (0, 0),
    (1, 1),
    (2, 2),
    (3, 5),
    (6, 10),
    (11, None),
)


@dataclass(frozen=True)
class BusinessSettings:
    """The settings that define the metrics; defaults as DESIGN.md section 2."""

    min_valid_stay_minutes: float = 10.0
    deviation_limit_net_m: float = 1000.0
    deviation_limit_cell_m: float = 1000.0
    deviation_limit_gps_m: float = 500.0
    workdays: tuple[int, ...] = (1, 2, 3, 4, 5)  # ISO weekday numbers: Mon = 1
    grades: tuple[str, ...] = ("A", "B", "C", "D")
    frequency_buckets: tuple[tuple[int, int | None], ...] = field(
        default_factory=lambda: DEFAULT_BUCKETS
    )
    export_max_days: int = 31
    timezone: str = "Asia/Shanghai"
    session_idle_minutes: int = 120  # a web session ends after this long without a request
    api_max_backdate_days: int = 7  # older check-ins from phones are refused (file import)

    def limit_for(self, source: str) -> float:
        return float(getattr(self, f"deviation_limit_{source}_m"))

    @staticmethod
    def bucket_label(low: int, high: int | None) -> str:
        if high is None:
            return f"{low}+"
        return str(low) if low == high else f"{low}-{high}"

    @property
    def bucket_labels(self) -> list[str]:
        return [self.bucket_label(lo, hi) for lo, hi in self.frequency_buckets]


_TUPLE_FIELDS = {"workdays", "grades"}


def _to_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def ensure_defaults(db: Store) -> None:
    """Insert each default that is not set yet.

    The session key once kept here (in every backup) is deleted: see pipelines/secret.py.
    """
    defaults = asdict(BusinessSettings())
    with db.transaction() as cur:
        legacy = cur.execute("SELECT count(*) FROM settings WHERE key = 'secret_key'")
        if legacy.fetchone()[0]:  # type: ignore[index]
            cur.execute("DELETE FROM settings WHERE key = 'secret_key'")
        for key, value in defaults.items():
            cur.execute(
                "INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT DO NOTHING",
                [key, _to_json(value)],
            )


def load(db: Store) -> BusinessSettings:
    """The current settings (defaults for any key missing)."""
    stored = {k: json.loads(v) for k, v in db.rows("SELECT key, value FROM settings")}
    kwargs: dict[str, Any] = {}
    for name in BusinessSettings.__dataclass_fields__:
        if name not in stored:
            continue
        value = stored[name]
        if name in _TUPLE_FIELDS:
            value = tuple(value)
        elif name == "frequency_buckets":
            value = tuple((int(lo), None if hi is None else int(hi)) for lo, hi in value)
        kwargs[name] = value
    return BusinessSettings(**kwargs)


def save(db: Store, new: BusinessSettings, username: str | None) -> list[str]:
    """Store changed settings, refresh what depends on them, and audit the change.

    Returns the names of the settings that changed.
    """
    from pipelines import audit, refresh

    old = load(db)
    changed = [
        name
        for name in BusinessSettings.__dataclass_fields__
        if getattr(old, name) != getattr(new, name)
    ]
    if not changed:
        return []
    with db.transaction() as cur:
        for name in changed:
            cur.execute(
                "INSERT OR REPLACE INTO settings (key, value) VALUES (?, ?)",
                [name, _to_json(asdict(new)[name])],
            )
        validity_inputs = {"min_valid_stay_minutes"} | {
            f"deviation_limit_{s}_m" for s in SOURCES
        }
        if validity_inputs & set(changed):
            refresh.validity_changed(cur, new)
        audit.record(
            cur,
            username,
            "settings.update",
            "settings",
            ",".join(changed),
            {n: asdict(old)[n] for n in changed},
            {n: asdict(new)[n] for n in changed},
        )
    return changed
