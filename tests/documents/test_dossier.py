"""The dossier as an archive takes it: the back sheet (备考表) says what the file holds and what it
lacks; an open case's dossier is a working copy; a closed case's dossier is filed once and what
is recorded later goes to an addendum; identity documents and receipts of performance have their
place; a late application for judicial confirmation is marked."""

from __future__ import annotations

import re
from datetime import datetime

from mediation.documents.store import available_documents, render_case_document
from mediation.documents.verify import verify_code
from tests.documents import factories as f
from tests.documents.conftest import needs_poppler

pytestmark = needs_poppler


def back_sheet(pdf) -> str:
    """The text of the back sheet (the dossier's last page)."""
    return pdf.pages[-1]


def test_an_open_case_is_a_working_copy(rt, docs, session, read_pdf):
    case = f.signing_case(docs, session)
    pdf = read_pdf(render_case_document(session, rt, case, "dossier")[0])
    assert "工作副本" in pdf.pages[0] and "不作归档之用" in pdf.pages[0]
    sheet = back_sheet(pdf)
    assert "卷内备考表" in sheet and "工作副本" in sheet and "尚未结案" in sheet
    assert "齐全" not in pdf.text
    assert "本卷尚缺：当事人身份证明材料" in sheet
    assert all("工作副本" in page for page in pdf.pages[1:])  # every page's head says so


def test_a_closed_file_lacking_papers_says_what_it_lacks(rt, docs, session, read_pdf):
    case = f.resolved_case(docs, session)  # no identity documents, no receipt attached
    pdf = read_pdf(render_case_document(session, rt, case, "dossier")[0])
    sheet = back_sheet(pdf)
    assert "齐全" not in pdf.text and "工作副本" not in pdf.text
    lacks = sheet[sheet.index("本卷尚缺："):]
    assert "当事人身份证明材料" in lacks and "履行凭证" in lacks
    holds = sheet[sheet.index("本卷收入文件材料："):sheet.index("本卷尚缺：")]
    for title in ("人民调解受理登记表", "人民调解协议书", "人民调解回访记录", "人民调解记录（二份）"):
        assert title in holds, title


def test_a_complete_closed_file_is_complete(rt, docs, session, read_pdf):
    case = f.resolved_case(docs, session, complete=True)
    names = available_documents(session, case)
    assert {"id_proofs", "performance_receipts", "evidence_list"} <= set(names)
    pdf = read_pdf(render_case_document(session, rt, case, "dossier")[0])
    sheet = back_sheet(pdf)
    assert "经检查，本卷文件材料齐全" in sheet and "本卷尚缺" not in sheet
    contents = pdf.pages[1]
    for title in ("当事人身份证明材料", "履行凭证", "证据材料清单"):
        assert title in contents, title
    # identity documents and receipts are filed in their place, not as evidence
    evidence = read_pdf(render_case_document(session, rt, case, "evidence_list")[0])
    assert "身份证明.jpg" not in evidence.text and "银行转账回单" not in evidence.text
    proofs = read_pdf(render_case_document(session, rt, case, "id_proofs")[0])
    assert not proofs.has("当事人身份证明材料清单", "张桂英身份证明.jpg", "营业执照复印件")


def test_a_filed_dossier_is_never_replaced_later_records_go_to_an_addendum(rt, docs, session,
                                                                           read_pdf):
    case = f.resolved_case(docs, session, complete=True)
    filed_pdf, filed = render_case_document(session, rt, case, "dossier")
    assert "dossier_addendum" not in available_documents(session, case)
    rt.engine.act(session, case.id, "add_note", actor=docs.user(session, "wangxy"),
                  now=datetime(2025, 6, 3, 2), data={"text": "电话回访：双方关系良好，未再渗水。"})
    rt.engine.act(session, case.id, "record_judicial_confirmation",
                  actor=docs.user(session, "wangxy"), now=datetime(2025, 6, 4, 2),
                  data={"court": "杭州市中级人民法院", "applied_on": "2025-05-20"})
    again_pdf, again = render_case_document(session, rt, case, "dossier")
    assert again_pdf == filed_pdf and not again.rendered
    assert again.verification_code == filed.verification_code
    answer = verify_code(session, filed.verification_code)
    assert answer["current"] is True and answer["superseded_at"] is None
    assert "dossier_addendum" in available_documents(session, case)
    addendum = read_pdf(render_case_document(session, rt, case, "dossier_addendum")[0])
    assert not addendum.has("卷宗补充材料", "不替代、不改动已归档的卷宗", "电话回访：双方关系良好",
                            "杭州市中级人民法院", "受理法院", "2025年6月3日")
    filed_text = read_pdf(filed_pdf).text
    assert "电话回访" not in filed_text and "杭州市中级人民法院" not in filed_text
    # the later application, made past the 30 days from 2025-03-06, is marked late
    form = read_pdf(render_case_document(session, rt, case, "judicial_confirmation")[0])
    assert re.search("2025年5月20日（已超过三十日申请期限）", form.text)
