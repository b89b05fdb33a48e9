"""What URLs and query strings may carry: anything else answers 404, never a server error.

- Ids in URLs (`<int:…>`) and in forms are whole numbers within the database's integer
  range: a larger one made SQLite raise an overflow error (a 500) before any lookup.
  Registered as the app's "int" converter, so every present and future route gets it.
- `?page=` is a page number of at most six ASCII digits; past the last page is 404.
- `next` and the address a refused post is sent back to are paths on this site, without
  control characters or whitespace: a browser drops tabs and line ends from a URL, so
  "/\\t/evil.example" is "//evil.example", another site; and a line end in a Location header
  is refused by the server (a 500 after the person had signed in).
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from flask import abort, request
from werkzeug.routing import IntegerConverter

DATABASE_INT_MAX = 2**31 - 1  # PostgreSQL's integer; SQLite's is wider
_ID = re.compile(r"[0-9]{1,10}")
_PAGE = re.compile(r"[0-9]{1,6}")


class DatabaseIdConverter(IntegerConverter):
    """`<int:…>` in a route: 1 to the database's largest integer, ASCII digits only."""

    def __init__(self, map, fixed_digits: int = 0, min: int | None = 1,  # noqa: A002
                 max: int | None = DATABASE_INT_MAX, signed: bool = False) -> None:
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


def database_id(text: str | None) -> int | None:
    """A posted id as a number, or None when it is not one the database could hold."""
    if text is None or not _ID.fullmatch(text.strip()):
        return None
    value = int(text)
    return value if 1 <= value <= DATABASE_INT_MAX else None


def page_number() -> int:
    """The `?page=` of this request (1 when absent); 404 when it is not a page number."""
    text = request.args.get("page")
    if text is None:
        return 1
    if not _PAGE.fullmatch(text) or int(text) < 1:
        abort(404)
    return int(text)


_UNSAFE_IN_PATH = re.compile(r"[\x00-\x20\x7f-\x9f\\\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def is_local_path(target: str | None) -> bool:
    """A path on this site: starts with one "/", names no host or scheme, and holds no
    control character, whitespace or backslash (which browsers would drop or rewrite)."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return False
    if _UNSAFE_IN_PATH.search(target):
        return False
    parts = urlsplit(target)
    return not parts.scheme and not parts.netloc
