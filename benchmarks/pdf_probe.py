"""Time the PDF report in a fresh process and read its peak memory; prints one JSON line.

Run by benchmarks/run.py with CBASSESS_INSTANCE_PATH set to the benchmark's instance:
    python benchmarks/pdf_probe.py --assessment ID --email E --password P

"first" is the first report this process renders (WeasyPrint's fonts and styles loaded
on the way, as in a newly started worker); "changed" renders again after an answer
changed (a cache miss in a warm process); "cached" asks again for unchanged content.
Peak memory is the process's peak resident set (VmHWM), everything included (Python, Flask,
WeasyPrint), counted from after sign-in.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import harness  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--assessment", type=int, required=True)
    parser.add_argument("--email", required=True)
    parser.add_argument("--password", required=True)
    parser.add_argument("--repeat", type=int, default=20, help="cached renders to time")
    args = parser.parse_args()

    from cbassess import create_app

    client = harness.signed_in_test_client(create_app(), args.email, args.password)
    path = f"/assessments/{args.assessment}/report.pdf"
    # Signing in hashed a password with scrypt (tens of MB for a moment): start the peak
    # from here, so it is the report's.
    peak_reset = harness.reset_peak_memory()
    rss_before = harness.memory_mb("VmRSS")

    def render() -> tuple[float, bytes]:
        started = time.perf_counter()
        response = client.get(path)
        elapsed = time.perf_counter() - started
        if response.status_code != 200 or not response.data.startswith(b"%PDF"):
            raise RuntimeError(f"{path} answered {response.status_code}")
        return elapsed, response.data

    first, pdf = render()
    cached = sorted(render()[0] for _ in range(args.repeat))
    saved = harness.post_answer(client, args.assessment, "PW.1", "3",
                                "Changed evidence " + str(time.time()))
    changed = None
    if saved.status_code == 200:
        changed = render()[0]
    pages = None
    try:
        from pypdf import PdfReader

        pages = len(PdfReader(io.BytesIO(pdf)).pages)
    except ImportError:
        pass
    print(json.dumps({
        "first_s": round(first, 3),
        "changed_s": round(changed, 3) if changed is not None else None,
        "cached_ms": round(cached[len(cached) // 2] * 1000, 2),
        "cached_max_ms": round(cached[-1] * 1000, 2),
        "peak_rss_mb": harness.memory_mb("VmHWM"),
        "rss_before_mb": rss_before,
        "peak_since_sign_in": peak_reset,
        "pdf_bytes": len(pdf),
        "pages": pages,
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
