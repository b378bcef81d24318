"""Engine tests share one world (org tree and users) per module and backend; each test starts
with the case tables emptied."""

from __future__ import annotations

from collections.abc import Collection, Iterator

import pytest
from sqlalchemy import update

from mediation.auth.models import User
from mediation.runtime import Runtime
from tests.conftest import empty, make_config
from tests.factories import USERS, World

WORLD_TABLES = frozenset({"org_units", "users", "definition_versions"})


def clear_cases(rt: Runtime, keep: Collection[str] = WORLD_TABLES) -> None:
    """Empty every table but ``keep``; users get back the name and address they were built
    with (some tests give them an address, to test conflicts of interest)."""
    empty(rt, keep)
    if "users" in keep:
        with rt.db.engine.begin() as conn:
            for username, _, _, full_name in USERS:
                conn.execute(update(User).where(User.username == username)
                             .values(address="", full_name=full_name))


@pytest.fixture(scope="module")
def module_world(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """The factories' world, built once per module and backend."""
    runtime = empty(Runtime(make_config(backend, tmp_path_factory.mktemp("instance"))))
    yield World(runtime).build()
    runtime.close()


@pytest.fixture
def world(module_world: World) -> World:
    """The module's world with no cases."""
    clear_cases(module_world.rt)
    return module_world
