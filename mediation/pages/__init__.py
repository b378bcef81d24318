"""The web pages' shared layer: blueprints of every feature, one error path for pages, security
headers, the language and text-size switches, vendored browser assets, and what every template
may use (macros in templates/_macros/, the helpers of :func:`template_helpers`).

Each feature keeps its pages in its own package, with the same file names: ``views.py`` (a
blueprint of thin views) and ``forms.py`` (its Flask-WTF forms): auth/, cases/, agreements/,
notifications/, reports/, admin/. Forms of triggers and actions are built from the definition by
:mod:`mediation.pages.forms`.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, request
from flask_login import current_user

from mediation.extensions import login_manager
from mediation.i18n import N_
from mediation.pages import assets, headers
from mediation.web import LANG_COOKIE, SIZE_COOKIE, TEXT_SIZES, is_api, lang, text_size

# A year: a language or text size chosen once stays chosen on that phone.
PREFERENCE_AGE = 365 * 24 * 3600


def _remember_preferences(response: Any) -> Any:
    """``?lang=`` and ``?textsize=`` are remembered in cookies (pages only)."""
    if is_api():
        return response
    if request.args.get("lang"):
        response.set_cookie(LANG_COOKIE, lang(), max_age=PREFERENCE_AGE, httponly=True,
                            samesite="Lax")
    if request.args.get(SIZE_COOKIE) in TEXT_SIZES:
        response.set_cookie(SIZE_COOKIE, text_size(), max_age=PREFERENCE_AGE, httponly=True,
                            samesite="Lax")
    return response


def template_helpers() -> dict[str, Any]:
    """What every page template may use besides the macros."""
    from mediation.notifications.operations import unread_count
    from mediation.web import db_session

    def unread() -> int:
        if not current_user.is_authenticated:
            return 0
        return unread_count(db_session(), current_user)

    return {"lang": lang(), "html_lang": "en" if lang() == "en" else "zh-CN",
            "text_size": text_size(), "text_sizes": TEXT_SIZES, "unread": unread,
            "size_labels": {"standard": N_("标准"), "large": N_("大"), "xlarge": N_("特大")}}


def register(app: Flask) -> None:
    """Attach every feature's pages, the page error path and the headers to ``app``."""
    from flask_babel import gettext

    from mediation.admin.views import admin
    from mediation.agreements.views import agreements
    from mediation.auth.views import auth
    from mediation.cases.views import cases
    from mediation.notifications.views import notifications
    from mediation.reports.views import reports

    login_manager.login_view = "auth.login"
    login_manager.login_message = N_("请先登录").text
    login_manager.localize_callback = gettext  # said in the page's language
    login_manager.login_message_category = "info"
    for blueprint in (auth, cases, agreements, notifications, reports, admin):
        app.register_blueprint(blueprint)
    assets.register(app)
    app.context_processor(template_helpers)
    app.jinja_env.globals["N_"] = N_
    from mediation.pages import display

    display.register(app)
    app.after_request(_remember_preferences)
    headers.register(app)
