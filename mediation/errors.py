"""Errors that carry a status and human-readable, translatable reasons.

Operations raise these; the API turns them into RFC 9457 problem documents, the CLI into a
message and a non-zero exit, the web pages into flash messages and form errors.
"""

from __future__ import annotations

from dataclasses import dataclass

from mediation.i18n import Msg, msg


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
    title_key = "bad_request"

    def __init__(self, detail: Msg | None = None, errors: list[FieldError] | None = None,
                 **extra: object):
        self.detail = detail or msg(self.title_key)
        self.errors = errors or []
        self.extra = extra
        super().__init__(self.detail.render("en"))


class BadRequest(MediationError):
    """Malformed request (not JSON, wrong shape)."""

    status = 400
    title_key = "bad_request"


class ValidationFailed(MediationError):
    """Input that is well-formed but invalid; ``errors`` names the fields."""

    status = 422
    title_key = "invalid_input"


class NotAuthenticated(MediationError):
    """No valid credentials."""

    status = 401
    title_key = "unauthorized"


class Forbidden(MediationError):
    """The user sees the case but may not do this."""

    status = 403
    title_key = "forbidden"


class NotFound(MediationError):
    """Missing, or outside the user's sight (never 403, so existence does not leak)."""

    status = 404
    title_key = "not_found"


class Conflict(MediationError):
    """Stale version, wrong state, or a duplicate."""

    status = 409
    title_key = "conflict"


class TooManyRequests(MediationError):
    """Throttled."""

    status = 429
    title_key = "too_many_logins"


class PayloadTooLarge(MediationError):
    """Body over the limit."""

    status = 413
    title_key = "payload_too_large"
