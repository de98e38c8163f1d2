"""Fixtures of the adversarial suite: the world's database, built once per session."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.security.world import build_world


@pytest.fixture(scope="session")
def world_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The world database (tests.security.world), closed; copy it before serving it."""
    return build_world(tmp_path_factory.mktemp("world-template") / "template.duckdb")
