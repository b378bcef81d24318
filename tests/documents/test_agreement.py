"""人民调解协议书 from engine-made cases, read back from the PDF: every item of 人民调解法 art.
28–29 and 33 in the Ministry of Justice's format; the copy for signing on paper before any
signature (and its code verifying as not in force); the effective date and the 30-day limit
from the dates people really signed; "双方" only with two sides; a voided agreement printable,
filed and verified as voided."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from mediation.cases.models import Case
from mediation.cases.operations import add_signature
from mediation.documents.store import render_case_document
from mediation.documents.verify import verify_code
from tests.documents import factories as f
from tests.documents.conftest import needs_poppler

pytestmark = needs_poppler


def cst(month: int, day: int, hour: int = 10) -> datetime:
    """A China time of 2025 as naive UTC."""
    return datetime(2025, month, day, hour) - timedelta(hours=8)


def signed_case(docs, session):
    """Drafted on 3-04; the parties sign on paper on 3-05 and 3-06, the mediator on 3-07 and
    the committee seals on 3-10; it is all typed in on 3-12."""
    b = f.CaseBuilder(docs, session, day=1, agent=True)
    b.move("accept", b.volunteer)
    b.agreement(sign=False)
    return b


def sign(b, docs, session):
    applicant, company, third = b.case.parties
    typed = cst(3, 12)
    for signer, method, at in ((applicant.id, "fingerprint", cst(3, 5)),
                               (company.id, "seal", cst(3, 6)),
                               (third.id, "signature", cst(3, 6, 15)),
                               ("mediator", "signature", cst(3, 7)),
                               ("committee", "seal", cst(3, 10))):
        add_signature(session, b.rt.engine, b.case.id, signer=str(signer), method=method,
                      signed_at=at, actor=b.volunteer, now=typed)
    b.now = typed


def test_from_copy_for_signing_to_record_to_voided(rt, docs, session, read_pdf):
    b = signed_case(docs, session)

    # -- before any signature: the copy to sign on paper ----------------------------------
    pdf_bytes, draft = render_case_document(session, rt, b.case, "agreement")
    pdf = read_pdf(pdf_bytes)
    assert not pdf.has("签署用文本", "签署人", "签名（盖章）", "按指印", "人民调解员", "记录人",
                       "赵丽华", "人民调解委员会印章", "自本协议生效之日起三十日内共同向人民法院申请司法确认")
    for absent in ("已签名", "签署方式", "本协议于", "即2025年"):
        assert absent not in pdf.text, absent
    # a blank box per party: their names in the signature table, not yet any date
    sign_page = next(p for p in pdf.pages if "按指印" in p)
    for name in ("张桂英", "杭州武林物业服务有限公司", "李建华", "王秀英"):
        assert name in sign_page
    assert "2025年3月" not in sign_page[sign_page.index("按指印"):]
    answer = verify_code(session, draft.verification_code)
    assert answer["valid"] and answer["agreement"]["for_signing"] is True
    assert answer["agreement"]["in_force"] is False and answer["agreement"]["status"] == "draft"

    # -- every signature and the seal recorded: the signed record --------------------------
    sign(b, docs, session)
    session.refresh(b.case)
    pdf_bytes, signed = render_case_document(session, rt, b.case, "agreement")
    pdf = read_pdf(pdf_bytes)
    # in force on the latest of the real signing dates (the seal, 3-10), not when typed (3-12);
    # the judicial-confirmation limit is 30 days on: 4-09
    assert not pdf.has("本协议于2025年3月10日生效", "即2025年4月9日前", "签署方式", "按指印",
                       "2025年3月5日", "2025年3月6日", "2025年3月7日", "盖章")
    assert "签署用文本" not in pdf.text and "2025年3月12日" not in pdf.text
    answer = verify_code(session, signed.verification_code)
    assert answer["agreement"]["in_force"] is True and answer["agreement"]["for_signing"] is False
    assert answer["agreement"]["effective_at"].startswith("2025-03-10T02:00")
    # the copy for signing still answers that it is not in force (the agreement now is)
    old = verify_code(session, draft.verification_code)["agreement"]
    assert old["for_signing"] is True and old["in_force"] is False and old["status"] == "in_force"

    # -- a breach voids it: still printable, filed, and verified as voided --------------------
    b.move("sign_agreement", b.volunteer)
    b.move("report_breach", b.volunteer, reason="李建华未按期赔偿装修损失")
    session.refresh(b.case)
    pdf_bytes, voided = render_case_document(session, rt, b.case, "agreement")
    pdf = read_pdf(pdf_bytes)
    assert not pdf.has("本协议已于", "作废", "作废原因：李建华未按期赔偿装修损失",
                       "本协议于2025年3月10日生效")
    for code in (voided.verification_code, signed.verification_code):
        agreement = verify_code(session, code)["agreement"]
        assert agreement["status"] == "voided" and agreement["in_force"] is False
        assert agreement["void_reason"] == "李建华未按期赔偿装修损失" and agreement["voided_at"]
    dossier = read_pdf(render_case_document(session, rt, b.case, "dossier")[0])
    assert not dossier.has("人民调解协议书", "作废原因：李建华未按期赔偿装修损失")


def test_every_item_of_article_29(rt, docs, session, read_pdf):
    """The record copy of a three-party agreement, field by field."""
    case = f.resolved_case(docs, session)
    pdf = read_pdf(render_case_document(session, rt, case, "agreement")[0])
    missing = pdf.has(
        # each party's basic facts; an organisation with its credit code and representative
        "当事人（申请人）：张桂英，女，汉族，66岁，退休职工，住杭州市下城区武林门新村3幢2单元301室",
        "当事人（被申请人）：杭州武林物业服务有限公司，统一社会信用代码：",
        "法定代表人（负责人）：周建国，职务：总经理",
        "当事人（第三人）：李建华，男，回族",
        # facts, matters, responsibilities
        "纠纷主要事实", "2024年7月起", "争议事项", "渗水原因及责任承担", "各方当事人的责任",
        "第三人李建华承担主要责任",
        # terms: obligor, obligee, content, amount in figures and in capitals, deadline
        "一、第三人李建华（义务人）向申请人张桂英（权利人）履行：重新做好402室卫生间防水并承担费用；履行期限：2025年4月15日前",
        "金额：人民币2,200.00元（大写：人民币贰仟贰佰元整）；履行期限：2025年4月30日前",
        "四、申请人张桂英（义务人）向第三人李建华（权利人）履行",
        # manner, place, time limit of performance
        "履行方式：以银行转账方式支付至申请人指定账户", "履行地点：武林门社区人民调解委员会调解室",
        "履行期限：2025年4月30日前全部履行完毕",
        # copies = parties + 1, and who keeps them
        "本协议一式四份，由当事人张桂英、杭州武林物业服务有限公司、李建华各执一份，武林门社区人民调解委员会留存一份",
        # art. 29, 31 and 33
        "第二十九条", "具有法律约束力", "各方当事人认为有必要的，可以自本协议生效之日起三十日内（即",
        "第三十三条",
        # who signed how and when, the seal
        "签署人", "签署方式", "签署日期", "人民调解员", "王秀英", "记录人", "赵丽华", "调委会",
    )
    assert not missing, missing
    assert "双方当事人" not in pdf.text  # three parties: 各方 (the facts may say 双方 as typed)
    for id_number in ("330103195803120027", "330103197605051234"):
        assert id_number not in pdf.text  # no ID number on the agreement


def test_an_agent_prints_with_the_party(rt, docs, session, read_pdf):
    b = signed_case(docs, session)
    pdf = read_pdf(render_case_document(session, rt, b.case, "agreement")[0])
    assert not pdf.has("委托代理人：孙立平，律师，代理权限：特别授权。")


def test_two_sides_are_both_sides(rt, world, read_pdf):
    """With two parties, "双方"; the copies are three."""
    case_id = world.case_in("performing")
    with rt.db.session() as s:
        case = s.scalar(select(Case).where(Case.id == case_id))
        pdf = read_pdf(render_case_document(s, rt, case, "agreement")[0])
    assert not pdf.has("双方当事人的责任", "经调解，双方当事人自愿达成如下协议", "双方当事人认为有必要的",
                       "本协议一式三份", "（大写：人民币贰仟元整）")
    assert "各方当事人的责任" not in pdf.text and "各方当事人认为" not in pdf.text
