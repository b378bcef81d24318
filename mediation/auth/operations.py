"""Users, passwords, API tokens and login throttling."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from mediation.auth.models import ROLE_LABELS, ROLES, ApiToken, LoginAttempt, User
from mediation.errors import (
    FieldError,
    NotAuthenticated,
    NotFound,
    TooManyRequests,
    ValidationFailed,
)
from mediation.i18n import Label, msg
from mediation.orgs.models import OrgUnit
from mediation.orgs.operations import KIND_LABELS, find_org
from mediation.security import hash_password, token_digest, verify_password
from mediation.timeutil import utcnow

MIN_PASSWORD = 8
# Where each role works (DESIGN.md §1): volunteers in a grid (or its community), reviewers at a
# street's centre (or the district's), legal aid lawyers at the district's legal service.
ROLE_UNITS = {"volunteer": ("grid", "community"), "reviewer": ("street", "district"),
              "lawyer": ("district",)}



def canonical_username(username: str) -> str:
    """Usernames are compared without regard to case (a phone keyboard capitalises the first
    letter) and without surrounding spaces: ``" WangAyi "`` is ``wangayi``."""
    return (username or "").strip().casefold()


def find_user(session: Session, username: str) -> User | None:
    """The user called ``username`` (in any case), or None."""
    return session.scalar(select(User).where(User.username == canonical_username(username)))


def list_users(session: Session, *, org_code: str | None = None,
               role: str | None = None) -> list[User]:
    """Users by org unit (its subtree) and role, ordered by unit and username."""
    stmt = select(User).join(User.org_unit)
    if org_code:
        org = find_org(session, org_code)
        if org is None:
            raise ValidationFailed(errors=[FieldError("org", msg("单位“%(code)s”不存在",
                                                                  code=org_code))])
        stmt = stmt.where(OrgUnit.path.startswith(org.path, autoescape=True))
    if role:
        if role not in ROLES:
            raise ValidationFailed(errors=[FieldError("role", msg(
                "取值无效，可选：%(choices)s", choices=", ".join(ROLES)))])
        stmt = stmt.where(User.role == role)
    return list(session.scalars(stmt.order_by(OrgUnit.path, User.username)))


def _existing_user(session: Session, username: str) -> User:
    user = find_user(session, username)
    if user is None:
        raise NotFound(msg("用户“%(username)s”不存在", username=username))
    return user


def deactivate_user(session: Session, username: str) -> User:
    """Stop a user signing in or using a token; nothing they did is deleted (their name stays
    on the cases and documents they touched)."""
    user = _existing_user(session, username)
    user.active = False
    _end_sessions(session, user)
    session.flush()
    return user


def reset_password(session: Session, username: str, password: str) -> User:
    """Give a user a new password; every session and token of theirs stops working."""
    user = _existing_user(session, username)
    if len(password or "") < MIN_PASSWORD:
        raise ValidationFailed(errors=[FieldError("password", msg(
            "长度不能少于%(min)s个字符", min=MIN_PASSWORD))])
    user.password_hash = hash_password(password)
    _end_sessions(session, user)
    session.flush()
    return user


def _end_sessions(session: Session, user: User) -> None:
    """Invalidate every session cookie and bearer token of ``user``."""
    rotate_session_token(user)
    session.execute(delete(ApiToken).where(ApiToken.user_id == user.id))


def create_user(session: Session, username: str, *, role: str, org_code: str, password: str,
                full_name: str = "", address: str = "") -> User:
    """Add a user with one role in one org unit."""
    errors = []
    username = canonical_username(username)
    if not username or len(username) > 60 or any(c.isspace() for c in username):
        errors.append(FieldError("username", msg("用户名应为1–60个字符，且不含空格")))
    elif find_user(session, username) is not None:
        errors.append(FieldError("username", msg("用户名“%(username)s”已存在", username=username)))
    if role not in ROLES:
        errors.append(FieldError("role", msg("取值无效，可选：%(choices)s", choices=", ".join(ROLES))))
    org = find_org(session, org_code)
    if org is None:
        errors.append(FieldError("org", msg("单位“%(code)s”不存在", code=org_code)))
    elif role in ROLE_UNITS and org.kind not in ROLE_UNITS[role]:
        errors.append(FieldError("org", msg(
            "%(role)s应属于%(kinds)s一级的单位，“%(code)s”是%(actual)s",
            role=ROLE_LABELS[role], code=org_code, actual=KIND_LABELS[org.kind],
            kinds=Label("、".join(KIND_LABELS[k].zh for k in ROLE_UNITS[role]),
                        " or ".join(ROLE_UNITS[role])))))
    if len(password or "") < MIN_PASSWORD:
        errors.append(FieldError("password", msg("长度不能少于%(min)s个字符", min=MIN_PASSWORD)))
    if errors:
        raise ValidationFailed(errors=errors)
    assert org is not None
    user = User(username=username, role=role, org_unit=org, full_name=full_name.strip(),
                address=address.strip(), password_hash=hash_password(password),
                session_token=secrets.token_hex(16))
    session.add(user)
    session.flush()
    return user


def _check_throttle(session: Session, username: str, now: datetime, max_failures: int,
                    window: timedelta) -> None:
    failures = list(session.scalars(select(LoginAttempt.at).where(
        LoginAttempt.username == username, LoginAttempt.success.is_(False),
        LoginAttempt.at > now - window).order_by(LoginAttempt.at.desc())))
    if len(failures) >= max_failures:
        # Allowed again once the oldest of the last ``max_failures`` failures leaves the window.
        free_at = failures[max_failures - 1] + window
        seconds = max(1, int((free_at - now).total_seconds()) + 1)
        raise TooManyRequests(msg("登录失败次数过多，请%(minutes)s分钟后再试", minutes=(seconds + 59) // 60),
                              retry_after=seconds)


def authenticate(session: Session, username: str, password: str, *, now: datetime | None = None,
                 max_failures: int = 10, window_minutes: int = 15) -> User:
    """The user whose password this is; 401 if wrong, 429 once more than ``max_failures``
    failures for this username fell within the window. Every attempt is recorded."""
    now = now or utcnow()
    window = timedelta(minutes=window_minutes)
    username = canonical_username(username)
    _check_throttle(session, username, now, max_failures, window)
    user = find_user(session, username)
    ok = verify_password(user.password_hash if user else None, password) and bool(user and user.active)
    session.add(LoginAttempt(username=username[:60], at=now, success=ok))
    session.flush()
    if not ok or user is None:
        raise NotAuthenticated(msg("用户名或密码错误"))
    return user


def issue_token(session: Session, user: User, *, ttl_hours: int = 12,
                now: datetime | None = None) -> tuple[str, datetime]:
    """A new bearer token for ``user`` and when it expires; only its digest is stored."""
    now = now or utcnow()
    token = secrets.token_urlsafe(32)
    expires = now + timedelta(hours=ttl_hours)
    session.add(ApiToken(token_hash=token_digest(token), user_id=user.id, expires_at=expires))
    session.execute(delete(ApiToken).where(ApiToken.expires_at < now))
    session.flush()
    return token, expires


def user_for_token(session: Session, token: str, *, now: datetime | None = None) -> User | None:
    """The active user a bearer token belongs to, if it has not expired."""
    now = now or utcnow()
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == token_digest(token)))
    if row is None or row.expires_at < now or not row.user.active:
        return None
    return row.user


def rotate_session_token(user: User) -> None:
    """Invalidate every session cookie of ``user`` (logout, password change)."""
    user.session_token = secrets.token_hex(16)
