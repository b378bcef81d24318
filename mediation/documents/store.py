"""Printing a case's documents: compose (catalogue + context builder), render once per version
of the data, keep the PDF with its content hash and verification code.

These are the functions the API, the web pages and the render job call:

- :func:`render_case_document` → ``(pdf bytes, DocumentMeta)``; raises ``Conflict`` (409) with a
  reason when the case does not have that document yet, ``NotFound`` for an unknown name.
- :func:`available_documents` → the documents a case has now.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from mediation.auth.models import User
from mediation.cases.models import Case, PiiAccess
from mediation.documents.builders import BUILDERS
from mediation.documents.catalogue import (
    CONDITIONS,
    Catalogue,
    DocumentSpec,
    catalogue,
)
from mediation.documents.models import RenderedDocument
from mediation.documents.qr import new_code, qr_img, verify_url
from mediation.documents.render import FIXED_DATE, renderer
from mediation.documents.sources import CaseSources, definitions
from mediation.errors import Conflict, NotFound
from mediation.i18n import msg
from mediation.security import FieldCipher
from mediation.timeutil import utcnow

log = logging.getLogger(__name__)

DEFAULT_PUBLIC_URL = "http://localhost:5000"
_CN_DATE = re.compile(r"(\d{4})年(\d{1,2})月(\d{1,2})日")


class HasCipher(Protocol):
    """A runtime (or anything) carrying the field cipher and the configuration."""

    cipher: FieldCipher


@dataclass(frozen=True)
class DocumentMeta:
    """What the caller needs besides the bytes (headers, links, the verify page)."""

    document: str
    title: str
    case_no: str
    filename: str
    verification_code: str | None
    data_hash: str
    pdf_sha256: str
    pages: int
    size: int
    issued_at: datetime
    rendered: bool  # False when the stored copy was served


@dataclass
class Composed:
    """A document ready to render: template, context, stylesheets, metadata date."""

    spec: DocumentSpec
    template: str
    context: dict[str, Any]
    date: str


def _cipher(runtime_or_cipher: Any) -> FieldCipher | None:
    if runtime_or_cipher is None or isinstance(runtime_or_cipher, FieldCipher):
        return runtime_or_cipher
    cipher = getattr(runtime_or_cipher, "cipher", None)
    return cipher if isinstance(cipher, FieldCipher) else None


def _public_url(runtime_or_cipher: Any, explicit: str | None) -> str:
    if explicit:
        return explicit
    config = getattr(runtime_or_cipher, "config", None)
    return str(getattr(config, "public_url", None) or DEFAULT_PUBLIC_URL)


def _iso_date(text: Any) -> str:
    match = _CN_DATE.search(str(text or ""))
    if not match:
        return FIXED_DATE
    y, m, d = (int(g) for g in match.groups())
    return f"{y:04d}-{m:02d}-{d:02d}T00:00:00+08:00"


def load_sources(session: Session, case: Case, cipher: FieldCipher | None,
                 cat: Catalogue | None = None, runtime: Any = None) -> CaseSources:
    """The facts the context builders read, loaded once for one case (its definition from
    ``runtime``'s store when given, else from the text the case pinned)."""
    cat = cat or catalogue()
    return CaseSources.load(session, case, cipher, dossier=cat.dossier,
                            store=definitions(runtime))


def has_document(spec: DocumentSpec, src: CaseSources) -> bool:
    """Whether the case has ``spec`` now (its catalogue condition holds)."""
    args = dict(spec.when)
    return CONDITIONS[args.pop("condition", "always")](src, args)


def available_documents(session: Session, case: Case, *, standalone: bool = True,
                        runtime: Any = None) -> list[str]:
    """The names of the documents ``case`` has now (those printable on their own by default)."""
    cat = catalogue()
    src = load_sources(session, case, None, cat, runtime)
    return [s.name for s in cat.documents.values()
            if (s.standalone or not standalone) and has_document(s, src)]


def _last_date(records: list[dict[str, Any]]) -> str:
    return str(records[-1].get("date", "")) if records else ""


def compose(spec: DocumentSpec, src: CaseSources, cat: Catalogue) -> Composed:
    """The template and context of ``spec`` for the case in ``src`` (no rendering)."""
    ctx = BUILDERS[spec.context](src)
    if spec.name != "dossier":
        date = ctx.get("date") or _last_date(ctx.get("records", []))
        return Composed(spec, "standalone.html",
                        {"doc": ctx, "template": spec.template, "spec_title": spec.title},
                        _iso_date(date))
    sections: list[dict[str, Any]] = []
    for part in cat.dossier_order():
        if not has_document(part, src):
            continue
        part_ctx = BUILDERS[part.context](src)
        pieces = ([{**part_ctx, "records": [r]} for r in part_ctx["records"]]
                  if part.repeat else [part_ctx])
        for piece in pieces:
            date = piece.get("date") or _last_date(piece.get("records", []))
            sections.append({"id": f"sec-{len(sections) + 1}", "name": part.name,
                             "title": part.title, "date": date, "template": part.template,
                             "doc": piece})
    last = src.events[-1].at if src.events else src.case.created_at
    from mediation.documents.formatting import cn_date

    return Composed(spec, spec.template, {"doc": ctx, "sections": sections},
                    _iso_date(ctx.get("date") or cn_date(last)))


def data_hash(composed: Composed, cat: Catalogue, public_url: str) -> str:
    """The hash of everything the PDF is made from: context, templates, stylesheets, URL."""
    payload = {"document": composed.spec.name, "template": composed.template,
               "context": composed.context, "date": composed.date,
               "templates": cat.digest, "public_url": public_url if composed.spec.verify else ""}
    text = json.dumps(payload, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def render_composed(composed: Composed, *, code: str | None = None,
                    public_url: str = DEFAULT_PUBLIC_URL) -> tuple[bytes, int]:
    """PDF bytes and page count of a composed document, with its verification code if any."""
    verify = None
    if composed.spec.verify and code:
        url = verify_url(public_url, code)
        verify = {"code": code, "url": url, "qr": qr_img(url, "17mm")}
    r = renderer()
    html = r.html(composed.template, {**composed.context, "verify": verify})
    return r.pdf_pages(html, composed.spec.css, date=composed.date,
                       title=f"{composed.spec.title} {composed.context['doc']['case_no']}")


def _log_pii(session: Session, src: CaseSources, name: str, actor: User | None) -> None:
    fields: dict[int, set[str]] = {}
    for party_id, field_name in src.pii_used:
        fields.setdefault(party_id, set()).add(field_name)
    for party_id, names in sorted(fields.items()):
        session.add(PiiAccess(user_id=actor.id if actor else None, party_id=party_id,
                              fields=",".join(sorted(names)), purpose=f"document:{name}",
                              extra={"case_id": src.case.id}))


def _meta(row: RenderedDocument, spec: DocumentSpec, case: Case, rendered: bool) -> DocumentMeta:
    return DocumentMeta(
        document=row.document, title=spec.title, case_no=case.number,
        filename=f"{spec.name}-{case.id}.pdf",
        verification_code=row.verification_code if spec.verify else None,
        data_hash=row.data_hash, pdf_sha256=row.pdf_sha256, pages=row.pages, size=row.size,
        issued_at=row.issued_at, rendered=rendered)


def _make_current(session: Session, row: RenderedDocument, now: datetime) -> None:
    session.execute(
        update(RenderedDocument)
        .where(RenderedDocument.case_id == row.case_id,
               RenderedDocument.document == row.document,
               RenderedDocument.id != row.id, RenderedDocument.current.is_(True))
        .values(current=False, superseded_at=now))
    if not row.current:
        row.current = True
        row.superseded_at = None


def render_case_document(session: Session, runtime_or_cipher: HasCipher | FieldCipher | None,
                         case: Case, name: str, *, actor: User | None = None,
                         public_url: str | None = None,
                         now: datetime | None = None) -> tuple[bytes, DocumentMeta]:
    """The PDF of document ``name`` of ``case`` and its metadata.

    Rendered only when its data changed since the last rendition (else the stored copy is
    served); the rendition becomes the case's current one and its verification code answers at
    ``/verify/<code>``. Full personal numbers printed are logged as PII views of ``actor``.
    Flushes, never commits. Raises ``NotFound`` for an unknown document and ``Conflict`` when
    the case does not have it yet (e.g. an agreement not signed by everyone).
    """
    cat = catalogue()
    spec = cat.get(name)
    if spec is None:
        raise NotFound(msg("没有名为“%(name)s”的文书", name=name))
    cipher = _cipher(runtime_or_cipher)
    url = _public_url(runtime_or_cipher, public_url)
    now = now or utcnow()
    src = load_sources(session, case, cipher, cat, runtime_or_cipher)
    if not has_document(spec, src):
        raise Conflict(msg("暂不能打印“%(title)s”：%(reason)s", title=spec.label, reason=spec.unavailable),
                       document=name)
    _refuse_broken_record(session, runtime_or_cipher, case)
    composed = compose(spec, src, cat)
    digest = data_hash(composed, cat, url)
    _log_pii(session, src, name, actor)
    existing = session.scalar(select(RenderedDocument).where(
        RenderedDocument.case_id == case.id, RenderedDocument.document == name,
        RenderedDocument.data_hash == digest))
    if existing is not None:
        _make_current(session, existing, now)
        session.flush()
        return existing.pdf, _meta(existing, spec, case, rendered=False)
    code = new_code()
    pdf, pages = render_composed(composed, code=code, public_url=url)
    head = src.events[-1] if src.events else None
    doc = composed.context.get("doc", {})
    row = RenderedDocument(
        case_id=case.id, document=name, data_hash=digest, verification_code=code, pdf=pdf,
        pdf_sha256=hashlib.sha256(pdf).hexdigest(), pages=pages, size=len(pdf), current=True,
        issued_at=now, agreement_id=doc.get("agreement_id") if name == "agreement" else None,
        printed_as=doc.get("status") if name == "agreement" else None,
        chain_seq=head.seq if head else None, chain_head=head.hash if head else None)
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        # Rendered at the same time by another worker: serve theirs.
        existing = session.scalar(select(RenderedDocument).where(
            RenderedDocument.case_id == case.id, RenderedDocument.document == name,
            RenderedDocument.data_hash == digest))
        if existing is None:
            raise
        return existing.pdf, _meta(existing, spec, case, rendered=False)
    _make_current(session, row, now)
    session.flush()
    return pdf, _meta(row, spec, case, rendered=True)


def _refuse_broken_record(session: Session, runtime: Any, case: Case) -> None:
    """No document is issued from a record that fails verification (a tampered amount must
    never print, nor get a code that verifies)."""
    from mediation.cases.evidence import verify_record

    checkpoints = getattr(runtime, "checkpoints", None)
    heads = checkpoints().read().heads.get(case.id) if callable(checkpoints) else None
    report = verify_record(session, case.id, heads)
    if not report.valid:
        log.error("case %s: record fails verification, no document issued: %s", case.number,
                  [p.detail for p in report.problems])
        raise Conflict(msg("案件记录校验未通过（%(what)s），不能出具文书，请联系管理员",
                           what=report.problems[0].detail))


def ensure_rendered(session: Session, runtime_or_cipher: HasCipher | FieldCipher | None,
                    case: Case, name: str, *, public_url: str | None = None) -> bool:
    """Render ``name`` for ``case`` if it has it and its data changed (the render job).

    Returns whether a document is now stored; a case without that document is skipped.
    """
    try:
        render_case_document(session, runtime_or_cipher, case, name, public_url=public_url)
    except Conflict:
        log.info("case %s has no %s yet: not rendered", case.number, name)
        return False
    return True


def preview_html(session: Session, runtime_or_cipher: HasCipher | FieldCipher | None,
                 case: Case, name: str, *, actor: User | None = None) -> str:
    """The HTML a document would be printed from (web previews; PII views are logged)."""
    cat = catalogue()
    spec = cat.get(name)
    if spec is None:
        raise NotFound(msg("没有名为“%(name)s”的文书", name=name))
    src = load_sources(session, case, _cipher(runtime_or_cipher), cat, runtime_or_cipher)
    if not has_document(spec, src):
        raise Conflict(msg("暂不能打印“%(title)s”：%(reason)s", title=spec.label, reason=spec.unavailable))
    composed = compose(spec, src, cat)
    _log_pii(session, src, name, actor)
    return renderer().html(composed.template, {**composed.context, "verify": None})
