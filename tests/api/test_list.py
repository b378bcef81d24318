"""GET /api/v1/cases: pagination, filters, and the work-queue order."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from mediation.cases.models import Case
from mediation.timeutil import utcnow
from tests.api.conftest import V1, Api
from tests.factories import case_body


def ids(api: Api, query: str = "", user: str = "r1") -> list[int]:
    r = api.get("/cases" + query, user)
    assert r.status_code == 200, r.get_json()
    return [c["id"] for c in r.get_json()["items"]]


def test_pagination(api: Api) -> None:
    made = {api.world.new_case() for _ in range(5)}
    page = api.get("/cases?per_page=2&page=1", "v1").get_json()
    assert (page["total"], page["page"], page["per_page"]) == (5, 1, 2)
    seen: list[int] = []
    for n in (1, 2, 3):
        body = api.get(f"/cases?per_page=2&page={n}", "v1").get_json()
        assert body["total"] == 5 and body["page"] == n and body["per_page"] == 2
        assert len(body["items"]) == (2 if n < 3 else 1)
        seen += [c["id"] for c in body["items"]]
    assert len(seen) == len(set(seen)) == 5 and set(seen) == made
    past = api.get("/cases?per_page=2&page=9", "v1").get_json()
    assert past["items"] == [] and past["total"] == 5
    default = api.get("/cases", "v1").get_json()
    assert (default["page"], default["per_page"]) == (1, 20)
    # items are whole CASE objects with the user's triggers
    item = default["items"][0]
    for key in ("id", "case_no", "workflow", "state", "state_label", "version", "grid",
                "category", "risk_level", "title", "description", "parties", "assignee",
                "due_at", "available_triggers", "created_at", "updated_at"):
        assert key in item, key


def test_filters(api: Api) -> None:
    w = api.world
    leak = w.new_case(title="楼上漏水", category="邻里")
    parking = w.new_case(title="车位被占", category="物业", description="地下车库B2-015车位")
    g2 = w.new_case("v2", grid="G2", title="噪音扰民", category="邻里")
    other_street = w.new_case("v3", grid="G3", title="楼上漏水", category="邻里")
    accepted = w.case_in("grid_mediation", title="宠物伤人", category="损害赔偿")

    assert set(ids(api)) == {leak, parking, g2, accepted}  # r1: street S1 only
    assert set(ids(api, "?state=reported")) == {leak, parking, g2}
    assert ids(api, "?state=grid_mediation") == [accepted]
    assert ids(api, "?state=resolved") == []
    assert set(ids(api, "?grid=G1")) == {leak, parking, accepted}
    assert ids(api, "?grid=G2") == [g2]
    assert ids(api, "?grid=G3") == []        # a grid outside sight filters to nothing
    assert set(ids(api, "?grid=C1")) == {leak, parking, accepted, g2}  # a community: its grids
    for bad in ("grid=NOPE", "state=nosuch", "category=无此类", "workflow=nosuch"):
        r = api.get("/cases?" + bad, "v1")
        assert r.status_code == 422, bad
        assert r.get_json()["errors"][0]["field"] == bad.split("=")[0]
    assert set(ids(api, "?category=邻里")) == {leak, g2}
    assert ids(api, "?category=物业") == [parking]
    assert ids(api, "?q=楼上") == [leak]     # title; the other 楼上漏水 is out of sight
    assert ids(api, "?q=B2-015") == [parking]  # description
    case_no = api.case(g2, "r1")["report_no"]
    assert ids(api, "?q=" + case_no) == [g2]  # report number
    assert ids(api, "?q=%25") == ids(api, "?q=%25")  # a LIKE wildcard is just text
    assert set(ids(api, "?state=reported&grid=G1&category=邻里")) == {leak}
    assert ids(api, "?grid=G2", user="v1") == []  # v1 sees grid G1 only
    assert set(ids(api, "", "r2")) == {other_street}
    assert ids(api, "?overdue=true") == []
    assert set(ids(api, "?overdue=false")) == {leak, parking, g2, accepted}

    with api.rt.db.session() as s:
        s.execute(update(Case).where(Case.id == parking).values(overdue_at=utcnow()))
        s.execute(update(Case).where(Case.id == g2).values(
            due_at=utcnow() - timedelta(hours=1)))
    assert set(ids(api, "?overdue=true")) == {parking, g2}
    assert set(ids(api, "?overdue=false")) == {leak, accepted}
    assert api.case(parking, "r1")["overdue"] is True


def test_work_queue_order_overdue_then_high_risk(api: Api) -> None:
    w = api.world
    low = w.new_case(risk_level="low", title="低")
    medium = w.new_case(risk_level="medium", title="中")
    high = w.new_case(risk_level="high", title="高")  # escalated by the system at once
    overdue_low = w.new_case(risk_level="low", title="逾期低")
    closed_high = w.case_in("withdrawn", risk_level="high", title="已撤回")
    with api.rt.db.session() as s:
        s.execute(update(Case).where(Case.id == overdue_low).values(overdue_at=utcnow()))
    order = ids(api)
    assert order[:3] == [overdue_low, high, medium]
    assert order.index(low) > order.index(medium)
    assert order[-1] == closed_high  # closed cases sink to the bottom
    body = api.get("/cases", "r1").get_json()["items"]
    high_case = next(c for c in body if c["id"] == high)
    assert high_case["state"] == "escalated" and high_case["risk_level"] == "high"


def test_text_search_finds_any_substring_of_two_characters_or_more(api, world):
    texts = [("楼上卫生间漏水致楼下天花板受损", "501室防水层老化，渗漏至401室。"),
             ("物业费拖欠三年", "业主张桂芳认为物业服务不到位，拒交物业费。"),
             ("停车位被占", "B2-17号车位长期被他人占用；监控显示为一辆白色SUV。")]
    ids = []
    for title, description in texts:
        ids.append(api.post(f"{V1}/cases", case_body(title=title, description=description)
                            ).get_json()["id"])

    def found(q: str) -> list[int]:
        r = api.get(f"{V1}/cases", query_string={"q": q, "per_page": 100})
        assert r.status_code == 200, r.get_json()
        return sorted(c["id"] for c in r.get_json()["items"])

    # every substring of every text, as the literal LIKE scan would find it
    for title, description in texts:
        for text in (title, description):
            for n in (2, 3, 4):
                for i in range(len(text) - n + 1):
                    q = text[i:i + n]
                    expected = sorted(cid for cid, (t, d) in zip(ids, texts, strict=True)
                                      if q.lower() in t.lower() or q.lower() in d.lower())
                    assert found(q) == expected, q
    assert found("漏") == [ids[0]]  # one character: scanned
    assert found("suv") == [ids[2]] and found("b2-17") == [ids[2]]
    assert found("漏水楼下") == []  # both bigram runs present, not next to each other
    assert found("物业 服务") == []  # the literal text (with the space) decides
    case_no = api.get(f"{V1}/cases/{ids[1]}").get_json()["case_no"]
    if case_no:
        assert ids[1] in found(case_no[1:5])


def test_newest_first(api, world):
    ids = [api.post(f"{V1}/cases", case_body(title=f"第{i}件")).get_json()["id"] for i in range(3)]
    with world.rt.db.session() as s:  # reported at different times, oldest first
        for age, case_id in zip((3, 2, 1), ids, strict=True):
            s.execute(update(Case).where(Case.id == case_id)
                      .values(created_at=utcnow() - timedelta(days=age)))
    r = api.get(f"{V1}/cases", query_string={"sort": "newest", "state": "reported"})
    assert [c["id"] for c in r.get_json()["items"]] == ids[::-1]
    assert api.get(f"{V1}/cases", query_string={"sort": "oldest"}).status_code == 422
