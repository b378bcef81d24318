"""The catalogue of printed documents (reports/catalogue.toml): per document its template, print
stylesheets, context builder, the condition under which a case has it and its place in the
dossier. Conditions are registered here by name; the catalogue only names them."""

from __future__ import annotations

import hashlib
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from mediation.resources import data_dir
from mediation.workflow.definition import Label


class CatalogueError(Exception):
    """The catalogue names something that does not exist."""


@dataclass(frozen=True)
class DocumentSpec:
    """One printed document of the catalogue."""

    name: str
    title: str
    title_en: str
    template: str
    css: tuple[str, ...]
    context: str
    when: dict[str, Any]
    unavailable: Label
    repeat: str | None = None
    dossier: int | None = None
    # When the archive expects the dossier to hold this document (a condition as ``when``):
    # the back sheet names what is expected and missing. None: never missed.
    expected: dict[str, Any] | None = None
    standalone: bool = True
    verify: bool = False

    @property
    def label(self) -> Label:
        """The title in both languages."""
        return Label(self.title, self.title_en)


@dataclass(frozen=True)
class Catalogue:
    """Every document, the dossier settings and the monthly report settings.

    The printed names of levels, states and triggers are the workflow definition's.
    """

    documents: dict[str, DocumentSpec]
    dossier: dict[str, Any]
    reports: dict[str, Any]
    root: Path
    digest: str = field(default="")

    def get(self, name: str) -> DocumentSpec | None:
        """The document called ``name``, or None."""
        return self.documents.get(name)

    def dossier_order(self) -> list[DocumentSpec]:
        """The documents filed in the dossier, in archive order."""
        filed = [d for d in self.documents.values() if d.dossier is not None]
        return sorted(filed, key=lambda d: d.dossier or 0)


# -- conditions ---------------------------------------------------------------------------------

Condition = Callable[[Any, dict[str, Any]], bool]
CONDITIONS: dict[str, Condition] = {}


def condition(name: str) -> Callable[[Condition], Condition]:
    """Register a condition ``fn(sources, args) -> bool`` under ``name``."""
    def deco(fn: Condition) -> Condition:
        CONDITIONS[name] = fn
        return fn
    return deco


@condition("always")
def _always(_src: Any, _args: dict[str, Any]) -> bool:
    """Every case has it."""
    return True


@condition("reached")
def _reached(src: Any, args: dict[str, Any]) -> bool:
    """The case is in, or has been in, one of ``states``."""
    states = set(args.get("states", ()))
    return src.case.state in states or any(e.to_state in states for e in src.events)


@condition("accepted")
def _accepted(src: Any, _args: dict[str, Any]) -> bool:
    """The case has entered a mediation state of its definition (it was accepted)."""
    return src.accepted_event() is not None


@condition("action")
def _action(src: Any, args: dict[str, Any]) -> bool:
    """At least one ``action`` was recorded."""
    return bool(src.actions(args["action"]))


@condition("transition")
def _transition(src: Any, args: dict[str, Any]) -> bool:
    """The trigger ``trigger`` was fired."""
    return any(e.kind == "transition" and e.name == args["trigger"] for e in src.events)


@condition("agreement_signed")
def _agreement_signed(src: Any, _args: dict[str, Any]) -> bool:
    """A written agreement that took effect (in force, or voided by a later breach)."""
    return src.agreement_signed()


@condition("closed")
def _closed(src: Any, _args: dict[str, Any]) -> bool:
    """The case is closed (in a terminal state)."""
    return src.case.closed_at is not None


@condition("recorded_after_closing")
def _recorded_after_closing(src: Any, _args: dict[str, Any]) -> bool:
    """Something was recorded after the case was closed (its dossier filed)."""
    closing = src.closing_event()
    return closing is not None and src.events[-1].seq > closing.seq


@condition("attached")
def _attached(src: Any, args: dict[str, Any]) -> bool:
    """Files of ``kinds`` were attached (``"none"`` stands for a file given no kind)."""
    kinds = {None if k == "none" else k for k in args.get("kinds", ())}
    return bool(src.attachments(kinds))


@condition("written_action")
def _written_action(src: Any, args: dict[str, Any]) -> bool:
    """``action`` was recorded on a case with a written agreement that took effect (judicial
    confirmation papers belong to written agreements only)."""
    return bool(src.actions(args["action"])) and src.agreement_signed()


@condition("paid_and_closed")
def _paid_and_closed(src: Any, _args: dict[str, Any]) -> bool:
    """The case was closed as performed and its written agreement has a term with an amount:
    a receipt of payment belongs in the file."""
    agreement = src.agreement()
    return (src.case.closed_at is not None and src.labels.outcomes.get(src.case.state) == "success"
            and agreement is not None and agreement.effective_at is not None
            and any(t.amount for t in agreement.terms))


@condition("mediated")
def _mediated(src: Any, _args: dict[str, Any]) -> bool:
    """A mediation took place and ended: a written agreement took effect, or the case ended
    without agreement (a mediation session record belongs in the file)."""
    return src.agreement_signed() or src.labels.outcomes.get(src.case.state) == "failure"


@condition("agreement_ready")
def _agreement_ready(src: Any, _args: dict[str, Any]) -> bool:
    """A written agreement signed, or complete enough to print as a copy for signing."""
    return src.agreement_ready()


# -- loading ------------------------------------------------------------------------------------

def _digest(root: Path) -> str:
    """A hash of every template and stylesheet: a change re-renders stored documents."""
    h = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        if path.is_file() and path.suffix in (".html", ".css", ".toml", ".svg", ".png"):
            h.update(str(path.relative_to(root)).encode())
            h.update(path.read_bytes())
    return h.hexdigest()


def _label(raw: Any) -> Label:
    if isinstance(raw, dict):
        return Label(str(raw.get("zh", "")), str(raw.get("en", raw.get("zh", ""))))
    return Label(str(raw or ""), str(raw or ""))


def load_catalogue(root: Path | None = None) -> Catalogue:
    """Read and check ``reports/catalogue.toml``; raises :class:`CatalogueError`."""
    from mediation.documents.builders import BUILDERS

    root = root or data_dir("reports")
    raw = tomllib.loads((root / "catalogue.toml").read_text(encoding="utf-8"))
    problems: list[str] = []
    documents: dict[str, DocumentSpec] = {}
    for name, d in raw.get("documents", {}).items():
        when = dict(d.get("when", {"condition": "always"}))
        if when.get("condition") not in CONDITIONS:
            problems.append(f"{name}: unknown condition {when.get('condition')!r}")
        expected = dict(d["expected"]) if "expected" in d else None
        if expected is not None and expected.get("condition") not in CONDITIONS:
            problems.append(f"{name}: unknown condition {expected.get('condition')!r}")
        if d.get("context") not in BUILDERS:
            problems.append(f"{name}: unknown context builder {d.get('context')!r}")
        template = root / "templates" / d.get("template", "")
        if not template.is_file():
            problems.append(f"{name}: no template {d.get('template')!r}")
        for css in d.get("css", []):
            if not (root / "css" / css).is_file():
                problems.append(f"{name}: no stylesheet {css!r}")
        documents[name] = DocumentSpec(
            name=name, title=d["title"], title_en=d.get("title_en", d["title"]),
            template=d.get("template", ""), css=tuple(d.get("css", ())),
            context=d.get("context", ""), when=when,
            unavailable=_label(d.get("unavailable", "")), repeat=d.get("repeat"),
            dossier=d.get("dossier"), standalone=bool(d.get("standalone", True)),
            expected=expected,
            verify=bool(d.get("verify", False)))
    if "levels" in raw:
        problems.append("levels: the printed names of levels belong in the workflow definition "
                        "([levels] in workflows/*.toml), not in the catalogue")
    if problems:
        raise CatalogueError("; ".join(problems))
    return Catalogue(documents=documents, dossier=dict(raw.get("dossier", {})),
                     reports=dict(raw.get("reports", {})), root=root,
                     digest=_digest(root))


@lru_cache(maxsize=4)
def _cached(root: str, stamp: float) -> Catalogue:
    return load_catalogue(Path(root))


def catalogue(root: Path | None = None) -> Catalogue:
    """The catalogue, read once (and again when catalogue.toml changes)."""
    root = root or data_dir("reports")
    return _cached(str(root), (root / "catalogue.toml").stat().st_mtime)
