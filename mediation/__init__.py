"""mediation: a dispute mediation case workflow engine for community governance.

``create_app`` only wires: configuration, runtime, extensions, blueprints, the request's
unit of work. Background jobs are started by ``mediation serve``, not here.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, g

from mediation.config import Config, from_env
from mediation.resources import data_dir
from mediation.runtime import Runtime


def create_app(config: Config | None = None, runtime: Runtime | None = None) -> Flask:
    """Build the web app (pages and REST API) around a runtime."""
    if runtime is None:
        runtime = Runtime(config or from_env())
    config = runtime.config
    app = Flask(__name__, template_folder=str(data_dir("templates")),
                static_folder=str(data_dir("templates") / "static"), static_url_path="/static")
    app.config.update(
        SECRET_KEY=config.secret_key,
        MAX_CONTENT_LENGTH=config.max_body_bytes,
        JSON_AS_ASCII=False,
        TESTING=config.testing,
        # A form may take a volunteer a long while: its CSRF token lasts as long as the session.
        WTF_CSRF_TIME_LIMIT=None,
    )
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    app.extensions["mediation"] = runtime

    from mediation import api, pages
    from mediation.extensions import babel, csrf, login_manager, spec
    from mediation.web import finish_request, locale, register_errors

    babel.init_app(app, default_locale="zh_CN", locale_selector=locale)
    login_manager.init_app(app)
    csrf.init_app(app)
    api.register(app)
    csrf.exempt(api.api)
    pages.register(app)
    register_errors(app)
    spec.register(app)

    @app.after_request
    def _commit(response: Any) -> Any:
        # One commit per request: what the view did, once it answered; nothing when an error
        # escaped it (see mediation.web).
        finish_request(failed=bool(g.get("request_failed")) or response.status_code >= 500)
        return response

    @app.teardown_request
    def _close(exc: BaseException | None) -> None:
        if "db_session" in g:
            finish_request(failed=True)

    return app
