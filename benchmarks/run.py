"""cbassess benchmark: the real app under gunicorn on loopback, measured against the bare stack.

    make bench                       # the full run; writes docs/PERFORMANCE.md
    .venv/bin/python benchmarks/run.py --quick    # the same steps, small (writes nothing)
    .venv/bin/python benchmarks/run.py --smoke    # tiny: proves the steps work (the test suite)

Every step prints its figures as it goes; the last line printed is one JSON object holding
every figure. The steps (numbered as in docs/PERFORMANCE.md):

1. autosave under load: wrk (a separate process) drives signed-in htmx saves at 16 and 64
   connections against gunicorn, then the same against benchmarks/bare_app.py (one upsert into
   the same SQLite file) under the same gunicorn configuration;
1b. the same on PostgreSQL: a throwaway cluster (tests/services.py) seeded the same way, the
   app and the bare upsert both on it, with the cluster's CPU per request counted too;
2. server-side render time of a principle page, the overview and the results page, timed in
   this process around the Flask test client (the app's whole dispatch: sign-in, queries,
   templates, after-request hooks; no network);
3. bytes of an autosave reply against the full principle page;
4. the full PDF report of a completed assessment, two cases: the shipped instrument's 28
   indicators with 1 KB of evidence each, and a 100-indicator instrument with 5 KB each
   (benchmarks/pdf_probe.py): the first render in a fresh process and its peak memory, a
   render in a warm process, the cached report;
5. and 6. scale: administrations × 3 rounds generated straight into the database, the
   facilitator's list, the dashboard (sorted several ways), the results page and review
   saves under load timed over HTTP against gunicorn, SQL statements counted per page, and
   the autosave load repeated, at 1×, 10× and 100× the data.

`--steps pdf,scale --sizes 1` runs only those steps (the seed always runs, and the data
step with the scale or autosave step), at only the sizes given; such a run writes its own
section of the figures file, beside the full run's.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import bare_app  # noqa: E402
import datagen  # noqa: E402
import harness  # noqa: E402
import large_instrument  # noqa: E402
import writeup  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402

from cbassess import portfolio  # noqa: E402
from tests.services import PostgresServer  # noqa: E402

PASSWORD = "benchmark-password-2026"
# The dashboard with a filter, a search and a sort on a computed column.
DASHBOARD_FILTERED = "/dashboard?status=validated&q=administration+0001&sort=queries"
# Sorted on the headline averages, each way, and the last page of one of them.
DASHBOARD_SORTED = {"dashboard_validated": "/dashboard?sort=validated",
                    "dashboard_claimed_asc": "/dashboard?sort=claimed&dir=asc"}
REVIEW_CLIENTS = 8  # facilitators saving reviews at once
REPORT_EVIDENCE_BYTES = 1024
LARGE_REPORT_EVIDENCE_BYTES = 5 * 1024  # per indicator, on the 100-indicator instrument
STEPS = ("autosave", "postgresql", "render", "pdf", "scale")
COUNTED_TABLES = ("organisations", "assessments", "answers", "answer_revisions")


@dataclass(frozen=True)
class Profile:
    """How big each step is."""

    name: str
    wrk_seconds: float  # per server and connection count, split into `rounds`
    rounds: int  # app and bare runs, alternating: the ratio is the median of the rounds'
    warmup_seconds: float
    connections: tuple[int, ...]
    respondents: int
    render_requests: int
    scale_base: int  # administrations at 1×
    multipliers: tuple[int, ...]
    page_requests: int
    pdf_repeats: int  # cached renders timed
    # The large PDF case: principles × indicators each, 5 KB of evidence per indicator.
    large_report: tuple[int, int] = (5, 20)


PROFILES = {
    "full": Profile("full", wrk_seconds=15, rounds=3, warmup_seconds=3, connections=(16, 64),
                    respondents=16, render_requests=500, scale_base=2000,
                    multipliers=(1, 10, 100), page_requests=200, pdf_repeats=20),
    "quick": Profile("quick", wrk_seconds=6, rounds=3, warmup_seconds=1, connections=(16, 64),
                     respondents=16, render_requests=100, scale_base=200,
                     multipliers=(1, 10), page_requests=50, pdf_repeats=10),
    "smoke": Profile("smoke", wrk_seconds=1, rounds=1, warmup_seconds=0, connections=(16, 64),
                     respondents=4, render_requests=10, scale_base=10,
                     multipliers=(1, 2), page_requests=5, pdf_repeats=2, large_report=(3, 2)),
}


def say(message: str) -> None:
    print(message, flush=True)


@contextmanager
def environment(variables: dict[str, str]) -> Iterator[None]:
    """`variables` set in os.environ for the block only, as they were before afterwards.

    create_app reads its CBASSESS_* settings from the environment: one run holds two apps
    (SQLite and PostgreSQL), and neither's settings may reach the other or a later step.
    """
    saved = {name: os.environ.get(name) for name in variables}
    os.environ.update(variables)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


class Bench:
    """One run: a temporary instance folder, its database, and the figures gathered.

    The database is the instance folder's SQLite file unless `database_url` names another
    (PostgreSQL); `database_cpu` then gives the database server's CPU seconds so far.
    """

    def __init__(self, profile: Profile, workdir: Path, database_url: str | None = None,
                 database_cpu: Callable[[], float] | None = None) -> None:
        self.profile = profile
        self.workdir = workdir
        self.instance = workdir / "instance"
        self.instance.mkdir(parents=True)
        self.db_path = self.instance / "cbassess.sqlite"
        self.database_url = database_url or f"sqlite:///{self.db_path}"
        self.on_sqlite = database_url is None
        self.database_cpu = database_cpu
        self._engine = None
        self.figures: dict = {"profile": profile.name}
        # The database named outright: a URI set in the shell must not reach the run.
        self.env = {"CBASSESS_INSTANCE_PATH": str(self.instance),
                    "CBASSESS_SQLALCHEMY_DATABASE_URI": self.database_url}
        (self.instance / "config.py").write_text(
            "# Written by benchmarks/run.py for one run.\n"
            f"SECRET_KEY = {os.urandom(16).hex()!r}\n"
            "# The run signs in a few dozen users from one address within seconds.\n"
            "LOGIN_LIMITS = '10000 per minute'\n"
            "# Each respondent saves hundreds of times a second, far beyond anyone typing:\n"
            "# the per-person limit is still checked on every save, it is just never reached.\n"
            "SAVE_LIMITS = '10000000 per minute'\n")
        from cbassess import create_app

        with environment(self.env):
            self.app = create_app()
        self.data_multiplier = 0

    def close(self) -> None:
        """Give back the connections this process holds (before a database server stops)."""
        from cbassess.extensions import db

        with self.app.app_context():
            db.engine.dispose()
        if self._engine is not None:
            self._engine.dispose()

    # -- data ---------------------------------------------------------------------------------

    def seed(self) -> None:
        """Users, the respondents' draft assessments and the completed report assessment."""
        from cbassess import answers as answer_store
        from cbassess.cli import init_db
        from cbassess.extensions import db
        from cbassess.models import Assessment, Instrument, Organisation, Role, User
        from cbassess.passwords import hash_password
        from cbassess.permissions import instrument_of

        with self.app.app_context():
            init_db()
            row = db.session.query(Instrument).filter_by(key="wco-cb-core-principles").one()
            hashed = hash_password(PASSWORD)
            respondents = []
            for number in range(self.profile.respondents):
                organisation = Organisation(name=f"Benchmark Administration {number:02d}",
                                            country_code="BX", region="Benchmark")
                user = User(email=f"respondent{number:02d}@bench.example",
                            name=f"Respondent {number:02d}", role=Role.RESPONDENT,
                            organisation=organisation, password_hash=hashed)
                assessment = Assessment(organisation=organisation, instrument_row=row,
                                        round_name="2026 benchmark round")
                db.session.add_all([organisation, user, assessment])
                respondents.append((user, assessment))
            report_org = Organisation(name="Report Administration", country_code="RP",
                                      region="Benchmark")
            report_user = User(email="report@bench.example", name="Report Respondent",
                               role=Role.RESPONDENT, organisation=report_org,
                               password_hash=hashed)
            report_assessment = Assessment(organisation=report_org, instrument_row=row,
                                           round_name="2026 complete round")
            facilitator = User(email="facilitator@bench.example", name="Facilitator",
                               role=Role.FACILITATOR, password_hash=hashed,
                               assigned_organisations=[report_org] + [
                                   a.organisation for _, a in respondents])
            admin = User(email="admin@bench.example", name="Admin", role=Role.ADMIN,
                         password_hash=hashed)
            db.session.add_all([report_org, report_user, report_assessment, facilitator, admin])
            db.session.commit()
            spec = instrument_of(report_assessment)
            filler = ("Decree 2025-114 and the minutes of the reform board, with the budget "
                      "execution reports for 2024 and 2025. ")
            inputs = []
            for position, indicator in enumerate(spec.indicators):
                evidence = (f"{indicator.key}: " + filler * 20)[:REPORT_EVIDENCE_BYTES]
                form = {f"{indicator.key}-level": str(position % 5),
                        f"{indicator.key}-evidence": evidence,
                        f"{indicator.key}-note": "Checked by the reform unit."}
                inputs.append(answer_store.parse_answer(spec, indicator.key, form))
            answer_store.save_answers(db.session, report_assessment.id, inputs, report_user.id)
            self.large_report_assessment = self._seed_large_report(report_org, report_user,
                                                                   filler)
            self.instrument_id = row.id
            self.indicator_keys = [i.key for i in spec.indicators]
            self.principles = [(p.key, len(p.indicators)) for p in spec.principles]
            self.indicator_keys = [i.key for i in spec.indicators]
            self.respondent_assessments = [
                (user.email, assessment.id) for user, assessment in respondents]
            self.report_assessment = report_assessment.id
            self.facilitator_id = facilitator.id
            self.admin_id = admin.id

    def _seed_large_report(self, organisation, user, filler: str) -> int:
        """A completed assessment on the large instrument (100 indicators but in the smoke
        run), 5 KB of evidence each."""
        from cbassess import answers as answer_store
        from cbassess import instrument_store
        from cbassess.extensions import db
        from cbassess.models import Assessment
        from cbassess.permissions import instrument_of

        principles, per_principle = self.profile.large_report
        row, _ = instrument_store.import_text(
            db.session, large_instrument.yaml_text(large_instrument.PRINCIPLES[:principles],
                                                   per_principle), "benchmark-large.yaml")
        assessment = Assessment(organisation=organisation, instrument_row=row,
                                round_name="2026 hundred indicators")
        db.session.add(assessment)
        db.session.commit()
        spec = instrument_of(assessment)
        inputs = []
        for position, indicator in enumerate(spec.indicators):
            evidence = (f"{indicator.key}: " + filler * 80)[:LARGE_REPORT_EVIDENCE_BYTES]
            form = {f"{indicator.key}-level": str(position % 5),
                    f"{indicator.key}-evidence": evidence,
                    f"{indicator.key}-note": "Checked by the reform unit."}
            inputs.append(answer_store.parse_answer(spec, indicator.key, form))
        answer_store.save_answers(db.session, assessment.id, inputs, user.id)
        self.large_report_key = spec.indicators[0].key
        self.large_report_size = len(spec.indicators)
        return assessment.id

    def grow_to(self, multiplier: int) -> dict:
        """Generate administrations until the database holds `multiplier` × the base."""
        if multiplier == self.data_multiplier:
            return {**self.data_info, **self.table_counts()}
        base = self.profile.scale_base
        started = time.perf_counter()
        generated = datagen.add_administrations(
            str(self.db_path), start=base * self.data_multiplier,
            count=base * (multiplier - self.data_multiplier), instrument_id=self.instrument_id,
            indicator_keys=self.indicator_keys, user_id=self.admin_id,
            facilitator_id=self.facilitator_id, assign_limit=base)
        if self.data_multiplier == 0:
            self.scale_assessments = generated[:200]
        self.data_multiplier = multiplier
        counts = self.table_counts()
        counts["generated_seconds"] = round(time.perf_counter() - started, 1)
        counts["database_mb"] = round(self.db_path.stat().st_size / 2**20, 1)
        self.data_info = counts
        return counts

    def table_counts(self) -> dict:
        return {table: self.count_rows(table) for table in COUNTED_TABLES}

    def count_rows(self, table: str) -> int:
        if self.on_sqlite:
            with sqlite3.connect(self.db_path) as connection:
                return connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        with self.engine().connect() as connection:
            return connection.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()

    def engine(self):
        """An engine of this process's own on the database server, for counts."""
        if self._engine is None:
            self._engine = create_engine(self.database_url)
        return self._engine

    # -- servers ------------------------------------------------------------------------------

    def app_server(self) -> harness.Server:
        return harness.Server("cbassess:create_app()", self.env, self.workdir / "gunicorn.log")

    def bare_server(self) -> harness.Server:
        return harness.Server("bare_app:create_app()", {"BARE_DATABASE_URL": self.database_url},
                              self.workdir / "gunicorn-bare.log", pythonpath=harness.BENCH_DIR)

    def app_targets(self, server: harness.Server) -> Path:
        """Sign every benchmark respondent in over HTTP; one line per (respondent, indicator).

        The lines go round the respondents (indicator 1 of each, then indicator 2, …): wrk
        takes them in order, so the saves in flight at one moment are different people's,
        each in their own assessment, as when many administrations type at once. Ordered
        person by person, nearly every save in flight was to one assessment, which a
        database server rightly makes wait for the one before (the assessment's row lock),
        and the load measured that queue instead of the server.
        """
        columns = []
        for email, assessment_id in self.respondent_assessments:
            client = harness.HttpClient(server.url)
            client.login(email, PASSWORD)
            columns.append(["\t".join([client.cookie_header(), client.token,
                                       f"/assessments/{assessment_id}/answers/{key}", key])
                            for key in self.indicator_keys])
        path = self.workdir / "targets-app.tsv"
        path.write_text("\n".join(itertools.chain.from_iterable(
            zip(*columns, strict=True))) + "\n")
        return path

    def bare_targets(self) -> Path:
        """The bare app's rows, in the same order as the app's targets."""
        lines = [f"\t\t/save/B{n}.{k}\tB{n}.{k}" for k in range(len(self.indicator_keys))
                 for n in range(self.profile.respondents)]
        path = self.workdir / "targets-bare.tsv"
        path.write_text("\n".join(lines) + "\n")
        return path

    def warm_up(self, server: harness.Server, targets: Path, connections: int) -> None:
        """An unmeasured wrk run, before the measured ones."""
        if self.profile.warmup_seconds:
            harness.run_wrk(server.url, targets, connections, self.profile.warmup_seconds)

    def load(self, server: harness.Server, targets: Path, connections: int,
             seconds: float | None = None) -> dict:
        """One measured wrk run; checks the saves reached the database."""
        revisions = self.count_rows("answer_revisions")
        cpu = server.cpu_seconds()
        database_cpu = self.database_cpu() if self.database_cpu else None
        result = harness.run_wrk(server.url, targets, connections,
                                 seconds or self.profile.wrk_seconds)
        # Server CPU per request: unlike req/s, hardly moved by other work on the machine.
        result["server_cpu_ms"] = round(
            (server.cpu_seconds() - cpu) * 1000 / max(result["requests"], 1), 2)
        if database_cpu is not None:  # a database server does part of the work elsewhere
            result["database_cpu_ms"] = round(
                (self.database_cpu() - database_cpu) * 1000 / max(result["requests"], 1), 2)
        result["revisions_written"] = self.count_rows("answer_revisions") - revisions
        return result

    # -- steps --------------------------------------------------------------------------------

    def step_autosave(self) -> None:
        say(f"\n[1] Autosave under load (wrk, separate process; {self.profile.rounds} "
            "alternating rounds of app and bare)")
        self.figures["autosave"] = self.measure_autosave()

    def measure_autosave(self) -> dict:
        """The app and the bare upsert, both running, measured in alternating rounds.

        Other work on a shared machine comes and goes over seconds to minutes: measuring
        all of one server and then all of the other let that drift decide the ratio. Each
        round runs one server then the other (the order alternating between rounds), so
        the two runs of a round see the same machine; the ratio is the median of the
        rounds' ratios, and each round's figures are printed and kept.
        """
        results: dict = {"app": {}, "bare": {}, "rounds": {}, "ratio": {}, "cpu_ratio": {},
                         "load_average": [os.getloadavg()[0]]}
        bare_app.create_table(self.database_url)  # once, before two workers would race
        servers = {"app": self.app_server(), "bare": self.bare_server()}
        with harness.running(servers["app"]), harness.running(servers["bare"]):
            targets = {"app": self.app_targets(servers["app"]), "bare": self.bare_targets()}
            seconds = self.profile.wrk_seconds / self.profile.rounds
            for connections in self.profile.connections:
                for kind in servers:
                    self.warm_up(servers[kind], targets[kind], connections)
                rounds = []
                for number in range(self.profile.rounds):
                    order = ("app", "bare") if number % 2 == 0 else ("bare", "app")
                    run = {kind: self.load(servers[kind], targets[kind], connections, seconds)
                           for kind in order}
                    run["bare"].pop("revisions_written")
                    run["ratio"] = (round(run["app"]["rps"] / run["bare"]["rps"], 3)
                                    if run["bare"]["rps"] else None)
                    rounds.append(run)
                    say(f"  round {number + 1} c={connections:<3} app  {_load_line(run['app'])}"
                        f"  revisions written {run['app']['revisions_written']}")
                    say(f"  round {number + 1} c={connections:<3} bare {_load_line(run['bare'])}"
                        f"  app/bare {run['ratio']}")
                key = str(connections)
                results["rounds"][key] = rounds
                for kind in servers:
                    results[kind][key] = combine_runs([run[kind] for run in rounds])
                ratios = [run["ratio"] for run in rounds if run["ratio"] is not None]
                results["ratio"][key] = round(statistics.median(ratios), 3) if ratios else None
                results["cpu_ratio"][key] = cpu_ratio(results["app"][key],
                                                      results["bare"][key])
                say(f"  app/bare throughput at c={connections}: {results['ratio'][key]} "
                    f"(median of the rounds; CPU per request, bare/app: "
                    f"{results['cpu_ratio'][key]})")
            # Paced: each of 16 connections pauses so that together they offer about half
            # the throughput just measured: the latency of a save on a server not saturated.
            saturated = results["app"]["16"]["rps"]
            pause = max(1, round(2 * 16 / max(saturated, 1) * 1000))
            result = harness.run_wrk(servers["app"].url, targets["app"], 16,
                                     self.profile.wrk_seconds, pause_ms=pause)
            results["app_paced"] = result
            say(f"  app  c=16 paced ({pause} ms between saves) {_load_line(result)}")
        results["worker_setup"] = _gunicorn_setup()
        results["load_average"].append(os.getloadavg()[0])
        return results

    def signed_in_client(self, email: str):
        """A Flask test client signed in as `email`, with its CSRF token."""
        return harness.signed_in_test_client(self.app, email, PASSWORD)

    def step_postgresql(self) -> None:
        """Step 1 again on PostgreSQL: a cluster of its own, seeded as the SQLite database
        was, the app and the bare upsert both on it; stopped at the end."""
        say(f"\n[1b] Autosave under load on PostgreSQL (a cluster of its own on loopback; "
            f"{self.profile.rounds} alternating rounds of app and bare)")
        server = PostgresServer()
        try:
            bench = Bench(self.profile, self.workdir / "postgresql",
                          database_url=server.create_database("cbassess"),
                          database_cpu=lambda: harness.postgres_cpu_seconds(server.data))
            try:
                bench.seed()
                results = bench.measure_autosave()
                results["server_version"] = bench.database_version()
                results["data"] = bench.table_counts()
            finally:
                bench.close()
        finally:
            server.stop()
        self.figures["postgresql"] = results

    def database_version(self) -> str:
        """The database's name and version, as the figures say what they were measured on."""
        if self.on_sqlite:
            return f"SQLite {sqlite3.sqlite_version}"
        with self.engine().connect() as connection:
            return "PostgreSQL " + connection.execute(text("SHOW server_version")).scalar_one()

    def step_render(self) -> None:
        say(f"\n[2] Server-side render time, in-process, {self.profile.render_requests} "
            "requests each")
        email, assessment_id = self.respondent_assessments[0]
        client = self.signed_in_client(email)
        principle_key = max(self.principles, key=lambda p: p[1])[0]
        pages = {
            "principle": f"/assessments/{assessment_id}/principles/{principle_key}",
            "overview": f"/assessments/{assessment_id}",
            "results": f"/assessments/{assessment_id}/results",
        }
        results = {}
        for name, path in pages.items():
            result = harness.time_requests(lambda path=path: client.get(path).status_code,
                                           self.profile.render_requests, warmup=20, cpu=True)
            result["path"] = path
            results[name] = result
            say(f"  {name:<10} p50 {result['p50_ms']:6.2f} ms  p99 {result['p99_ms']:6.2f} ms"
                f"  (CPU p50 {result['cpu_p50_ms']:.2f} ms)  {path}")
        self.figures["render"] = results

        say("\n[3] htmx economy: an autosave reply against the full principle page")
        page = client.get(pages["principle"])
        key = next(k for k in self.indicator_keys if k.startswith(principle_key + "."))
        reply = harness.post_answer(client, assessment_id, key, "2",
                                    f"Economy check {time.time()}")
        if reply.status_code != 200:
            raise RuntimeError(f"autosave answered {reply.status_code}")
        # The largest reply: a save that changes how many indicators are answered (here the
        # level is cleared, then set again) also carries the stepper total and its entry.
        replies = [harness.post_answer(client, assessment_id, key, level,
                                       f"Economy {time.time()}") for level in ("", "3")]
        largest = max(len(r.data) for r in replies)
        economy = {"autosave_bytes": len(reply.data), "page_bytes": len(page.data),
                   "percent": round(100 * len(reply.data) / len(page.data), 2),
                   "largest_autosave_bytes": largest,
                   "largest_percent": round(100 * largest / len(page.data), 2)}
        self.figures["economy"] = economy
        say(f"  autosave reply {economy['autosave_bytes']} B, principle page "
            f"{economy['page_bytes']} B: {economy['percent']} %; a save that changes the "
            f"number answered (stepper entry too): {largest} B, {economy['largest_percent']} %")

    def step_pdf(self) -> None:
        say("\n[4] Full PDF report of a completed assessment (benchmarks/pdf_probe.py)")
        cases = {
            "28 indicators, 1 KB evidence each": (self.report_assessment, "PW.1"),
            f"{self.large_report_size} indicators, 5 KB evidence each": (
                self.large_report_assessment, self.large_report_key),
        }
        results = {}
        for name, (assessment_id, change_key) in cases.items():
            load = os.getloadavg()[0]
            completed = subprocess.run(
                [sys.executable, str(harness.BENCH_DIR / "pdf_probe.py"),
                 "--assessment", str(assessment_id), "--email", "report@bench.example",
                 "--password", PASSWORD, "--change-key", change_key,
                 "--repeat", str(self.profile.pdf_repeats)],
                env={**os.environ, **self.env}, capture_output=True, text=True, timeout=900)
            if completed.returncode != 0:
                raise RuntimeError(f"pdf_probe failed: {completed.stderr[-2000:]}")
            result = json.loads(completed.stdout.strip().splitlines()[-1])
            result["load_average"] = [load, os.getloadavg()[0]]
            results[name] = result
            say(f"  {name}: first render {result['first_s']:.2f} s (CPU "
                f"{result['first_cpu_s']:.2f} s; new process), warm {result['warm_s']:.2f} s "
                f"(CPU {result['warm_cpu_s']:.2f} s), after a change {result['changed_s']:.2f} s, "
                f"cached {result['cached_ms']:.1f} ms, {result['pdf_bytes'] // 1024} KB, "
                f"{result['pages']} pages; peak memory of the rendering process "
                f"{result['peak_rss_mb']} MB ({result['peak_before_render_mb']} MB before "
                f"the render); load average {load:.2f} → {os.getloadavg()[0]:.2f}")
        self.figures["pdf"] = results

    def query_counts(self) -> dict:
        """SQL statements per page, counted on the in-process app's engine."""
        from cbassess.extensions import db

        email, assessment_id = self.respondent_assessments[0]
        respondent = self.signed_in_client(email)
        facilitator = self.signed_in_client("facilitator@bench.example")
        principle_key = self.principles[0][0]
        pages = [
            ("respondent list", respondent, "/assessments"),
            ("overview", respondent, f"/assessments/{assessment_id}"),
            ("principle", respondent,
             f"/assessments/{assessment_id}/principles/{principle_key}"),
            ("results (respondent)", respondent, f"/assessments/{assessment_id}/results"),
            ("facilitator list", facilitator, "/assessments"),
            ("facilitator list, page 2", facilitator, "/assessments?page=2"),
            ("results (facilitator)", facilitator,
             f"/assessments/{self.scale_assessments[0]}/results"),
            ("dashboard", facilitator, "/dashboard"),
            ("dashboard, filtered", facilitator, DASHBOARD_FILTERED),
            ("dashboard, by validated average", facilitator,
             DASHBOARD_SORTED["dashboard_validated"]),
        ]
        with self.app.app_context():
            engine = db.engine
        counts = {}
        for name, client, path in pages:
            client.get(path)
            with harness.QueryCounter(engine) as counter:
                status = client.get(path).status_code
            if status != 200:
                raise RuntimeError(f"{path} answered {status}")
            counts[name] = counter.count
        return counts

    def step_scale(self) -> None:
        base = self.profile.scale_base
        say(f"\n[5, 6] Scale: {base:,} administrations × 3 rounds at 1×, then "
            + ", ".join(f"{m}×" for m in self.profile.multipliers[1:]))
        results = {}
        for multiplier in self.profile.multipliers:
            counts = self.grow_to(multiplier)
            say(f"  {multiplier}×: {counts['organisations']:,} administrations, "
                f"{counts['assessments']:,} assessments, {counts['answers']:,} answers, "
                f"{counts['answer_revisions']:,} revisions, {counts['database_mb']} MB "
                f"(generated in {counts['generated_seconds']} s)")
            result = {"data": counts}
            server = self.app_server()
            with harness.running(server):
                result.update(self.scale_pages(server))
                if multiplier == self.profile.multipliers[0] and "autosave" in self.figures:
                    result["autosave_16"] = self.figures["autosave"]["app"]["16"]
                else:
                    targets = self.app_targets(server)
                    self.warm_up(server, targets, 16)
                    result["autosave_16"] = self.load(server, targets, 16)
            result["queries"] = self.query_counts()
            for name in ("facilitator_list", "facilitator_list_last", "admin_list", "results",
                         "dashboard", "dashboard_filtered", *DASHBOARD_SORTED,
                         "dashboard_last", "review_save"):
                figure = result[name]
                say(f"    {name:<22} p50 {figure['p50_ms']:7.2f} ms  p99 "
                    f"{figure['p99_ms']:7.2f} ms")
            say(f"    autosave c=16          {_load_line(result['autosave_16'])}")
            say("    SQL statements per page: " + ", ".join(
                f"{k} {v}" for k, v in result["queries"].items()))
            results[f"{multiplier}x"] = result
        first, *rest = results.values()
        constant = all(r["queries"] == first["queries"] for r in rest)
        say(f"  statements per page the same at every scale: {constant}")
        self.figures["scale"] = {"base_administrations": base, "by_multiplier": results,
                                 "queries_constant": constant}

    def scale_pages(self, server: harness.Server) -> dict:
        """The facilitator's list (first and last page), the admin's, results, the dashboard
        (default, filtered, sorted by each average, its last page) and review saves under
        load, over HTTP."""
        requests = self.profile.page_requests
        facilitator = harness.HttpClient(server.url)
        facilitator.login("facilitator@bench.example", PASSWORD)
        admin = harness.HttpClient(server.url)
        admin.login("admin@bench.example", PASSWORD)
        visible = (self.profile.scale_base * 3 + self.profile.respondents + 1)
        last_page = -(-visible // self.app.config["PAGE_SIZE"])
        dashboard_last = -(-visible // portfolio.PAGE_SIZE)
        rotation = itertools.count()
        load = os.getloadavg()[0]

        def results_page() -> int:
            assessment_id = self.scale_assessments[next(rotation) % len(self.scale_assessments)]
            return facilitator.request("GET", f"/assessments/{assessment_id}/results")[0]

        pages = {
            "facilitator_list": harness.time_requests(
                lambda: facilitator.request("GET", "/assessments")[0], requests),
            "facilitator_list_last": harness.time_requests(
                lambda: facilitator.request("GET", f"/assessments?page={last_page}")[0],
                requests),
            "admin_list": harness.time_requests(
                lambda: admin.request("GET", "/assessments")[0], requests),
            "results": harness.time_requests(results_page, requests),
            "dashboard": harness.time_requests(
                lambda: facilitator.request("GET", "/dashboard")[0], requests),
            "dashboard_filtered": harness.time_requests(
                lambda: facilitator.request("GET", DASHBOARD_FILTERED)[0], requests),
            **{name: harness.time_requests(
                lambda path=path: facilitator.request("GET", path)[0], requests)
               for name, path in DASHBOARD_SORTED.items()},
            "dashboard_last": harness.time_requests(
                lambda: facilitator.request(
                    "GET", f"/dashboard?sort=validated&page={dashboard_last}")[0], requests),
            "review_save": self.review_saves(server, REVIEW_CLIENTS, requests),
        }
        # The machine is shared: what else ran shows in its load while the pages were timed.
        pages["load_average"] = [load, os.getloadavg()[0]]
        return pages

    def review_saves(self, server: harness.Server, clients: int, per_client: int) -> dict:
        """Facilitators' review saves under load: `clients` signed-in facilitators at once,
        each saving reviews of its own submitted assessment, one after another."""
        targets = self.scale_assessments[:clients]
        with sqlite3.connect(self.db_path) as connection:  # generated data, put under review
            connection.executemany("UPDATE assessments SET status = 'submitted' WHERE id = ?",
                                   [(t,) for t in targets])
        keys = self.indicator_keys

        def run(assessment_id: int) -> list[float]:
            client = harness.HttpClient(server.url)
            client.login("facilitator@bench.example", PASSWORD)
            durations = []
            for n in range(per_client):
                key = keys[n % len(keys)]
                started = time.perf_counter()
                status = client.request(
                    "POST", f"/assessments/{assessment_id}/reviews/{key}",
                    form={f"{key}-review-level": str(n % 5), f"{key}-state": "accepted",
                          f"{key}-finding": f"Seen {n}"},
                    headers={"HX-Request": "true", "X-CSRFToken": client.token})[0]
                if status == 200:
                    durations.append(time.perf_counter() - started)
            return durations

        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=clients) as pool:
            durations = [d for result in pool.map(run, targets) for d in result]
        elapsed = time.perf_counter() - started
        with sqlite3.connect(self.db_path) as connection:
            connection.executemany("UPDATE assessments SET status = 'validated' WHERE id = ?",
                                   [(t,) for t in targets])
        result = harness.summary_ms(durations) if durations else {"n": 0}
        result["errors"] = clients * per_client - len(durations)
        result["clients"] = clients
        result["saves_per_s"] = round(len(durations) / elapsed, 1) if elapsed else None
        return result


def combine_runs(runs: list[dict]) -> dict:
    """Several wrk runs of one server as one figure.

    Requests, errors, revisions and CPU add up, and req/s is over the runs' total time;
    latency percentiles are the median of the runs' (wrk gives percentiles, not the
    latencies themselves), the maximum the largest.
    """
    requests = sum(run["requests"] for run in runs)
    seconds = sum(run["seconds"] for run in runs)
    combined = {
        "connections": runs[0]["connections"],
        "pause_ms": runs[0]["pause_ms"],
        "runs": len(runs),
        "requests": requests,
        "seconds": round(seconds, 2),
        "rps": round(requests / seconds, 1) if seconds else 0.0,
        **{name: round(statistics.median(run[name] for run in runs), 2)
           for name in ("p50_ms", "p90_ms", "p99_ms")},
        "max_ms": max(run["max_ms"] for run in runs),
        "errors": sum(run["errors"] for run in runs),
        "error_kinds": {kind: sum(run["error_kinds"].get(kind, 0) for run in runs)
                        for kind in {k for run in runs for k in run["error_kinds"]}},
        **{name: round(sum(run[name] * run["requests"] for run in runs) / max(requests, 1), 2)
           for name in ("server_cpu_ms", "database_cpu_ms") if all(name in run for run in runs)},
    }
    if all("revisions_written" in run for run in runs):
        combined["revisions_written"] = sum(run["revisions_written"] for run in runs)
    return combined


def cpu_ratio(app: dict, bare: dict) -> float | None:
    """Bare CPU per request over the app's: the throughput ratio without the noise.

    The CPU of the servers, and of the database server where there is one: on a machine
    whose cores all of them share, it is their sum that bounds the throughput.
    """
    app_ms, bare_ms = total_cpu_ms(app), total_cpu_ms(bare)
    return round(bare_ms / app_ms, 3) if app_ms and bare_ms else None


def total_cpu_ms(result: dict) -> float | None:
    """Server CPU per request, plus the database server's when it was measured."""
    if "server_cpu_ms" not in result:
        return None
    return result["server_cpu_ms"] + result.get("database_cpu_ms", 0)


def _load_line(result: dict) -> str:
    cpu = f"  server CPU {result['server_cpu_ms']} ms/req" if "server_cpu_ms" in result else ""
    if "database_cpu_ms" in result:
        cpu += f", database {result['database_cpu_ms']} ms/req"
    return (f"{result['rps']:8.1f} req/s  p50 {result['p50_ms']:6.2f} ms  p99 "
            f"{result['p99_ms']:6.2f} ms  errors {result['errors']}{cpu}")


def _gunicorn_setup() -> dict:
    """The worker settings gunicorn.conf.py gives, as used by every server in the run."""
    namespace: dict = {}
    exec(compile(harness.GUNICORN_CONF.read_text(), str(harness.GUNICORN_CONF), "exec"),
         namespace)
    return {k: namespace.get(k) for k in ("worker_class", "workers", "threads", "keepalive")}


def machine() -> dict:
    """What the figures were measured on."""
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = 0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                memory = round(int(line.split()[1]) / 2**20, 1)
    except OSError:
        pass
    wrk_version = subprocess.run([harness.wrk_path(), "-v"], capture_output=True,
                                 text=True).stdout.split("[")[0].strip()
    return {"cpu": model, "cores": os.cpu_count(), "memory_gb": memory,
            "load_average_before": os.getloadavg()[0],
            "system": f"{platform.system()} {platform.release()}",
            "python": platform.python_version(), "sqlite": sqlite3.sqlite_version,
            "load_generator": wrk_version}


def _steps(value: str) -> tuple[str, ...]:
    """`--steps`: known step names, in the run's own order."""
    names = {name.strip() for name in value.split(",") if name.strip()}
    unknown = names - set(STEPS)
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"unknown step(s) {', '.join(sorted(unknown))}; "
                                         f"choose among {', '.join(STEPS)}")
    return tuple(name for name in STEPS if name in names)


def _sizes(value: str) -> tuple[int, ...]:
    """`--sizes`: data multipliers, smallest first."""
    try:
        sizes = sorted({int(part) for part in value.split(",") if part.strip()})
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r}: give whole numbers, e.g. 1,10") from None
    if not sizes or sizes[0] < 1:
        raise argparse.ArgumentTypeError("sizes are whole numbers from 1")
    return tuple(sizes)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="the same steps, small")
    size.add_argument("--smoke", action="store_true", help="tiny: only proves the steps work")
    parser.add_argument("--output", type=Path,
                        help="Markdown file to write the figures into (default: "
                             "docs/PERFORMANCE.md for a full run, nothing otherwise)")
    parser.add_argument("--keep", action="store_true",
                        help="keep the temporary instance folder (printed at the end)")
    parser.add_argument("--steps", type=_steps, default=STEPS,
                        help=f"comma-separated, among {', '.join(STEPS)} (default: all)")
    parser.add_argument("--sizes", type=_sizes,
                        help="the data sizes of the scale step, e.g. 1 or 1,10 (default: the "
                             "profile's)")
    args = parser.parse_args(argv)
    profile = PROFILES["smoke" if args.smoke else "quick" if args.quick else "full"]
    if args.sizes:
        profile = replace(profile, multipliers=args.sizes)
    output = args.output or (harness.ROOT / "docs" / "PERFORMANCE.md"
                             if profile.name == "full" else None)
    if {"autosave", "postgresql", "scale"} & set(args.steps):
        harness.wrk_path()
    workdir = Path(tempfile.mkdtemp(prefix="cbassess-bench-"))
    started = time.perf_counter()
    say(f"cbassess benchmark ({profile.name}), working in {workdir}")
    try:
        bench = Bench(profile, workdir)
        figures = bench.figures
        figures["machine"] = machine()
        figures["started"] = datetime.now(UTC).isoformat(timespec="seconds")
        figures["steps"] = list(args.steps)
        figures["sizes"] = [f"{m}x" for m in profile.multipliers]
        wanted = {"seed", *args.steps}
        if {"autosave", "scale"} & wanted:
            wanted.add("data")
        steps = figures["step_seconds"] = {}
        for name, step in [("seed", bench.seed),
                           ("data", lambda: bench.grow_to(profile.multipliers[0])),
                           ("autosave", bench.step_autosave),
                           ("postgresql", bench.step_postgresql), ("render", bench.step_render),
                           ("pdf", bench.step_pdf), ("scale", bench.step_scale)]:
            if name not in wanted:
                continue
            step_started = time.perf_counter()
            step()
            steps[name] = round(time.perf_counter() - step_started, 1)
        figures["machine"]["load_average_after"] = os.getloadavg()[0]
    finally:
        if args.keep:
            say(f"Kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    figures["seconds"] = round(time.perf_counter() - started, 1)
    figures["goals"] = writeup.goals(figures)
    say("\nGoals:")
    for goal in figures["goals"]:
        say(f"  {'met    ' if goal['met'] else 'NOT MET'}  {goal['name']}: "
            f"{goal['value']} (goal {goal['goal']})")
    if output:
        writeup.write(output, figures)
        say(f"\nFigures written to {output}")
    print(json.dumps(figures, separators=(",", ":")), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
