"""Conflicts of interest a mediator should know about (人民调解法 art. 23; DESIGN.md §2).

Mediators are neighbours. When a case gets a new handler the engine looks for links it can
see: the same address as a party, the same surname and building, or an earlier case in which
the mediator and a party of this case were both parties. These are warnings, not refusals:
the parties may still accept the mediator, and ``reassign`` records why one stepped aside.

A mediator who *is* a party of the case (the same name and the same address) is refused: no
one mediates their own dispute. The same name at another or an unknown address is a warning
(namesakes are common).
"""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from mediation.auth.models import User
from mediation.cases.models import Case, Party
from mediation.i18n import N_, Msg, msg

_BUILDING = re.compile(r"^(.*?\d+\s*(?:幢|栋|号楼|座))")


def building_of(address: str) -> str | None:
    """The building part of a Chinese address: ``红石板社区3幢2单元401室`` → ``红石板社区3幢``."""
    match = _BUILDING.match((address or "").replace(" ", ""))
    return match.group(1) if match else None


def _norm(address: str) -> str:
    return re.sub(r"\s+", "", address or "")


# The links the engine can see (DESIGN.md §2); each warning is one of these texts.
SAME_ADDRESS = N_("调解员%(mediator)s与当事人%(party)s住址相同（%(address)s）")
SAME_BUILDING = N_("调解员%(mediator)s与当事人%(party)s同姓且住同一楼栋（%(building)s）")
EARLIER_CASE = N_("调解员%(mediator)s曾与当事人%(party)s同为案件%(case_no)s的当事人")


SAME_NAME = N_("调解员%(mediator)s与当事人%(party)s同名，如系本人或其近亲属应当回避")


def refusal_as_party(case: Case, mediator: User) -> Msg | None:
    """Why ``mediator`` may not handle ``case``: they are one of its parties (same name and
    same address); None otherwise."""
    home = _norm(mediator.address)
    for party in case.parties:
        if (mediator.full_name and party.kind == "person" and party.name == mediator.full_name
                and home and home == _norm(party.address)):
            return msg("%(mediator)s是本案当事人，应当回避，不能承办本案",
                       mediator=mediator.display_name)
    return None


def find_conflicts(session: Session, case: Case, mediator: User) -> list[Msg]:
    """Warnings about links between ``mediator`` and the parties of ``case``."""
    warnings: list[Msg] = []
    name = mediator.display_name
    home = _norm(mediator.address)
    building = building_of(home)
    for party in case.parties:
        paddr = _norm(party.address)
        if mediator.full_name and party.kind == "person" and party.name == mediator.full_name:
            warnings.append(msg(SAME_NAME.text, mediator=name, party=party.name))
        elif home and paddr and home == paddr:
            warnings.append(msg(SAME_ADDRESS.text,
                                mediator=name, party=party.name,
                                address=party.address))
        elif (building and building_of(paddr) == building and mediator.full_name
              and party.kind == "person" and party.name[:1] == mediator.full_name[:1]):
            warnings.append(msg(SAME_BUILDING.text,
                                mediator=name, party=party.name,
                                building=building))
    if mediator.full_name:
        # Earlier cases in which the mediator (by name) and one of these parties were parties.
        names = {p.name for p in case.parties}
        earlier = session.execute(
            select(Case.case_no, Party.case_id).join(Party, Party.case_id == Case.id)
            .where(Party.name == mediator.full_name, Case.id != case.id)
        ).all()
        for case_no, other_id in earlier:
            shared = session.scalars(select(Party.name).where(
                Party.case_id == other_id, Party.name.in_(names))).all()
            for pname in sorted(set(shared)):
                warnings.append(msg(EARLIER_CASE.text,
                                    mediator=name, party=pname,
                                    case_no=case_no))
    return warnings
