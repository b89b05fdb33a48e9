"""Ready for a right-to-left language: logical CSS, and user text that sets its own direction.

A stylesheet that says margin-left means "the left" in Arabic too, where it should mean "the
end of the line". Only logical properties (margin-inline-start, inset-inline-start,
text-align: start…) mirror by themselves under dir="rtl"; these tests keep physical ones out.
The browser test (tests/e2e/test_e2e_french.py) renders pages right to left and checks that
nothing overflows or overlaps.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
STYLESHEETS = [ROOT / "static" / "app.css", ROOT / "static" / "report.css"]
TEMPLATES = ROOT / "templates"

PHYSICAL = re.compile(
    r"(?<![-\w])(?:margin|padding|border|inset|scroll-margin|scroll-padding)-(?:left|right)"
    r"(?:-\w+)?\s*:"
    r"|(?<![-\w@])(?:left|right)\s*:"
    r"|\b(?:text-align|float|clear)\s*:\s*(?:left|right)\b"
    r"|border-(?:top|bottom)-(?:left|right)-radius"
    r"|box-shadow\s*:[^;]*\binset\s+-?[1-9]"  # a side bar: use var(--start-bar)
)
SHORTHAND = re.compile(r"(?<![-\w])(margin|padding)\s*:\s*([^;}]+)")


def _rules(path: Path) -> list[tuple[int, str]]:
    text = re.sub(r"/\*.*?\*/", lambda m: "\n" * m.group().count("\n"), path.read_text(),
                  flags=re.S)
    return list(enumerate(text.splitlines(), start=1))


@pytest.mark.parametrize("sheet", STYLESHEETS, ids=lambda p: p.name)
def test_stylesheets_use_only_logical_properties(sheet):
    found = [f"{sheet.name}:{n}: {line.strip()}" for n, line in _rules(sheet)
             if PHYSICAL.search(line)]
    assert found == [], "use the logical form (…-inline-start/end, start/end)"


@pytest.mark.parametrize("sheet", STYLESHEETS, ids=lambda p: p.name)
def test_no_shorthand_sets_left_and_right_differently(sheet):
    """margin: 1px 2px 3px 4px sets the right to 2px and the left to 4px: physical."""
    found = []
    for n, line in _rules(sheet):
        for _, values in SHORTHAND.findall(line):
            parts = values.replace("!important", "").split()
            if len(parts) == 4 and parts[1] != parts[3]:
                found.append(f"{sheet.name}:{n}: {line.strip()}")
    assert found == []


def test_the_checks_would_catch_physical_css():
    for css in ("margin-left: 1rem;", "padding-right:0", "left: 0;", "text-align: left;",
                "border-left: 4px solid;", "box-shadow: inset 4px 0 0 red;", "float: right"):
        assert PHYSICAL.search(css), css
    for css in ("margin-inline-start: 1rem;", "inset-inline-start: 0;", "text-align: start;",
                "@top-left { content: none; }", "box-shadow: inset var(--start-bar) 0 0 red;",
                "border-top-left-corner: x", "content: string(page-label)"):
        assert not PHYSICAL.search(css), css


def _tags(name: str) -> list[tuple[str, str]]:
    """(template, tag) for every opening <name …> tag in the templates."""
    found = []
    for template in sorted(TEMPLATES.rglob("*.html")):
        for tag in re.findall(rf"<{name}\b[^>]*>", template.read_text(), flags=re.S):
            found.append((str(template.relative_to(TEMPLATES)), tag))
    return found


def _own_direction(tag: str) -> bool:
    """dir="auto" (browsers), or the direction computed from the text (the PDF's
    `text_direction` filter: WeasyPrint does not read dir="auto")."""
    return 'dir="auto"' in tag or "|text_direction" in tag


def test_fields_people_write_in_take_the_direction_of_what_is_typed():
    fields = _tags("textarea") + [t for t in _tags("input") if 'name="round_name"' in t[1]
                                  or 'name="owner"' in t[1]]
    assert len(fields) >= 6
    assert [f for f in fields if not _own_direction(f[1])] == []


def test_text_people_wrote_is_shown_in_its_own_direction():
    """Evidence, notes, actions and comments (class "prose") set their direction from
    their first letter."""
    shown = [t for name in ("p", "dd", "div") for t in _tags(name) if "prose" in t[1]]
    assert len(shown) >= 10
    assert [t for t in shown if not _own_direction(t[1])] == []
