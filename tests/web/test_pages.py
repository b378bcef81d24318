"""Sign in, the work list, sign out (the full web app comes with its own issue)."""

from __future__ import annotations

from tests.factories import password_of


def test_login_page_and_work_list(world, client):
    world.case_in("escalated")
    page = client.get("/login")
    assert page.status_code == 200 and "登录" in page.get_data(as_text=True)
    assert client.get("/").status_code == 302  # signed out: to the login page
    bad = client.post("/login", data={"username": "v1", "password": "wrong"})
    assert bad.status_code == 422 and "用户名或密码错误" in bad.get_data(as_text=True)
    ok = client.post("/login", data={"username": "v1", "password": password_of("v1")})
    assert ok.status_code == 302
    work = client.get("/").get_data(as_text=True)
    assert "楼上卫生间漏水" in work and "待矛调中心审查" in work


def test_logout_ends_every_session_of_the_user(world, app):
    first, second = app.test_client(), app.test_client()
    for c in (first, second):
        assert c.post("/login", data={"username": "r1", "password": password_of("r1")}
                      ).status_code == 302
        assert c.get("/").status_code == 200
    first.post("/logout")
    # the session token rotated: the other browser's cookie no longer signs in
    assert second.get("/").status_code == 302


def test_a_user_sees_only_the_cases_in_sight(world, client):
    world.case_in("reported", grid="G3", username="v3")
    client.post("/login", data={"username": "v1", "password": password_of("v1")})
    assert "楼上卫生间漏水" not in client.get("/").get_data(as_text=True)


def test_verify_page_for_an_unknown_code(world, client):
    page = client.get("/verify/NOPE-NOPE")
    assert page.status_code == 404 and "未找到该核验码" in page.get_data(as_text=True)
