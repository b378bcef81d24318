"""One error path for the pages: an HTML page in the user's language, inside the layout, with
the right status (the API answers problem documents instead: mediation.api.problems).

- 404: a missing page, and a case out of the user's sight (never 403: existence does not leak);
- 403: the user sees the case but may not do this;
- 409: the case changed since the page was opened (此案件状态已变化), or the step no longer fits;
- 400: a form without its CSRF token (the page grew stale, or came from elsewhere);
- 413: an upload over the limit; 500: our fault, logged, nothing of it shown.
A 401 sends the browser to the sign-in page. Errors of a form's fields never come here: the
form's own page shows them next to each field.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Response, g, redirect, render_template, request, url_for
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from mediation.errors import Conflict, MediationError, NotAuthenticated
from mediation.i18n import N_, Lazy, Msg, msg
from mediation.web import lang

log = logging.getLogger(__name__)

TITLES: dict[int, Lazy] = {
    400: N_("请求有误"),
    403: N_("无权执行此操作"),
    404: N_("没有找到这个页面"),
    405: N_("不支持此请求方法"),
    409: N_("此案件状态已变化"),
    413: N_("上传的内容太大"),
    422: N_("提交的内容有误"),
    429: N_("操作太频繁"),
    500: N_("系统出了点问题"),
}
ADVICE: dict[int, Lazy] = {
    400: N_("请返回上一页，刷新后再提交。"),
    403: N_("如需办理，请联系案件的承办人或所在街道的审查员。"),
    404: N_("您要找的页面或案件不存在，或者您无权查看。请回到首页查找。"),
    409: N_("在您填写期间，别人已经办理了这个案件。请先查看案件的最新情况，再决定下一步。"),
    413: N_("请少选几张照片，或换小一点的照片，再提交。"),
    500: N_("您填写的内容没有保存。请稍后再试；如果一直这样，请联系管理员。"),
}


def _reset_session() -> None:
    """Roll back the request's session before the page is drawn (a failed statement leaves a
    PostgreSQL transaction unusable; the page still reads the user and the inbox count)."""
    session = g.get("db_session")
    if session is not None:
        session.rollback()


def render_error(status: int, detail: Msg | None = None, **context: Any) -> Response:
    """The error page for ``status`` (``detail`` says what exactly went wrong)."""
    _reset_session()
    title = TITLES.get(status, TITLES[400 if status < 500 else 500])
    advice = ADVICE.get(status)
    body = render_template(
        "errors/error.html", status=status, title=title.get(lang()),
        detail=detail.render(lang()) if detail is not None else "",
        advice=advice.get(lang()) if advice else "", **context)
    return Response(body, status=status, mimetype="text/html")


def error_page(exc: MediationError) -> Any:
    """The page of an operation's error."""
    if isinstance(exc, NotAuthenticated):
        return redirect(url_for("auth.login", next=request.full_path))
    if isinstance(exc, Conflict):
        return render_error(409, exc.detail)
    return render_error(exc.status, exc.detail)


def http_error_page(exc: HTTPException) -> Any:
    """The page of Werkzeug's own errors (no route, wrong method, too large, CSRF)."""
    status = exc.code or 500
    if isinstance(exc, CSRFError):
        return render_error(400, msg("页面已过期，或不是从本系统的页面提交的"))
    if status == 413:
        return render_error(413)
    return render_error(status if status in TITLES else 400)


def internal_error_page(exc: BaseException) -> Any:
    """500: logged with its traceback; the page says nothing of the internals."""
    log.error("unhandled error on %s", request.path, exc_info=exc)
    try:
        return render_error(500)
    except Exception:  # the layout itself failed (the database is down): plain words
        log.exception("the error page failed too")
        return Response(TITLES[500].get(lang()), status=500, mimetype="text/plain")
