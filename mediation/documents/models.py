"""Rendered documents: each printed PDF kept with the hash of the data it was made from and the
verification code it carries."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from mediation.db import Base
from mediation.timeutil import utcnow


class RenderedDocument(Base):
    """One rendition of a case's document. A new rendition is made only when the data (or the
    templates) change; the latest one of a (case, document) is ``current``."""

    __tablename__ = "rendered_documents"
    __table_args__ = (
        UniqueConstraint("case_id", "document", "data_hash"),
        Index("ix_rendered_documents_current", "case_id", "document", "current"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    document: Mapped[str] = mapped_column(String(60))
    data_hash: Mapped[str] = mapped_column(String(64))
    verification_code: Mapped[str] = mapped_column(String(24), unique=True)
    pdf: Mapped[bytes] = mapped_column(LargeBinary)
    pdf_sha256: Mapped[str] = mapped_column(String(64))
    pages: Mapped[int] = mapped_column(Integer)
    size: Mapped[int] = mapped_column(Integer)
    current: Mapped[bool] = mapped_column(Boolean, default=True)
    issued_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    superseded_at: Mapped[datetime | None] = mapped_column(DateTime)
    # The head of the case's hash chain the document was issued from: its code ties the paper
    # to that state of the record (mediation.documents.verify checks the chain still holds it).
    chain_seq: Mapped[int | None] = mapped_column(Integer)
    chain_head: Mapped[str | None] = mapped_column(String(64))
    # For an agreement: the version printed and what it was then (``draft``: the copy for
    # signing on paper; ``in_force``; ``voided``), so that its code answers what it is now.
    agreement_id: Mapped[int | None] = mapped_column(ForeignKey("agreements.id"))
    printed_as: Mapped[str | None] = mapped_column(String(20))
