"""Personal information: parties' phone and ID numbers come back masked, and never appear in
plain text anywhere in the database (raw SQL) nor in the trail."""

from __future__ import annotations

import json

from sqlalchemy import select, text

from mediation.db import Base
from tests.api.conftest import Api
from tests.factories import PARTIES, case_body

# A third party with a landline and an ID number whose check digit is X.
ORG = {"role": "third_party", "kind": "person", "name": "周建平",
       "address": "延安路1号", "phone": "0571-87654321", "id_number": "11010519491231002X"}
SECRETS = ["13857112345", "330103195803120027", "13900001111", "330103197501010016",
           "0571-87654321", "87654321", "11010519491231002X", "11010519491231002x"]


def test_masked_on_the_way_out(api: Api) -> None:
    r = api.post("/cases", case_body(parties=[*PARTIES, {**ORG, "id_number":
                                                          "11010519491231002x"}]))
    assert r.status_code == 201, r.get_json()
    case = r.get_json()
    for shown in (case, api.case(case["id"], "r1"),
                  api.get("/cases", "v1").get_json()["items"][0]):
        applicant, respondent, org = shown["parties"]
        assert applicant["phone"] == "138****2345"
        assert applicant["id_number"] == "3301**********0027"
        assert respondent["phone"] == "139****1111"
        assert respondent["id_number"] == "3301**********0016"
        assert org["phone"] != ORG["phone"] and org["phone"].endswith("4321")
        assert org["id_number"] == "1101**********002X"
        assert [p["name"] for p in shown["parties"]] == ["张桂芳", "李建国", ORG["name"]]
    everything = json.dumps([case, api.get(f"/cases/{case['id']}/events").get_json(),
                             api.get("/cases?per_page=100").get_json()], ensure_ascii=False)
    for secret in SECRETS:
        assert secret not in everything, secret


def test_never_in_plain_text_in_the_database(api: Api) -> None:
    case_id = api.post("/cases", case_body(parties=[*PARTIES, ORG])).get_json()["id"]
    api.world.fire(case_id, "accept", "v1")
    api.world.sign_all(case_id, "v1")
    rows = api.rt.db.engine.connect()
    try:
        parties = rows.execute(text("SELECT * FROM parties")).mappings().all()
        assert len(parties) == 3
        for row in parties:
            for value in row.values():
                for secret in SECRETS:
                    assert secret not in str(value), (secret, dict(row))
            assert row["phone_enc"] and row["id_number_enc"]
        # ... nor anywhere else: every column of every row of every table
        for table in Base.metadata.sorted_tables:
            for row in rows.execute(select(table)):
                blob = " ".join(str(v) for v in row)
                for secret in SECRETS:
                    assert secret not in blob, (table.name, secret)
    finally:
        rows.close()
    # the trail names the parties but holds no numbers
    events = api.get(f"/cases/{case_id}/events").get_json()
    assert events[0]["data"]["parties"] == ["张桂芳", "李建国", ORG["name"]]
    dump = json.dumps(events, ensure_ascii=False)
    for secret in SECRETS:
        assert secret not in dump


def test_party_without_numbers(api: Api) -> None:
    body = case_body(parties=[{"role": "applicant", "name": "匿名来访人"}])
    r = api.post("/cases", body)
    assert r.status_code == 201, r.get_json()
    (party,) = r.get_json()["parties"]
    assert party["phone"] is None and party["id_number"] is None
    assert party["kind"] == "person"
