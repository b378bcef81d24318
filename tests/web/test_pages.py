"""Sign in and out, the page error path, the unit of work, languages, text size, headers."""

from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy import func, select

from mediation.auth.models import LoginAttempt
from tests.web.conftest import Browser, text

ROOT = Path(__file__).resolve().parents[2]


def test_sign_in_with_a_wrong_password_says_so_and_counts(world, browser: Browser):
    assert browser.get("/").status_code == 302  # signed out: to the sign-in page
    page = browser.get("/login")
    assert page.status_code == 200 and 'autocapitalize="none"' in text(page)
    bad = browser.post("/login", {"username": "v1", "password": "wrong"})
    assert bad.status_code == 422
    assert "用户名或密码错误" in text(bad) and 'value="v1"' in text(bad)  # typed name kept
    with world.rt.db.session() as s:  # the unit of work kept the failed attempt
        assert s.scalar(select(func.count()).select_from(LoginAttempt).where(
            LoginAttempt.success.is_(False))) == 1
    browser.login("v1")
    assert "我的工作" in text(browser.get("/"))


def test_sign_out_ends_every_session_of_the_user(world, app):
    first, second = Browser(app.test_client()), Browser(app.test_client())
    first.login("r1"), second.login("r1")
    assert second.get("/").status_code == 200
    assert first.post("/logout", page="/").status_code == 302
    assert second.get("/").status_code == 302  # the session token rotated


def test_a_post_without_its_csrf_token_is_refused(world, as_user):
    case_id = world.case_in("reported")
    v1 = as_user("v1")
    refused = v1.client.post(f"/cases/{case_id}/accept", data={"version": "1"})
    assert refused.status_code == 400 and "页面已过期" in text(refused)
    assert '<header class="top">' in text(refused)  # inside the layout
    assert world.case(case_id).state == "reported"
    assert v1.client.post("/logout").status_code == 400  # every write, signing out too


def test_errors_are_pages_in_the_users_language_and_the_api_keeps_problems(world, as_user):
    v1 = as_user("v1")
    missing = v1.get("/no/such/page")
    assert missing.status_code == 404 and missing.mimetype == "text/html"
    assert "没有找到这个页面" in text(missing) and '<header class="top">' in text(missing)
    english = v1.get("/no/such/page?lang=en")
    assert english.status_code == 404 and "Page not found" in text(english)
    api = v1.get("/api/v1/nope")
    assert api.status_code == 404 and api.mimetype == "application/problem+json"
    assert v1.get("/cases/99999999999").status_code == 404  # past any id: not a 500


def test_a_case_out_of_sight_is_a_404_on_every_case_page(world, as_user):
    case_id = world.case_in("grid_mediation")  # in G1
    with world.rt.db.session() as s:
        from mediation.cases.models import Case

        party = s.get(Case, case_id).parties[0].id
    v3 = as_user("v3")  # a volunteer of another community
    for url in (f"/cases/{case_id}", f"/cases/{case_id}/reported",
                f"/cases/{case_id}/record_session", f"/cases/{case_id}/escalate",
                f"/cases/{case_id}/documents/registration.pdf", f"/cases/{case_id}/files/1"):
        page = v3.get(url)
        assert page.status_code == 404, url
        assert "没有找到这个页面" in text(page)
    reveal = v3.post(f"/cases/{case_id}/parties/{party}/reveal", page="/")
    assert reveal.status_code == 404


def test_no_view_commits_and_no_template_compares_a_state():
    views = [p for p in (ROOT / "mediation").rglob("views.py")]
    assert views
    for path in views:
        assert ".commit(" not in path.read_text(), path
    for path in (ROOT / "templates").rglob("*.html"):
        assert not re.search(r"\.state\s*(==|!=|in\b)", path.read_text()), path


def test_the_language_switch_is_remembered_and_chinese_is_the_default(world, as_user):
    v1 = as_user("v1")
    assert "我的工作" in text(v1.get("/", headers={"Accept-Language": "en"}))
    assert "My work" in text(v1.get("/?lang=en"))
    assert "My work" in text(v1.get("/"))  # remembered (cookie)
    assert 'lang="en"' in text(v1.get("/"))
    assert "我的工作" in text(v1.get("/?lang=zh"))
    assert "我的工作" in text(v1.get("/"))


def test_the_text_size_switch_is_remembered(world, as_user):
    v1 = as_user("v1")
    assert 'class="size-standard"' in text(v1.get("/"))
    assert 'class="size-xlarge"' in text(v1.get("/?textsize=xlarge"))
    assert 'class="size-xlarge"' in text(v1.get("/"))
    assert 'class="size-standard"' in text(v1.get("/?textsize=huge-nonsense&textsize=standard"))


def test_security_headers_and_cookie_flags(world, app):
    plain = Browser(app.test_client())
    page = plain.get("/login")
    csp = page.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
    assert "script-src 'self'" in csp and "style-src 'self'" in csp
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    signed = plain.post("/login", {"username": "v1", "password": "Pw-v1-2026"})
    cookie = signed.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    secure = Browser(app.test_client())
    token = secure.client.get("/login", base_url="https://localhost")
    tok = re.search(r'name="csrf_token" value="([^"]+)"', text(token)).group(1)
    over_https = secure.client.post("/login", base_url="https://localhost", data={
        "username": "v1", "password": "Pw-v1-2026", "csrf_token": tok},
        headers={"Referer": "https://localhost/login"})
    assert over_https.status_code == 302, text(over_https)[:300]
    assert all("Secure" in c for c in over_https.headers.getlist("Set-Cookie"))


def test_templates_carry_no_inline_script_or_style():
    for path in (ROOT / "templates").rglob("*.html"):
        source = path.read_text()
        assert not re.search(r"<script(?![^>]*\bsrc=)", source), path
        assert not re.search(r"\sstyle=|<style", source), path
        assert not re.search(r"\son[a-z]+=", source), path


def test_the_vendored_assets_are_served_by_the_app(world, browser: Browser):
    with browser.get("/static/vendor/htmx.min.js") as htmx:
        assert htmx.status_code == 200 and b"htmx" in htmx.data
    with browser.get("/static/vendor/axe.min.js") as axe:
        assert axe.status_code == 200
    assert browser.get("/static/vendor/../../pyproject.toml").status_code == 404
    assert browser.get("/static/vendor/nothing.js").status_code == 404


def test_the_public_verify_page_answers_an_unknown_code(world, browser: Browser):
    page = browser.get("/verify/NOPE-NOPE")
    assert page.status_code == 404 and "未找到该核验码" in text(page)


def test_an_error_of_ours_is_a_page_that_says_nothing_of_the_internals(world, app, caplog):
    @app.route("/boom")
    def boom():
        raise RuntimeError("secret internals")

    browser = Browser(app.test_client()).login("v1")
    page = browser.get("/boom")
    assert page.status_code == 500 and page.mimetype == "text/html"
    assert "系统出了点问题" in text(page) and "secret internals" not in text(page)
    assert '<header class="top">' in text(page)
    assert any("secret internals" in str(r.exc_info) for r in caplog.records if r.exc_info)


def test_an_upload_over_the_limit_is_a_page_too(world, as_user):
    v1 = as_user("v1")
    token = v1.token("/cases/new")
    too_big = v1.client.post("/cases/new", data={"csrf_token": token, "description": "x" * (
        65 * 1024 * 1024)})
    assert too_big.status_code == 413 and "上传的内容太大" in text(too_big)
