"""Reading and marking a user's notices (flush, never commit)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from mediation.auth.models import User
from mediation.db import rowcount
from mediation.errors import NotFound
from mediation.i18n import msg
from mediation.notifications.models import Notification
from mediation.timeutil import utcnow


def unread_count(session: Session, user: User) -> int:
    """How many of ``user``'s notices are unread."""
    return session.scalar(select(func.count()).select_from(Notification).where(
        Notification.user_id == user.id, Notification.read_at.is_(None))) or 0


def inbox(session: Session, user: User, page: int = 1,
          per_page: int = 20) -> tuple[list[Notification], int]:
    """A page of ``user``'s notices, newest first, and how many there are."""
    where = Notification.user_id == user.id
    total = session.scalar(select(func.count()).select_from(Notification).where(where)) or 0
    rows = session.scalars(select(Notification).where(where)
                           .order_by(Notification.id.desc())
                           .limit(per_page).offset((page - 1) * per_page))
    return list(rows), total


def open_notice(session: Session, user: User, notice_id: int, *,
                now: datetime | None = None) -> Notification:
    """Mark one of ``user``'s notices read and return it; someone else's is not found."""
    notice = session.get(Notification, notice_id)
    if notice is None or notice.user_id != user.id:
        raise NotFound(msg("未找到"))
    if notice.read_at is None:
        notice.read_at = now or utcnow()
        session.flush()
    return notice


def mark_all_read(session: Session, user: User, *, now: datetime | None = None) -> int:
    """Mark every unread notice of ``user`` read; how many there were."""
    return rowcount(session.execute(update(Notification).where(
        Notification.user_id == user.id, Notification.read_at.is_(None)).values(
        read_at=now or utcnow())))
