"""The report's options and sections, and PDF rendering with WeasyPrint, fetching nothing
but the app's own static files.

The report is HTML rendered from templates/report/ (the browser preview shows the very same
HTML); WeasyPrint turns it into a tagged PDF (PDF/UA-1: title, language, bookmarks, the
structure tree, text alternatives for the charts). Its URL fetcher refuses every URL that
is not a file inside the static folder, so text typed by a user can never make the server
read a local file or call the network; fonts beyond the bundled one come from the system
through fontconfig (Debian's Noto packages), never through a URL. Rendered PDFs are cached
by a hash of their HTML, which holds everything the report shows: the same content never
costs a second render, and any change to it (an answer, an action, the status, an option,
the language) misses the cache by construction.
"""

from __future__ import annotations

import hashlib
import mimetypes
import threading
import unicodedata
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from weasyprint import HTML
from weasyprint.urls import URLFetcher, URLFetcherResponse

CACHE_SIZE = 32
PDF_VARIANT = "pdf/ua-1"

# The report's sections in order; each is templates/report/_<id>.html and an entry of the
# table of contents. The round-to-round comparison comes before the methodology in a full
# report, and only where the assessment was started from a previous round.
FULL_SECTIONS = ("summary", "principles", "action_plan", "methodology")
COMPARISON = "comparison"
SUMMARY_SECTIONS = ("summary", "action_plan")


@dataclass(frozen=True)
class ReportOptions:
    """What a report includes, as chosen on the options form.

    Respondents' notes are internal working notes: they are left out unless asked for. A
    summary report has the cover, the executive summary and the action plan only.
    """

    summary_only: bool = False
    evidence: bool = True
    notes: bool = False
    language: str = "en"

    @classmethod
    def from_query(cls, query: Mapping[str, str], languages: Iterable[str],
                   default_language: str) -> ReportOptions:
        """Read the options from a query string; anything unknown falls back to the default."""
        languages = tuple(languages)
        language = query.get("language", default_language)
        return cls(summary_only=query.get("scope") == "summary",
                   evidence=query.get("evidence", "1") != "0",
                   notes=query.get("notes", "0") == "1",
                   language=language if language in languages else default_language)

    def as_query(self) -> dict[str, str]:
        """The options as query parameters, the form's own names and values."""
        return {"scope": "summary" if self.summary_only else "full",
                "evidence": "1" if self.evidence else "0",
                "notes": "1" if self.notes else "0", "language": self.language}

    @property
    def sections(self) -> tuple[str, ...]:
        return SUMMARY_SECTIONS if self.summary_only else FULL_SECTIONS

    def sections_with(self, comparison: bool) -> tuple[str, ...]:
        """The sections, with the round comparison before the methodology annex when there
        is a previous round to compare with (full report only)."""
        sections = self.sections
        if not comparison or self.summary_only:
            return sections
        at = sections.index("methodology")
        return (*sections[:at], COMPARISON, *sections[at:])


def text_direction(text: str) -> str:
    """"rtl" when the text's first strong character is right-to-left (Arabic, Hebrew…),
    else "ltr": user text is laid out in its own direction inside a left-to-right report."""
    for character in text:
        kind = unicodedata.bidirectional(character)
        if kind in ("R", "AL"):
            return "rtl"
        if kind == "L":
            return "ltr"
    return "ltr"


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
_counts = {"hits": 0, "renders": 0}


def render_pdf(html: str, static_folder: str | Path,
               fetcher: StaticOnlyFetcher | None = None) -> bytes:
    """Render report HTML to a tagged PDF; relative URLs resolve inside the static folder."""
    digest = hashlib.sha256(html.encode("utf-8")).hexdigest()
    with _cache_lock:
        if digest in _cache:
            _cache.move_to_end(digest)
            _counts["hits"] += 1
            return _cache[digest]
    pdf = render_document(html, static_folder, fetcher).write_pdf(pdf_variant=PDF_VARIANT)
    with _cache_lock:
        _counts["renders"] += 1
        _cache[digest] = pdf
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
    return pdf


def render_document(html: str, static_folder: str | Path,
                    fetcher: StaticOnlyFetcher | None = None):
    """Lay out report HTML into pages (a WeasyPrint Document), not cached: what
    `render_pdf` writes out, and what a test measures page by page."""
    fetcher = fetcher or StaticOnlyFetcher(static_folder)
    base_url = Path(static_folder).resolve().as_uri() + "/"
    return HTML(string=html, base_url=base_url, url_fetcher=fetcher).render()


def cached(html: str) -> bool:
    """Whether this HTML's PDF is in the cache (a download would not render it again)."""
    with _cache_lock:
        return hashlib.sha256(html.encode("utf-8")).hexdigest() in _cache


def cache_counts() -> dict[str, int]:
    """Renders and cache hits since the process started (tests and benchmarks read them)."""
    with _cache_lock:
        return dict(_counts)


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
