"""The whistle report (/cases/new), its result page, photos, my work and the notices inbox."""

from __future__ import annotations

import io
import re

from PIL import Image
from sqlalchemy import select

from mediation.cases.models import Case
from mediation.files.models import Attachment
from mediation.jobs.outbox import process_outbox
from mediation.notifications.models import Notification
from mediation.workflow.models import Event
from tests.web.conftest import Browser, text

REPORT = {"grid": "G1", "category": "邻里", "risk_level": "low",
          "parties-0-name": "张桂芳", "parties-0-role": "applicant", "parties-0-phone": "",
          "description": "楼上漏水到楼下，天花板发霉。"}


def report(browser: Browser, **changes):
    page = text(browser.get("/cases/new"))
    idem = re.search(r'id="key" name="key" type="hidden" value="([^"]*)"', page)
    data = {**REPORT, **changes, "key": idem.group(1) if idem else ""}
    return browser.post("/cases/new", data, page="/cases/new")


def jpeg(size=(2400, 1800)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 120, 40)).save(out, "JPEG")
    return out.getvalue()


def test_the_report_form_has_the_grid_chosen_and_few_required_inputs(world, as_user):
    page = text(as_user("v1").get("/cases/new"))
    assert 'name="grid" value="G1"' in page  # her grid, not a question
    assert page.count('class="req"') <= 6
    for name in ("category", "parties-0-name", "parties-0-role", "parties-0-phone",
                 "description", "risk_level", "title"):
        assert f'name="{name}"' in page, name
    assert 'capture="environment"' in page and 'accept="image/*"' in page
    assert as_user("l1").get("/cases/new").status_code == 403  # a lawyer reports nothing


def test_a_party_is_added_without_javascript_and_nothing_typed_is_lost(world, as_user):
    v1 = as_user("v1")
    more = v1.post("/cases/new", {**REPORT, "add_party": "1"}, page="/cases/new")
    page = text(more)
    assert more.status_code == 200 and 'name="parties-1-name"' in page
    assert 'value="张桂芳"' in page and "天花板发霉" in page
    with world.rt.db.session() as s:
        assert not s.scalars(select(Case)).all()


def test_a_report_with_mistakes_comes_back_with_each_error_by_its_field(world, as_user):
    v1 = as_user("v1")
    bad = report(v1, category="", description="", **{"parties-0-phone": "12345"})
    page = text(bad)
    assert bad.status_code == 422 and page.count('class="field-error"') == 3
    assert "请选择纠纷类型" in page and "请简单说说发生了什么" in page
    assert "手机号码格式不正确" in page and 'value="12345"' in page
    assert "<title>错误：" in page
    with world.rt.db.session() as s:
        assert not s.scalars(select(Case)).all()


def test_a_report_is_made_once_and_its_page_says_what_next(world, as_user):
    v1 = as_user("v1")
    page = text(v1.get("/cases/new"))
    idem = re.search(r'id="key" name="key" type="hidden" value="([^"]*)"', page).group(1)
    data = {**REPORT, "parties-1-name": "李建国", "parties-1-role": "respondent", "key": idem}
    first = v1.post("/cases/new", data, page="/cases/new")
    again = v1.post("/cases/new", data, page="/cases/new")  # a double tap
    assert first.status_code == again.status_code == 302
    assert first.headers["Location"] == again.headers["Location"]
    done = text(v1.get(first.headers["Location"]))
    assert "已上报" in done and "受理" in done
    with world.rt.db.session() as s:
        (case,) = s.scalars(select(Case)).all()
        assert case.title == "张桂芳与李建国邻里纠纷" and case.state == "reported"
        assert case.case_no is None and case.report_no in done  # numbered on acceptance


def test_a_high_risk_report_says_who_was_alerted_and_they_are(world, as_user):
    v1 = as_user("v1")
    sent = report(v1, risk_level="high")
    page = text(v1.get(sent.headers["Location"]))
    assert "高风险：已立即通知" in page and "周主任" in page and "辖区派出所" in page
    process_outbox(world.rt)
    r1 = as_user("r1")
    assert "1条未读" in text(r1.get("/"))
    inbox = text(r1.get("/notifications"))
    assert "高风险" in inbox and "派出所" in inbox and "未读" in inbox
    with world.rt.db.session() as s:
        notice = s.scalars(select(Notification)).one()
    opened = r1.post(f"/notifications/{notice.id}", page="/notifications")
    assert opened.status_code == 302 and f"/cases/{notice.case_id}" in opened.headers["Location"]
    assert "条未读" not in text(r1.get("/"))


def test_photos_are_checked_shrunk_kept_through_a_correction_and_attached(world, as_user):
    v1 = as_user("v1")
    token = v1.token("/cases/new")
    first = v1.client.post("/cases/new", data={
        **REPORT, "description": "", "csrf_token": token,
        "photos": [(io.BytesIO(jpeg()), "现场.jpg"), (io.BytesIO(b"MZ not a photo"), "病毒.jpg")]},
        content_type="multipart/form-data")
    page = text(first)
    assert first.status_code == 422 and "“病毒.jpg”不是照片" in page
    assert "已收到1张照片" in page
    kept = re.findall(r'name="kept-\d+" type="hidden" value="(\d+)"', page)
    assert len(kept) == 1
    done = v1.client.post("/cases/new", data={
        **REPORT, "csrf_token": token, "kept-0": kept[0]}, content_type="multipart/form-data")
    assert done.status_code == 302
    with world.rt.db.session() as s:
        (photo,) = s.scalars(select(Attachment)).all()
        assert photo.case_id is not None and max(photo.width, photo.height) == 1600
        event = s.scalars(select(Event).where(Event.name == "attach_file")).one()
        assert event.data["digest"] == photo.sha256
        case_id = photo.case_id
    shown = v1.get(f"/cases/{case_id}/files/{photo.id}")
    assert shown.status_code == 200 and shown.data[:3] == b"\xff\xd8\xff"
    shown.close()
    assert f"/cases/{case_id}/files/{photo.id}" in text(v1.get(f"/cases/{case_id}"))
    # the reviewer of the street sees it, a volunteer of another community does not
    r1 = as_user("r1")
    with r1.get(f"/cases/{case_id}/files/{photo.id}") as seen:
        assert seen.status_code == 200
    assert as_user("v3").get(f"/cases/{case_id}/files/{photo.id}").status_code == 404


def test_my_work_puts_what_waits_for_me_first_with_counts_and_filters(world, as_user):
    mine = world.case_in("reported", title="等我受理的纠纷")
    world.case_in("escalated", title="已上报中心的纠纷")
    world.case_in("resolved", title="已办结的纠纷")
    v1 = as_user("v1")
    home = text(v1.get("/"))
    assert "等我受理的纠纷" in home and "已上报中心的纠纷" not in home
    assert "已办结的纠纷" not in home
    assert "等我受理的纠纷" in text(v1.get("/?tab=open")) and "已上报中心的纠纷" in text(
        v1.get("/?tab=open"))
    assert "已办结的纠纷" in text(v1.get("/?tab=closed"))
    searched = text(v1.get("/?tab=open&q=中心"))
    assert "已上报中心的纠纷" in searched and "等我受理的纠纷" not in searched
    by_state = text(v1.get("/?tab=open&state=escalated"))
    assert "已上报中心的纠纷" in by_state and "等我受理的纠纷" not in by_state
    empty = text(v1.get("/?tab=open&q=没有这样的纠纷"))
    assert "没有符合条件的案件" in empty and "清除筛选" in empty
    inbox = text(as_user("r1").get("/"))
    assert "待审收件箱" in inbox and "已上报中心的纠纷" in inbox and "等我受理的纠纷" not in inbox
    assert mine


def test_my_work_pages_through_many_cases(world, as_user):
    for i in range(23):
        world.new_case(title=f"第{i}号纠纷")
    v1 = as_user("v1")
    first = text(v1.get("/?tab=mine"))
    assert "第1页，共2页" in first and first.count("<li class=\"card") == 20
    second = text(v1.get("/?tab=mine&page=2"))
    assert second.count("<li class=\"card") == 3


def test_hostile_text_shows_as_text(world, as_user):
    hostile = "<script>alert(1)</script><img src=x onerror=alert(2)>\u202eevil"
    case_id = world.new_case(title=hostile, parties=[
        {"role": "applicant", "kind": "person", "name": "<b onmouseover=alert(3)>王</b>"}])
    v1 = as_user("v1")
    for url in ("/", "/?tab=open", f"/cases/{case_id}", f"/cases/{case_id}/record_investigation"):
        page = text(v1.get(url))
        assert "<script>alert(1)" not in page and "<img src=x" not in page, url
        assert "<b onmouseover" not in page, url
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text(v1.get(f"/cases/{case_id}"))
