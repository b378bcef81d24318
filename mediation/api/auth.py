"""``POST /api/v1/auth/token`` and ``GET /api/v1/me``."""

from __future__ import annotations

from typing import Any

from flask import request
from spectree import Response

from mediation.api import api, current_user
from mediation.api.problems import from_error
from mediation.api.schemas import MeOut, Problem, TokenRequest, TokenResponse
from mediation.auth.operations import authenticate, issue_token
from mediation.errors import NotAuthenticated
from mediation.extensions import spec
from mediation.timeutil import iso
from mediation.web import db_session, runtime


@api.post("/auth/token")
@spec.validate(json=TokenRequest, resp=Response(HTTP_200=TokenResponse, HTTP_401=Problem,
                                                HTTP_429=Problem, HTTP_422=Problem),
               tags=["auth"])
def token() -> Any:
    """Exchange a username and password for a bearer token.

    More than 10 failed logins for one username within 15 minutes answer 429.
    """
    body = request.context.json  # type: ignore[attr-defined]
    config = runtime().config
    session = db_session()
    try:
        user = authenticate(session, body.username, body.password,
                            max_failures=config.login_max_failures,
                            window_minutes=config.login_window_minutes)
    except NotAuthenticated as exc:
        # Answered, not raised: the request's unit of work keeps the failed attempt (it
        # counts towards the throttle), where an escaping error would roll it back.
        return from_error(exc)
    token, expires = issue_token(session, user, ttl_hours=config.token_ttl_hours)
    return {"token": token, "expires_at": iso(expires)}


@api.get("/me")
@spec.validate(resp=Response(HTTP_200=MeOut, HTTP_401=Problem), tags=["auth"],
               security={"bearer": []})
def me() -> Any:
    """The signed-in user."""
    user = current_user()
    return {"username": user.username, "role": user.role, "org": user.org_unit.code,
            "org_name": user.org_unit.name, "full_name": user.full_name}
