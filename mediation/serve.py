"""``mediation serve``: the web app and API, plus (embedded setup) jobs and sweeps in-process."""

from __future__ import annotations

import logging

import click

from mediation.cli import main, runtime


@main.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--threads", default=8, show_default=True, type=int)
def serve(host: str, port: int, threads: int) -> None:
    """Serve the web app and the REST API (waitress)."""
    from waitress import serve as waitress_serve

    from mediation import create_app
    from mediation.jobs.background import BackgroundJobs

    logging.basicConfig(level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("weasyprint", "fontTools", "transitions"):  # step-by-step chatter at INFO
        logging.getLogger(noisy).setLevel(logging.WARNING)
    rt = runtime()
    app = create_app(runtime=rt)
    from mediation.documents.qr import localhost_warning
    from mediation.documents.render import check_subsetting

    warning = check_subsetting()
    if warning:
        click.echo(f"warning: {warning}", err=True)
    unreachable = localhost_warning(rt.config.public_url, host, port)
    if unreachable:
        logging.getLogger("mediation.serve").warning(
            "MEDIATION_PUBLIC_URL is %s while serving on %s", rt.config.public_url, host)
        click.secho(unreachable, err=True, fg="red", bold=True)
    jobs = None
    if rt.config.embedded:
        jobs = BackgroundJobs(rt)
        jobs.start()
    click.echo(f"mediation serving on http://{host}:{port} "
               f"({'embedded: jobs and sweeps in-process' if jobs else 'jobs in Celery workers'})")
    try:
        waitress_serve(app, host=host, port=port, threads=threads, ident="mediation")
    finally:
        if jobs:
            jobs.stop()
