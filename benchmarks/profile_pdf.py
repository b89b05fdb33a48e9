"""Profile one PDF report render in a warm process, with cProfile; prints where the time went.

    .venv/bin/python benchmarks/profile_pdf.py [--case small|large] [--top 40]

Seeds a temporary instance as `run.py --smoke` does (the completed 28-indicator assessment
with 1 KB of evidence each; `--case large` the large instrument's, 5 KB each), signs in,
warms WeasyPrint up as a gunicorn worker does, then renders the full report twice with
options that miss the cache, the second under cProfile. Prints the elapsed and CPU time of
each render and the profile's top functions, by cumulative and by own time.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import shutil
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import harness  # noqa: E402
import run  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--case", choices=("small", "large"), default="small")
    parser.add_argument("--top", type=int, default=40)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="cbassess-pdf-profile-"))
    try:
        # The smoke profile's seed, with the full-size large instrument (100 indicators).
        bench = run.Bench(replace(run.PROFILES["smoke"], large_report=(5, 20)), workdir)
        bench.seed()
        with run.environment(bench.env):
            from cbassess import create_app
            from cbassess.report import warm_up

            app = create_app()
            client = harness.signed_in_test_client(app, "report@bench.example", run.PASSWORD)
            warm_up(app.static_folder)
            assessment = (bench.report_assessment if args.case == "small"
                          else bench.large_report_assessment)
            path = f"/assessments/{assessment}/report.pdf"
            profile = cProfile.Profile()
            for number, options in enumerate(("?notes=1", "?notes=0")):
                started, cpu = time.perf_counter(), time.process_time()
                if number:
                    profile.enable()
                response = client.get(path + options)
                profile.disable()
                print(f"render {number + 1}: {time.perf_counter() - started:.2f} s elapsed, "
                      f"{time.process_time() - cpu:.2f} s CPU, {response.status_code}, "
                      f"{len(response.data) // 1024} KB")
        stats = pstats.Stats(profile)
        stats.sort_stats("cumulative").print_stats(args.top)
        stats.sort_stats("tottime").print_stats(args.top // 2)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
