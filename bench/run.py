"""``make bench`` / ``make bench-quick``: every figure in one run, then the lines side by side.

Each benchmark prints its figure lines (``P1 … ok`` / ``… short``) as it goes; at the end the
lines are printed again together, with the machine they were measured on. Progress goes to
standard error. Never asserts a time: the exit status is 0 unless a benchmark broke.

    .venv/bin/python bench/run.py [--quick] [--backends sqlite,postgresql] [--only P1,P7]
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import bench_engine, bench_peer, bench_scale
from bench.common import LINES, note


def machine() -> str:
    """What the figures were measured on."""
    load = os.getloadavg()
    return (f"{platform.python_implementation()} {platform.python_version()}, "
            f"{os.cpu_count()} cores, load {load[0]:.1f} at the start")


def main(argv: list[str] | None = None) -> int:
    """Run the benchmarks, then print every figure line together."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="small datasets and short runs (under two minutes)")
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--only", default="", help="comma-separated figure ids")
    parser.add_argument("--cases", type=int, default=None,
                        help="cases of the large datasets (default 1,000,000; quick 20,000)")
    args = parser.parse_args(argv)
    only = {x.strip().upper() for x in args.only.split(",") if x.strip()}
    start = time.perf_counter()
    header = machine()
    note(f"bench: {header}")

    def want(*ids: str) -> bool:
        return not only or bool(only & set(ids))

    if want("P1"):
        note("== P1: engine against its bare statements")
        bench_engine.main(["--backends", args.backends]
                          + (["--transitions", "500", "--seconds", "2", "--warmup", "40",
                              "--cases", "20"] if args.quick else []))
    if want("P2"):
        note("== P2: engine against a SpiffWorkflow peer")
        bench_peer.main(["--backends", args.backends,
                         "--cases", "150" if args.quick else "2000"])
    if want("P3", "P4"):
        note("== P3/P4: documents")
        from bench import bench_documents

        bench_documents.main()
    scale = [f for f in ("P5", "P6", "P7", "P8", "P9", "P10", "P11", "MEM") if want(f)]
    if scale:
        note("== P5-P11: a large dataset")
        bench_scale.main(["--backends", args.backends, "--only", ",".join(scale)]
                         + (["--quick"] if args.quick else [])
                         + (["--cases", str(args.cases), "--open-cases", str(args.cases)]
                            if args.cases else []))
    minutes = (time.perf_counter() - start) / 60
    print(f"\n== figures ({header}; {minutes:.1f} min{', quick' if args.quick else ''})")
    for line in LINES:
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
