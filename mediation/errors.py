"""Errors that carry a status and human-readable, translatable reasons.

Operations raise these; the API turns them into RFC 9457 problem documents, the CLI into a
message and a non-zero exit, the web pages into flash messages and form errors.
"""

from __future__ import annotations

from dataclasses import dataclass

from mediation.i18n import N_, Msg, msg


@dataclass(frozen=True)
class FieldError:
    """A problem with one input field (``field`` is a dotted path, e.g. ``data.reason``)."""

    field: str
    message: Msg

    def prefixed(self, prefix: str) -> FieldError:
        """The same error under ``prefix`` (``reason`` → ``data.reason``)."""
        return FieldError(f"{prefix}.{self.field}" if self.field else prefix, self.message)


class MediationError(Exception):
    """Base of every error an operation raises on purpose."""

    status = 400
    # The problem's title (zh-CN source text, translated when shown).
    title = N_("请求格式错误")

    def __init__(self, detail: Msg | None = None, errors: list[FieldError] | None = None,
                 **extra: object):
        self.detail = detail or msg(self.title.text)
        self.errors = errors or []
        self.extra = extra
        super().__init__(self.detail.render("en"))


class BadRequest(MediationError):
    """Malformed request (not JSON, wrong shape)."""

    status = 400
    title = N_("请求格式错误")


class ValidationFailed(MediationError):
    """Input that is well-formed but invalid; ``errors`` names the fields."""

    status = 422
    title = N_("提交的内容有误")


class NotAuthenticated(MediationError):
    """No valid credentials."""

    status = 401
    title = N_("未登录或登录已过期")


class Forbidden(MediationError):
    """The user sees the case but may not do this."""

    status = 403
    title = N_("无权执行此操作")


class NotFound(MediationError):
    """Missing, or outside the user's sight (never 403, so existence does not leak)."""

    status = 404
    title = N_("未找到")


class Conflict(MediationError):
    """Stale version, wrong state, or a duplicate."""

    status = 409
    title = N_("操作冲突")


class TooManyRequests(MediationError):
    """Throttled."""

    status = 429
    title = N_("登录失败次数过多，请%(minutes)s分钟后再试")


class PayloadTooLarge(MediationError):
    """Body over the limit."""

    status = 413
    title = N_("请求内容过大（上限 %(limit)s 字节）")
