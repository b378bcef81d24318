"""REST API v1 (INTERFACES.md): token auth, JSON in, JSON or problem+json out."""

from __future__ import annotations

import re
from typing import Any, cast

from flask import Blueprint, Flask, g, json, request

from mediation.auth.models import User
from mediation.auth.operations import user_for_token
from mediation.errors import (
    BadRequest,
    FieldError,
    NotAuthenticated,
    NotFound,
    ValidationFailed,
)
from mediation.i18n import msg
from mediation.text import clean_data
from mediation.web import db_session

api = Blueprint("api", __name__, url_prefix="/api/v1")

# Endpoints that answer without a bearer token.
PUBLIC = {"api.token", "api.verify_document"}
_BODY_METHODS = {"POST", "PUT", "PATCH"}
# Text no database can store as typed: NUL (PostgreSQL refuses it) and unpaired surrogates
# (not encodable as UTF-8). Refused up front as invalid input, never a 500.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
# Path ids past a 32-bit integer column cannot name a row (and overflow the driver).
_MAX_ID = 2**31 - 1
UNSTORABLE = msg("含有无法保存的字符（如 NUL 或不成对的代理字符）")


def current_user() -> User:
    """The user of the request's bearer token (set by :func:`_authenticate`)."""
    return cast(User, g.api_user)


@api.before_request
def _authenticate() -> None:
    if request.endpoint in PUBLIC:
        return
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    user = user_for_token(db_session(), token.strip()) if scheme.lower() == "bearer" and token else None
    if user is None:
        raise NotAuthenticated()
    g.api_user = user


@api.before_request
def _ids_in_range() -> None:
    """A path id no row can have is a 404 (not a driver overflow)."""
    for value in (request.view_args or {}).values():
        if isinstance(value, int) and not 0 <= value <= _MAX_ID:
            raise NotFound(msg("案件不存在或无权查看"))


def _unstorable(body: Any) -> list[str]:
    """Dotted paths of the strings (values or keys) in ``body`` that cannot be stored."""
    bad: list[str] = []
    stack: list[tuple[str, Any]] = [("", body)]
    while stack:  # iterative: nesting depth is bounded only by the JSON parser
        path, value = stack.pop()
        if isinstance(value, str):
            if _UNSTORABLE.search(value):
                bad.append(path)
        elif isinstance(value, dict):
            for key, item in value.items():
                if _UNSTORABLE.search(key):
                    bad.append(path)  # the key itself cannot be echoed back
                else:
                    stack.append((f"{path}.{key}" if path else key, item))
        elif isinstance(value, list):
            stack.extend((f"{path}.{i}" if path else str(i), item)
                         for i, item in enumerate(value))
    return sorted(set(bad))


@api.before_request
def _require_json_body() -> None:
    """A body that is not a JSON object is a 400, before any validation; text that cannot be
    stored (in the body, the query or ``Idempotency-Key``) is a 422 naming where it is."""
    bad = [name for name, value in request.args.items(multi=True) if _UNSTORABLE.search(value)]
    if _UNSTORABLE.search(request.headers.get("Idempotency-Key", "")):
        bad.append("Idempotency-Key")
    if request.method not in _BODY_METHODS:
        if bad:
            raise ValidationFailed(errors=[FieldError(f, UNSTORABLE) for f in bad])
        return
    if not request.is_json:
        # A form or a file is not what the API reads; say so rather than guess.
        raise BadRequest(msg("请求体应为 JSON（Content-Type: application/json），收到的是 %(content_type)s",
                             content_type=request.mimetype or "—"))
    raw = request.get_data(cache=True)  # 413 past MAX_CONTENT_LENGTH
    try:
        body = json.loads(raw.decode("utf-8")) if raw else None
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise BadRequest(msg("请求体不是有效的 JSON")) from None
    if not isinstance(body, dict):
        raise BadRequest(msg("请求体不是有效的 JSON") if body is None else msg("请求体应为 JSON 对象"))
    bad += _unstorable(body)
    if bad:
        raise ValidationFailed(errors=[FieldError(f, UNSTORABLE) for f in bad])
    # Bidi overrides and other invisible controls are stripped from every string (a name
    # typed with U+202E would print reordered); see mediation.text.
    body = clean_data(body)
    request._cached_json = (body, body)  # parsed once, read by validation


def register(app: Flask) -> None:
    """Attach the API to ``app`` (its errors are answered by mediation.web.register_errors)."""
    from mediation.api import auth, cases, documents, meta  # noqa: F401  (routes)

    app.register_blueprint(api)
    app.add_url_rule("/healthz", "healthz", meta.healthz)
    app.add_url_rule("/api/openapi.json", "openapi_json", meta.openapi)
