"""Security headers of every answer: a content security policy without inline script or style,
no framing, no sniffing; cookies marked Secure when the request came over HTTPS (directly, or
through a proxy that says so: gunicorn's ``forwarded_allow_ips``)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Flask, request

from mediation.web import is_api

CSP = "; ".join((
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data: blob:",
    "font-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
))


def _secure_cookies(response: Any) -> None:
    cookies = response.headers.getlist("Set-Cookie")
    if not cookies:
        return
    response.headers.remove("Set-Cookie")
    for cookie in cookies:
        if "; secure" not in cookie.lower():
            cookie += "; Secure"
        response.headers.add("Set-Cookie", cookie)


def add_headers(response: Any) -> Any:
    """Add the security headers; pages are not kept in caches (they show personal data)."""
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    if not is_api() and response.mimetype == "text/html":
        response.headers["Cache-Control"] = "no-store"
    if request.is_secure:
        _secure_cookies(response)
    return response


def register(app: Flask) -> None:
    """Add the headers to every answer of ``app``."""
    app.config.update(SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax",
                      REMEMBER_COOKIE_HTTPONLY=True, REMEMBER_COOKIE_SAMESITE="Lax",
                      # "keep me signed in" on one's own phone (UX.md §2)
                      REMEMBER_COOKIE_DURATION=timedelta(days=30))
    app.after_request(add_headers)
