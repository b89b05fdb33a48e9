"""The translation catalogues: complete, current, correct, and compiled from their sources.

Messages are extracted from the code and templates here, as `make i18n` does (babel.cfg, the
same keywords), so a message added without running `make i18n` fails too, not only one left
untranslated. Every catalogue under cbassess/translations is checked, whatever its language:
a third language is held to the same rules the day its catalogue is added.
"""

from __future__ import annotations

import re
from configparser import ConfigParser
from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po
from jinja2 import TemplateSyntaxError

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "cbassess" / "translations"
CATALOGUES = sorted(TRANSLATIONS.glob("*/LC_MESSAGES/messages.po"))
# As the Makefile's EXTRACT_KEYWORDS: lazy_gettext, imported as _l.
KEYWORDS = {**DEFAULT_KEYWORDS, "_l": None, "lazy_gettext": None}


def _method_map() -> list[tuple[str, str]]:
    config = ConfigParser()
    config.read(ROOT / "babel.cfg")
    return [(section.split(":", 1)[1].strip(), section.split(":", 1)[0].strip())
            for section in config.sections()]


def _source_messages() -> dict[str, tuple]:
    """Every message in the code and templates: id -> (its plural, or None; where)."""
    found = {}
    for filename, _, message, _, _ in extract_from_dir(str(ROOT), _method_map(),
                                                       keywords=KEYWORDS):
        if isinstance(message, tuple):
            singular, plural = message[0], message[1]
        else:
            singular, plural = message, None
        found.setdefault(singular, (plural, filename))
    return found


SOURCES = _source_messages()


def _read(path: Path):
    with path.open("rb") as handle:
        return read_po(handle)


def _id(message) -> str:
    return message.id[0] if isinstance(message.id, tuple | list) else message.id


def _strings(message) -> tuple[str, ...]:
    string = message.string
    return tuple(string) if isinstance(string, tuple | list) else (string,)


def _language(path: Path) -> str:
    return path.parent.parent.name


def test_there_is_a_french_catalogue_and_messages_to_check():
    assert "fr" in [_language(path) for path in CATALOGUES]
    assert len(SOURCES) > 150
    assert {"Sign in", "Not applicable", "Save and continue"} <= set(SOURCES)


def test_every_template_parses(app):
    """The extractor skips a template it cannot parse without a word: its messages would
    then silently leave the catalogues. Every template must compile."""
    broken = []
    for name in app.jinja_env.list_templates():
        try:
            app.jinja_env.get_template(name)
        except TemplateSyntaxError as error:
            broken.append(f"{name}: {error}")
    assert broken == []


@pytest.mark.parametrize("path", CATALOGUES, ids=_language)
def test_catalogue_holds_exactly_the_messages_of_the_code(path):
    catalogue = _read(path)
    held = {_id(m) for m in catalogue if m.id}
    missing = sorted(set(SOURCES) - held)
    stale = sorted(held - set(SOURCES))
    assert (missing, stale) == ([], []), "run `make i18n`, then translate what is new"


@pytest.mark.parametrize("path", CATALOGUES, ids=_language)
def test_every_message_is_translated_and_none_is_fuzzy(path):
    catalogue = _read(path)
    untranslated, fuzzy = [], []
    for message in catalogue:
        if not message.id:
            continue
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if not all(strings) or len(strings) < (catalogue.num_plurals if message.pluralizable
                                               else 1):
            untranslated.append(_id(message))
        if message.fuzzy:
            fuzzy.append(_id(message))
    assert untranslated == [], f"{len(untranslated)} messages without a translation"
    assert fuzzy == [], "fuzzy translations: review them and remove the fuzzy flag"


@pytest.mark.parametrize("path", CATALOGUES, ids=_language)
def test_translations_keep_every_placeholder(path):
    """A translation that drops or renames %(name)s would fail, or lose a value, at render."""
    problems = []
    for message, errors in _read(path).check():
        problems.extend(f"{_id(message)}: {error}" for error in errors)
    for message in _read(path):
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        wanted = set(re.findall(r"%\((\w+)\)", " ".join(ids)))
        for string in strings:
            got = set(re.findall(r"%\((\w+)\)", string))
            if got - wanted or (wanted - got) - {"num"}:  # a singular may spell out "one"
                problems.append(f"{_id(message)}: {sorted(got)} for {sorted(wanted)}")
    assert problems == []


@pytest.mark.parametrize("path", CATALOGUES, ids=_language)
def test_the_compiled_catalogue_is_built_from_this_one(path):
    """The .mo the app reads (built by `make`, not committed) says what the .po says."""
    compiled = path.with_suffix(".mo")
    assert compiled.exists(), f"{compiled} is missing: run `make catalogues`"
    with compiled.open("rb") as handle:
        built = {_id(m): _strings(m) for m in read_mo(handle) if m.id}
    source = {_id(m): _strings(m) for m in _read(path) if m.id}
    assert built == source, f"{compiled} is out of date: run `make catalogues`"


def test_french_follows_french_typography():
    """A no-break space before : ; ? ! and inside « », and typographic apostrophes."""
    problems = []
    for message in _read(TRANSLATIONS / "fr" / "LC_MESSAGES" / "messages.po"):
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        for string in strings:
            if message.id and re.search(r"[ ]([:;?!»]|%(?!\())|«[ ]|'|\S[;?!»]|\w:", string):
                problems.append(string)
    assert problems == []


def test_the_app_offers_every_compiled_language(app):
    assert app.config["LANGUAGES"][0] == "en"
    assert set(app.config["LANGUAGES"]) == {"en"} | {_language(path) for path in CATALOGUES}
