"""``mediation users list | deactivate | reset-password`` and ``org list`` (INTERFACES.md), and
what they do to sign-in: a deactivated user or an old password opens nothing any more."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from mediation import cli
from tests.factories import password_of


@pytest.fixture
def run(rt, monkeypatch):
    monkeypatch.setattr(cli, "runtime", lambda: rt)

    def _run(*args: str, stdin: str | None = None):
        return CliRunner().invoke(cli.main, list(args), input=stdin)
    return _run


def _token(client, username: str, password: str) -> tuple[int, str | None]:
    r = client.post("/api/v1/auth/token", json={"username": username, "password": password})
    return r.status_code, (r.get_json() or {}).get("token")


def test_users_list_filters_by_unit_subtree_and_role(world, run):
    result = run("users", "list", "--org", "S1")
    assert result.exit_code == 0, result.output
    names = [line.split("\t")[0] for line in result.output.splitlines()]
    # S1's subtree: the reviewer of S1 and the volunteers of its grids, not S2's or D1's.
    assert sorted(names) == ["r1", "v1", "v1b", "v2"]
    result = run("users", "list", "--role", "lawyer")
    rows = [line.split("\t") for line in result.output.splitlines()]
    assert [(r[0], r[1], r[2], r[4]) for r in rows] == [("l1", "lawyer", "D1", "active"),
                                                       ("l2", "lawyer", "D2", "active")]


def test_users_list_names_an_unknown_unit(world, run):
    result = run("users", "list", "--org", "NOPE")
    assert result.exit_code == 1
    assert "NOPE" in result.output


def test_a_deactivated_user_can_no_longer_sign_in_nor_use_a_token(world, run, client):
    status, token = _token(client, "v2", password_of("v2"))
    assert status == 200 and token
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200

    result = run("users", "deactivate", "v2")
    assert result.exit_code == 0, result.output
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert _token(client, "v2", password_of("v2"))[0] == 401
    listed = run("users", "list", "--role", "volunteer").output
    assert "v2\tvolunteer\tG2\t钱师傅\tdeactivated" in listed.splitlines()


def test_reset_password_ends_old_tokens_and_the_old_password(world, run, client):
    _, old_token = _token(client, "r1", password_of("r1"))
    result = run("users", "reset-password", "r1", "--password-stdin", stdin="New-pass-2027\n")
    assert result.exit_code == 0, result.output
    assert client.get("/api/v1/me",
                      headers={"Authorization": f"Bearer {old_token}"}).status_code == 401
    assert _token(client, "r1", password_of("r1"))[0] == 401
    status, _ = _token(client, "r1", "New-pass-2027")
    assert status == 200


def test_reset_password_refuses_a_short_password_and_keeps_the_old_one(world, run, client):
    result = run("users", "reset-password", "r1", "--password-stdin", stdin="short\n")
    assert result.exit_code == 1
    assert "password" in result.output
    assert _token(client, "r1", password_of("r1"))[0] == 200


def test_unknown_user_is_named(world, run):
    result = run("users", "deactivate", "nobody")
    assert result.exit_code == 1
    assert "nobody" in result.output


def test_usernames_ignore_case_and_spaces_at_sign_in(world, client):
    # A phone keyboard capitalises the first letter of the field.
    assert _token(client, "  V1 ", password_of("v1"))[0] == 200
    assert _token(client, "V1", "wrong-password")[0] == 401


def test_a_username_differing_only_in_case_is_taken(world, run):
    result = run("users", "create", "R1", "--role", "reviewer", "--org", "S2",
                 "--password-stdin", stdin="Another-pass-1\n")
    assert result.exit_code == 1
    assert "r1" in result.output


def test_org_list_prints_the_tree(world, run):
    result = run("org", "list")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    codes = [line.strip().split("\t")[0] for line in lines]
    assert codes == ["D1", "S1", "C1", "G1", "G2", "S2", "C2", "G3", "D2", "S9"]
    assert lines[3] == "      G1\tgrid\t一号网格\t一号网格"
    assert lines[2].startswith("    C1\tcommunity\t红石板社区\t红石板")
