"""Printed documents of a case as PDF, and the public check of a printed verification code."""

from __future__ import annotations

from typing import Any

from flask import Response as FlaskResponse
from spectree import Response

from mediation.api import api, current_user
from mediation.api.cases import BEARER, visible_case
from mediation.api.schemas import DocumentCheckOut, Problem
from mediation.documents.catalogue import catalogue
from mediation.documents.store import available_documents, render_case_document
from mediation.documents.verify import verify_code
from mediation.extensions import spec
from mediation.web import db_session, lang, runtime


@api.get("/cases/<int:case_id>/documents")
@spec.validate(resp=Response(HTTP_200=None, HTTP_401=Problem, HTTP_404=Problem),
               tags=["documents"], security=BEARER)
def list_documents(case_id: int) -> Any:
    """The printed documents of the catalogue, and which of them the case has now."""
    case = visible_case(case_id)
    have = set(available_documents(db_session(), case))
    english = lang() == "en"
    return [{"document": d.name, "title": d.title_en if english else d.title,
             "available": d.name in have, "url": f"/api/v1/cases/{case.id}/documents/{d.name}.pdf"}
            for d in catalogue().documents.values() if d.standalone]


@api.get("/cases/<int:case_id>/documents/<name>.pdf")
@spec.validate(resp=Response("HTTP_200", HTTP_401=Problem, HTTP_404=Problem, HTTP_409=Problem),
               tags=["documents"], security=BEARER)
def document_pdf(case_id: int, name: str) -> Any:
    """A document as PDF (agreement.pdf, dossier.pdf, and one per form); 409 with the reason
    while the case does not have it (e.g. an agreement not yet signed by everyone)."""
    case = visible_case(case_id)
    data, meta = render_case_document(db_session(), runtime(), case, name, actor=current_user())
    response = FlaskResponse(data, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f"inline; filename*=UTF-8''{meta.filename}"
    response.headers["ETag"] = meta.pdf_sha256
    if meta.verification_code:
        response.headers["X-Verification-Code"] = meta.verification_code
    response.headers["Cache-Control"] = "private, no-store"
    return response


@api.get("/verify/<code>")
@spec.validate(resp=Response(HTTP_200=DocumentCheckOut), tags=["documents"])
def verify_document(code: str) -> Any:
    """Whether a printed verification code is genuine and current; no personal data."""
    return verify_code(db_session(), code[:64], runtime())
