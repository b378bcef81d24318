"""Per-request plumbing shared by the API and the pages: the database session, the runtime,
the request's language."""

from __future__ import annotations

from typing import cast

from flask import current_app, g, request
from sqlalchemy.orm import Session

from mediation.i18n import LOCALES, negotiate
from mediation.runtime import Runtime


def runtime() -> Runtime:
    """The app's runtime (database, definitions, engine)."""
    return cast(Runtime, current_app.extensions["mediation"])


def db_session() -> Session:
    """The request's session, opened on first use; the request commits it once at the end."""
    if "db_session" not in g:
        g.db_session = runtime().db.sessionmaker()
    return cast(Session, g.db_session)


def lang() -> str:
    """The request's language: ``?lang=``, then Accept-Language (zh-CN when absent)."""
    return negotiate(request.args.get("lang") or request.headers.get("Accept-Language"))


def locale() -> str:
    """The request's language as Flask-Babel names it (``zh_CN``, ``en``)."""
    return LOCALES[lang()]


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
