"""``Idempotency-Key`` on POST /api/v1/cases: a retry returns the first case, a reused key with
another body is refused, and keys belong to one user."""

from __future__ import annotations

from tests.api.conftest import Api, assert_problem, snapshot
from tests.factories import case_body


def create(api: Api, key: str | None, body: dict, user: str = "v1") -> tuple[int, dict]:
    headers = {"Idempotency-Key": key} if key else {}
    r = api.post("/cases", body, user, headers=headers)
    return r.status_code, r.get_json()


def test_same_key_and_body_returns_the_same_case(api: Api) -> None:
    status, first = create(api, "whistle-0001", case_body())
    assert status == 201
    assert first["report_no"].endswith("-0001") and first["case_no"] is None
    before = snapshot(api.rt)
    status, again = create(api, "whistle-0001", case_body())
    assert status in (200, 201)
    assert (again["id"], again["report_no"]) == (first["id"], first["report_no"])
    # the same body with its keys in another order is the same request
    reordered = dict(reversed(list(case_body().items())))
    status, third = create(api, "whistle-0001", reordered)
    assert third["id"] == first["id"]
    assert snapshot(api.rt) == before  # no case, no number, no event
    assert api.get("/cases").get_json()["total"] == 1
    # no number was consumed by the retries
    status, other = create(api, None, case_body())
    assert status == 201 and other["report_no"].endswith("-0002")


def test_same_key_with_another_body_is_422(api: Api) -> None:
    create(api, "k-1", case_body())
    before = snapshot(api.rt)
    for lang in (None, "en"):
        r = api.post("/cases", case_body(title="另一件事"), headers={"Idempotency-Key": "k-1"},
                     lang=lang)
        body = assert_problem(r, 422, "Idempotency-Key")
        if lang:
            assert "Idempotency-Key" in body["detail"]
    assert snapshot(api.rt) == before


def test_keys_are_per_user(api: Api) -> None:
    _, mine = create(api, "shared-key", case_body(), "v1")
    _, theirs = create(api, "shared-key", case_body(), "v1b")
    assert mine["id"] != theirs["id"]
    assert mine["report_no"] != theirs["report_no"]
    # and another user's key with another body is no conflict either
    status, third = create(api, "shared-key", case_body(grid="G2"), "v2")
    assert status == 201 and third["id"] not in (mine["id"], theirs["id"])
    assert api.get("/cases", "r1").get_json()["total"] == 3


def test_a_refused_request_does_not_use_up_the_key(api: Api) -> None:
    status, body = create(api, "k-2", case_body(grid="NOPE"))
    assert status == 422
    status, body = create(api, "k-2", case_body())
    assert status == 201
    status, again = create(api, "k-2", case_body())
    assert again["id"] == body["id"]


def test_without_a_key_every_post_is_a_new_case(api: Api) -> None:
    ids = {create(api, None, case_body())[1]["id"] for _ in range(3)}
    assert len(ids) == 3
