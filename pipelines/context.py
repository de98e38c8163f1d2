"""What a write step needs to know besides the data."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from pipelines.business_settings import BusinessSettings


@dataclass(frozen=True)
class WriteContext:
    settings: BusinessSettings
    username: str | None
    import_id: int | None = None
    now: datetime = field(default_factory=datetime.now)
