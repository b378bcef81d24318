"""Security headers of every answer: a content security policy without inline script or style,
no framing, no sniffing; cookies marked Secure when the request came over HTTPS (directly, or
through a proxy that says so: gunicorn's ``forwarded_allow_ips``)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Flask

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


class SecureCookies:
    """WSGI middleware: over HTTPS every cookie is marked Secure. At this level it reaches every
    cookie, the session's and Flask-Login's included (they are written after the app's own
    response hooks have run)."""

    def __init__(self, wsgi_app: Any):
        self.wsgi_app = wsgi_app

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        """Pass the request on; mark the cookies of an HTTPS answer Secure."""
        if environ.get("wsgi.url_scheme") != "https":
            return self.wsgi_app(environ, start_response)

        def secure_start(status: str, headers: list[tuple[str, str]], *args: Any) -> Any:
            headers = [(k, v + "; Secure" if k.lower() == "set-cookie"
                        and "; secure" not in v.lower() else v) for k, v in headers]
            return start_response(status, headers, *args)

        return self.wsgi_app(environ, secure_start)


def add_headers(response: Any) -> Any:
    """Add the security headers; pages are not kept in caches (they show personal data)."""
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    if not is_api() and response.mimetype == "text/html":
        response.headers["Cache-Control"] = "no-store"
    return response


def register(app: Flask) -> None:
    """Add the headers to every answer of ``app``."""
    app.config.update(SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax",
                      REMEMBER_COOKIE_HTTPONLY=True, REMEMBER_COOKIE_SAMESITE="Lax",
                      # "keep me signed in" on one's own phone (UX.md §2)
                      REMEMBER_COOKIE_DURATION=timedelta(days=30))
    app.after_request(add_headers)
    app.wsgi_app = SecureCookies(app.wsgi_app)  # type: ignore[method-assign]
