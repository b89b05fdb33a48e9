"""Time one assessment's full PDF report and measure the rendering process's peak memory;
prints one JSON line.

Run by benchmarks/run.py with CBASSESS_INSTANCE_PATH set to the benchmark's instance:
    python benchmarks/pdf_probe.py --assessment ID --email E --password P --change-key PW.1

This process signs in (scrypt, tens of MB for a moment) and hands its session cookie to a
child process (`--child`), started afresh, which asks for the report once and reports:
the time of that first render (WeasyPrint's fonts and styles loaded on the way, as in a
worker that has not warmed up) and its own peak resident set from `resource.getrusage`
(the kernel's high-water mark of the process's whole life: Python, Flask, WeasyPrint and
the render, and nothing of the sign-in). Then this process, warmed up as a gunicorn worker
is when it starts (`report.warm_up`), times:

- "warm": a render in a warm process (the report is not in the cache yet): what someone
  asking a running server for a report waits;
- "cached": the same report asked again, unchanged (p50 of `--repeat`): the cache hit;
- "changed": a render after an answer changed (a cache miss again, in a warm process).

Each render's CPU time is given beside its elapsed time: on a machine shared with other
work, the elapsed time includes the time spent waiting for a core.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import harness  # noqa: E402

COOKIE_VARIABLE = "PDF_PROBE_SESSION"  # the session cookie, handed to the child


def _peak_mb() -> float:
    """This process's peak resident set so far (Linux gives ru_maxrss in KB)."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def _report(client, path: str, cpu: list[float] | None = None) -> tuple[float, bytes]:
    """Ask for the report; its elapsed time (and, into `cpu`, this process's CPU time for
    it: unlike the elapsed time, hardly moved by other work on a shared machine)."""
    started, cpu_started = time.perf_counter(), time.process_time()
    response = client.get(path)
    elapsed = time.perf_counter() - started
    if cpu is not None:
        cpu.append(time.process_time() - cpu_started)
    if response.status_code != 200 or not response.data.startswith(b"%PDF"):
        raise RuntimeError(f"{path} answered {response.status_code}")
    return elapsed, response.data


def _pages(pdf: bytes) -> int | None:
    try:
        from pypdf import PdfReader
    except ImportError:
        return None
    return len(PdfReader(io.BytesIO(pdf)).pages)


def child(path: str, cookie_name: str, cookie: str) -> int:
    """One first render in a fresh process, signed in by the parent's session cookie."""
    from cbassess import create_app

    app = create_app()
    client = app.test_client()
    client.environ_base["HTTP_USER_AGENT"] = harness.USER_AGENT
    client.set_cookie(cookie_name, cookie)
    before = _peak_mb()
    cpu: list[float] = []
    first, pdf = _report(client, path, cpu)
    print(json.dumps({"first_s": round(first, 3), "first_cpu_s": round(cpu[0], 3),
                      "peak_rss_mb": _peak_mb(),
                      "peak_before_render_mb": before, "pdf_bytes": len(pdf),
                      "pages": _pages(pdf)}))
    return 0


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--assessment", type=int, required=True)
    parser.add_argument("--email")
    parser.add_argument("--password")
    parser.add_argument("--change-key", help="the indicator whose answer is changed")
    parser.add_argument("--repeat", type=int, default=20, help="cached renders to time")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    path = f"/assessments/{args.assessment}/report.pdf"

    from cbassess import create_app
    from cbassess.report import warm_up

    app = create_app()
    cookie_name = app.config["SESSION_COOKIE_NAME"]
    if args.child:
        return child(path, cookie_name, os.environ[COOKIE_VARIABLE])

    client = harness.signed_in_test_client(app, args.email, args.password)
    cookie = client.get_cookie(cookie_name)
    completed = subprocess.run(
        [sys.executable, __file__, "--assessment", str(args.assessment), "--child"],
        env={**os.environ, COOKIE_VARIABLE: cookie.value}, capture_output=True, text=True,
        timeout=600)
    if completed.returncode != 0:
        raise RuntimeError(f"the rendering child failed: {completed.stderr[-2000:]}")
    fresh = json.loads(completed.stdout.strip().splitlines()[-1])

    warm_up(app.static_folder)  # as each gunicorn worker does when it starts
    cpu: list[float] = []
    warm, pdf = _report(client, path, cpu)
    cached_cpu: list[float] = []
    cached = sorted(_report(client, path, cached_cpu)[0] for _ in range(args.repeat))
    changed = None
    if args.change_key:
        saved = harness.post_answer(client, args.assessment, args.change_key, "3",
                                    "Changed evidence " + str(time.time()))
        if saved.status_code == 200:
            changed = _report(client, path, cpu)[0]
    print(json.dumps({
        "first_s": fresh["first_s"],
        "first_cpu_s": fresh["first_cpu_s"],
        "warm_s": round(warm, 3),
        "warm_cpu_s": round(cpu[0], 3),
        "changed_s": round(changed, 3) if changed is not None else None,
        "changed_cpu_s": round(cpu[1], 3) if changed is not None else None,
        "cached_ms": round(cached[len(cached) // 2] * 1000, 2),
        "cached_max_ms": round(cached[-1] * 1000, 2),
        "cached_cpu_ms": round(sorted(cached_cpu)[len(cached_cpu) // 2] * 1000, 2),
        "peak_rss_mb": fresh["peak_rss_mb"],
        "peak_before_render_mb": fresh["peak_before_render_mb"],
        "pdf_bytes": len(pdf),
        "pages": fresh["pages"],
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
