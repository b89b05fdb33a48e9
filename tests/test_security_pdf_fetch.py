"""The PDF renderer fetches nothing outside the app's static folder.

A small HTTP server on 127.0.0.1 counts every request it gets; report HTML that points at it
(images, stylesheets, CSS imports and backgrounds), at file:// URLs outside static/ and at
paths that climb out of static/ must be refused by the fetcher, and the server must see no
request. The same URLs typed into an answer's evidence reach the PDF as text only.
"""

from __future__ import annotations

import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from cbassess.report import StaticOnlyFetcher, clear_cache, render_pdf
from tests.conftest import pdf_text

STATIC = Path(__file__).resolve().parent.parent / "static"


class _Counting(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - the name http.server calls
        self.server.hits.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def listener():
    """An HTTP server on 127.0.0.1 that records each request; stopped after the test."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Counting)
    server.hits = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join()


def _outside_file(tmp_path: Path) -> Path:
    secret = tmp_path / "secret.css"
    secret.write_text("body { color: red }", encoding="utf-8")
    return secret


def _hostile_html(base: str, secret: Path) -> str:
    return f"""<!doctype html><html><head>
<link rel="stylesheet" href="report.css">
<link rel="stylesheet" href="{base}/style.css">
<link rel="stylesheet" href="{secret.as_uri()}">
<link rel="stylesheet" href="../pyproject.toml">
<style>@import url("{base}/imported.css"); body {{ background: url({base}/bg.png) }}</style>
</head><body><p>Report</p>
<img src="{base}/pixel.png"><img src="file:///etc/passwd"><img src="../cbassess/__init__.py">
<img src="file://{STATIC}/../README.md"><object data="{base}/object.svg"></object>
</body></html>"""


def test_render_pdf_refuses_every_url_outside_static(listener, tmp_path):
    clear_cache()
    base = f"http://127.0.0.1:{listener.server_address[1]}"
    fetcher = StaticOnlyFetcher(STATIC)
    pdf = render_pdf(_hostile_html(base, _outside_file(tmp_path)), STATIC, fetcher=fetcher)
    assert pdf.startswith(b"%PDF")
    refused = "\n".join(fetcher.refused)
    for url in (f"{base}/style.css", f"{base}/pixel.png", f"{base}/bg.png",
                f"{base}/imported.css", "file:///etc/passwd", "secret.css", "pyproject.toml",
                "cbassess/__init__.py", "README.md"):
        assert url in refused, url
    assert "report.css" not in refused and "DejaVuSans" not in refused


def test_render_pdf_makes_no_network_request(listener, tmp_path):
    clear_cache()
    base = f"http://127.0.0.1:{listener.server_address[1]}"
    render_pdf(_hostile_html(base, _outside_file(tmp_path)), STATIC,
               fetcher=StaticOnlyFetcher(STATIC))
    assert listener.hits == []


def test_fetcher_serves_files_inside_static(tmp_path):
    fetcher = StaticOnlyFetcher(STATIC)
    response = fetcher.fetch((STATIC / "report.css").as_uri())
    assert fetcher.refused == []
    assert b"Report Sans" in response.read()


def test_urls_in_evidence_cause_no_fetch_and_stay_text_in_the_pdf(respondent, a_id, listener):
    clear_cache()
    base = f"http://127.0.0.1:{listener.server_address[1]}"
    evidence = (f'<img src="{base}/evidence.png"> <link rel=stylesheet href="{base}/e.css"> '
                f'url({base}/bg.png) @import "{base}/i.css"; file:///etc/passwd')
    assert respondent.autosave(a_id, "PW.1", level=2, evidence=evidence).status_code == 200
    response = respondent.get(f"/assessments/{a_id}/report.pdf")
    assert response.status_code == 200
    assert listener.hits == []
    flat = re.sub(r"\s+", "", pdf_text(response.data))
    assert re.sub(r"\s+", "", f'<img src="{base}/evidence.png">') in flat
    assert "file:///etc/passwd" in flat
