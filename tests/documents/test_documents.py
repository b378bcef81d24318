"""Every printed document rendered for realistic cases and read back from the PDF."""

from __future__ import annotations

import io
import json
import re

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select

from mediation.cases.agreements import save_agreement
from mediation.cases.models import Case, PiiAccess
from mediation.documents.catalogue import catalogue
from mediation.documents.models import RenderedDocument
from mediation.documents.monthly import monthly_report_pdf
from mediation.documents.render import check_subsetting
from mediation.documents.sources import CaseSources
from mediation.documents.store import (
    available_documents,
    compose,
    load_sources,
    render_case_document,
    render_composed,
)
from mediation.documents.verify import verify_code
from mediation.errors import Conflict, NotFound, ValidationFailed
from mediation.jobs.outbox import process_outbox
from mediation.workflow.models import OutboxRow
from tests.documents import factories as f
from tests.documents.conftest import needs_poppler

pytestmark = needs_poppler

CASE_NO = "（2025）武林门人调字第0001号"
PARTY_NAMES = ("张桂英", "杭州武林物业服务有限公司", "李建华")

# What each document must print (beyond the committee, the case number and the parties).
REQUIRED = {
    "registration": ("人民调解受理登记表", "武林门新村3幢楼上漏水纠纷", "网格发现（吹哨）", "邻里",
                     "330103195803120027", "13857112345", "受理人", "王秀英", "2024年7月起"),
    "rights_notice": ("人民调解当事人权利义务告知书", "选择或者接受人民调解员", "如实陈述纠纷事实",
                      "不收取任何费用", "当事人签收", "2025年3月4日"),
    "investigation": ("人民调解调查记录", "调查时间", "2025年3月5日", "2025年3月6日", "被调查人",
                      "301室卫生间吊顶有明显水渍"),
    "evidence_list": ("证据材料清单", "现场照片1.jpg", "现场照片3.jpg", "301室卫生间吊顶渗水照片"),
    "session_record": ("人民调解记录", "2025年3月10日", "2025年3月17日", "武林门社区调解室",
                       "周建国（物业公司）", "委托第三方检测渗水原因"),
    "agreement": ("人民调解协议书", "当事人（申请人）：张桂英，女，汉族，66岁，退休职工",
                  "住杭州市下城区武林门新村3幢2单元301室", "联系方式：13857112345",
                  "当事人（被申请人）：杭州武林物业服务有限公司", "住所：杭州市下城区环城北路88号",
                  "法定代表人（负责人）：周建国", "职务：总经理", "当事人（第三人）：李建华",
                  "回族", "工作单位：建华五金店", "纠纷主要事实", "争议事项", "各方当事人的责任",
                  "经调解，各方当事人自愿达成如下协议：",
                  "一、第三人李建华（义务人）向申请人张桂英（权利人）履行：重新做好402室卫生间防水",
                  "二、第三人李建华（义务人）向申请人张桂英（权利人）履行：赔偿申请人张桂英装修损失；"
                  "金额：人民币6,800.00元（大写：人民币陆仟捌佰元整）；履行期限：2025年4月20日前",
                  "三、被申请人杭州武林物业服务有限公司",
                  "四、申请人张桂英（义务人）向第三人李建华（权利人）履行：配合施工",
                  "履行方式、地点、期限", "以银行转账方式", "履行地点", "履行期限：2025年4月30日",
                  "本协议一式四份", "签署方式", "人民调解员", "记录人", "赵丽华",
                  "印章", "2025年3月6日", "三十日内", "验证码"),
    "follow_up": ("人民调解回访记录", "2025年5月6日", "上门回访", "已履行", "各项条款均已履行"),
    "judicial_confirmation": ("司法确认情况登记表", "杭州市下城区人民法院", "2025年4月2日",
                              "2025年4月9日", "调解协议有效"),
    "timeline": ("案件流转记录", "立案登记", "受理", "签订调解协议", "确认履行结案",
                 "已吹哨待受理", "网格调解中", "调解成功结案"),
}


@pytest.fixture
def resolved(docs, session):
    return f.resolved_case(docs, session)


def page_headers_ok(pdf, case_no: str, skip: int = 0) -> list[int]:
    """Pages (1-based) missing the case number or a correct "第 X 页 共 Y 页"."""
    bad = []
    for i, page in enumerate(pdf.pages[skip:], start=skip + 1):
        if case_no not in page or f"第{i}页共{pdf.page_count}页" not in page:
            bad.append(i)
    return bad


@pytest.mark.parametrize("name", sorted(REQUIRED))
def test_document_prints_every_required_field(rt, docs, session, resolved, read_pdf, name):
    pdf_bytes, meta = render_case_document(session, rt, resolved, name)
    pdf = read_pdf(pdf_bytes)
    assert pdf.page_count == meta.pages
    missing = pdf.has(CASE_NO, "武林门社区人民调解委员会", *REQUIRED[name])
    assert not missing, f"{name} lacks {missing}"
    if name not in ("investigation", "evidence_list", "session_record", "judicial_confirmation",
                    "follow_up", "timeline"):
        assert not pdf.has(*PARTY_NAMES)
    assert not page_headers_ok(pdf, CASE_NO)
    # The CJK font is embedded as a subset, and nothing else is used.
    fonts = [line.split() for line in pdf.fonts.splitlines()[2:]]
    assert fonts and all("CJK" in row[0] for row in fonts)
    for row in fonts:
        assert re.match(r"^[A-Z]{6}\+", row[0]), row
        assert row[-5:-3] == ["yes", "yes"], row  # emb, sub
    assert len(pdf_bytes) < 1_000_000


def test_agreement_has_no_id_numbers_and_a_code_on_every_page(rt, docs, session, read_pdf):
    case = f.resolved_case(docs, session, long=True)
    pdf_bytes, meta = render_case_document(session, rt, case, "agreement")
    pdf = read_pdf(pdf_bytes)
    assert pdf.page_count >= 3  # long facts span pages
    assert "330103195803120027" not in pdf.text and "91330103MA2B3C4D5E" not in pdf.text
    assert meta.verification_code
    for page in pdf.pages:
        assert meta.verification_code in page
        assert CASE_NO in page
    assert not page_headers_ok(pdf, CASE_NO)
    assert len(pdf_bytes) < 1_000_000


def test_agreement_is_refused_until_its_content_is_complete(rt, docs, session):
    case = f.signing_case(docs, session)
    # complete but unsigned: the copy for signing on paper
    assert "agreement" in available_documents(session, case)
    render_case_document(session, rt, case, "agreement")
    # art. 29: a time limit of performance is required; a draft without one is not printable
    current = case.agreement
    save_agreement(session, rt.engine, case.id, {
        "facts": current.facts, "dispute_matters": current.dispute_matters,
        "responsibilities": current.responsibilities,
        "performance_method": current.performance_method,
        "performance_place": current.performance_place, "performance_deadline": None,
        "terms": [{"obligor": t.obligor, "obligee": t.obligee, "content": t.content,
                   "amount": t.amount, "due_date": t.due_date} for t in current.terms]},
        actor=case.assignee)
    case = session.get(Case, case.id)
    with pytest.raises(Conflict) as err:
        render_case_document(session, rt, case, "agreement")
    assert "内容尚不完整" in err.value.detail.render("zh-CN")
    assert "not complete" in err.value.detail.render("en")
    assert "agreement" not in available_documents(session, case)
    with pytest.raises(NotFound):
        render_case_document(session, rt, case, "no_such_document")


def _toc(pdf) -> list[tuple[str, int]]:
    rows = []
    for line in pdf.raw_pages[1].splitlines():
        m = re.match(r"^\s*(\d+)\s+(\S+)\s+(\d{4}年\d+月\d+日)?\s*(\d+)\s*$", line)
        if m:
            rows.append((m.group(2), int(m.group(4))))
    return rows


@pytest.mark.parametrize("kind", ["resolved", "litigation", "oral"])
def test_dossier_contents_page_numbers_are_the_real_pages(rt, docs, session, read_pdf, kind):
    case = {"resolved": f.resolved_case, "litigation": f.litigation_case,
            "oral": f.oral_case}[kind](docs, session)
    pdf_bytes, _ = render_case_document(session, rt, case, "dossier")
    pdf = read_pdf(pdf_bytes)
    composed = compose(catalogue().get("dossier"), load_sources(session, case, rt.cipher),
                       catalogue())
    sections = composed.context["sections"]
    toc = _toc(pdf)
    assert [t for t, _ in toc] == [s["title"] for s in sections]
    reader = PdfReader(io.BytesIO(pdf_bytes))
    dests = reader.named_destinations
    for (title, page), section in zip(toc, sections, strict=True):
        # the number printed in the contents is the page the section starts on ...
        assert reader.get_destination_page_number(dests[section["id"]]) + 1 == page
        # ... and that page prints the section's title
        assert title in pdf.pages[page - 1], (title, page)
    assert "卷内目录" in pdf.pages[1]
    assert pdf.has("人民调解卷宗", "卷名", "卷号", "调解员", "调解日期", "立卷人", "立卷日期",
                   "保管期限", "长期", "卷内备考表", f"共{pdf.page_count}页") == []
    assert not page_headers_ok(pdf, CASE_NO.replace("0001", case.case_no[-5:-1]), skip=1)
    titles = [t for t, _ in toc]
    if kind == "resolved":
        assert "人民调解协议书" in titles and "口头调解协议登记表" not in titles
        assert "人民调解终止调解告知书" not in titles
    if kind == "litigation":
        assert "人民调解终止调解告知书" in titles and "人民调解协议书" not in titles
        assert "人民调解回访记录" not in titles and "证据材料清单" not in titles
    if kind == "oral":
        assert "口头调解协议登记表" in titles and "人民调解协议书" not in titles
        assert "人民调解调查记录" not in titles


def test_termination_notice_names_the_routes(rt, docs, session, read_pdf):
    case = f.litigation_case(docs, session)
    pdf = read_pdf(render_case_document(session, rt, case, "termination_notice")[0])
    assert not pdf.has("人民调解终止调解告知书", "第二十六条", "仲裁", "行政", "人民法院提起诉讼",
                       "双方对工程款数额分歧较大", "陈志刚", *PARTY_NAMES)
    with pytest.raises(Conflict):
        render_case_document(session, rt, f.oral_case(docs, session), "termination_notice")


def test_oral_agreement_register(rt, docs, session, read_pdf):
    case = f.oral_case(docs, session)
    pdf = read_pdf(render_case_document(session, rt, case, "oral_agreement")[0])
    assert not pdf.has("口头调解协议登记表", "李建华于三日内清理楼道内堆放的装修材料", "2025年3月6日")


def test_same_data_same_bytes_and_rendered_once(rt, docs, session, resolved):
    pdf1, meta1 = render_case_document(session, rt, resolved, "agreement")
    pdf2, meta2 = render_case_document(session, rt, resolved, "agreement")
    assert meta1.rendered and not meta2.rendered
    assert pdf1 == pdf2 and meta1.verification_code == meta2.verification_code
    # the pure path: the same composed document and code give the same bytes
    spec = catalogue().get("agreement")
    composed = compose(spec, load_sources(session, resolved, rt.cipher), catalogue())
    a = render_composed(composed, code=meta1.verification_code)[0]
    b = render_composed(composed, code=meta1.verification_code)[0]
    assert a == b == pdf1
    assert session.scalar(select(func.count()).select_from(RenderedDocument)) == 1


def test_changed_data_supersedes_and_verify_says_so(rt, docs, session, resolved):
    _, old = render_case_document(session, rt, resolved, "dossier")
    # a second judicial confirmation recorded after the case was closed changes the dossier
    rt.engine.act(session, resolved.id, "record_judicial_confirmation",
                  actor=docs.user(session, "wangxy"),
                  data={"court": "杭州市中级人民法院", "applied_on": "2025-05-20"})
    _, new = render_case_document(session, rt, resolved, "dossier")
    assert new.rendered and new.verification_code != old.verification_code
    answer = verify_code(session, old.verification_code.lower().replace("-", " "))
    assert answer["valid"] is True and answer["current"] is False
    assert answer["case_no"] == CASE_NO and answer["document"] == "dossier"
    fresh = verify_code(session, new.verification_code)
    assert fresh["valid"] and fresh["current"] and fresh["issued_at"].endswith("Z")
    text = json.dumps(fresh, ensure_ascii=False)
    for secret in (*PARTY_NAMES, "13857112345", "330103195803120027"):
        assert secret not in text
    assert verify_code(session, "0000-0000-0000-0000") == {
        "valid": False, "case_no": None, "document": None, "issued_at": None}


def test_full_numbers_printed_are_logged(rt, docs, session, resolved):
    user = resolved.assignee
    render_case_document(session, rt, resolved, "registration", actor=user)
    rows = session.scalars(select(PiiAccess).where(PiiAccess.purpose == "document:registration"))
    logged = {(r.party_id, r.fields, r.user_id) for r in rows}
    assert logged == {(p.id, "id_number,phone" if p.kind == "person" else "phone", user.id)
                      for p in resolved.parties}


def test_render_job_renders_what_the_engine_queued(rt, docs, session, resolved):
    oral = f.oral_case(docs, session)
    session.commit()
    queued = session.execute(select(OutboxRow.case_id, OutboxRow.payload)
                             .where(OutboxRow.effect == "render")).all()
    assert sorted((c, p["document"]) for c, p in queued) == sorted([
        (resolved.id, "rights_notice"), (resolved.id, "agreement"), (resolved.id, "dossier"),
        (oral.id, "rights_notice"), (oral.id, "agreement")])
    session.commit()  # the jobs run in sessions of their own
    report = process_outbox(rt)
    assert report.failed == 0
    stored = session.execute(select(RenderedDocument.case_id, RenderedDocument.document)
                             .where(RenderedDocument.current.is_(True))).all()
    # the oral agreement has no written agreement to print: that job is skipped
    assert sorted(stored) == sorted([
        (resolved.id, "rights_notice"), (resolved.id, "agreement"), (resolved.id, "dossier"),
        (oral.id, "rights_notice")])
    assert session.scalar(select(func.count()).select_from(OutboxRow)
                          .where(OutboxRow.processed_at.is_(None))) == 0


def test_available_documents(rt, docs, session, resolved):
    names = available_documents(session, resolved)
    assert {"registration", "rights_notice", "agreement", "dossier", "follow_up"} <= set(names)
    assert "termination_notice" not in names and "oral_agreement" not in names
    src = CaseSources.load(session, resolved, None)
    assert src.agreement_signed()


def test_monthly_report(rt, docs, session, read_pdf):
    f.resolved_case(docs, session, day=1, same_month=True)
    f.resolved_case(docs, session, day=4, same_month=True)
    f.litigation_case(docs, session, day=2)
    f.oral_case(docs, session, day=3)
    pdf = read_pdf(monthly_report_pdf(session, "S1", "2025-03"))
    assert not pdf.has("武林街道", "人民调解工作月度统计报表", "2025年3月1日至2025年3月31日",
                       "本月受理调解", "调解成功率", "社区内化解率", "超期案件", "申请司法确认",
                       "受理调解案件按纠纷类别", "邻里", "合同", "网格发现（吹哨）", "终止调解",
                       "矛调中心调解", "第1页共", "66.67%")
    assert "CJK" in pdf.fonts
    with pytest.raises(ValidationFailed):
        monthly_report_pdf(session, "S1", "2025-13")
    with pytest.raises(NotFound):
        monthly_report_pdf(session, "NOPE", "2025-03")


def test_subsetting_is_available():
    assert check_subsetting() is None


def test_timeline_reads_as_chinese(rt, docs, session, resolved, read_pdf):
    """Every line of 案件流转记录 in words a committee reads: labels of the definition, Chinese
    names of the engine's own events, no internal name, key or hash."""
    pdf = read_pdf(render_case_document(session, rt, resolved, "timeline")[0])
    assert not pdf.has("创建", "流转", "登记事项", "协议草稿", "签名", "保存协议草稿", "协议签署",
                       "杭州武林物业服务有限公司盖章", "人民调解员签名", "各方签署完毕，协议生效",
                       "履行情况：已履行", "日期：2025年3月10日", "所属网格：武林门社区第三网格",
                       "流程：大妈吹哨·网格调解", "末条记录校验值")
    for internal in ("save_draft", "signer", "method", "digest", "revision", "performed",
                     "signature", "aunt_whistle", "deadline", "2025-03", "G1", "（sign）"):
        assert internal not in pdf.text, internal
    assert not re.search(r"[0-9a-f]{17,}", pdf.text)  # no full hash, only the short 校验值


def test_level_names_come_from_the_definition(rt, docs, session, resolved, read_pdf):
    """The registration form names the level of acceptance from the definition's [levels]."""
    definition = rt.store.current("aunt_whistle")
    assert definition.levels["grid"].zh == "网格调解"
    assert definition.levels["center"].en
    pdf = read_pdf(render_case_document(session, rt, resolved, "registration")[0])
    assert not pdf.has("受理层级：网格调解")


def test_a_choice_prints_the_name_the_definition_gives_it(rt, docs, session, read_pdf):
    """A follow-up's result prints as the definition names it (部分履行), never as its key."""
    b = f.CaseBuilder(docs, session, day=5, title="楼道堆放杂物纠纷")
    b.move("accept", b.volunteer)
    b.act("register_oral_agreement", b.volunteer, date="2025-03-08",
          content="李建华于三日内清理楼道内堆放的装修材料。")
    b.move("sign_agreement", b.volunteer)
    b.act("record_follow_up", b.volunteer, date="2025-03-20", method="电话", result="partly",
          notes="尚余少量杂物")
    pdf = read_pdf(render_case_document(session, rt, b.case, "follow_up")[0])
    assert not pdf.has("部分履行")
    assert "partly" not in pdf.text
