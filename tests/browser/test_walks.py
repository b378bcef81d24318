"""The second walk (a high-risk report and its alerts, a return to the grid, a withdrawal), the
error pages, hostile text on every page, cases out of sight, a report kept when the network
fails."""

from __future__ import annotations

import re

from tests.browser.conftest import Live
from tests.browser.test_road import case_by_title, report, take, wait_for
from tests.factories import case_body

HOSTILE = "<script>alert('x')</script><img src=x onerror=alert('y')>\u202e反转"


def test_a_high_risk_report_a_return_to_the_grid_and_a_withdrawal(live: Live, person):
    v1 = person("v1", phone=True)
    high = report(v1, live, title="邻居持刀威胁纠纷", risk="high")
    main = v1.page.inner_text("main")
    assert "高风险：已立即通知" in main and "周主任" in main and "辖区派出所" in main
    v1.check("reported-high-risk")

    r1 = person("r1", phone=False)
    assert wait_for(lambda: r1.go("/notifications") and "派出所" in r1.page.inner_text("main"))
    r1.check("notifications-high-risk")
    r1.go(f"/cases/{high.id}")
    take(r1, "退回网格调解", fill={"#instructions": "请网格先稳定双方情绪，再行调解。"},
         check_form="step-return-to-grid", check_confirm="confirm-return-to-grid")
    assert case_by_title(live, "邻居持刀威胁纠纷").state == "grid_mediation"
    assert wait_for(lambda: v1.go("/notifications") and "请网格先稳定双方情绪" in
                    v1.page.inner_text("main"))
    v1.check("notifications-returned")
    v1.go(f"/cases/{high.id}")
    v1.check("case-returned-to-grid")
    take(v1, "当事人撤回", fill={"#statement": "申请人张桂芳表示双方已自行和解，撤回调解申请。"},
         check_form="step-withdraw", check_confirm="confirm-withdraw")
    assert case_by_title(live, "邻居持刀威胁纠纷").state == "withdrawn"
    v1.check("case-withdrawn")
    v1.go("/?tab=closed")
    v1.check("home-closed")


def test_termination_tells_the_routes_and_judicial_confirmation_is_recorded(live: Live, person):
    world = live.world
    ended = world.new_case(title="合同款纠纷")
    world.walk(ended, world.PATHS["center_mediation"])
    r1 = person("r1", phone=False)
    r1.go(f"/cases/{ended}/end_without_agreement")
    assert "人民法院起诉" in r1.page.inner_text("main")  # the routes, art. 26
    r1.check("step-end-without-agreement")
    r1.go(f"/cases/{ended}")
    take(r1, "终止调解", fill={"#reason": "双方坚持诉讼。"}, tick=("#routes_informed",),
         check_confirm="confirm-end-without-agreement")
    assert world.case(ended).state == "litigation"

    signed = world.case_in("performing", title="赔偿款纠纷")
    v1 = person("v1", phone=True)
    v1.go(f"/cases/{signed}")
    take(v1, "司法确认", fill={"#court": "杭州市拱墅区人民法院"}, check_form="step-judicial-confirmation")
    assert "司法确认" in v1.page.inner_text(".timeline")
    take(v1, "报告未履行", fill={"#reason": "到期未付赔偿款。"}, check_form="step-report-breach",
         check_confirm="confirm-report-breach")
    assert world.case(signed).state == "escalated"


def test_error_pages_and_cases_out_of_sight(live: Live, person):
    world = live.world
    elsewhere = world.new_case(username="v3", grid="G3", title="别处的纠纷")
    v1 = person("v1", phone=True)
    for path in (f"/cases/{elsewhere}", f"/cases/{elsewhere}/add_note",
                 f"/cases/{elsewhere}/reported", f"/cases/{elsewhere}/escalate",
                 f"/cases/{elsewhere}/documents/registration.pdf"):
        assert v1.go(path).status == 404, path
        assert "没有找到这个页面" in v1.page.inner_text("main")
    v1.check("error-404")
    # a page opened, then the case moved on: 此案件状态已变化, what was typed kept
    mine = world.case_in("grid_mediation", title="状态变化的纠纷")
    v1.go(f"/cases/{mine}/escalate")
    v1.page.fill("#reason", "我写了很久的理由")
    world.act(mine, "add_note", "v1", {"text": "同时有人记了一笔"})
    v1.page.click("form.form button[type=submit]")
    v1.page.click("button[value=confirm]")
    v1.page.wait_for_load_state()
    assert "此案件状态已变化" in v1.page.inner_text("main")
    assert "我写了很久的理由" in v1.page.inner_text("main")
    v1.check("error-409", english=False)
    # a post without its token is refused
    answer = v1.page.request.post(f"{live.base}/cases/{mine}/add_note", form={"text": "x"})
    assert answer.status == 400
    v1.go("/verify/NO-SUCH-CODE")
    v1.check("verify-unknown")


def test_hostile_text_shows_as_text_on_every_page(live: Live, person):
    world = live.world
    body = case_body(title=HOSTILE, description=HOSTILE, parties=[
        {"role": "applicant", "kind": "person", "name": "<b onmouseover=alert(1)>王</b>"},
        {"role": "respondent", "kind": "person", "name": "\u202e李四<script>alert(2)</script>"}])
    with world.rt.db.session() as s:
        from mediation.cases.operations import create_case

        case, _ = create_case(s, world.rt.engine, body, actor=world.user(s, "v1"))
        case_id = case.id
    world.fire(case_id, "escalate", "v1", {"reason": HOSTILE})
    v1 = person("v1", phone=True)
    r1 = person("r1", phone=False)
    for who, paths in ((v1, ["/", "/?tab=open", f"/cases/{case_id}", f"/cases/{case_id}/reported",
                             f"/cases/{case_id}/add_note", f"/cases/{case_id}/record_investigation"]),
                       (r1, ["/", f"/cases/{case_id}", f"/cases/{case_id}/refer_legal",
                             "/notifications"])):
        for path in paths:
            who.go(path)
            main = who.page.locator("main")
            assert main.locator("script, img[src=x], [onmouseover], [onerror]").count() == 0, path
    r1.go(f"/cases/{case_id}")
    assert "<script>alert('x')</script>" in r1.page.inner_text("h1")  # shown, as text
    take(r1, "退回网格调解", fill={"#instructions": HOSTILE})
    # Pages.close() fails the test if any dialog fired


def test_a_report_is_kept_on_the_phone_when_the_network_fails(live: Live, person):
    v1 = person("v1", phone=True)
    v1.go("/cases/new")
    page = v1.page
    page.check("input[name=category][value=物业]")
    page.fill("#parties-0-name", "物业公司")
    page.fill("#description", "电梯坏了一个月没人修。")
    v1.context.set_offline(True)
    page.click("button:has-text('提交上报')")
    note = page.locator("[data-offline]")
    note.wait_for(state="visible")
    assert "内容已保存在本机" in note.inner_text()
    v1.context.set_offline(False)
    page.reload()
    assert page.input_value("#description") == "电梯坏了一个月没人修。"  # the draft came back
    page.click("button:has-text('提交上报')")
    page.wait_for_url(re.compile(r"/cases/\d+/reported$"))
    v1.go("/cases/new")
    assert page.input_value("#description") == ""  # sent: the draft is gone


def test_pages_drawn_for_a_post_are_in_english_too(live: Live, person):
    world = live.world
    case_id = world.case_in("grid_mediation", title="英文确认页的纠纷")
    v1 = person("v1", phone=True)
    v1.go("/?lang=en")
    v1.go(f"/cases/{case_id}/escalate")
    v1.page.click("form.form button[type=submit]")  # no reason: the errors
    v1.page.wait_for_load_state()
    assert v1.page.title().startswith("Error")
    assert not v1.untranslated()
    v1.page.fill("#reason", "双方分歧较大")
    v1.page.click("form.form button[type=submit]")
    v1.page.wait_for_selector("button[value=confirm]")
    assert "cannot be undone" in v1.page.inner_text("main")
    assert not v1.untranslated(typed=("双方分歧较大",))
    v1.go("/cases/new")
    v1.page.click("button[name=add_party]")
    v1.page.wait_for_load_state()
    assert not v1.untranslated()
    v1.page.click("button:has-text('Send the report')")
    v1.page.wait_for_load_state()
    assert v1.page.title().startswith("Error") and not v1.untranslated()
    v1.go("/?lang=zh")


def test_signing_in_on_a_phone(live: Live, chromium):
    from tests.browser.conftest import Pages

    v1 = Pages(live, chromium, "v1", phone=True)
    try:
        v1.go("/login")
        v1.check("login")
        v1.page.fill("#username", "v1")
        v1.page.fill("#password", "not the password")
        v1.page.click("button[type=submit]")
        v1.page.wait_for_load_state()
        v1.check("login-error", english=False)
        # the password can be shown (JavaScript) to check what was typed
        v1.page.click("button[data-reveal]")
        assert v1.page.get_attribute("#password", "type") == "text"
        assert v1.page.get_attribute("#username", "autocapitalize") == "none"
        v1.login()
    finally:
        v1.close()
