"""Answering a verification code printed on a document: genuine? current? No personal data."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mediation.cases.models import Agreement, Case
from mediation.documents.catalogue import catalogue
from mediation.documents.models import RenderedDocument
from mediation.documents.qr import normalise_code
from mediation.timeutil import iso
from mediation.workflow.models import Event


def verify_code(session: Session, code: str, runtime: Any = None) -> dict[str, Any]:
    """``{"valid", "case_no", "document", "issued_at", ...}`` for a printed verification code.

    ``valid`` says the code was issued by this system for that document; ``current`` says no
    newer version of the document has been issued since (``superseded_at`` says when one was).
    For an agreement, ``agreement`` says what was printed (the copy for signing, not in force;
    or the signed record) and what the agreement is now (in force; or voided, when and why).
    An unknown code answers ``valid: false`` and nothing else. No party data is returned.
    """
    canonical = normalise_code(code or "")
    row = session.execute(
        select(RenderedDocument, func.coalesce(Case.case_no, Case.report_no))
        .join(Case, Case.id == RenderedDocument.case_id)
        .where(RenderedDocument.verification_code == canonical)).first()
    if row is None:
        return {"valid": False, "case_no": None, "document": None, "issued_at": None}
    doc, case_no = row
    spec = catalogue().get(doc.document)
    record = _record_state(session, doc, runtime)
    answer: dict[str, Any] = {
        "valid": True,
        "case_no": case_no,
        "document": doc.document,
        "document_title": spec.title if spec else doc.document,
        "issued_at": iso(doc.issued_at),
        "current": bool(doc.current),
        "superseded_at": iso(doc.superseded_at),
        "pages": doc.pages,
        "pdf_sha256": doc.pdf_sha256,
        # the record the document was issued from: the head of the case's chain then, and
        # whether the record still holds it and verifies as a whole
        "chain_seq": doc.chain_seq,
        "chain_head": doc.chain_head,
        "record_intact": record,
    }
    if doc.agreement_id is not None:
        agreement = session.get(Agreement, doc.agreement_id)
        if agreement is not None:
            answer["agreement"] = agreement_status(agreement, doc.printed_as or "")
    return answer


def agreement_status(agreement: Agreement, printed_as: str) -> dict[str, Any]:
    """What a printed agreement is: printed as the copy for signing (``for_signing``: not in
    force, whatever it became since) or as the signed record, and what the agreement is now
    (``in_force``, ``draft``, ``voided`` with when and why)."""
    status = "voided" if agreement.status == "superseded" else agreement.status
    return {
        "printed_as": "for_signing" if printed_as == "draft" else printed_as,
        "for_signing": printed_as == "draft",
        "status": status,
        "in_force": printed_as != "draft" and agreement.status == "in_force",
        "effective_at": iso(agreement.effective_at),
        "voided_at": iso(agreement.voided_at),
        "void_reason": agreement.void_reason or None,
        "superseded": agreement.status == "superseded",
    }


def _record_state(session: Session, doc: RenderedDocument, runtime: Any = None) -> bool:
    """Whether the case's record verifies and still holds the chain head ``doc`` was issued
    from (a code of a tampered record, or of a record rewritten since, answers False)."""
    from mediation.cases.evidence import verify_record

    checkpoints = getattr(runtime, "checkpoints", None)
    heads = checkpoints().read().heads.get(doc.case_id) if callable(checkpoints) else None
    report = verify_record(session, doc.case_id, heads)
    if not report.valid:
        return False
    if doc.chain_seq is None:
        return True
    held = session.scalar(select(Event.hash).where(Event.case_id == doc.case_id,
                                                   Event.seq == doc.chain_seq))
    return held == doc.chain_head
