"""Sign in and sign out."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy import select

from mediation.auth.forms import LoginForm
from mediation.auth.models import User
from mediation.auth.operations import authenticate, rotate_session_token
from mediation.errors import NotAuthenticated, TooManyRequests
from mediation.extensions import login_manager
from mediation.web import db_session, lang, runtime

auth = Blueprint("auth", __name__)

@login_manager.user_loader
def _load_user(session_token: str) -> User | None:
    return db_session().scalar(select(User).where(User.session_token == session_token,
                                                  User.active.is_(True)))


def _next_page() -> str:
    """Where to go after signing in: a page of this site, else the work list."""
    target = request.args.get("next") or ""
    if target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return url_for("cases.home")


@auth.route("/login", methods=["GET", "POST"])
def login() -> Any:
    """Sign in."""
    if current_user.is_authenticated and request.method == "GET":
        return redirect(_next_page())
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        config = runtime().config
        try:
            # Not in a savepoint: a failed attempt is recorded and counts (throttle).
            user = authenticate(db_session(), form.username.data or "", form.password.data or "",
                                max_failures=config.login_max_failures,
                                window_minutes=config.login_window_minutes)
        except NotAuthenticated as exc:
            form.password.errors.append(exc.detail.render(lang()))
            status = 422
        except TooManyRequests as exc:
            form.username.errors.append(exc.detail.render(lang()))
            status = 429
        else:
            login_user(user, remember=bool(form.remember.data))
            return redirect(_next_page())
    elif form.errors:
        status = 422
    return render_template("auth/login.html", form=form), status


@auth.route("/logout", methods=["POST"])
@login_required
def logout() -> Any:
    """Sign out everywhere: the session token rotates, so old cookies stop working."""
    user = db_session().merge(current_user._get_current_object())
    rotate_session_token(user)
    logout_user()
    return redirect(url_for("auth.login"))
