"""Configuration from the environment, read once into a frozen dataclass."""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from pipelines.engines import ENGINES, open_store
from pipelines.store import Store

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
        engine: the store, duckdb or clickhouse ($VISITLENS_ENGINE, default duckdb).
        clickhouse_url: where ClickHouse is when engine is clickhouse: chdb:PATH (embedded)
            or http(s)://user:password@host:8123/database ($VISITLENS_CLICKHOUSE_URL).
        job_dir: on ClickHouse, the folder for export and import results that every web
            process can read ($VISITLENS_JOB_DIR; default: visitlens-jobs in the system's
            temporary folder, enough for several processes on one host).
        duckdb_memory_limit: DuckDB's buffer pool of the served process
            ($VISITLENS_DUCKDB_MEMORY, default 1GB: the process stays under 1.5 GB).
        login_limits: sign-in throttling, e.g. ``account=10/300,address=30/300,hashes=10/1``
            (attempts/seconds; pipelines.throttle) ($VISITLENS_LOGIN_LIMITS).
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
    engine: str = "duckdb"
    clickhouse_url: str = ""
    job_dir: str = ""
    duckdb_memory_limit: str = "1GB"
    login_limits: str = ""

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
            "engine": env.get("VISITLENS_ENGINE", cls.engine).strip().lower() or cls.engine,
            "clickhouse_url": env.get("VISITLENS_CLICKHOUSE_URL", cls.clickhouse_url),
            "job_dir": env.get("VISITLENS_JOB_DIR", cls.job_dir),
            "duckdb_memory_limit": env.get("VISITLENS_DUCKDB_MEMORY", cls.duckdb_memory_limit),
            "login_limits": env.get("VISITLENS_LOGIN_LIMITS", cls.login_limits),
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)  # type: ignore[arg-type]

    @property
    def db_file(self) -> Path:
        return Path(self.db_path)

    @property
    def embedded(self) -> bool:
        """True when the store is a DuckDB file this process owns (one writer process)."""
        return self.engine == "duckdb"

    @property
    def job_folder(self) -> Path:
        """Where shared jobs keep their result files."""
        return Path(self.job_dir) if self.job_dir else Path(tempfile.gettempdir()) / \
            "visitlens-jobs"

    @property
    def secret_file(self) -> Path:
        """The session key's file when $VISITLENS_SECRET_KEY is not set (pipelines.secret):
        next to the DuckDB file, or in the job folder every ClickHouse web process shares."""
        from pipelines.secret import secret_path

        return secret_path(self.db_path) if self.embedded else \
            self.job_folder / "visitlens-session.secret"

    @property
    def store_location(self) -> str:
        return self.db_path if self.embedded else self.clickhouse_url

    def open_database(self) -> Store:
        """The store this process works on (see pipelines.store)."""
        if self.engine not in ENGINES:
            raise ValueError(f"VISITLENS_ENGINE must be one of {', '.join(ENGINES)}")
        if not self.embedded and not self.clickhouse_url:
            raise ValueError("VISITLENS_ENGINE=clickhouse needs VISITLENS_CLICKHOUSE_URL")
        return open_store(self.engine, self.store_location)
