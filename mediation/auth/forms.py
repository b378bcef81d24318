"""The sign-in form."""

from __future__ import annotations

from flask_babel import lazy_gettext
from wtforms import BooleanField, PasswordField, StringField
from wtforms.validators import InputRequired, Length

from mediation.pages.forms import PageForm


class LoginForm(PageForm):
    """Username (a phone number may serve as one) and password, compared as typed."""

    username = StringField(lazy_gettext("用户名"), validators=[
        InputRequired(message=lazy_gettext("请输入用户名")), Length(max=60)])
    password = PasswordField(lazy_gettext("密码"), validators=[
        InputRequired(message=lazy_gettext("请输入密码")), Length(max=200)])
    remember = BooleanField(lazy_gettext("在这部手机上保持登录（30天）"))
