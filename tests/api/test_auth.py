"""Token authentication: issue, expiry, wrong credentials, throttling, bad bearer headers."""

from __future__ import annotations

from datetime import timedelta

import pytest

from mediation.auth.models import LoginAttempt
from mediation.auth.operations import find_user, issue_token
from mediation.timeutil import parse_iso, utcnow
from tests.api.conftest import Api, assert_problem
from tests.factories import password_of

TOKEN = "/auth/token"


def creds(username: str, password: str | None = None) -> dict[str, str]:
    return {"username": username, "password": password or password_of(username)}


def test_token_issued_and_used(api: Api) -> None:
    before = utcnow()
    r = api.post(TOKEN, creds("r1"), user=None)
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert set(body) >= {"token", "expires_at"}
    expires = parse_iso(body["expires_at"])
    assert before + timedelta(hours=1) < expires <= utcnow() + timedelta(hours=24)
    me = api.client.get("/api/v1/me", headers={"Authorization": f"Bearer {body['token']}"})
    assert me.status_code == 200
    assert me.get_json().items() >= {"username": "r1", "role": "reviewer", "org": "S1"}.items()
    # the scheme is case-insensitive; every login makes a new token
    again = api.post(TOKEN, creds("r1"), user=None).get_json()["token"]
    assert again != body["token"]
    me = api.client.get("/api/v1/me", headers={"Authorization": f"bearer {again}"})
    assert me.status_code == 200


def test_expired_token_is_refused(api: Api) -> None:
    with api.rt.db.session() as s:
        user = find_user(s, "v1")
        assert user is not None
        token, expires = issue_token(s, user, ttl_hours=1, now=utcnow() - timedelta(hours=2))
    assert expires < utcnow()
    r = api.client.get("/api/v1/cases", headers={"Authorization": f"Bearer {token}"})
    assert_problem(r, 401)


@pytest.mark.parametrize("body", [creds("v1", "wrong-password"), creds("nobody"),
                                  creds("V1"), creds("v1", password_of("v1") + " ")],
                         ids=["wrong password", "unknown user", "wrong case", "trailing space"])
def test_wrong_credentials_401(api: Api, body: dict[str, str]) -> None:
    r = api.post(TOKEN, body, user=None)
    zh = assert_problem(r, 401)
    assert "token" not in zh
    assert zh["detail"] == "用户名或密码错误"
    en = assert_problem(api.post(TOKEN, body, user=None, lang="en"), 401)
    assert en["detail"] == "Wrong username or password"


@pytest.mark.parametrize("body, status, field", [
    ({"username": "v1"}, 422, "password"),
    ({"password": "x"}, 422, "username"),
    ({"username": "", "password": "x"}, 422, "username"),
    ({"username": 1, "password": "x"}, 422, "username"),
    ({"username": "v1", "password": "x", "remember": True}, 422, "remember"),
    ({"username": "u" * 61, "password": "x"}, 422, "username"),
    ({"username": "v1\x00", "password": "x"}, 422, "username"),
])
def test_token_bad_input(api: Api, body: dict, status: int, field: str) -> None:
    assert_problem(api.post(TOKEN, body, user=None), status, field)


def test_token_not_json(api: Api) -> None:
    r = api.post(TOKEN, user=None, data="username=v1&password=x",
                 content_type="application/x-www-form-urlencoded")
    assert_problem(r, 400)


def _fail(api: Api, username: str) -> int:
    return api.post(TOKEN, creds(username, "not-the-password"), user=None).status_code


def test_throttle_after_ten_failures_for_that_username_only(api: Api) -> None:
    assert [_fail(api, "v1") for _ in range(10)] == [401] * 10
    # the 11th attempt is refused, even with the right password
    r = api.post(TOKEN, creds("v1"), user=None)
    body = assert_problem(r, 429)
    assert "15" in body["detail"]
    assert "token" not in body
    en = assert_problem(api.post(TOKEN, creds("v1"), user=None, lang="en"), 429)
    assert "Too many failed logins" in en["detail"]
    assert _fail(api, "v1") == 429
    # other usernames are unaffected, known or not
    assert api.post(TOKEN, creds("v2"), user=None).status_code == 200
    assert _fail(api, "v2") == 401
    assert _fail(api, "ghost") == 401
    # a token issued earlier still works: throttling is about logging in
    assert api.get("/me", "v1").status_code == 200


def test_throttle_applies_to_unknown_usernames_too(api: Api) -> None:
    assert [_fail(api, "ghost") for _ in range(11)] == [401] * 10 + [429]
    assert api.post(TOKEN, creds("v1"), user=None).status_code == 200


def test_successful_logins_are_not_counted(api: Api) -> None:
    assert [_fail(api, "r1") for _ in range(9)] == [401] * 9
    for _ in range(5):
        assert api.post(TOKEN, creds("r1"), user=None).status_code == 200
    assert _fail(api, "r1") == 401  # the 10th failure: still an ordinary 401
    assert api.post(TOKEN, creds("r1"), user=None).status_code == 429


def test_failures_older_than_fifteen_minutes_do_not_count(api: Api) -> None:
    with api.rt.db.session() as s:
        old = utcnow() - timedelta(minutes=16)
        s.add_all([LoginAttempt(username="v1", at=old, success=False) for _ in range(30)])
        s.add_all([LoginAttempt(username="v1", at=utcnow() - timedelta(minutes=14),
                                success=False) for _ in range(9)])
    assert api.post(TOKEN, creds("v1"), user=None).status_code == 200
    assert _fail(api, "v1") == 401   # 10 failures within the window now
    assert api.post(TOKEN, creds("v1"), user=None).status_code == 429


PROTECTED = ["/api/v1/me", "/api/v1/cases", "/api/v1/cases/1", "/api/v1/workflows",
             "/api/v1/stats", "/api/v1/cases/1/events", "/api/v1/cases/1/events/verify",
             "/api/v1/cases/1/agreement"]


@pytest.mark.parametrize("header", [
    None, "", "Bearer", "Bearer ", "Bearer garbage", "Bearer " + "x" * 5000, "Token abc",
    "Basic djE6UHctdjEtMjAyNg==", "bearer\tabc", "Bearer \u4e2d\u6587",
], ids=["missing", "empty", "no token", "blank token", "garbage", "long garbage", "other scheme",
        "basic auth", "tab", "non-ascii"])
def test_missing_or_garbage_bearer_is_401(api: Api, header: str | None) -> None:
    headers = {} if header is None else {"Authorization": header}
    for path in PROTECTED:
        r = api.client.get(path, headers=headers)
        body = assert_problem(r, 401)
        assert body["detail"] == "未登录或登录已过期"
        r = api.client.get(path, headers={**headers, "Accept-Language": "en"})
        assert assert_problem(r, 401)["detail"] == "Not signed in, or the session has expired"


def test_writes_without_a_token_are_401_and_change_nothing(api: Api) -> None:
    from tests.api.conftest import snapshot
    from tests.factories import case_body

    case_id = api.post("/cases", case_body()).get_json()["id"]
    before = snapshot(api.rt)
    for method, path, body in [
        ("POST", "/cases", case_body()),
        ("POST", f"/cases/{case_id}/transitions",
         {"trigger": "accept", "expected_version": 1, "data": {}}),
        ("POST", f"/cases/{case_id}/actions", {"action": "add_note", "data": {"text": "x"}}),
        ("PUT", f"/cases/{case_id}/agreement", {}),
    ]:
        assert_problem(api.request(method, path, None, json=body), 401)
    assert snapshot(api.rt) == before


def test_public_endpoints_need_no_token(api: Api) -> None:
    assert api.client.get("/healthz").get_json() == {"status": "ok"}
    assert api.client.get("/api/openapi.json").status_code == 200
