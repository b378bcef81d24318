"""RFC 9457 problem documents for every error the API answers, in the request's language."""

from __future__ import annotations

import logging
from typing import Any

from flask import Response, json
from pydantic import ValidationError
from werkzeug.exceptions import HTTPException

from mediation.errors import FieldError, MediationError, ValidationFailed
from mediation.i18n import MESSAGES, Label, Msg, msg
from mediation.web import lang

log = logging.getLogger(__name__)

_PYDANTIC: dict[str, str] = {
    "missing": "required",
    "string_too_long": "too_long",
    "string_too_short": "too_short",
    "too_long": "list_too_long",
    "too_short": "list_too_short",
    "extra_forbidden": "unknown_field",
    "literal_error": "invalid_choice",
    "enum": "invalid_choice",
    "date_parsing": "invalid_date",
    "date_from_datetime_parsing": "invalid_date",
    "date_from_datetime_inexact": "invalid_date",
    "date_type": "invalid_date",
    "datetime_parsing": "invalid_datetime",
    "datetime_from_date_parsing": "invalid_datetime",
    "datetime_type": "invalid_datetime",
    "greater_than_equal": "out_of_range",
    "less_than_equal": "out_of_range",
    "greater_than": "out_of_range",
    "less_than": "out_of_range",
    "list_type": "not_a_list",
}
_TEXT = Label("文本", "text")
_INTEGER = Label("整数", "integer")
_BOOL = Label("true 或 false", "true/false")
_OBJECT = Label("JSON 对象", "object")
_NUMBER = Label("数字", "number")
_EXPECTED = {"string_type": _TEXT, "int_type": _INTEGER, "int_parsing": _INTEGER,
             "bool_type": _BOOL, "bool_parsing": _BOOL, "dict_type": _OBJECT,
             "model_type": _OBJECT, "int_from_float": _INTEGER, "float_type": _NUMBER,
             "float_parsing": _NUMBER, "finite_number": _NUMBER,
             "union_tag_invalid": Label("允许的格式之一", "one of the allowed forms")}
_OTHER = Label("正确的格式", "a valid value")


def _message(err: Any) -> Msg:
    kind = err["type"]
    ctx = err.get("ctx") or {}
    key = _PYDANTIC.get(kind, kind if kind in MESSAGES else "")
    if key in ("too_long", "list_too_long"):
        return msg(key, max=ctx.get("max_length", "?"))
    if key in ("too_short", "list_too_short"):
        if kind == "string_too_short" and ctx.get("min_length") == 1:
            return msg("blank")
        return msg(key, min=ctx.get("min_length", "?"))
    if key == "invalid_choice":
        expected = str(ctx.get("expected", "")).replace("'", "")
        return msg(key, choices=Label(expected.replace(" or ", "、").replace(", ", "、"),
                                      expected))
    if key:
        try:
            return msg(key, **ctx)
        except KeyError:
            return msg(key) if "{" not in MESSAGES[key][0] else msg("invalid_type",
                                                                    expected=_OTHER)
    return msg("invalid_type", expected=_EXPECTED.get(kind, _OTHER))


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


def from_error(exc: MediationError) -> Response:
    """The problem document of an operation's error."""
    language = lang()
    # A title whose text takes parameters (429: "try again in {minutes} minutes") borrows them
    # from the detail when that is the same message.
    own_title = exc.detail.key in (exc.title_key, "bad_credentials")
    title = exc.detail if own_title else msg(exc.title_key)
    response = problem(exc.status, title.render(language), exc.detail.render(language),
                       exc.errors, **{k: v for k, v in exc.extra.items()})
    if "retry_after" in exc.extra:
        response.headers["Retry-After"] = str(exc.extra["retry_after"])
    return response


def from_validation(exc: ValidationError, prefix: str = "") -> Response:
    """422 for a request body that does not fit its model."""
    return from_error(ValidationFailed(errors=field_errors(exc, prefix)))


_HTTP_KEYS = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
              405: "method_not_allowed", 413: "payload_too_large", 429: "too_many_logins"}


def from_http(exc: HTTPException, max_bytes: int) -> Response:
    """A problem document for Werkzeug's own errors (404 route, 405, 413, ...)."""
    status = exc.code or 500
    language = lang()
    key = _HTTP_KEYS.get(status)
    if key is None:
        return problem(status, exc.name, exc.description or exc.name)
    params = {"limit": max_bytes} if key == "payload_too_large" else {}
    if key == "too_many_logins":
        params = {"minutes": 15}
    text = msg(key, **params).render(language)
    return problem(status, text, text)


def internal_error(exc: BaseException) -> Response:
    """500, logged with its traceback; the client learns nothing of the internals."""
    log.error("unhandled error", exc_info=exc)
    text = msg("internal_error").render(lang())
    return problem(500, text, text)


def validation_hook(req: Any, resp: Any, error: Exception | None, *_: Any) -> None:
    """Spectree's ``before`` hook: a request that does not fit its model becomes our 422."""
    if isinstance(error, ValidationError):
        raise ValidationFailed(errors=field_errors(error))
