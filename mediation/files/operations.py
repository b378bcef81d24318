"""Taking in photos: checked by size and by their first bytes (not by the name or the type the
browser claims), decoded and re-encoded as JPEG at most 1600 px wide (which also drops their
EXIF data, GPS position included), stored under ``instance/uploads/``.

Why files and not database rows: photos are large and many, the database stays small and fast
(an SQLite file in the embedded setup), and ``mediation backup`` copies the instance folder
whole, uploads included. Their hash, name and size are in the database and in the case's trail
(the ``attach_file`` action), so a file changed on disk is noticed.
"""

from __future__ import annotations

import hashlib
import io
import secrets
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from mediation.auth.models import User
from mediation.cases.models import Case
from mediation.errors import FieldError, ValidationFailed
from mediation.files.models import Attachment
from mediation.i18n import msg
from mediation.text import clean_text
from mediation.timeutil import utcnow
from mediation.workflow.engine import Engine

MAX_PHOTO_BYTES = 15 * 1024 * 1024
MAX_PHOTOS = 6
LONG_SIDE = 1600
# The kinds of image a phone camera or album gives, by their first bytes.
SIGNATURES = ((b"\xff\xd8\xff", "jpeg"), (b"\x89PNG\r\n\x1a\n", "png"))
ATTACH_ACTION = "attach_file"


def image_kind(head: bytes) -> str | None:
    """``jpeg``, ``png`` or ``webp`` from a file's first bytes; None for anything else."""
    for signature, kind in SIGNATURES:
        if head.startswith(signature):
            return kind
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    return None


def uploads_dir(instance: Path) -> Path:
    """Where uploads are kept."""
    return instance / "uploads"


def store_photo(session: Session, instance: Path, stream: IO[bytes], filename: str, *,
                actor: User, field: str = "photos", now: datetime | None = None) -> Attachment:
    """Check, shrink and keep one photo; refused (422, naming ``field``) when it is too large,
    not a JPEG, PNG or WebP image, or cannot be decoded."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    name = clean_text(filename or "", multiline=False).strip()[:200] or "photo.jpg"
    data = stream.read(MAX_PHOTO_BYTES + 1)
    if len(data) > MAX_PHOTO_BYTES:
        raise ValidationFailed(errors=[FieldError(field, msg(
            "照片“%(name)s”太大（上限 %(limit)s MB）", name=name,
            limit=MAX_PHOTO_BYTES // (1024 * 1024)))])
    if image_kind(data[:16]) is None:
        raise ValidationFailed(errors=[FieldError(field, msg(
            "“%(name)s”不是照片（只能上传 JPEG、PNG 或 WebP 图片）", name=name))])
    try:
        with Image.open(io.BytesIO(data)) as probe:
            probe.verify()
        with Image.open(io.BytesIO(data)) as original:
            img = ImageOps.exif_transpose(original).convert("RGB")
            img.thumbnail((LONG_SIDE, LONG_SIDE))
            out = io.BytesIO()
            img.save(out, "JPEG", quality=85, optimize=True)
            width, height = img.size
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        raise ValidationFailed(errors=[FieldError(field, msg(
            "照片“%(name)s”无法打开，可能已损坏", name=name))]) from None
    body = out.getvalue()
    now = now or utcnow()
    stored = f"{now:%Y/%m}/{secrets.token_hex(16)}.jpg"
    path = uploads_dir(instance) / stored
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(body)
    attachment = Attachment(uploaded_by=actor.id, filename=name, stored=stored,
                            mimetype="image/jpeg", size=len(body),
                            sha256=hashlib.sha256(body).hexdigest(), width=width,
                            height=height, created_at=now)
    session.add(attachment)
    session.flush()
    return attachment


def pending(session: Session, ids: Sequence[Any], actor: User) -> list[Attachment]:
    """The photos ``actor`` uploaded with a report not sent yet, among ``ids``."""
    wanted = [int(i) for i in ids if str(i).isdigit()][:MAX_PHOTOS]
    if not wanted:
        return []
    return list(session.scalars(select(Attachment).where(
        Attachment.id.in_(wanted), Attachment.uploaded_by == actor.id,
        Attachment.case_id.is_(None)).order_by(Attachment.id)))


def attach(session: Session, engine: Engine, case: Case, attachments: Sequence[Attachment], *,
           actor: User, now: datetime | None = None) -> None:
    """Attach kept photos to ``case``: each one recorded in its trail (name and hash)."""
    for attachment in attachments:
        attachment.case_id = case.id
        session.flush()
        engine.act(session, case.id, ATTACH_ACTION, actor=actor, now=now, data={
            "filename": attachment.filename, "digest": attachment.sha256})


def case_files(session: Session, case: Case) -> list[Attachment]:
    """The files attached to ``case``, oldest first."""
    return list(session.scalars(select(Attachment).where(Attachment.case_id == case.id)
                                .order_by(Attachment.id)))


def file_path(instance: Path, attachment: Attachment) -> Path:
    """Where an attachment's bytes are."""
    return uploads_dir(instance) / attachment.stored
