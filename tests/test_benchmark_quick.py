"""The benchmark still runs: every step, tiny (`benchmarks/run.py --smoke`).

Only that it works is checked: it exits 0, ends with one line of JSON holding every
figure, and writes its Markdown section. Timings are never asserted here; the figures are
meaningful only from a full run on a quiet machine (docs/PERFORMANCE.md).

The run measures SQLite and a PostgreSQL cluster of its own whatever the suite's database,
so it runs once, in the SQLite run of the suite.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.services import postgres_bin

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = 240  # seconds; a smoke run takes well under a minute on a quiet machine

pytestmark = [pytest.mark.slow, pytest.mark.sqlite_only]


@pytest.mark.skipif(shutil.which("wrk") is None,
                    reason="wrk is not installed (scripts/system-deps.sh test installs it)")
@pytest.mark.skipif(postgres_bin() is None,
                    reason="PostgreSQL is not installed (scripts/system-deps.sh test installs it)")
def test_smoke_run_completes_and_reports_every_figure(tmp_path):
    output = tmp_path / "PERFORMANCE.md"
    output.write_text("# Performance\n\nHand-written text stays.\n")
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "benchmarks" / "run.py"), "--smoke", "--output",
         str(output)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True)
    try:
        out, _ = process.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)  # the run and the servers it started
        out, _ = process.communicate()
        pytest.fail(f"the smoke run took over {TIMEOUT} s:\n{out[-3000:]}")
    assert process.returncode == 0, out[-3000:]

    figures = json.loads(out.strip().splitlines()[-1])
    assert figures["profile"] == "smoke"
    for step in ("autosave", "postgresql", "render", "economy", "pdf", "scale", "goals",
                 "machine"):
        assert step in figures, step
    for database in ("autosave", "postgresql"):
        autosave = figures[database]
        for server in ("app", "bare"):
            assert set(autosave[server]) == {"16", "64"}, database
            for run in autosave[server].values():
                # Refused saves (a broken sign-in or CSRF header) would be status errors.
                assert run["requests"] > 0 and "status" not in run["error_kinds"], run
        assert all(run["revisions_written"] > 0 for run in autosave["app"].values()), database
        assert set(autosave["ratio"]) == {"16", "64"}, database
    postgresql = figures["postgresql"]
    assert postgresql["server_version"].startswith("PostgreSQL ")
    # The cluster's own processes are measured too: the saves cost it CPU.
    assert all(run["database_cpu_ms"] > 0 for run in postgresql["app"].values())
    assert "database_cpu_ms" not in figures["autosave"]["app"]["16"]
    assert set(figures["render"]) == {"principle", "overview", "results"}
    assert set(figures["pdf"]) == {"28 indicators, 1 KB evidence each",
                                   "6 indicators, 5 KB evidence each"}
    for case in figures["pdf"].values():
        assert case["pdf_bytes"] > 0 and case["pages"] > 0
        # The rendering child's peak covers at least what it held before the render.
        assert case["peak_rss_mb"] >= case["peak_before_render_mb"] > 0
    assert set(figures["scale"]["by_multiplier"]) == {"1x", "2x"}
    scale = figures["scale"]["by_multiplier"]["1x"]
    for page in ("dashboard", "dashboard_validated", "dashboard_claimed_asc", "dashboard_last"):
        assert scale[page]["n"] > 0, page  # every request answered 200
    assert scale["review_save"]["errors"] == 0
    assert all(goal.keys() >= {"name", "value", "goal", "met"} for goal in figures["goals"])
    goal_names = [goal["name"] for goal in figures["goals"]]
    assert {"PostgreSQL: autosave throughput / bare, 16 connections",
            "PostgreSQL: autosave throughput / bare, 64 connections"} <= set(goal_names)

    written = output.read_text()
    assert "Hand-written text stays." in written
    assert "<!-- benchmark figures: begin" in written and "### Goals" in written
    assert "### 1b. Autosave under load on PostgreSQL" in written
    assert "by validated average" in written and "review save" in written


def test_a_run_of_some_steps_writes_its_own_section_beside_the_full_runs(tmp_path,
                                                                        monkeypatch):
    """`--steps` and `--sizes` are checked, and such a run's figures go between markers of
    their own: the full run's figures stay."""
    monkeypatch.syspath_prepend(str(ROOT / "benchmarks"))
    run, writeup = importlib.import_module("run"), importlib.import_module("writeup")
    assert run._steps("scale,pdf") == ("pdf", "scale")  # in the run's own order
    assert run._sizes("10,1") == (1, 10)
    for bad in ("pdf,nonsense", ""):
        with pytest.raises(argparse.ArgumentTypeError):
            run._steps(bad)
    with pytest.raises(argparse.ArgumentTypeError):
        run._sizes("0")

    output = tmp_path / "PERFORMANCE.md"
    output.write_text(f"# Performance\n\n{writeup.BEGIN}\nthe full run\n{writeup.END}\n")
    figures = {"profile": "full", "started": "2026-11-30T07:00:00+00:00", "seconds": 1.0,
               "steps": ["pdf"], "sizes": ["1x"],
               "machine": {"cpu": "CPU", "cores": 2, "memory_gb": 1, "system": "Linux",
                           "python": "3", "sqlite": "3", "load_generator": "wrk",
                           "load_average_before": 1.0, "load_average_after": 2.0},
               "pdf": {"28 indicators, 1 KB evidence each": {
                   "first_s": 2.5, "warm_s": 1.5, "changed_s": 1.4, "cached_ms": 20.0,
                   "cached_max_ms": 30.0, "peak_rss_mb": 250.0, "peak_before_render_mb": 150.0,
                   "pdf_bytes": 2048, "pages": 19, "load_average": [1.0, 2.0]}}}
    figures["goals"] = writeup.goals(figures)
    assert [(g["name"].split(": ")[-1], g["met"]) for g in figures["goals"]] == [
        ("render in a warm worker", True), ("first render in a new process", False),
        ("unchanged, from the cache", True), ("peak memory of the rendering process", True)]
    writeup.write(output, figures)
    writeup.write(output, figures)  # again: replaced, not appended twice
    written = output.read_text()
    assert "the full run" in written
    assert written.count("<!-- benchmark figures (pdf; sizes 1x): begin") == 1
    assert "| 28 indicators, 1 KB evidence each | 2.5 s | 1.5 s | 1.4 s |" in written


def test_each_database_of_a_run_keeps_its_settings_to_itself(tmp_path, monkeypatch):
    """The SQLite and the PostgreSQL app of one run each get their own instance folder and
    database, and neither's CBASSESS_* settings are left in the environment for the steps
    that follow (the PDF probe and the scale servers inherit it)."""
    monkeypatch.syspath_prepend(str(ROOT / "benchmarks"))
    monkeypatch.setenv("CBASSESS_SQLALCHEMY_DATABASE_URI", "sqlite:////nowhere/from-the-shell")
    run = importlib.import_module("run")
    before = dict(os.environ)

    sqlite = run.Bench(run.PROFILES["smoke"], tmp_path / "sqlite")
    postgresql_url = "postgresql+psycopg://postgres@127.0.0.1:9/cbassess"
    postgresql = run.Bench(run.PROFILES["smoke"], tmp_path / "postgresql",
                           database_url=postgresql_url)

    assert dict(os.environ) == before
    assert sqlite.app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{sqlite.db_path}"
    assert postgresql.app.config["SQLALCHEMY_DATABASE_URI"] == postgresql_url
    assert sqlite.app.instance_path != postgresql.app.instance_path
    assert sqlite.env["CBASSESS_INSTANCE_PATH"] == sqlite.app.instance_path
