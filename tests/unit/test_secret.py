"""The session key file (pipelines/secret.py, issue 14 item 4)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from pipelines import secret


def test_made_once_with_mode_0600_then_reused(tmp_path: Path) -> None:
    db_path = tmp_path / "data" / "visitlens.duckdb"
    key = secret.load(secret.secret_path(db_path), environ={})
    path = secret.secret_path(db_path)
    assert path == tmp_path / "data" / "visitlens.duckdb.secret"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and len(key) == 64
    assert secret.load(secret.secret_path(db_path), environ={}) == key
    assert sorted(p.name for p in path.parent.iterdir()) == ["visitlens.duckdb.secret"]


def test_a_file_others_may_read_is_refused(tmp_path: Path) -> None:
    db_path = tmp_path / "visitlens.duckdb"
    secret.load(secret.secret_path(db_path), environ={})
    secret.secret_path(db_path).chmod(0o644)
    with pytest.raises(secret.SecretError, match="chmod 600"):
        secret.load(secret.secret_path(db_path), environ={})


def test_a_file_of_another_user_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                           ) -> None:
    db_path = tmp_path / "visitlens.duckdb"
    secret.load(secret.secret_path(db_path), environ={})
    monkeypatch.setattr(os, "getuid", lambda: os.stat(tmp_path).st_uid + 1)
    with pytest.raises(secret.SecretError, match="another user"):
        secret.load(secret.secret_path(db_path), environ={})


def test_the_environment_wins_and_must_be_long(tmp_path: Path) -> None:
    db_path = tmp_path / "visitlens.duckdb"
    assert secret.load(secret.secret_path(db_path), environ={secret.ENV_VAR: "x" * 40}) == "x" * 40
    assert not secret.secret_path(db_path).exists()  # no file when the key is given
    with pytest.raises(secret.SecretError, match="at least 32"):
        secret.load(secret.secret_path(db_path), environ={secret.ENV_VAR: "short"})


def test_rotate_writes_a_new_key(tmp_path: Path) -> None:
    db_path = tmp_path / "visitlens.duckdb"
    old = secret.load(secret.secret_path(db_path), environ={})
    secret.rotate(secret.secret_path(db_path), environ={})
    new = secret.load(secret.secret_path(db_path), environ={})
    assert new != old and stat.S_IMODE(secret.secret_path(db_path).stat().st_mode) == 0o600
    with pytest.raises(secret.SecretError, match=secret.ENV_VAR):
        secret.rotate(secret.secret_path(db_path), environ={secret.ENV_VAR: "x" * 40})
