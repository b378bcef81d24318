"""The case page and the pages of triggers and actions: forms built from the definition, the
buttons the engine offers, confirmation of irreversible steps, stale versions, errors kept next
to their fields."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from sqlalchemy import select

from mediation.cases.models import Case, PiiAccess
from mediation.resources import data_dir
from mediation.runtime import Runtime
from tests.conftest import make_config
from tests.web.conftest import Browser, text


def buttons(html: str, case_id: int) -> set[str]:
    """The steps the page offers: links to a step's page, and one-tap forms."""
    return set(re.findall(rf'(?:href|action)="/cases/{case_id}/([a-z_]+)"', html)) - {"parties"}


def test_the_case_page_offers_exactly_what_the_engine_allows(world, as_user):
    case_id = world.case_in("escalated")
    for username in ("v1", "r1"):
        page = text(as_user(username).get(f"/cases/{case_id}"))
        with world.rt.db.session() as s:
            case = s.get(Case, case_id)
            allowed = {o.name for o in world.rt.engine.options(s, case, world.user(s, username))
                       if o.allowed and o.kind != "agreement"}
        assert buttons(page, case_id) == allowed, username
    reviewer = text(as_user("r1").get(f"/cases/{case_id}"))
    assert "指派中心调解员" in reviewer and "转交法律援助律师" in reviewer
    reported = world.case_in("reported")
    page = text(as_user("v1").get(f"/cases/{reported}"))
    assert f'<form method="post" action="/cases/{reported}/accept" class="one-tap">' in page


def test_a_step_form_is_built_from_the_definition(world, as_user):
    case_id = world.case_in("escalated")
    r1 = as_user("r1")
    refer = text(r1.get(f"/cases/{case_id}/refer_legal"))
    # the lawyer picker lists by name exactly the lawyers the engine would accept
    assert re.findall(r'<option[^>]*value="([^"]*)"', refer) == ["", "l1"]
    assert "郑律师" in refer and '<label for="lawyer">律师' in refer
    assign = text(r1.get(f"/cases/{case_id}/assign_center"))
    assert re.search(r'<option selected value="r1">|<option value="r1" selected', assign)
    performing = world.case_in("performing")
    visit = text(as_user("v1").get(f"/cases/{performing}/record_follow_up"))
    assert 'name="result"' in visit and "已履行" in visit and "部分履行" in visit
    assert 'name="date"' in visit and 'name="date-other"' in visit  # today / yesterday / earlier


def test_a_new_field_in_the_definition_needs_no_python(world, tmp_path: Path):
    folder = tmp_path / "workflows"
    shutil.copytree(data_dir("workflows"), folder)
    toml = folder / "aunt_whistle.toml"
    source = toml.read_text()
    source = source.replace('[fields]\n', '[fields]\nwitnesses = { type = "names", label = "见证人", '
                            'label_en = "Witnesses" }\nvisit_kind = { type = "choice", label = '
                            '"走访方式", choices = { home = "上门", phone = "电话" } }\n', 1)
    source = source.replace('optional = ["place", "participants"]',
                            'optional = ["place", "participants", "witnesses", "visit_kind"]')
    toml.write_text(source)
    rt = Runtime(make_config(world.rt.config.database_url, tmp_path / "instance",
                             workflows_dir=folder))
    from mediation import create_app

    app = create_app(runtime=rt)
    try:
        case_id = world.new_case()
        world.fire(case_id, "accept", "v1")
        with rt.db.session() as s:  # the case follows its pinned version; take it onto the new
            s.get(Case, case_id).definition_version = rt.store.current("aunt_whistle").version
            rt.store.pin(s, rt.store.current("aunt_whistle"))
        browser = Browser(app.test_client()).login("v1")
        form = text(browser.get(f"/cases/{case_id}/record_session"))
        assert '<label for="witnesses">见证人' in form and 'name="visit_kind"' in form
        done = browser.post(f"/cases/{case_id}/record_session", {
            "date": "today", "summary": "双方各自陈述", "outcome": "约定再谈",
            "witnesses": "王五、赵六", "visit_kind": "home", "version": "1"})
        assert done.status_code == 302, text(done)[:1000]
        page = text(browser.get(f"/cases/{case_id}"))
        assert "见证人" in page and "王五、赵六" in page and "上门" in page
    finally:
        rt.close()


def test_accepting_takes_one_step_and_says_what_was_done(world, as_user):
    case_id = world.case_in("reported")
    v1 = as_user("v1")
    done = v1.post(f"/cases/{case_id}/accept", {"version": "1"})
    assert done.status_code == 302
    assert world.case(case_id).state == "grid_mediation"
    page = text(v1.get(f"/cases/{case_id}"))
    assert "已办理：受理" in page and "王阿姨" in page


def test_an_irreversible_step_asks_for_confirmation_first(world, as_user):
    case_id = world.case_in("grid_mediation")
    v1 = as_user("v1")
    version = str(world.case(case_id).version)
    missing = v1.post(f"/cases/{case_id}/escalate", {"_stage": "review", "version": version})
    assert missing.status_code == 422 and "此项为必填项" in text(missing)
    assert "有1处需要修改" in text(missing)
    review = v1.post(f"/cases/{case_id}/escalate", {
        "_stage": "review", "version": version, "reason": "双方<b>分歧</b>较大"})
    assert review.status_code == 200 and "请确认" in text(review)
    assert "不能撤回" in text(review) and "双方&lt;b&gt;分歧&lt;/b&gt;较大" in text(review)
    assert world.case(case_id).state == "grid_mediation"  # nothing done yet
    edit = v1.post(f"/cases/{case_id}/escalate", {
        "_stage": "edit", "version": version, "reason": "双方分歧较大"})
    assert edit.status_code == 200 and "双方分歧较大</textarea>" in text(edit)
    done = v1.post(f"/cases/{case_id}/escalate", {
        "_stage": "confirm", "version": version, "reason": "双方分歧较大"})
    assert done.status_code == 302 and world.case(case_id).state == "escalated"


def test_a_step_on_a_case_that_changed_meanwhile_keeps_what_was_typed(world, as_user):
    case_id = world.case_in("grid_mediation")
    v1 = as_user("v1")
    version = str(world.case(case_id).version)
    world.act(case_id, "add_note", "v1", {"text": "已电话联系"})  # the case moves on
    stale = v1.post(f"/cases/{case_id}/escalate", {
        "_stage": "confirm", "version": version, "reason": "我写了很久的理由"})
    assert stale.status_code == 409
    page = text(stale)
    assert "此案件状态已变化" in page and "我写了很久的理由" in page
    assert world.case(case_id).state == "grid_mediation"


def test_a_record_with_a_date_keeps_the_typed_date_when_it_is_wrong(world, as_user):
    case_id = world.case_in("grid_mediation")
    v1 = as_user("v1")
    bad = v1.post(f"/cases/{case_id}/record_session", {
        "date": "other", "date-other": "2999-01-01", "summary": "双方陈述", "outcome": "再谈"})
    assert bad.status_code == 422 and "日期不能晚于今天" in text(bad)
    assert 'value="2999-01-01"' in text(bad) and "双方陈述</textarea>" in text(bad)
    from mediation.pages.forms import today

    day = today()
    good = v1.post(f"/cases/{case_id}/record_session", {
        "date": "other", "date-other": f"{day.year}/{day.month}/{day.day}",
        "summary": "双方陈述", "outcome": "再谈"})
    assert good.status_code == 302, re.findall(r"<li>.*?</li>", text(good))
    with world.rt.db.session() as s:
        from mediation.workflow.models import Event

        last = s.scalars(select(Event).where(Event.case_id == case_id)
                         .order_by(Event.seq.desc())).first()
        assert last.name == "record_session" and last.data["date"] == day.isoformat()


def test_a_step_the_user_may_not_take_says_why(world, as_user):
    case_id = world.case_in("grid_mediation")  # handled by v1
    other = as_user("v1b").get(f"/cases/{case_id}/escalate")
    assert other.status_code == 403 and "王阿姨" in text(other)
    assert as_user("v1").get(f"/cases/{case_id}/no_such_step").status_code == 404
    assert as_user("v1").get(f"/cases/{case_id}/assign_center").status_code == 409


def test_full_numbers_are_shown_to_the_handler_and_logged(world, as_user):
    case_id = world.case_in("grid_mediation")
    with world.rt.db.session() as s:
        party = s.get(Case, case_id).parties[0].id
    v1 = as_user("v1")
    page = text(v1.get(f"/cases/{case_id}"))
    assert "138****2345" in page and "13857112345" not in page
    shown = v1.post(f"/cases/{case_id}/parties/{party}/reveal", page=f"/cases/{case_id}")
    assert shown.status_code == 200 and "13857112345" in text(shown)
    with world.rt.db.session() as s:
        assert len(s.scalars(select(PiiAccess)).all()) == 1
    refused = as_user("v1b").post(f"/cases/{case_id}/parties/{party}/reveal",
                                  page=f"/cases/{case_id}")
    assert refused.status_code == 403


def test_the_case_page_tells_the_timeline_deadlines_documents_and_chain(world, as_user):
    case_id = world.case_in("grid_mediation")
    page = text(as_user("v1").get(f"/cases/{case_id}"))
    assert "吹哨上报" in page and "受理" in page and "已吹哨待受理 → 网格调解中" in page
    assert "到时系统自动处理" in page  # the 15-day auto escalation
    assert "/documents/registration.pdf" in page
    assert "全部2条记录完整" in page
    english = text(as_user("v1").get(f"/cases/{case_id}?lang=en"))
    assert "Whistle blown" in english and "What you can do now" in english
    pdf = as_user("v1").get(f"/cases/{case_id}/documents/registration.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")


def test_a_photo_is_attached_from_the_case_page(world, as_user):
    import io

    from PIL import Image

    from mediation.files.models import Attachment
    from mediation.workflow.models import Event

    case_id = world.case_in("grid_mediation")
    v1 = as_user("v1")
    form = text(v1.get(f"/cases/{case_id}/attach_file"))
    assert 'type="file"' in form and 'enctype="multipart/form-data"' in form
    photo = io.BytesIO()
    Image.new("RGB", (800, 600), (10, 120, 200)).save(photo, "PNG")
    token = v1.token(f"/cases/{case_id}/attach_file")
    bad = v1.client.post(f"/cases/{case_id}/attach_file", data={
        "csrf_token": token, "filename": (io.BytesIO(b"%PDF-1.4 no"), "协议.pdf")},
        content_type="multipart/form-data")
    assert bad.status_code == 422 and "“协议.pdf”不是照片" in text(bad)
    done = v1.client.post(f"/cases/{case_id}/attach_file", data={
        "csrf_token": token, "filename": (io.BytesIO(photo.getvalue()), "修好的水管.png"),
        "description": "维修后拍摄"}, content_type="multipart/form-data")
    assert done.status_code == 302
    with world.rt.db.session() as s:
        (kept,) = s.scalars(select(Attachment)).all()
        event = s.scalars(select(Event).where(Event.name == "attach_file")).one()
        assert kept.case_id == case_id and event.data == {
            "filename": "修好的水管.png", "description": "维修后拍摄", "digest": kept.sha256}
    assert "修好的水管.png" in text(v1.get(f"/cases/{case_id}"))


def test_a_conflict_of_interest_is_shown_where_the_engine_raises_it(world, as_user):
    from sqlalchemy import update

    from mediation.auth.models import User

    case_id = world.case_in("reported")
    with world.rt.db.session() as s:  # the volunteer lives where the applicant lives
        s.execute(update(User).where(User.username == "v1").values(
            address="红石板社区3幢2单元401室"))
    v1 = as_user("v1")
    v1.post(f"/cases/{case_id}/accept", {"version": "1"})
    page = text(v1.get(f"/cases/{case_id}"))
    assert "回避提示" in page and "flash-warning" in page
    assert "回避提示" in text(v1.get(f"/cases/{case_id}"))  # it stays in the timeline
