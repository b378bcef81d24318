"""RFC 9457 problem documents for every error the API answers, in the request's language."""

from __future__ import annotations

import logging
from typing import Any

from flask import Response, json
from pydantic import ValidationError
from werkzeug.exceptions import HTTPException

from mediation.errors import FieldError, MediationError, ValidationFailed
from mediation.i18n import N_, Label, Msg, msg
from mediation.web import lang

log = logging.getLogger(__name__)

# What each pydantic error kind says (zh-CN source text, %(…)s filled from its context).
_FIXED = {
    "missing": msg("此项为必填项"),
    "extra_forbidden": msg("不允许的字段"),
    "date_parsing": msg("日期格式不正确（应为 YYYY-MM-DD）"),
    "date_from_datetime_parsing": msg("日期格式不正确（应为 YYYY-MM-DD）"),
    "date_from_datetime_inexact": msg("日期格式不正确（应为 YYYY-MM-DD）"),
    "date_type": msg("日期格式不正确（应为 YYYY-MM-DD）"),
    "datetime_parsing": msg("时间格式不正确（应为 ISO 8601）"),
    "datetime_from_date_parsing": msg("时间格式不正确（应为 ISO 8601）"),
    "datetime_type": msg("时间格式不正确（应为 ISO 8601）"),
    "greater_than_equal": msg("取值超出范围"),
    "less_than_equal": msg("取值超出范围"),
    "greater_than": msg("取值超出范围"),
    "less_than": msg("取值超出范围"),
    "list_type": msg("应为列表"),
    # raised by our own validators (PydanticCustomError kinds)
    "invalid_phone": msg("手机号码格式不正确"),
    "invalid_amount": msg("金额应为不小于0的数字（元），最多两位小数"),
}
_TEXT = N_("文本")
_INTEGER = N_("整数")
_BOOL = N_("true 或 false")
_OBJECT = N_("JSON 对象")
_NUMBER = N_("数字")
_EXPECTED = {"string_type": _TEXT, "int_type": _INTEGER, "int_parsing": _INTEGER,
             "bool_type": _BOOL, "bool_parsing": _BOOL, "dict_type": _OBJECT,
             "model_type": _OBJECT, "int_from_float": _INTEGER, "float_type": _NUMBER,
             "float_parsing": _NUMBER, "finite_number": _NUMBER,
             "union_tag_invalid": N_("允许的格式之一")}
_OTHER = N_("正确的格式")


def _message(err: Any) -> Msg:
    kind = err["type"]
    ctx = err.get("ctx") or {}
    if kind == "string_too_long":
        return msg("长度不能超过%(max)s个字符", max=ctx.get("max_length", "?"))
    if kind == "too_long":
        return msg("最多%(max)s项", max=ctx.get("max_length", "?"))
    if kind == "string_too_short":
        if ctx.get("min_length") == 1:
            return msg("不能为空")
        return msg("长度不能少于%(min)s个字符", min=ctx.get("min_length", "?"))
    if kind == "too_short":
        return msg("至少需要%(min)s项", min=ctx.get("min_length", "?"))
    if kind in ("literal_error", "enum"):
        expected = str(ctx.get("expected", "")).replace("'", "")
        return msg("取值无效，可选：%(choices)s", choices=Label(
            expected.replace(" or ", "、").replace(", ", "、"), expected))
    if kind in _FIXED:
        return _FIXED[kind]
    return msg("格式不正确，应为%(expected)s", expected=_EXPECTED.get(kind, _OTHER))


def field_errors(exc: ValidationError, prefix: str = "") -> list[FieldError]:
    """Pydantic's errors as :class:`FieldError` with dotted paths (``parties.0.phone``)."""
    out = []
    for err in exc.errors(include_url=False):
        loc = [str(p) for p in err["loc"] if not str(p).startswith("function-")]
        # A union's branch name is not part of the body's path.
        loc = [p for p in loc if p not in ("str", "int", "float", "constrained-str")]
        path = ".".join(([prefix] if prefix else []) + loc)
        out.append(FieldError(path, _message(err)))
    return out


def problem(status: int, title: str, detail: str, errors: list[FieldError] | None = None,
            **extra: Any) -> Response:
    """An ``application/problem+json`` response."""
    language = lang()
    body: dict[str, Any] = {"type": "about:blank", "title": title, "status": status,
                            "detail": detail}
    if errors:
        body["errors"] = [{"field": e.field, "message": e.message.render(language)}
                          for e in errors]
    body.update({k: v for k, v in extra.items() if v is not None})
    resp = Response(json.dumps(body, ensure_ascii=False), status=status,
                    mimetype="application/problem+json")
    resp.headers["Content-Language"] = language
    return resp


# Details that are also the problem's title (a wrong password is said once, not "Not signed in").
_OWN_TITLES = {"用户名或密码错误"}


def from_error(exc: MediationError) -> Response:
    """The problem document of an operation's error."""
    language = lang()
    # A title whose text takes parameters (429: "try again in {minutes} minutes") borrows them
    # from the detail when that is the same message.
    own_title = exc.detail.text == exc.title.text or exc.detail.text in _OWN_TITLES
    title = exc.detail if own_title else msg(exc.title.text)
    response = problem(exc.status, title.render(language), exc.detail.render(language),
                       exc.errors, **{k: v for k, v in exc.extra.items()})
    if "retry_after" in exc.extra:
        response.headers["Retry-After"] = str(exc.extra["retry_after"])
    return response


def from_validation(exc: ValidationError, prefix: str = "") -> Response:
    """422 for a request body that does not fit its model."""
    return from_error(ValidationFailed(errors=field_errors(exc, prefix)))


def _http_message(status: int, max_bytes: int) -> Msg | None:
    """What Werkzeug's own errors say, in our words."""
    return {
        400: lambda: msg("请求格式错误"),
        401: lambda: msg("未登录或登录已过期"),
        403: lambda: msg("无权执行此操作"),
        404: lambda: msg("未找到"),
        405: lambda: msg("不支持此请求方法"),
        413: lambda: msg("请求内容过大（上限 %(limit)s 字节）", limit=max_bytes),
        429: lambda: msg("登录失败次数过多，请%(minutes)s分钟后再试", minutes=15),
    }.get(status, lambda: None)()


def from_http(exc: HTTPException, max_bytes: int) -> Response:
    """A problem document for Werkzeug's own errors (404 route, 405, 413, ...)."""
    status = exc.code or 500
    message = _http_message(status, max_bytes)
    if message is None:
        return problem(status, exc.name, exc.description or exc.name)
    text = message.render(lang())
    return problem(status, text, text)


def internal_error(exc: BaseException) -> Response:
    """500, logged with its traceback; the client learns nothing of the internals."""
    log.error("unhandled error", exc_info=exc)
    text = msg("服务器内部错误").render(lang())
    return problem(500, text, text)


def validation_hook(req: Any, resp: Any, error: Exception | None, *_: Any) -> None:
    """Spectree's ``before`` hook: a request that does not fit its model becomes our 422."""
    if isinstance(error, ValidationError):
        raise ValidationFailed(errors=field_errors(error))
