"""Scope resolution for each role (DESIGN.md section 3)."""

from __future__ import annotations

import pytest

from dashboard.scope import ScopeError, operator_scope, resolve_scope, scope_for_username
from pipelines.db import Database
from pipelines.users import UserError, add_user, authenticate, get_user
from tests.conftest import Factory


@pytest.fixture
def org(db: Database, factory: Factory) -> Database:
    factory.org()
    add_user(db, "boss", "password-1", "admin")
    add_user(db, "east", "password-2", "supervisor", ("R1",))
    add_user(db, "two", "password-3", "supervisor", ("R1", "R2"))
    add_user(db, "bj", "password-4", "analyst", ("B21",))
    add_user(db, "nobody", "password-5", "analyst")
    add_user(db, "nested", "password-6", "supervisor", ("R1", "B11"))
    return db


def _scope(db: Database, name: str):  # type: ignore[no-untyped-def]
    user = get_user(db, name)
    assert user is not None
    return resolve_scope(db, user)


def test_admin_sees_everything(org: Database) -> None:
    scope = _scope(org, "boss")
    assert scope.everything
    assert scope.departments == {"HQ", "R1", "R2", "B11", "B12", "B21"}
    assert scope.tops == ("HQ",)


def test_supervisor_sees_the_subtree_of_their_region(org: Database) -> None:
    scope = _scope(org, "east")
    assert not scope.everything
    assert scope.departments == {"R1", "B11", "B12"}
    assert scope.tops == ("R1",)
    scope.check_department("B12")
    with pytest.raises(ScopeError):
        scope.check_department("B21")
    with pytest.raises(ScopeError):
        scope.check_department("HQ")


def test_supervisor_of_two_regions_sees_their_union(org: Database) -> None:
    scope = _scope(org, "two")
    assert scope.departments == {"R1", "B11", "B12", "R2", "B21"}
    assert scope.tops == ("R1", "R2")


def test_nested_departments_have_one_top(org: Database) -> None:
    assert _scope(org, "nested").tops == ("R1",)


def test_analyst_sees_their_branch(org: Database) -> None:
    scope = _scope(org, "bj")
    assert scope.departments == {"B21"}
    assert not scope.can_edit


def test_user_without_department_sees_nothing(org: Database) -> None:
    scope = _scope(org, "nobody")
    assert scope.is_empty
    assert scope.departments == frozenset()
    with pytest.raises(ScopeError):
        scope.check_department("B21")


def test_unknown_department_filter_is_refused(org: Database) -> None:
    with pytest.raises(ScopeError):
        _scope(org, "boss").check_department("NOPE")


def test_operator_and_as(org: Database) -> None:
    assert operator_scope(org).everything
    assert scope_for_username(org, "bj").departments == {"B21"}
    with pytest.raises(ScopeError):
        scope_for_username(org, "ghost")


def test_passwords_are_hashed_and_checked(org: Database) -> None:
    stored = org.scalar("SELECT password_hash FROM users WHERE username = 'east'")
    assert stored.startswith("scrypt:") and "password-2" not in stored
    assert authenticate(org, "east", "password-2") is not None
    assert authenticate(org, "east", "wrong-password") is None
    assert authenticate(org, "ghost", "password-2") is None


def test_bad_users_are_refused(org: Database) -> None:
    with pytest.raises(UserError, match="Unknown role"):
        add_user(org, "x", "password-x", "root")
    with pytest.raises(UserError, match="already exists"):
        add_user(org, "east", "password-x", "analyst")
    with pytest.raises(UserError, match="Unknown department"):
        add_user(org, "y", "password-y", "analyst", ("ZZ",))
    with pytest.raises(UserError, match="at least 8"):
        add_user(org, "z", "short", "analyst")
