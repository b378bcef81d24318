"""Document benchmarks (`make bench`): figures and ratios, never assertions.

P3: the agreement end to end (load the case, build the context, hash, render, store) against a
    bare WeasyPrint render of the same HTML, warm. Goal: ≤ 1.1× and ≤ 0.5 s.
P4: a 30-page dossier, warm. Goal: ≤ 2.5 s.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import figure, note
from mediation.config import Config
from mediation.documents.catalogue import catalogue
from mediation.documents.render import check_subsetting, renderer
from mediation.documents.store import (
    compose,
    load_sources,
    render_case_document,
)
from mediation.runtime import Runtime
from tests.documents import factories as f

RUNS = 5


def timed(fn, runs: int = RUNS) -> tuple[float, float]:
    fn()  # warm
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), min(times)


def main() -> None:
    warning = check_subsetting()
    note(f"subsetting: {'OK' if warning is None else warning}")
    tmp = Path(tempfile.mkdtemp(prefix="bench-docs-"))
    rt = Runtime(Config(instance=tmp, database_url=f"sqlite:///{tmp / 'bench.db'}",
                        secret_key="bench-secret", run_jobs_inline=False))
    rt.db.create_all()
    world = f.DocumentWorld(rt).build()
    runtime = rt  # passed as the API passes it: cipher, definitions, public URL
    with rt.db.session() as session:
        # cases walked through the engine, as in tests/documents
        case = f.resolved_case(world, session, day=1)
        big = f.resolved_case(world, session, day=2, long=True, sessions=6)
        session.commit()

        # -- P3 ------------------------------------------------------------------------------
        spec = catalogue().get("agreement")
        composed = compose(spec, load_sources(session, case, rt.cipher, runtime=rt), catalogue())
        html = renderer().html(composed.template, {**composed.context, "verify": None})
        css_text = "\n".join((catalogue().root / "css" / n).read_text() for n in spec.css)

        from weasyprint import CSS, HTML
        from weasyprint.text.fonts import FontConfiguration

        def bare() -> bytes:
            fc = FontConfiguration()
            return HTML(string=html).write_pdf(
                stylesheets=[CSS(string=css_text, font_config=fc)], font_config=fc)

        counter = iter(range(1_000_000))

        def end_to_end() -> bytes:
            # new data every time, so the document is really rendered (no stored copy)
            case.agreement.recorder = f"赵丽华{next(counter)}"
            session.flush()
            pdf, meta = render_case_document(session, runtime, case, "agreement")
            assert meta.rendered
            return pdf

        def cached() -> bytes:
            return render_case_document(session, runtime, case, "agreement")[0]

        b_med, _ = timed(bare)
        e_med, _ = timed(end_to_end)
        c_med, _ = timed(cached)
        figure("P3", f"agreement end to end {e_med:.3f} s, bare WeasyPrint of the same HTML "
                     f"{b_med:.3f} s, ratio {e_med / b_med:.2f}, stored copy served {c_med:.3f} s "
                     f"(medians of {RUNS}; goal <= 1.1 and <= 0.5 s)",
               e_med / b_med <= 1.1 and e_med <= 0.5)

        # -- P4 ------------------------------------------------------------------------------
        pdf, meta = render_case_document(session, runtime, big, "dossier")
        counter2 = iter(range(1_000_000))

        def dossier() -> bytes:
            big.agreement.recorder = f"赵丽华{next(counter2)}"
            session.flush()
            pdf, meta = render_case_document(session, runtime, big, "dossier")
            assert meta.rendered
            return pdf

        d_med, _ = timed(dossier, runs=3)
        figure("P4", f"dossier of {meta.pages} pages ({len(pdf) / 1024:.0f} kB) end to end "
                     f"{d_med:.3f} s, {d_med / meta.pages * 1000:.0f} ms a page (median of 3; "
                     f"goal <= 2.5 s)", d_med <= 2.5)
        session.rollback()
    rt.close()


if __name__ == "__main__":
    main()
