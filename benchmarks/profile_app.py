"""Profile the autosave and the pages in-process, on the benchmark's data, with pyinstrument.

    .venv/bin/pip install pyinstrument
    .venv/bin/python benchmarks/profile_app.py [--saves 300] [--views 50] [--all]
                                               [--postgresql] [--cpu]

Seeds a temporary instance like `run.py` does (2,000 administrations × 3 rounds, the
respondents, the facilitator), then profiles signed-in requests through the Flask test
client: autosaves, a principle page, the overview, the results page and the facilitator's
list. Prints one call tree each. With --postgresql, the same on a PostgreSQL cluster of its
own (tests/services.py), seeded with the respondents only: the call trees are of elapsed
time, so they show the waits for each statement's round trip to the server too. With
--cpu, no call trees: the CPU time of an autosave and of the bare upsert (bare_app.py) in
this process, and on PostgreSQL the database server's CPU per request, which a busy shared
machine moves much less than it moves req/s. A running gunicorn worker can be profiled with
py-spy instead (`py-spy record -p PID`) while `run.py --keep` or wrk drives it.
"""

from __future__ import annotations

import argparse
import itertools
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import harness  # noqa: E402
import run  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--saves", type=int, default=300)
    parser.add_argument("--views", type=int, default=50)
    parser.add_argument("--all", action="store_true", help="show library frames too")
    parser.add_argument("--postgresql", action="store_true",
                        help="on a PostgreSQL cluster started for the run, not SQLite")
    parser.add_argument("--cpu", action="store_true",
                        help="CPU per autosave and per bare upsert instead of call trees")
    args = parser.parse_args()
    try:
        from pyinstrument import Profiler
    except ImportError:
        if not args.cpu:
            raise SystemExit("pyinstrument is not installed: .venv/bin/pip install "
                             "pyinstrument") from None

    workdir = Path(tempfile.mkdtemp(prefix="cbassess-profile-"))
    server = run.PostgresServer() if args.postgresql else None
    try:
        if server:
            bench = run.Bench(run.PROFILES["full"], workdir,
                              database_url=server.create_database("cbassess"))
            bench.seed()
        else:
            bench = run.Bench(run.PROFILES["full"], workdir)
            bench.seed()
            bench.grow_to(1)
        email, assessment_id = bench.respondent_assessments[0]
        respondent = bench.signed_in_client(email)
        facilitator = bench.signed_in_client("facilitator@bench.example")
        keys = bench.indicator_keys
        counter = itertools.count()

        def save() -> None:
            n = next(counter)
            harness.post_answer(respondent, assessment_id, keys[n % len(keys)], str(n % 5),
                                f"Profile {time.time()} {n}")

        if args.cpu:
            database_cpu = ((lambda: harness.postgres_cpu_seconds(server.data)) if server
                            else None)
            bare = bare_client(bench.database_url)
            bare_keys = itertools.count()

            def bare_save() -> None:
                key = f"B{next(bare_keys) % 448}"
                bare.post(f"/save/{key}", data={f"{key}-evidence": f"Profile {time.time()}"})

            for name, call in (("autosave", save), ("bare upsert", bare_save)):
                print(f"{name:<12} {cpu_per_call(call, args.saves, database_cpu)}")
            bench.close()
            return 0
        principle = max(bench.principles, key=lambda p: p[1])[0]
        runs = [
            ("autosave", save, args.saves),
            ("principle page", lambda: respondent.get(
                f"/assessments/{assessment_id}/principles/{principle}"), args.views),
            ("overview", lambda: respondent.get(f"/assessments/{assessment_id}"), args.views),
            ("results", lambda: respondent.get(f"/assessments/{assessment_id}/results"),
             args.views),
            ("facilitator's list", lambda: facilitator.get("/assessments"), args.views),
        ]
        for name, call, count in runs:
            for _ in range(10):
                call()
            profiler = Profiler(interval=0.0005)
            profiler.start()
            for _ in range(count):
                call()
            profiler.stop()
            print(f"\n===== {name}: {count} requests =====")
            print(profiler.output_text(unicode=True, color=False, show_all=args.all))
        bench.close()
    finally:
        if server:
            server.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


def bare_client(database_url: str):
    """A test client of bare_app.py on the benchmark's database."""
    import bare_app

    bare_app.create_table(database_url)
    with run.environment({"BARE_DATABASE_URL": database_url}):
        return bare_app.create_app().test_client()


def cpu_per_call(call, count: int, database_cpu=None) -> str:
    """CPU of this thread per call (p50 and mean), and the database server's per call."""
    for _ in range(50):
        call()
    times = []
    database_before = database_cpu() if database_cpu else 0.0
    for _ in range(count):
        started = time.thread_time()
        call()
        times.append(time.thread_time() - started)
    line = (f"CPU in this process p50 {harness.percentile(times, 0.5) * 1000:.2f} ms, "
            f"mean {sum(times) / count * 1000:.2f} ms")
    if database_cpu:
        line += f"; database server {(database_cpu() - database_before) / count * 1000:.2f} ms"
    return line + f" ({count} requests)"


if __name__ == "__main__":
    sys.exit(main())
