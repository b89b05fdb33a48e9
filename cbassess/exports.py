"""Files people download: spreadsheet cells made safe, CSV text, JSON streamed, file names.

No Flask. Every export that spreadsheet programs open (the CSV today, XLSX and portfolio
exports to come) writes each text cell through `spreadsheet_cell`, so the rule lives here once.

The rule (OWASP's CSV-injection guidance, applied to every position a cell can start at):
a spreadsheet runs a cell as a formula when it starts with = + - @ (or their full-width
forms), and some treat a text's leading tab or line end the same way. A cell starts at the
beginning of the text, but also after any character a spreadsheet may take as a separator
when it opens the file with other settings than it was written with: a comma, a semicolon
(the default separator in French and most continental locales), a tab, a vertical bar, a
line end or a quote. Wherever such a start is followed (after spaces) by a formula
character, an apostrophe is put in front of it, which spreadsheets show as text and never
run. Numbers are written as numbers. Every CSV cell is quoted, so no separator inside a
text is read as one by a program that honours quotes.
"""

from __future__ import annotations

import csv
import io
import json
import re
import unicodedata
from collections.abc import Iterable, Iterator, Mapping
from urllib.parse import quote

FORMULA_START = "=+-@\uff1d\uff0b\uff0d\uff20"
CELL_SEPARATORS = ",;\t|\r\n\"'"
_SPACES = "[ \u00a0\t\r\n]*"  # some programs trim these before looking at the cell
# The text's beginning or a separator, then blanks, then a formula start.
_FORMULA_AT_CELL_START = re.compile(
    f"(^|[{re.escape(CELL_SEPARATORS)}])({_SPACES})(?=[{re.escape(FORMULA_START)}])")


def spreadsheet_cell(value: object) -> object:
    """A value as a spreadsheet may safely show it: numbers as they are, None as "", and
    text with an apostrophe before every formula start that could begin a cell."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int | float):
        return value
    text = _FORMULA_AT_CELL_START.sub(r"\1\2'", str(value))
    return "'" + text if text.startswith(("\t", "\r", "\n")) else text


def csv_text(columns: list[str], rows: Iterable[Mapping[str, object]]) -> str:
    """CSV with a header row, every cell quoted and made safe, UTF-8 BOM first (so that
    spreadsheet programs read accents right), lines ended with CRLF (RFC 4180)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
    writer.writerow([spreadsheet_cell(c) for c in columns])
    for row in rows:
        writer.writerow([spreadsheet_cell(row.get(c)) for c in columns])
    return "\ufeff" + buffer.getvalue()


def json_stream(head: Mapping[str, object], items_key: str,
                items: Iterable[object]) -> Iterator[str]:
    """A JSON object written piece by piece: `head`'s keys, then `items_key` holding the
    items as an array, one item encoded at a time. A reply of any length is sent without
    being held whole in memory."""
    opening = json.dumps(dict(head), ensure_ascii=False)
    yield opening[:-1] + ("," if head else "") + json.dumps(items_key) + ":["
    first = True
    for item in items:
        yield ("" if first else ",") + json.dumps(item, ensure_ascii=False)
        first = False
    yield "]}"


_UNSAFE_IN_NAME = re.compile(r"[\x00-\x1f\x7f-\x9f/\\\"'`*?:<>|\u2028\u2029]")
# RFC 5987 attr-char: what may stand unescaped in filename*=UTF-8''…
_ATTR_CHARS = "!#$&+-.^_`|~"


def content_disposition(disposition: str, stem: str, extension: str) -> str:
    """A Content-Disposition header value naming the file (RFC 6266).

    `filename*` carries the name in UTF-8 (RFC 5987), so "Évaluation 2026" stays
    "Évaluation 2026"; `filename` carries an ASCII stand-in for older clients. Characters
    that are not allowed in file names, controls and invisible format characters (such
    as direction overrides) are left out of both.
    """
    name = "".join(c for c in _UNSAFE_IN_NAME.sub("-", stem)
                   if unicodedata.category(c) != "Cf")
    name = re.sub(r"\s+", " ", name).strip(" .-")[:120] or "download"
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    ascii_name = re.sub(r"[^A-Za-z0-9._-]+", "-", ascii_name).strip("-")[:120] or "download"
    return (f'{disposition}; filename="{ascii_name}.{extension}"; '
            f"filename*=UTF-8''{quote(f'{name}.{extension}', safe=_ATTR_CHARS)}")
