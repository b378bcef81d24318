"""Hypothesis fuzzing of the JSON bodies of POST /cases and of transitions: never a 500, and a
refused request (4xx) never changes anything."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from mediation.cases.models import Agreement, Case, CaseCounter, IdempotencyKey, Party
from mediation.resources import data_dir
from mediation.workflow.definition import load_file
from mediation.workflow.models import Event
from tests.api.conftest import Api
from tests.factories import PARTIES, TODAY, case_body

DEFINITION = load_file(data_dir("workflows") / "aunt_whistle.toml")
ALLOWED = {200, 201, 400, 403, 404, 409, 413, 422}
SETTINGS = settings(max_examples=60, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

scalars = (st.none() | st.booleans() | st.integers(-(2**70), 2**70)
           | st.floats(allow_nan=False, allow_infinity=False)
           | st.text(max_size=30) | st.sampled_from(["", " ", "\x00", "G1", "reported", "v1",
                                                    TODAY, "13857112345", "l1", "r1"]))
json_values = st.recursive(scalars, lambda kids: st.lists(kids, max_size=4)
                           | st.dictionaries(st.text(max_size=10), kids, max_size=4),
                           max_leaves=12)

CASE_FIELDS = list(case_body())
PARTY_FIELDS = list(PARTIES[0])


@st.composite
def case_bodies(draw: st.DrawFn) -> dict[str, Any]:
    body = case_body()
    for key in draw(st.lists(st.sampled_from([*CASE_FIELDS, "source", "extra"]),
                             max_size=3, unique=True)):
        if draw(st.booleans()):
            body.pop(key, None)
        else:
            body[key] = draw(json_values)
    if "parties" in body and isinstance(body["parties"], list) and body["parties"] \
            and draw(st.booleans()):
        party = dict(PARTIES[0])
        for key in draw(st.lists(st.sampled_from([*PARTY_FIELDS, "nick"]), max_size=2,
                                 unique=True)):
            party[key] = draw(json_values)
        body["parties"] = [party, *body["parties"][1:]]
    return body


@st.composite
def transition_bodies(draw: st.DrawFn) -> dict[str, Any]:
    body: dict[str, Any] = {
        "trigger": draw(st.sampled_from(list(DEFINITION.transitions)) | json_values),
        "expected_version": draw(st.integers(0, 12) | json_values),
        "data": draw(st.dictionaries(
            st.sampled_from(["reason", "instructions", "mediator", "lawyer", "statement",
                             "routes_informed", "x"]), json_values, max_size=3) | json_values),
    }
    for key in draw(st.lists(st.sampled_from(["trigger", "expected_version", "data"]),
                             max_size=1)):
        del body[key]
    if draw(st.booleans()):
        body[draw(st.text(max_size=5))] = draw(json_values)
    return body


def fingerprint(api: Api) -> tuple[Any, ...]:
    with api.rt.db.session() as s:
        return (s.scalar(select(func.count(Case.id))), s.scalar(select(func.sum(Case.version))),
                s.scalar(select(func.count(Event.seq))), s.scalar(select(func.count(Party.id))),
                s.scalar(select(func.count(IdempotencyKey.id))),
                s.scalar(select(func.sum(CaseCounter.last))),
                s.scalar(select(func.count(Agreement.id))))


@pytest.fixture(scope="module")
def pool(shared_api: Api) -> list[int]:
    w = shared_api.world
    return [w.case_in(state) for state in ("reported", "grid_mediation", "escalated",
                                           "center_mediation", "legal_service", "performing")]


def test_fuzz_create(shared_api: Api) -> None:
    @SETTINGS
    @given(body=case_bodies(), user=st.sampled_from(["v1", "r1", "l1", "v3"]),
           key=st.none() | st.sampled_from(["k1", "k2"]))
    def run(body: dict[str, Any], user: str, key: str | None) -> None:
        before = fingerprint(shared_api)
        headers = {"Idempotency-Key": key} if key else {}
        r = shared_api.post("/cases", body, user, headers=headers)
        assert r.status_code in ALLOWED, (r.status_code, body, r.get_data(as_text=True))
        after = fingerprint(shared_api)
        if r.status_code >= 400:
            assert r.mimetype == "application/problem+json"
            assert after == before, body
        elif r.status_code == 201:
            assert after[0] == before[0] + 1
        else:  # an idempotent retry
            assert after == before

    run()


def test_fuzz_transitions(shared_api: Api, pool: list[int]) -> None:
    @SETTINGS
    @given(body=transition_bodies(), index=st.integers(0, len(pool) - 1),
           user=st.sampled_from(["v1", "v1b", "r1", "l1", "r2"]))
    def run(body: dict[str, Any], index: int, user: str) -> None:
        before = fingerprint(shared_api)
        r = shared_api.post(f"/cases/{pool[index]}/transitions", body, user)
        assert r.status_code in ALLOWED, (r.status_code, body, r.get_data(as_text=True))
        after = fingerprint(shared_api)
        if r.status_code >= 400:
            assert r.mimetype == "application/problem+json"
            assert after == before, body
        else:
            assert after[2] > before[2]  # a new event, at least

    run()
