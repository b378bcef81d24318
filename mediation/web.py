"""Per-request plumbing shared by the API and the pages: the database session and its one
commit, the runtime, the request's language and text size.

The unit of work: a request commits once, after its view returned a response; when an error
escaped the view (a problem document, an error page) or the answer is a 5xx, everything is rolled
back. A view that catches an operation's refusal to show it next to a field runs the operation
inside :func:`attempt`, so that nothing the refused operation did stays.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, cast

from flask import Flask, current_app, g, request
from sqlalchemy.orm import Session
from werkzeug.exceptions import HTTPException

from mediation.errors import MediationError
from mediation.i18n import LOCALES, negotiate, normalise
from mediation.runtime import Runtime

LANG_COOKIE = "lang"
SIZE_COOKIE = "textsize"
# The 字号 switch: the root font size of each setting (UX.md §1: 112.5 / 125 / 150 %).
TEXT_SIZES = ("standard", "large", "xlarge")


def runtime() -> Runtime:
    """The app's runtime (database, definitions, engine)."""
    return cast(Runtime, current_app.extensions["mediation"])


def db_session() -> Session:
    """The request's session, opened on first use; the request commits it once at the end."""
    if "db_session" not in g:
        g.db_session = runtime().db.sessionmaker()
    return cast(Session, g.db_session)


def is_api() -> bool:
    """Whether the request is for the REST API (problem documents, Accept-Language)."""
    return request.path.startswith("/api/") or request.path == "/healthz"


def lang() -> str:
    """The request's language. The API: ``?lang=``, then Accept-Language. The pages: ``?lang=``,
    then the language chosen before (a cookie), else zh-CN: the browser's own language is not
    asked, so a desk computer set up in English still shows Chinese pages."""
    asked = request.args.get("lang")
    if is_api():
        return negotiate(asked or request.headers.get("Accept-Language"))
    return normalise(asked or request.cookies.get(LANG_COOKIE))


def locale() -> str:
    """The request's language as Flask-Babel names it (``zh_CN``, ``en``)."""
    return LOCALES[lang()]


def text_size() -> str:
    """The page's 字号: ``?textsize=``, then the one chosen before, else standard."""
    asked = request.args.get(SIZE_COOKIE) or request.cookies.get(SIZE_COOKIE)
    return asked if asked in TEXT_SIZES else TEXT_SIZES[0]


def fail_request() -> None:
    """Mark the request as failed: its unit of work is rolled back (error handlers call it)."""
    g.request_failed = True


@contextmanager
def attempt() -> Iterator[None]:
    """Run an operation whose refusal the view will show: if it raises, what it did is undone
    (a savepoint) and the error goes on to the view."""
    nested = db_session().begin_nested()
    try:
        yield
    except BaseException:
        if nested.is_active:
            nested.rollback()
        raise
    else:
        nested.commit()


def finish_request(failed: bool) -> None:
    """Commit (or roll back) and close the request's session."""
    session = g.pop("db_session", None)
    if session is None:
        return
    try:
        if failed:
            session.rollback()
        else:
            session.commit()
    finally:
        session.close()


def register_errors(app: Flask) -> None:
    """One error path per audience: problem documents for the API, pages for the browser;
    either way the request's work is rolled back."""
    from mediation.api.problems import from_error, from_http, internal_error
    from mediation.pages.errors import error_page, http_error_page, internal_error_page

    @app.errorhandler(MediationError)
    def _mediation_error(exc: MediationError) -> Any:
        fail_request()
        return from_error(exc) if is_api() else error_page(exc)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Any:
        fail_request()
        if is_api():
            return from_http(exc, current_app.config.get("MAX_CONTENT_LENGTH") or 0)
        return http_error_page(exc)

    @app.errorhandler(Exception)
    def _unhandled(exc: Exception) -> Any:
        fail_request()
        return internal_error(exc) if is_api() else internal_error_page(exc)
