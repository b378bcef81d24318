"""Page tests: the app with CSRF on (as in production), and a client that reads each form's
token from the page it came with, as a browser does."""

from __future__ import annotations

import re
from typing import Any

import pytest
from werkzeug.test import TestResponse

from tests.factories import password_of

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


class Browser:
    """A test client that signs in and sends forms with the CSRF token of the page."""

    def __init__(self, client: Any):
        self.client = client

    def get(self, url: str, **kw: Any) -> TestResponse:
        return self.client.get(url, **kw)

    def token(self, url: str) -> str:
        page = self.client.get(url)
        found = TOKEN.search(page.get_data(as_text=True))
        assert found, f"no CSRF token on {url} ({page.status_code})"
        return found.group(1)

    def post(self, url: str, data: dict[str, Any] | None = None, *, page: str | None = None,
             **kw: Any) -> TestResponse:
        """POST ``data`` with the token of ``page`` (default: the URL itself)."""
        body = dict(data or {})
        body["csrf_token"] = self.token(page or url)
        return self.client.post(url, data=body, **kw)

    def login(self, username: str) -> Browser:
        response = self.post("/login", {"username": username,
                                        "password": password_of(username)})
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
        return self


def text(response: TestResponse) -> str:
    return response.get_data(as_text=True)


@pytest.fixture
def app(rt):
    """The app as it runs: CSRF on."""
    from mediation import create_app

    application = create_app(runtime=rt)
    application.config.update(TESTING=True)
    return application


@pytest.fixture
def browser(app) -> Browser:
    return Browser(app.test_client())


@pytest.fixture
def as_user(app):
    """``as_user("v1")``: a browser signed in as that user."""
    def make(username: str) -> Browser:
        return Browser(app.test_client()).login(username)
    return make
