"""Configuration from the environment, read once into a frozen dataclass."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

DEFAULT_DB = "data/visitlens.duckdb"


@dataclass(frozen=True)
class Settings:
    """How this process runs (business rules live in the database, not here).

    Attributes:
        db_path: the DuckDB file ($VISITLENS_DB, default data/visitlens.duckdb).
        host: address to listen on ($VISITLENS_HOST).
        port: port to listen on ($VISITLENS_PORT).
        threads: request threads of the single server process ($VISITLENS_THREADS).
        max_upload_mb: largest accepted upload ($VISITLENS_MAX_UPLOAD_MB).
        secure_cookies: send the session cookie only over HTTPS ($VISITLENS_SECURE_COOKIES=1).
        tile_url: map tile URL template ($VISITLENS_TILE_URL).
        tile_attribution: attribution shown on the map ($VISITLENS_TILE_ATTRIBUTION).
        tile_coords: the tiles' coordinate system, wgs84 or gcj02 (Chinese providers such
            as AutoNavi use GCJ-02; points are shifted to match) ($VISITLENS_TILE_COORDS).
    """

    db_path: str = DEFAULT_DB
    host: str = "127.0.0.1"
    port: int = 8050
    threads: int = 8
    max_upload_mb: int = 50
    secure_cookies: bool = False
    tile_url: str = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
    tile_attribution: str = "© OpenStreetMap contributors"
    tile_coords: str = "wgs84"

    @classmethod
    def from_env(cls, db_path: str | None = None, **overrides: object) -> Settings:
        env = os.environ
        values: dict[str, object] = {
            "db_path": db_path or env.get("VISITLENS_DB") or DEFAULT_DB,
            "host": env.get("VISITLENS_HOST", cls.host),
            "port": int(env.get("VISITLENS_PORT", cls.port)),
            "threads": int(env.get("VISITLENS_THREADS", cls.threads)),
            "max_upload_mb": int(env.get("VISITLENS_MAX_UPLOAD_MB", cls.max_upload_mb)),
            "secure_cookies": env.get("VISITLENS_SECURE_COOKIES", "") == "1",
            "tile_url": env.get("VISITLENS_TILE_URL", cls.tile_url),
            "tile_attribution": env.get("VISITLENS_TILE_ATTRIBUTION", cls.tile_attribution),
            "tile_coords": "gcj02" if env.get("VISITLENS_TILE_COORDS", "").lower() == "gcj02"
            else "wgs84",
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)  # type: ignore[arg-type]

    @property
    def db_file(self) -> Path:
        return Path(self.db_path)
