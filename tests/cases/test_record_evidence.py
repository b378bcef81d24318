"""The record is evidence (issue 7): what the new user found with sqlite3 beside the app is
now caught: an amount changed in a signed agreement, a case's state changed, events cut with
the counters lowered; and a printed document's code answers for the record it came from."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from sqlalchemy import select, text

from mediation import cli
from mediation.cases import cli as cases_cli
from mediation.cases.models import AgreementTerm, Case
from mediation.documents.store import render_case_document
from mediation.documents.verify import verify_code
from mediation.workflow.checkpoints import Checkpoints
from tests.api.conftest import Api, api  # noqa: F401  (the API as the world's users)


@pytest.fixture
def run(rt, monkeypatch):
    monkeypatch.setattr(cli, "runtime", lambda: rt)
    monkeypatch.setattr(cases_cli, "runtime", lambda: rt)

    def _run(*args: str):
        return CliRunner().invoke(cli.main, list(args))
    return _run


def _signed(api: Api) -> int:  # noqa: F811
    return api.world.case_in("performing")


def test_an_amount_changed_in_a_signed_agreement_is_caught_everywhere(api: Api, run):  # noqa: F811
    case_id = _signed(api)
    with api.rt.db.session() as s:
        case = s.get(Case, case_id)
        _, meta = render_case_document(s, api.rt, case, "agreement")
        term_id = s.scalar(select(AgreementTerm.id).where(AgreementTerm.amount == "2000.00"))
    assert api.get(f"/verify/{meta.verification_code}").get_json()["record_intact"] is True
    with api.rt.db.engine.begin() as conn:
        conn.execute(text("UPDATE agreement_terms SET amount = '5.00' WHERE id = :i"),
                     {"i": term_id})
    result = run("audit", "verify")
    assert result.exit_code == 1
    assert f"agreement_terms:{term_id}: amount differ" in result.output
    body = api.get(f"/cases/{case_id}/events/verify").get_json()
    assert body["valid"] is False
    assert {"what": "row", "where": f"agreement_terms:{term_id}",
            "detail": f"agreement_terms:{term_id}: amount differ from the trail"} in body["problems"]
    # no paper is issued from it, and the genuine one says its record no longer holds
    r = api.get(f"/cases/{case_id}/documents/agreement.pdf")
    assert r.status_code == 409 and "校验" in r.get_json()["detail"]
    answer = api.get(f"/verify/{meta.verification_code}").get_json()
    assert (answer["valid"], answer["record_intact"]) == (True, False)
    assert answer["chain_seq"] and answer["chain_head"]


def test_a_changed_state_is_named(api: Api, run):  # noqa: F811
    case_id = api.world.case_in("grid_mediation")
    with api.rt.db.engine.begin() as conn:
        conn.execute(text("UPDATE cases SET state = 'resolved' WHERE id = :i"), {"i": case_id})
    result = run("audit", "verify")
    assert result.exit_code == 1 and "case_row state" in result.output
    problems = api.get(f"/cases/{case_id}/events/verify", "r1").get_json()["problems"]
    assert [p["where"] for p in problems] == ["state"]


def test_a_documents_code_follows_the_chain_head_it_was_issued_from(api: Api):  # noqa: F811
    case_id = _signed(api)
    with api.rt.db.session() as s:
        _, meta = render_case_document(s, api.rt, s.get(Case, case_id), "agreement")
    api.act(case_id, "add_note", "v1", {"text": "当事人来电确认"})  # the chain grows: fine
    answer = verify_code_of(api, meta.verification_code)
    assert answer["record_intact"] is True and answer["current"] is True
    with api.rt.db.engine.begin() as conn:  # rewrite the event the paper was issued at
        conn.execute(text("UPDATE events SET actor = 'v1b' WHERE case_id = :i AND seq = :s"),
                     {"i": case_id, "s": answer["chain_seq"]})
    assert verify_code_of(api, meta.verification_code)["record_intact"] is False


def verify_code_of(api: Api, code: str) -> dict:  # noqa: F811
    with api.rt.db.session() as s:
        return verify_code(s, code, api.rt)


def test_a_sweep_checkpoints_the_chains_that_moved(api: Api, run):  # noqa: F811
    api.world.case_in("grid_mediation")
    result = run("sweep")
    assert result.exit_code == 0, result.output
    files = api.rt.checkpoints().files()
    assert [f.name for f in files] == ["checkpoint-000001.json"]
    assert run("sweep").exit_code == 0
    assert len(api.rt.checkpoints().files()) == 1  # nothing moved: no new checkpoint
    api.world.case_in("reported")
    run("sweep")
    ledger = api.rt.checkpoints().read()
    assert (ledger.count, ledger.problems) == (2, [])
    # a checkpoint signed with another key, or edited, is reported
    path = api.rt.checkpoints().files()[-1]
    path.write_text(path.read_text().replace('"n": 2', '"n": 3'))
    result = run("audit", "verify")
    assert result.exit_code == 1 and "signature does not verify" in result.output


def test_checkpoints_need_no_database_key_and_refuse_a_wrong_one(api: Api, tmp_path,  # noqa: F811
                                                                 monkeypatch):
    api.world.case_in("reported")
    store = api.rt.checkpoints()
    with api.rt.db.session() as s:
        store.write(s)
    public = store.public_key_b64()
    assert store.key_file is not None and store.key_file.exists()
    assert oct(store.key_file.stat().st_mode)[-3:] == "600"
    # an archive holding only the public key verifies the files
    archive = Checkpoints.for_instance(tmp_path, {"MEDIATION_AUDIT_DIR": str(store.directory),
                                                  "MEDIATION_AUDIT_PUBLIC_KEY": public})
    assert archive.read().problems == []
    # another key does not verify them
    other = Checkpoints.for_instance(tmp_path / "other", {
        "MEDIATION_AUDIT_DIR": str(store.directory)}, heads=api.rt.engine.cases.heads)
    with api.rt.db.session() as s, pytest.raises(FileExistsError):
        other.write(s)  # nor may it overwrite an existing checkpoint
    problems = Checkpoints.for_instance(tmp_path / "other", {
        "MEDIATION_AUDIT_DIR": str(store.directory)}).read().problems
    assert problems and "does not verify" in problems[0]
