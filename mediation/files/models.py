"""A file attached to a case, or waiting to be (uploaded with a form that had to be corrected)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from mediation.db import Base
from mediation.timeutil import utcnow


class Attachment(Base):
    """A file kept under the instance's uploads folder. ``case_id`` is empty while the report it
    came with is still being corrected (its uploader may attach it to the case they report)."""

    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
    uploaded_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    filename: Mapped[str] = mapped_column(String(200))  # as the phone named it
    stored: Mapped[str] = mapped_column(String(200), unique=True)  # path under uploads/
    mimetype: Mapped[str] = mapped_column(String(60))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
