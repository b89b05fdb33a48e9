"""What text the application stores: one rule for every field, whatever the form encoding.

Stored text is shown in lists, in the PDF and in CSV files. Some characters make it read
differently there from what was stored, or split it where nobody typed a break:
- control characters (C0 other than tab and line ends, DEL, and the C1 range U+0080–U+009F,
  which includes NEL, a line break to some programs);
- the line and paragraph separators U+2028 and U+2029;
- bidirectional overrides, embeddings and isolates (U+202A–U+202E, U+2066–U+2069), which
  reorder the characters that follow them: "‮fdp.exe" displays as "exe.pdf".
Those are refused, never removed, so what is stored is exactly what was sent. The
right-to-left and left-to-right marks (U+200E, U+200F, U+061C) stay allowed: Arabic and
Hebrew text needs them, and they reorder nothing.

"Blank" means blank to a person: a text made only of spaces and of characters that show
nothing (zero-width spaces and joiners, the byte-order mark, soft hyphens, Hangul fillers, …)
is blank.

No Flask: the answer write path, the views and the command line use the same functions.
"""

from __future__ import annotations

import re
import unicodedata

REFUSED = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
"""Characters no stored text may hold (tab, line feed and carriage return are allowed)."""

# Characters that render as nothing, besides whitespace and the format category (Cf):
# combining grapheme joiner, Hangul fillers, Khmer inherent vowels, Mongolian free variation
# selectors, braille blank, variation selectors.
_INVISIBLE = re.compile(
    "[\u034f\u115f\u1160\u17b4\u17b5\u180b-\u180f\u2800\u3164\ufe00-\ufe0f\uffa0"
    "\U000e0100-\U000e01ef]")


class TextRefused(ValueError):
    """A text breaks the policy; `reason` says which rule ("characters" or "length")."""

    def __init__(self, reason: str, length: int = 0, limit: int = 0) -> None:
        self.reason, self.length, self.limit = reason, length, limit
        super().__init__(reason)


def refused_characters(text: str) -> list[str]:
    """The distinct refused characters in text, as U+XXXX codes, in order of appearance."""
    seen: dict[str, None] = {}
    for match in REFUSED.finditer(text):
        seen.setdefault(f"U+{ord(match.group()):04X}", None)
    return list(seen)


def is_blank(text: str) -> bool:
    """True when a person would see nothing: only whitespace and invisible characters."""
    return all(c.isspace() or unicodedata.category(c) == "Cf" or _INVISIBLE.match(c)
               for c in text)


def clean(text: str, limit: int) -> str:
    """The text as stored: line ends as "\\n", Unicode in NFC, at most `limit` characters.

    Raises TextRefused("characters") for any refused character and TextRefused("length")
    when the normalised text is longer than the limit. NFC makes the same words typed on
    different keyboards the same stored text.
    """
    if REFUSED.search(text):
        raise TextRefused("characters")
    text = unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\r", "\n"))
    if len(text) > limit:
        raise TextRefused("length", len(text), limit)
    return text


def clean_line(text: str, limit: int) -> str:
    """A one-line text (a name): as clean(), with runs of whitespace made one space."""
    if REFUSED.search(text):  # before split(), which would make U+2028 a mere space
        raise TextRefused("characters")
    return clean(" ".join(text.split()), limit)
