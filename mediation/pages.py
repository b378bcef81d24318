"""The web pages: sign in, sign out, the work list (the full web app comes with its issue)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from mediation.auth.models import User
from mediation.auth.operations import authenticate, rotate_session_token
from mediation.cases.queries import CaseFilter, list_cases
from mediation.errors import MediationError, NotAuthenticated
from mediation.extensions import login_manager
from mediation.web import db_session, lang, runtime

pages = Blueprint("pages", __name__)


class LoginForm(FlaskForm):
    """Username and password."""

    username = StringField("用户名", validators=[DataRequired(message="请输入用户名"),
                                                 Length(max=60)])
    password = PasswordField("密码", validators=[DataRequired(message="请输入密码"),
                                                Length(max=200)])


@login_manager.user_loader
def _load_user(session_token: str) -> User | None:
    return db_session().scalar(select(User).where(User.session_token == session_token,
                                                  User.active.is_(True)))


@pages.route("/login", methods=["GET", "POST"])
def login() -> Any:
    """Sign in."""
    form = LoginForm()
    if form.validate_on_submit():
        session = db_session()
        config = runtime().config
        try:
            user = authenticate(session, form.username.data or "", form.password.data or "",
                                max_failures=config.login_max_failures,
                                window_minutes=config.login_window_minutes)
        except NotAuthenticated as exc:
            session.commit()
            form.password.errors.append(exc.detail.render(lang()))
        except MediationError as exc:
            form.username.errors.append(exc.detail.render(lang()))
        else:
            login_user(user)
            return redirect(url_for("pages.index"))
    return render_template("auth/login.html", form=form), 200 if not form.errors else 422


@pages.route("/logout", methods=["POST"])
@login_required
def logout() -> Any:
    """Sign out everywhere: the session token rotates, so old cookies stop working."""
    user = db_session().merge(current_user._get_current_object())
    rotate_session_token(user)
    logout_user()
    return redirect(url_for("pages.login"))


@pages.route("/")
@login_required
def index() -> Any:
    """The signed-in user's work list."""
    user = db_session().merge(current_user._get_current_object())
    page = max(1, request.args.get("page", 1, type=int) or 1)
    rows, total = list_cases(db_session(), user, CaseFilter(), page, 50)
    store = runtime().store
    labels = {}
    for c in rows:
        d = store.get(db_session(), c.workflow, c.definition_version)
        labels[c.id] = d.state(c.state).label.get(lang())
    return render_template("cases/index.html", cases=rows, total=total, labels=labels,
                           user=user)


@pages.route("/verify/<code>")
def verify(code: str) -> Any:
    """Public answer for a printed verification code: genuine and current? No personal data."""
    from mediation.documents.verify import verify_code

    result = verify_code(db_session(), code[:64], runtime())
    return render_template("verify.html", code=code[:64], result=result), (
        200 if result["valid"] else 404)


def error_page(exc: MediationError) -> Any:
    """An operation's error on a page."""
    flash(exc.detail.render(lang()), "error")
    return render_template("error.html", error=exc.detail.render(lang())), exc.status


def register(app: Flask) -> None:
    """Attach the pages to ``app``."""
    login_manager.login_view = "pages.login"
    login_manager.login_message = "请先登录"
    app.register_blueprint(pages)
