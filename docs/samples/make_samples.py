"""Regenerate docs/samples/: every printed document of cases walked through the engine (the
cases of tests/documents/factories.py), as PDF and as one PNG per page at print size.

    .venv/bin/python docs/samples/make_samples.py [OUT_DIR] [--dpi 100]

Each PNG is what a clerk or an archivist sees on paper: look at every page after a change of a
template, a stylesheet or a context builder.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from mediation.config import Config  # noqa: E402
from mediation.documents.monthly import monthly_report_pdf  # noqa: E402
from mediation.documents.store import render_case_document  # noqa: E402
from mediation.runtime import Runtime  # noqa: E402
from tests.documents import factories as f  # noqa: E402

PUBLIC_URL = "https://tiaojie.example.gov.cn"
# (file stem, case kind, document)
SAMPLES = [
    ("registration", "resolved", "registration"),
    ("rights_notice", "resolved", "rights_notice"),
    ("investigation", "resolved", "investigation"),
    ("evidence_list", "resolved", "evidence_list"),
    ("session_record", "resolved", "session_record"),
    ("agreement", "resolved", "agreement"),
    ("agreement-for-signing", "signing", "agreement"),
    ("oral_agreement", "oral", "oral_agreement"),
    ("follow_up", "resolved", "follow_up"),
    ("judicial_confirmation", "resolved", "judicial_confirmation"),
    ("termination_notice", "litigation", "termination_notice"),
    ("timeline", "resolved", "timeline"),
    ("dossier", "resolved", "dossier"),
    ("dossier-open-case", "signing", "dossier"),
]


def main() -> None:
    """Render the samples and their page images."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("out", nargs="?", default=str(ROOT / "docs" / "samples"))
    parser.add_argument("--dpi", type=int, default=100)
    parser.add_argument("--no-png", action="store_true", help="write the PDFs only")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="samples-"))
    rt = Runtime(Config(instance=tmp, database_url=f"sqlite:///{tmp / 'samples.db'}",
                        secret_key="samples-secret", run_jobs_inline=False,
                        public_url=PUBLIC_URL))
    rt.db.create_all()
    world = f.DocumentWorld(rt).build()
    with rt.db.session() as session:
        cases = {"resolved": f.resolved_case(world, session, day=1),
                 "litigation": f.litigation_case(world, session, day=2),
                 "oral": f.oral_case(world, session, day=3),
                 "signing": f.signing_case(world, session, day=4)}
        session.commit()
        pdfs: dict[str, bytes] = {}
        for stem, kind, name in SAMPLES:
            try:
                pdfs[stem], _ = render_case_document(session, rt, cases[kind], name,
                                                     public_url=PUBLIC_URL)
            except Exception as exc:  # a document a case does not have yet: say so
                print(f"{stem}: not printed ({exc})")
        pdfs["monthly_report"] = monthly_report_pdf(session, "S1", "2025-03",
                                                    preparer="赵丽华", reviewer="陈志刚",
                                                    now=datetime(2025, 6, 1))
    for stem, pdf in pdfs.items():
        path = out / f"{stem}.pdf"
        path.write_bytes(pdf)
        if not args.no_png:
            for old in out.glob(f"{stem}-p*.png"):
                old.unlink()
            subprocess.run(["pdftoppm", "-r", str(args.dpi), "-png", str(path),
                            str(out / f"{stem}-p")], check=True)
        print(f"{path.relative_to(out.parent) if out.parent in path.parents else path}")
    rt.close()


if __name__ == "__main__":
    main()
