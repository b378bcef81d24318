"""A notice in a user's inbox."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, DateTime, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mediation.cases.models import Case
from mediation.db import Base
from mediation.timeutil import utcnow


class Notification(Base):
    """One notice to one user about one event of a case; ``text`` holds it in every language
    (``{"zh-CN": ..., "en": ...}``), written when it was sent."""

    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_inbox", "user_id", "read_at", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
    event_seq: Mapped[int | None] = mapped_column(Integer)
    # alert (high risk) | transition | remind | overdue
    kind: Mapped[str] = mapped_column(String(20))
    text: Mapped[dict[str, str]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(DateTime)

    case: Mapped[Case | None] = relationship()

    def text_in(self, lang: str) -> str:
        """The notice in ``lang`` (zh-CN when it was not written in that language)."""
        return self.text.get(lang) or self.text.get("zh-CN") or ""
