"""Fixtures of the REST API tests: bearer tokens per user, a small client wrapper, and a
snapshot of the database to prove that a refused request changed nothing.

Tokens are issued straight into the database (the login endpoint itself is tested in
test_auth.py), and passwords are hashed with cheap argon2 parameters so that building the
world's ten users stays fast; the production parameters are untouched outside tests/api.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from mediation.auth.operations import find_user, issue_token
from mediation.db import Base
from mediation.runtime import Runtime
from tests.conftest import empty, make_config
from tests.factories import World

V1 = "/api/v1"
# Tables a refused request may legitimately touch: a failed login is counted, a token issued.
NOT_SNAPSHOTTED = {"login_attempts", "api_tokens"}


@pytest.fixture(scope="module")
def shared_api(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    """One world and app for a whole module whose tests only make refused requests (or
    tolerate each other's cases). A module using it must not use ``rt``/``api``: those
    empty the database."""
    from mediation import create_app

    runtime = empty(Runtime(make_config(backend, tmp_path_factory.mktemp("instance"))))
    world = World(runtime).build()
    app = create_app(runtime=runtime)
    app.config.update(TESTING=True, WTF_CSRF_ENABLED=False)
    shared = Api(app.test_client(), runtime)
    shared.world = world
    yield shared
    runtime.close()


def snapshot(rt: Runtime) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table (but login attempts and tokens), in primary-key order."""
    out: dict[str, list[tuple[Any, ...]]] = {}
    with rt.db.engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            if table.name in NOT_SNAPSHOTTED:
                continue
            rows = conn.execute(select(table).order_by(*table.primary_key.columns))
            out[table.name] = [tuple(r) for r in rows]
    return out


class Api:
    """The Flask test client with a bearer token per username and JSON helpers."""

    def __init__(self, client: Any, rt: Runtime):
        self.client = client
        self.rt = rt
        self.world = World(rt)
        self._tokens: dict[str, str] = {}

    def token(self, username: str) -> str:
        if username not in self._tokens:
            with self.rt.db.session() as s:
                user = find_user(s, username)
                assert user is not None, username
                self._tokens[username], _ = issue_token(s, user)
        return self._tokens[username]

    def headers(self, username: str | None, lang: str | None = None,
                **extra: str) -> dict[str, str]:
        h = dict(extra)
        if username:
            h["Authorization"] = f"Bearer {self.token(username)}"
        if lang:
            h["Accept-Language"] = lang
        return h

    def request(self, method: str, path: str, user: str | None = "v1", *,
                lang: str | None = None, headers: dict[str, str] | None = None,
                **kw: Any) -> Any:
        url = path if path.startswith("/api/") or path.startswith("/healthz") else V1 + path
        h = self.headers(user, lang, **(headers or {}))
        return self.client.open(url, method=method, headers=h, **kw)

    def get(self, path: str, user: str | None = "v1", **kw: Any) -> Any:
        return self.request("GET", path, user, **kw)

    def post(self, path: str, body: Any = None, user: str | None = "v1", **kw: Any) -> Any:
        if body is not None:
            kw["json"] = body
        return self.request("POST", path, user, **kw)

    def put(self, path: str, body: Any = None, user: str | None = "v1", **kw: Any) -> Any:
        if body is not None:
            kw["json"] = body
        return self.request("PUT", path, user, **kw)

    # Shortcuts -------------------------------------------------------------------------------

    def case(self, case_id: int, user: str = "v1") -> dict[str, Any]:
        r = self.get(f"/cases/{case_id}", user)
        assert r.status_code == 200, r.get_json()
        return r.get_json()

    def fire(self, case_id: int, trigger: str, user: str, data: dict | None = None,
             expected: int = 200) -> Any:
        version = self.case(case_id, user)["version"] if expected != 404 else 1
        r = self.post(f"/cases/{case_id}/transitions",
                      {"trigger": trigger, "expected_version": version, "data": data or {}},
                      user)
        assert r.status_code == expected, r.get_json()
        return r.get_json()

    def act(self, case_id: int, action: str, user: str, data: dict,
            expected: int = 201) -> Any:
        r = self.post(f"/cases/{case_id}/actions", {"action": action, "data": data}, user)
        assert r.status_code == expected, r.get_json()
        return r.get_json()


def assert_problem(r: Any, status: int, *fields: str) -> dict[str, Any]:
    """``r`` is a problem+json of ``status`` naming exactly ``fields`` (if given)."""
    assert r.status_code == status, (r.status_code, r.get_data(as_text=True))
    assert r.mimetype == "application/problem+json", r.mimetype
    body = r.get_json()
    assert body["status"] == status
    assert body["title"] and body["detail"]
    if fields:
        named = {e["field"] for e in body.get("errors", [])}
        assert set(fields) <= named, (fields, body.get("errors"))
        assert all(e["message"] for e in body["errors"])
    return body


@pytest.fixture
def api(client: Any, rt: Runtime, world: World) -> Api:
    """The API as the world's users (``api.get(path, "r1")``), on an empty database."""
    return Api(client, rt)


@pytest.fixture
def login(api: Api):
    """``login("r1")`` → the Authorization header of a fresh bearer token of r1."""
    def _login(username: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {api.token(username)}"}
    return _login
