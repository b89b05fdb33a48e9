"""PDF rendering with WeasyPrint, fetching nothing but the app's own static files.

The report is HTML rendered from templates/report/; WeasyPrint turns it into PDF. Its URL
fetcher refuses every URL that is not a file inside the static folder, so text typed by a
user can never make the server read a local file or call the network. Rendered PDFs are
cached by a hash of their HTML: the same content never costs a second render, and any
change to it (an answer, the status, the language) misses the cache by construction.
"""

from __future__ import annotations

import hashlib
import mimetypes
import threading
from collections import OrderedDict
from pathlib import Path
from urllib.parse import unquote, urlsplit

from weasyprint import HTML
from weasyprint.urls import URLFetcher, URLFetcherResponse

CACHE_SIZE = 32


class StaticOnlyFetcher(URLFetcher):
    """Serves file:// URLs inside one folder; refuses (and records) everything else."""

    def __init__(self, static_folder: str | Path) -> None:
        super().__init__(allowed_protocols=["file"])
        self.root = Path(static_folder).resolve()
        self.refused: list[str] = []

    def fetch(self, url: str, headers=None) -> URLFetcherResponse:
        parts = urlsplit(url)
        path = Path(unquote(parts.path)).resolve() if parts.scheme == "file" else None
        if path is None or parts.netloc not in ("", "localhost") or not path.is_relative_to(
                self.root) or not path.is_file():
            self.refused.append(url)
            raise ValueError(f"refused to fetch {url!r}: only the app's static files are allowed")
        content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return URLFetcherResponse(path.as_uri(), path.read_bytes(),
                                  {"Content-Type": content_type})


_cache: OrderedDict[str, bytes] = OrderedDict()
_cache_lock = threading.Lock()


def render_pdf(html: str, static_folder: str | Path,
               fetcher: StaticOnlyFetcher | None = None) -> bytes:
    """Render report HTML to PDF bytes; relative URLs resolve inside the static folder."""
    digest = hashlib.sha256(html.encode("utf-8")).hexdigest()
    with _cache_lock:
        if digest in _cache:
            _cache.move_to_end(digest)
            return _cache[digest]
    fetcher = fetcher or StaticOnlyFetcher(static_folder)
    base_url = Path(static_folder).resolve().as_uri() + "/"
    pdf = HTML(string=html, base_url=base_url, url_fetcher=fetcher).write_pdf()
    with _cache_lock:
        _cache[digest] = pdf
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
    return pdf


def clear_cache() -> None:
    """Forget every rendered PDF (tests and benchmarks measure a first render with it)."""
    with _cache_lock:
        _cache.clear()


def warm_up(static_folder: str | Path) -> None:
    """Render a one-line document with the report's stylesheet and fonts, not cached.

    WeasyPrint loads fonts and builds its font configuration on its first render, which
    adds a few tenths of a second; a server calls this when a worker starts, so the first
    person to ask for a report does not wait for it.
    """
    base_url = Path(static_folder).resolve().as_uri() + "/"
    HTML(string='<link rel="stylesheet" href="report.css"><h1>cbassess</h1><p>Report</p>',
         base_url=base_url, url_fetcher=StaticOnlyFetcher(static_folder)).write_pdf()
