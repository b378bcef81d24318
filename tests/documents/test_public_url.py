"""The address printed in QR codes: `mediation serve` warns loudly when documents would print a
localhost address while it listens for other machines; the verify page dates in China time."""

from __future__ import annotations

from datetime import datetime

import pytest
from click.testing import CliRunner

from mediation.documents.qr import localhost_warning
from mediation.documents.store import render_case_document
from tests.documents import factories as f


@pytest.mark.parametrize(("url", "host", "warned"), [
    ("http://localhost:5000", "0.0.0.0", True),
    ("http://127.0.0.1:5000", "192.168.1.20", True),
    ("http://[::1]:5000", "::", True),
    ("http://localhost:5000", "127.0.0.1", False),   # a trial on one machine
    ("http://localhost:5000", "localhost", False),
    ("https://tiaojie.example.gov.cn", "0.0.0.0", False),
    ("http://192.168.1.20:5000", "0.0.0.0", False),
])
def test_localhost_warning(url, host, warned):
    warning = localhost_warning(url, host, 5000)
    assert (warning is not None) == warned
    if warned:
        assert "MEDIATION_PUBLIC_URL" in warning and url in warning


def test_serve_warns_before_serving(monkeypatch, tmp_path):
    """`mediation serve --host 0.0.0.0` without MEDIATION_PUBLIC_URL says so on stderr."""
    import waitress

    from mediation import cli

    served = []
    monkeypatch.setattr(waitress, "serve", lambda app, **kw: served.append(kw))
    monkeypatch.setenv("MEDIATION_INSTANCE", str(tmp_path))
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'db.sqlite3'}")
    monkeypatch.setenv("SECRET_KEY", "serve-test")
    monkeypatch.delenv("MEDIATION_PUBLIC_URL", raising=False)
    monkeypatch.delenv("CELERY_BROKER_URL", raising=False)
    from mediation.jobs import background

    monkeypatch.setattr(background.BackgroundJobs, "start", lambda self: None)
    monkeypatch.setattr(background.BackgroundJobs, "stop", lambda self: None)
    runner = CliRunner()
    result = runner.invoke(cli.main, ["serve", "--host", "0.0.0.0", "--port", "8080"])
    assert result.exit_code == 0, result.output
    assert served and served[0]["host"] == "0.0.0.0"
    assert "http://localhost:5000" in result.stderr and "MEDIATION_PUBLIC_URL" in result.stderr
    quiet = runner.invoke(cli.main, ["serve", "--host", "127.0.0.1"])
    assert quiet.exit_code == 0 and "MEDIATION_PUBLIC_URL" not in quiet.stderr
    monkeypatch.setenv("MEDIATION_PUBLIC_URL", "https://tiaojie.example.gov.cn")
    public = runner.invoke(cli.main, ["serve", "--host", "0.0.0.0"])
    assert public.exit_code == 0 and "MEDIATION_PUBLIC_URL" not in public.stderr


def test_the_verify_page_dates_in_china_time(rt, docs, session, client):
    """A document issued at 01:00 on 6 March in Hangzhou (17:00 UTC on the 5th) is dated 6
    March on the page, as on paper."""
    case = f.resolved_case(docs, session)
    _, meta = render_case_document(session, rt, case, "agreement", now=datetime(2025, 3, 5, 17))
    session.commit()
    page = client.get(f"/verify/{meta.verification_code}").get_data(as_text=True)
    assert "2025年3月6日" in page and "2025年3月5日" not in page
