"""REST API v1 (INTERFACES.md): token auth, JSON in, JSON or problem+json out."""

from __future__ import annotations

from typing import Any, cast

from flask import Blueprint, Flask, Response, current_app, g, json, request
from werkzeug.exceptions import HTTPException

from mediation.auth.models import User
from mediation.auth.operations import user_for_token
from mediation.errors import BadRequest, MediationError, NotAuthenticated
from mediation.i18n import msg
from mediation.web import db_session

api = Blueprint("api", __name__, url_prefix="/api/v1")

# Endpoints that answer without a bearer token.
PUBLIC = {"api.token", "api.verify_document"}
_BODY_METHODS = {"POST", "PUT", "PATCH"}


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
def _require_json_body() -> None:
    """A body that is not a JSON object is a 400, before any validation."""
    if request.method not in _BODY_METHODS:
        return
    raw = request.get_data(cache=True)  # 413 past MAX_CONTENT_LENGTH
    try:
        body = json.loads(raw.decode("utf-8")) if raw else None
    except (ValueError, UnicodeDecodeError):
        raise BadRequest(msg("body_not_json")) from None
    if not isinstance(body, dict):
        raise BadRequest(msg("body_not_json") if body is None else msg("body_not_object"))
    # Whatever the Content-Type said, the body is JSON: let validation read it.
    request._cached_json = (body, body)


def register(app: Flask) -> None:
    """Attach the API and its error handling to ``app``."""
    from mediation.api import auth, cases, meta  # noqa: F401  (routes)
    from mediation.api.problems import from_error, from_http, internal_error

    app.register_blueprint(api)
    app.add_url_rule("/healthz", "healthz", meta.healthz)

    def is_api() -> bool:
        return request.path.startswith("/api/") or request.path == "/healthz"

    @app.errorhandler(MediationError)
    def _mediation_error(exc: MediationError) -> Any:
        if is_api():
            return from_error(exc)
        from mediation.pages import error_page

        return error_page(exc)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Any:
        if is_api():
            return from_http(exc, current_app.config.get("MAX_CONTENT_LENGTH") or 0)
        return exc

    @app.errorhandler(Exception)
    def _unhandled(exc: Exception) -> Response:
        return internal_error(exc)
