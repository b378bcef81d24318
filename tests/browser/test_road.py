"""The whole road through the pages only, as the people of DESIGN.md §1 walk it: a volunteer on
a phone reports, accepts, records a session and escalates; a reviewer at a desk triages the
inbox and refers the case to a lawyer; the lawyer signs; the volunteer visits; the lawyer, who
handles the case, closes it.

The agreement's own pages come from the desk pages' issue: until they land, the lawyer's
agreement text and its signatures are recorded through the operations (World.sign_all), and the
lawyer then signs the case through the pages."""

from __future__ import annotations

import re
import time

from sqlalchemy import select

from mediation.cases.models import Case
from tests.browser.conftest import Live


def wait_for(predicate, seconds: float = 15.0) -> bool:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.2)
    return False


def case_by_title(live: Live, title: str) -> Case:
    with live.rt.db.session() as s:
        return s.scalars(select(Case).where(Case.title == title)).one()


def report(v, live: Live, *, title: str, risk: str = "low", check: bool = False) -> Case:
    """A volunteer blows the whistle through the form."""
    page = v.page
    v.go("/cases/new")
    if check:
        v.check("report-form")
    page.check("input[name=category][value=邻里]")
    page.fill("#parties-0-name", "张桂芳")
    page.click("button[name=add_party]")  # a second party, without JavaScript's help
    page.fill("#parties-1-name", "李建国")
    page.fill("#parties-1-phone", "13900001111")
    page.fill("#description", "楼上卫生间漏水，楼下天花板发霉，双方吵过几次。")
    page.check(f"input[name=risk_level][value={risk}]")
    page.fill("#title", title)
    page.click("button:has-text('提交上报')")
    page.wait_for_url(re.compile(r"/cases/\d+/reported$"))
    return case_by_title(live, title)


def take(v, name: str, *, fill: dict | None = None, choose: dict | None = None,
         tick: tuple[str, ...] = (), check_form: str | None = None,
         check_confirm: str | None = None) -> None:
    """Take the step whose button says ``name`` on the case page shown: fill its form, send
    it, confirm it when asked."""
    page = v.page
    page.click(f".now :is(a, button):has-text('{name}')")
    page.wait_for_load_state()
    if check_form:
        v.check(check_form)
    for selector, value in (fill or {}).items():
        page.fill(selector, value)
    for selector, value in (choose or {}).items():
        page.select_option(selector, value)
    for selector in tick:
        page.check(selector)
    page.click("form.form button[type=submit]")
    page.wait_for_load_state()
    if page.locator("button[value=confirm]").count():
        if check_confirm:
            v.check(check_confirm, english=False)
        page.click("button[value=confirm]")
        page.wait_for_load_state()
    assert re.search(r"/cases/\d+$", page.url), page.url
    assert page.locator(".flash-success").count(), page.inner_text("main")[:500]


def test_the_road_from_a_whistle_to_a_resolved_case(live: Live, person):
    v1 = person("v1", phone=True)
    v1.check("login-done-home-volunteer")
    # report with an error first: the form comes back with the error by its field
    v1.go("/cases/new")
    v1.page.click("button:has-text('提交上报')")
    v1.page.wait_for_load_state()
    v1.check("report-errors", english=False)
    case = report(v1, live, title="楼上漏水纠纷", check=True)
    v1.check("reported")
    assert "受理" in v1.page.inner_text("main")
    v1.page.click(".actions .btn-primary")  # 受理, the step expected next: one tap
    v1.page.wait_for_url(re.compile(rf"/cases/{case.id}$"))
    v1.check("case-grid-mediation")
    take(v1, "调解记录", fill={"#summary": "张桂芳要求赔偿，李建国同意修理但不同意赔偿。",
                             "#outcome": "未达成一致，约定下周再谈。"},
         check_form="step-record-session")
    take(v1, "上报矛调中心", fill={"#reason": "双方分歧较大，赔偿金额谈不拢。"},
         check_form="step-escalate", check_confirm="confirm-escalate")
    assert case_by_title(live, "楼上漏水纠纷").state == "escalated"

    r1 = person("r1", phone=False)
    assert wait_for(lambda: r1.go("/") and "条未读" in r1.page.inner_text("header"))
    r1.check("home-reviewer-inbox")
    r1.go("/notifications")
    r1.check("notifications")
    r1.page.click(".notice-open >> nth=0")
    r1.page.wait_for_url(re.compile(rf"/cases/{case.id}$"))
    r1.check("case-escalated-reviewer")
    take(r1, "转交法律援助律师", choose={"#lawyer": "l1"}, check_form="step-refer-legal",
         check_confirm="confirm-refer-legal")

    l1 = person("l1", phone=False)
    assert wait_for(lambda: l1.go("/") and "楼上漏水纠纷" in l1.page.inner_text("main"))
    l1.check("home-lawyer")
    live.world.sign_all(case.id, "l1")  # the agreement pages come from the desk issue
    l1.go(f"/cases/{case.id}")
    l1.check("case-legal-service-signed")
    take(l1, "签订调解协议", check_confirm="confirm-sign-agreement")
    assert case_by_title(live, "楼上漏水纠纷").state == "performing"

    v1.go(f"/cases/{case.id}")
    v1.check("case-performing")
    take(v1, "回访记录", fill={"#method": "上门回访"}, check_form="step-follow-up",
         tick=("input[name=result][value=performed]",))
    assert "回访记录" in v1.page.inner_text(".timeline")
    # the handler (the lawyer) closes the case once the visit found it performed
    l1.go(f"/cases/{case.id}")
    take(l1, "确认履行结案", check_confirm="confirm-performance")
    resolved = case_by_title(live, "楼上漏水纠纷")
    assert resolved.state == "resolved" and resolved.case_no
    v1.go(f"/cases/{case.id}")
    v1.check("case-resolved")
