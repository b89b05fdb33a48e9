"""What the benchmark steps share: gunicorn processes, HTTP and in-process clients, wrk,
timing and counts."""

from __future__ import annotations

import http.client
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlencode

from sqlalchemy import event

ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = ROOT / "benchmarks"
VENV_BIN = Path(sys.executable).parent
GUNICORN_CONF = ROOT / "cbassess" / "gunicorn.conf.py"
USER_AGENT = "cbassess-benchmark/1"  # the same for sign-in and load: sessions are "strong"
_CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|"X-CSRFToken": "([^"]+)"')


def csrf_from(html: str) -> str:
    """The CSRF token a page carries (form field or htmx header)."""
    match = _CSRF.search(html)
    if not match:
        raise RuntimeError("no CSRF token on the page")
    return match.group(1) or match.group(2)


def free_port() -> int:
    """A free TCP port on loopback."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def percentile(values: list[float], share: float) -> float:
    """The `share` (0–1) percentile by the nearest-rank rule."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(share * len(ordered) + 0.5)))
    return ordered[rank - 1]


def summary_ms(seconds: list[float]) -> dict:
    """p50, p99, mean and max of durations given in seconds, in milliseconds."""
    return {"p50_ms": round(percentile(seconds, 0.50) * 1000, 2),
            "p99_ms": round(percentile(seconds, 0.99) * 1000, 2),
            "mean_ms": round(statistics.fmean(seconds) * 1000, 2),
            "max_ms": round(max(seconds) * 1000, 2),
            "n": len(seconds)}


class Server:
    """One gunicorn on 127.0.0.1 with the project's config file; stopped by `stop()`."""

    def __init__(self, app_spec: str, env: dict[str, str], log_path: Path,
                 pythonpath: Path | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        args = [str(VENV_BIN / "gunicorn"), "-c", str(GUNICORN_CONF),
                "--bind", f"127.0.0.1:{self.port}"]
        if pythonpath:
            args += ["--pythonpath", str(pythonpath)]
        args.append(app_spec)
        self.log = open(log_path, "ab")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(args, cwd=ROOT, env={**os.environ, **env},
                                        stdout=self.log, stderr=subprocess.STDOUT)

    def wait_ready(self, path: str = "/healthz", timeout: float = 30.0) -> None:
        """Block until the server answers `path` with 200."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.process.returncode}; "
                                   f"see {self.log.name}")
            try:
                connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                connection.request("GET", path)
                if connection.getresponse().status == 200:
                    connection.close()
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"gunicorn did not answer {path} within {timeout} s")

    def worker_pids(self) -> list[int]:
        """Process ids of the gunicorn workers (children of the master)."""
        return child_pids(self.process.pid)

    def cpu_seconds(self) -> float:
        """CPU time (user + system) used so far by the master and its live workers."""
        return sum(process_cpu_seconds(pid) for pid in [self.process.pid, *self.worker_pids()])

    def stop(self) -> None:
        """Graceful stop (SIGTERM), then kill if it lingers."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


def child_pids(pid: int) -> list[int]:
    """Process ids of the children of a (single-threaded) process."""
    try:
        return [int(child) for child in
                Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def process_cpu_seconds(pid: int, reaped_children: bool = False) -> float:
    """CPU time (user + system) a process has used so far, from /proc (0 if it is gone).

    With `reaped_children`, also that of its children which have exited and been waited for.
    """
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    ticks = int(fields[11]) + int(fields[12])  # utime, stime
    if reaped_children:
        ticks += int(fields[13]) + int(fields[14])  # cutime, cstime
    return ticks / os.sysconf("SC_CLK_TCK")


def postgres_cpu_seconds(data_dir: Path) -> float:
    """CPU time a PostgreSQL cluster has used so far: the postmaster, its live processes
    (a backend per pooled connection, the writers) and those that have exited."""
    postmaster = int((data_dir / "postmaster.pid").read_text().split()[0])
    return (process_cpu_seconds(postmaster, reaped_children=True)
            + sum(process_cpu_seconds(pid) for pid in child_pids(postmaster)))


@contextmanager
def running(server: Server) -> Iterator[Server]:
    """Start-to-stop scope for a server."""
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()


class HttpClient:
    """A keep-alive HTTP/1.1 client for one user on loopback, keeping its cookies."""

    def __init__(self, base_url: str) -> None:
        host, port = base_url.removeprefix("http://").split(":")
        self.connection = http.client.HTTPConnection(host, int(port), timeout=60)
        self.cookies: dict[str, str] = {}
        self.token: str | None = None

    def request(self, method: str, path: str, form: dict | None = None,
                headers: dict | None = None) -> tuple[int, bytes, dict]:
        all_headers = {"User-Agent": USER_AGENT, **(headers or {})}
        if self.cookies:
            all_headers["Cookie"] = self.cookie_header()
        body = None
        if form is not None:
            body = urlencode(form)
            all_headers["Content-Type"] = "application/x-www-form-urlencoded"
        for attempt in (1, 2):
            try:
                self.connection.request(method, path, body=body, headers=all_headers)
                response = self.connection.getresponse()
                data = response.read()
                break
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.connection.close()  # a keep-alive connection the server closed
                if attempt == 2:
                    raise
        for header, value in response.getheaders():
            if header.lower() == "set-cookie":
                name, _, rest = value.partition("=")
                self.cookies[name.strip()] = rest.split(";", 1)[0]
        if response.getheader("Connection", "").lower() == "close":
            self.connection.close()
        return response.status, data, dict(response.getheaders())

    def login(self, email: str, password: str) -> None:
        """Sign in like a browser would, then keep the CSRF token of the next page."""
        _, page, _ = self.request("GET", "/login")
        status, _, headers = self.request("POST", "/login", form={
            "email": email, "password": password, "csrf_token": csrf_from(page.decode())})
        if status != 302:
            raise RuntimeError(f"sign-in of {email} answered {status}")
        status, page, _ = self.request("GET", "/assessments")
        if status != 200:
            raise RuntimeError(f"/assessments answered {status} after sign-in")
        self.token = csrf_from(page.decode())

    def cookie_header(self) -> str:
        return "; ".join(f"{k}={v}" for k, v in self.cookies.items())


def signed_in_test_client(app, email: str, password: str):
    """A Flask test client of `app` signed in as `email`, with its CSRF token as `.token`."""
    client = app.test_client()
    client.environ_base["HTTP_USER_AGENT"] = USER_AGENT
    page = client.get("/login")
    client.post("/login", data={"email": email, "password": password,
                                "csrf_token": csrf_from(page.text)})
    listing = client.get("/assessments")
    if listing.status_code != 200:
        raise RuntimeError(f"in-process sign-in of {email} failed")
    client.token = csrf_from(listing.text)
    return client


def post_answer(client, assessment_id: int, key: str, level: str, evidence: str):
    """An htmx autosave of one answer through a signed-in test client; the response."""
    return client.post(f"/assessments/{assessment_id}/answers/{key}",
                       data={f"{key}-level": level, f"{key}-evidence": evidence,
                             f"{key}-note": ""},
                       headers={"HX-Request": "true", "X-CSRFToken": client.token})


def time_requests(fetch: Callable[[], int], count: int, warmup: int = 3,
                  cpu: bool = False) -> dict:
    """Call `fetch` (which returns an HTTP status) `count` times; timings of the 200s.

    With `cpu`, also the CPU time of this thread per call (for work done in this process:
    unlike the elapsed time, it hardly moves when other programs load the machine).
    """
    for _ in range(warmup):
        fetch()
    durations, cpu_times, errors = [], [], 0
    for _ in range(count):
        started, cpu_started = time.perf_counter(), time.thread_time()
        status = fetch()
        elapsed, cpu_elapsed = time.perf_counter() - started, time.thread_time() - cpu_started
        if status == 200:
            durations.append(elapsed)
            cpu_times.append(cpu_elapsed)
        else:
            errors += 1
    result = summary_ms(durations) if durations else {"n": 0}
    if cpu and cpu_times:
        result["cpu_p50_ms"] = round(percentile(cpu_times, 0.5) * 1000, 2)
    result["errors"] = errors
    return result


def wrk_path() -> str:
    """The wrk binary, or a clear message on how to get it."""
    found = shutil.which("wrk")
    if not found:
        raise SystemExit("wrk is not installed: run `scripts/system-deps.sh bench` "
                         "(or apt-get install wrk)")
    return found


def run_wrk(url: str, targets_file: Path, connections: int, duration: float,
            threads: int = 2, pause_ms: int | None = None) -> dict:
    """Drive POSTs from autosave.lua at `url` and return wrk's figures as a dict.

    With `pause_ms`, each connection waits that long after every reply (a paced load).
    """
    threads = min(threads, connections)
    args = [wrk_path(), f"-t{threads}", f"-c{connections}", f"-d{max(1, round(duration))}s",
            "--timeout", "10s", "-s", str(BENCH_DIR / "autosave.lua"), url]
    env = {**os.environ, "BENCH_TARGETS": str(targets_file), "BENCH_USER_AGENT": USER_AGENT,
           "BENCH_RUN": str(time.time_ns())}
    if pause_ms is not None:
        env["BENCH_DELAY_MS"] = str(pause_ms)
    completed = subprocess.run(args, env=env, capture_output=True, text=True,
                               timeout=duration + 60)
    if completed.returncode != 0:
        raise RuntimeError(f"wrk failed: {completed.stderr or completed.stdout}")
    line = next(line for line in completed.stdout.splitlines() if line.startswith("{"))
    raw = json.loads(line)
    seconds = raw["duration_us"] / 1e6
    errors = raw["errors"]
    return {
        "connections": connections,
        "pause_ms": pause_ms,
        "requests": raw["requests"],
        "seconds": round(seconds, 2),
        "rps": round(raw["requests"] / seconds, 1),
        "p50_ms": round(raw["latency_us"]["p50"] / 1000, 2),
        "p90_ms": round(raw["latency_us"]["p90"] / 1000, 2),
        "p99_ms": round(raw["latency_us"]["p99"] / 1000, 2),
        "max_ms": round(raw["latency_us"]["max"] / 1000, 2),
        "errors": sum(errors.values()),
        "error_kinds": {k: v for k, v in errors.items() if v},
    }


class QueryCounter:
    """Counts the SQL statements an engine executes while active (cursor-level event)."""

    def __init__(self, engine) -> None:
        self.engine = engine
        self.statements: list[str] = []

    def _record(self, conn, cursor, statement, parameters, context, executemany) -> None:
        self.statements.append(statement)

    def __enter__(self) -> QueryCounter:
        event.listen(self.engine, "before_cursor_execute", self._record)
        return self

    def __exit__(self, *exc) -> None:
        event.remove(self.engine, "before_cursor_execute", self._record)

    @property
    def count(self) -> int:
        return len(self.statements)


def memory_mb(field: str = "VmHWM", pid: int | str = "self") -> float:
    """A memory figure of a process from /proc (VmHWM: peak resident; VmRSS: now), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def reset_peak_memory() -> bool:
    """Start the peak (VmHWM) of this process again from what it holds now (Linux)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True
