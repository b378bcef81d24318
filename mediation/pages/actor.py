"""The signed-in user of a page request, as the operations take it (``actor=``)."""

from __future__ import annotations

from typing import cast

from flask_login import current_user

from mediation.auth.models import User


def current_actor() -> User:
    """The signed-in user (loaded in the request's session by the user loader)."""
    return cast(User, current_user._get_current_object())
