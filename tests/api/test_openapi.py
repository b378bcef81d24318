"""/api/openapi.json: an OpenAPI 3.1 document generated from the code that validates the
requests, with every path of INTERFACES.md's table, the request schemas and bearer security."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.api.conftest import Api

# INTERFACES.md, "REST API v1": (method, path) of the table, {…} for path parameters.
INTERFACES = [
    ("post", "/api/v1/auth/token"), ("get", "/api/v1/me"), ("get", "/api/v1/workflows"),
    ("post", "/api/v1/cases"), ("get", "/api/v1/cases"), ("get", "/api/v1/cases/{id}"),
    ("post", "/api/v1/cases/{id}/transitions"), ("post", "/api/v1/cases/{id}/actions"),
    ("put", "/api/v1/cases/{id}/agreement"), ("post", "/api/v1/cases/{id}/agreement/signatures"),
    ("get", "/api/v1/cases/{id}/events"), ("get", "/api/v1/cases/{id}/events/verify"),
    ("get", "/api/v1/cases/{id}/documents/agreement.pdf"),
    ("get", "/api/v1/cases/{id}/documents/dossier.pdf"),
    ("get", "/api/v1/verify/{code}"), ("get", "/api/v1/stats"),
]
PUBLIC = {"/api/v1/auth/token", "/api/v1/verify/{}"}


def norm(path: str) -> str:
    return re.sub(r"\{[^}]*\}", "{}", path)


@pytest.fixture
def document(api: Api) -> dict[str, Any]:
    r = api.client.get("/api/openapi.json")
    assert r.status_code == 200
    assert r.mimetype == "application/json"
    return r.get_json()


def routed(api: Api) -> list[tuple[str, str]]:
    """The table's endpoints the app serves now (the PDF and verification endpoints arrive
    with the documents issue)."""
    adapter = api.client.application.url_map.bind("localhost")
    out = []
    for method, path in INTERFACES:
        concrete = path.replace("{id}", "1").replace("{code}", "abc")
        try:
            adapter.match(concrete, method.upper())
        except Exception:  # werkzeug's NotFound / MethodNotAllowed / RequestRedirect
            continue
        out.append((method, path))
    return out


def test_openapi_31_with_bearer_and_request_schemas(document: dict[str, Any]) -> None:
    assert document["openapi"].startswith("3.1")
    assert document["info"]["title"]
    schemes = document["components"]["securitySchemes"]
    assert {"type": "http", "scheme": "bearer"}.items() <= schemes["bearer"].items()
    schemas = document["components"]["schemas"]
    # spectree names a model "Name.<hash>" and a nested one "Outer.<hash>.Name"
    by_name = {name.split(".")[0]: body for name, body in schemas.items()
               if name.count(".") <= 1}
    for name in ("CaseCreate", "TransitionIn", "ActionIn", "AgreementIn", "SignatureIn",
                 "TokenRequest", "CaseQuery", "StatsQuery", "Problem"):
        assert name in by_name, name
    create = by_name["CaseCreate"]
    assert {"grid", "category", "risk_level", "title", "parties"} <= set(create["required"])
    assert create["properties"]["parties"]["type"] == "array"
    assert create.get("additionalProperties") is False
    party = next(b for n, b in schemas.items() if n.endswith("PartyIn"))
    assert {"role", "name", "phone", "id_number"} <= set(party["properties"])
    assert set(by_name["TransitionIn"]["required"]) == {"trigger", "expected_version"}
    assert {"obligor", "content"} <= set(
        next(b for n, b in schemas.items() if n.endswith("TermIn"))["required"])


def test_openapi_document_is_valid(document: dict[str, Any]) -> None:
    validator = pytest.importorskip("openapi_spec_validator")
    validator.validate(document)


def test_openapi_has_every_path_of_the_interface(api: Api, document: dict[str, Any]) -> None:
    paths = {norm(p): ops for p, ops in document["paths"].items()}
    templates = {re.compile(re.sub(r"\\\{[^}]*\\\}", "[^/]+", re.escape(p)) + "$"): ops
                 for p, ops in document["paths"].items()}
    for method, path in routed(api):
        concrete = path.replace("{id}", "1").replace("{code}", "abc")
        found = [ops for rx, ops in templates.items() if rx.match(concrete)]
        assert found and method in found[0], path
        if norm(path) not in PUBLIC:
            assert {"bearer": []} in found[0][method].get("security", []), path
    create = paths["/api/v1/cases"]["post"]
    ref = create["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    assert ref.split("/")[-1].startswith("CaseCreate")
    assert "422" in create["responses"] and "401" in create["responses"]
    transition = paths[norm("/api/v1/cases/{id}/transitions")]["post"]
    assert {"200", "403", "404", "409", "422"} <= set(transition["responses"])
    validator = pytest.importorskip("openapi_spec_validator")
    validator.validate(document)


def test_errors_are_declared_as_problem_documents(client):
    doc = client.get("/api/openapi.json").get_json()
    answers = doc["paths"]["/api/v1/cases/{case_id}/transitions"]["post"]["responses"]
    for status in ("403", "404", "409", "422"):
        assert list(answers[status]["content"]) == ["application/problem+json"], status
    assert list(answers["200"]["content"]) == ["application/json"]
    assert answers["200"]["content"]["application/json"]["schema"]["$ref"].endswith("/CaseOut")
