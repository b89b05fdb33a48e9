"""The benchmark still runs: every step, tiny (`benchmarks/run.py --smoke`).

Only that it works is checked: it exits 0, ends with one line of JSON holding every
figure, and writes its Markdown section. Timings are never asserted here; the figures are
meaningful only from a full run on a quiet machine (docs/PERFORMANCE.md).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = 240  # seconds; a smoke run takes well under a minute on a quiet machine

pytestmark = pytest.mark.slow


@pytest.mark.skipif(shutil.which("wrk") is None,
                    reason="wrk is not installed (scripts/system-deps.sh test installs it)")
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
    for step in ("autosave", "render", "economy", "pdf", "scale", "goals", "machine"):
        assert step in figures, step
    for server in ("app", "bare"):
        assert set(figures["autosave"][server]) == {"16", "64"}
        for run in figures["autosave"][server].values():
            # Refused saves (a broken sign-in or CSRF header) would be status errors.
            assert run["requests"] > 0 and "status" not in run["error_kinds"], run
    assert all(run["revisions_written"] > 0 for run in figures["autosave"]["app"].values())
    assert set(figures["render"]) == {"principle", "overview", "results"}
    assert figures["pdf"]["pdf_bytes"] > 0
    assert set(figures["scale"]["by_multiplier"]) == {"1x", "2x"}
    assert all(goal.keys() >= {"name", "value", "goal", "met"} for goal in figures["goals"])

    written = output.read_text()
    assert "Hand-written text stays." in written
    assert "<!-- benchmark figures: begin" in written and "### Goals" in written
