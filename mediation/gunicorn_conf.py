"""gunicorn's settings for the at-scale setup: ``gunicorn -c python:mediation.gunicorn_conf``.

Imported by gunicorn only (never by the app), so reading the environment here is reading it at
start-up. Each worker builds its own app and runtime after the fork (no preloading: database
and broker connections are never shared between processes). See docs/deploy.md.

Environment: ``MEDIATION_BIND`` (default 127.0.0.1:8000; the reverse proxy talks to it),
``WEB_CONCURRENCY`` (worker processes, default 2 × cores + 1), ``MEDIATION_WEB_THREADS``
(threads per worker, default 2), and the app's own (DATABASE_URL, CELERY_BROKER_URL, ...).
"""

import multiprocessing
import os

wsgi_app = "mediation:create_app()"
bind = os.environ.get("MEDIATION_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY") or multiprocessing.cpu_count() * 2 + 1)
# Threads keep connections alive behind the proxy and overlap database waits.
worker_class = "gthread"
threads = int(os.environ.get("MEDIATION_WEB_THREADS") or 2)
# A dossier rendered on request takes seconds; nothing legitimate takes a minute.
timeout = 60
graceful_timeout = 30
keepalive = 5
# Recycle workers now and then: bounds the memory a long-lived worker may gather.
max_requests = 5000
max_requests_jitter = 500
preload_app = False
# The proxy on the same host sets X-Forwarded-Proto (TLS ends there).
forwarded_allow_ips = os.environ.get("MEDIATION_FORWARDED_ALLOW_IPS", "127.0.0.1")
accesslog = os.environ.get("MEDIATION_ACCESS_LOG", "-")
proc_name = "mediation-web"


def when_ready(server):
    """Say where side effects run: without a broker nobody runs them under gunicorn."""
    if not os.environ.get("CELERY_BROKER_URL"):
        server.log.warning("CELERY_BROKER_URL is not set: side effects and deadline sweeps "
                           "will not run under gunicorn; start `mediation worker` and "
                           "`mediation beat` with a broker, or use `mediation serve`")
