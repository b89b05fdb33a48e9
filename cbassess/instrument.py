"""Load and validate instrument files into immutable objects.

An instrument (principles, indicators, a rating scale, a descriptor per level) is data, not
code: it arrives as a YAML file, is checked here with messages that name the file and the
path inside it, and comes out frozen, so nothing downstream can change an assessment's
yardstick by accident.  This module imports nothing from Flask.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml

DEFAULT_LANGUAGE = "en"
MAX_FILE_BYTES = 1_000_000
MIN_PRINCIPLES, MAX_PRINCIPLES = 3, 15
MIN_INDICATORS, MAX_INDICATORS = 3, 100
MIN_LEVELS, MAX_LEVELS = 2, 10
MAX_LISTED_GAPS = 200  # missing translations listed by one error
PRINCIPLE_KEY_LIMIT = 20
INDICATOR_KEY_LIMIT = 40  # the answers.indicator_key column holds this many characters

# The optional per-answer fields an instrument may ask for, and the values each allows.
ANSWER_FIELDS: Mapping[str, tuple[str, ...]] = MappingProxyType({
    "evidence_kind": ("documentary", "records", "interview", "observation", "self-declared"),
    "confidence": ("high", "medium", "low"),
})
# Framework-dependent product wording an instrument may set (the shipped customs wording
# is the default for each).
WORDING_FIELDS = ("tagline", "sign_in_lead", "footer", "report_kicker")

SHIPPED_DIR = Path(__file__).parent / "instruments"

_INSTRUMENT_KEY = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
# Letters and digits in runs joined by single hyphens ("PW", "G-SM"); an indicator key is
# its principle's key, a dot, and one or more such runs joined by dots ("G-SM.1", "G-SM.1.a").
_KEY_PART = r"[A-Za-z0-9]+(?:-[A-Za-z0-9]+)*"
_PRINCIPLE_KEY = re.compile(r"^[A-Za-z][A-Za-z0-9]*(?:-[A-Za-z0-9]+)*$")
_INDICATOR_SUFFIX = re.compile(rf"^{_KEY_PART}(?:\.{_KEY_PART})*$")
_LANGUAGE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$")


class InstrumentError(ValueError):
    """An instrument file is unreadable or breaks a rule; the message says where and why."""

    def __init__(self, source: str, path: str, problem: str) -> None:
        self.source, self.path, self.problem = source, path, problem
        where = f"{source}: {path}: " if path else f"{source}: "
        super().__init__(where + problem)


@dataclass(frozen=True)
class Text:
    """A piece of instrument text in one or more languages, English always present."""

    translations: Mapping[str, str]

    def get(self, language: str | None = None) -> str:
        """The text in `language` (or its base language), falling back to English."""
        if language:
            language = language.replace("_", "-")  # a Babel locale ("pt_BR") or a tag
            for candidate in (language, language.split("-")[0]):
                if candidate in self.translations:
                    return self.translations[candidate]
        return self.translations[DEFAULT_LANGUAGE]

    def __str__(self) -> str:
        return self.get()


@dataclass(frozen=True)
class Level:
    """A level of the scale: `value` is its position (what an answer stores), `score` what
    it counts for in every average (the value itself unless the instrument says otherwise)."""

    value: int
    label: Text
    summary: Text
    score: float | None = None

    def __post_init__(self) -> None:
        if self.score is None:
            object.__setattr__(self, "score", float(self.value))


@dataclass(frozen=True)
class Scale:
    levels: tuple[Level, ...]
    cumulative: bool
    not_applicable_allowed: bool
    not_applicable_label: Text
    evidence_required_from: int | None = None

    @property
    def values(self) -> tuple[int, ...]:
        return tuple(level.value for level in self.levels)

    @property
    def scores(self) -> tuple[float, ...]:
        return tuple(level.score for level in self.levels)  # type: ignore[misc]

    @property
    def has_own_scores(self) -> bool:
        """True when some level scores differ from their positions (pages then show both)."""
        return any(level.score != level.value for level in self.levels)

    @property
    def minimum_score(self) -> float:
        return self.levels[0].score  # type: ignore[return-value]

    @property
    def maximum_score(self) -> float:
        return self.levels[-1].score  # type: ignore[return-value]

    def score_of(self, value: int) -> float:
        """The score a level counts for; KeyError when it is not on the scale."""
        return self.level(value).score  # type: ignore[return-value]

    @property
    def minimum(self) -> int:
        return self.levels[0].value

    @property
    def maximum(self) -> int:
        return self.levels[-1].value

    def level(self, value: int) -> Level:
        """The level with this value; KeyError when it is not on the scale."""
        for level in self.levels:
            if level.value == value:
                return level
        raise KeyError(value)


@dataclass(frozen=True)
class Indicator:
    key: str
    principle_key: str
    question: Text
    guidance: Text
    evidence_examples: tuple[Text, ...]
    descriptors: Mapping[int, Text]
    # The lowest level that needs evidence for this indicator (None: none does).
    evidence_required_from: int | None = None

    def needs_evidence(self, level: int | None) -> bool:
        """True when an answer at `level` is a claim that must be backed by evidence."""
        return (level is not None and self.evidence_required_from is not None
                and level >= self.evidence_required_from)


@dataclass(frozen=True)
class Principle:
    key: str
    title: Text
    summary: Text | None
    indicators: tuple[Indicator, ...]


@dataclass(frozen=True)
class Instrument:
    key: str
    version: str
    title: Text
    description: Text | None
    scale: Scale
    principles: tuple[Principle, ...]
    content_hash: str
    # The languages the file promises every text in (its `languages` field), or None.
    declared_languages: tuple[str, ...] | None = None
    answer_fields: tuple[str, ...] = ()
    wording: Mapping[str, Text] = field(default_factory=lambda: MappingProxyType({}))
    indicators: tuple[Indicator, ...] = field(init=False, repr=False, compare=False)
    _by_key: Mapping[str, Indicator] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        indicators = tuple(i for p in self.principles for i in p.indicators)
        object.__setattr__(self, "indicators", indicators)
        object.__setattr__(self, "_by_key", MappingProxyType({i.key: i for i in indicators}))

    def indicator(self, key: str) -> Indicator | None:
        """The indicator with this key, or None."""
        return self._by_key.get(key)

    def principle(self, key: str) -> Principle | None:
        """The principle with this key, or None."""
        for principle in self.principles:
            if principle.key == key:
                return principle
        return None

    @property
    def languages(self) -> frozenset[str]:
        """The languages the file declares, else those its title is written in (English
        always among them)."""
        if self.declared_languages is not None:
            return frozenset(self.declared_languages)
        return frozenset(self.title.translations)

    def texts(self) -> Iterator[tuple[str, Text]]:
        """Every text a person reads, with its path in the file (as errors name it)."""
        yield "title", self.title
        if self.description is not None:
            yield "description", self.description
        for name, text in self.wording.items():
            yield f"wording.{name}", text
        for index, level in enumerate(self.scale.levels):
            yield f"scale.levels[{index}].label", level.label
            yield f"scale.levels[{index}].summary", level.summary
        if self.scale.not_applicable_allowed:
            yield "scale.not_applicable.label", self.scale.not_applicable_label
        for p_index, principle in enumerate(self.principles):
            path = f"principles[{p_index}]"
            yield f"{path}.title", principle.title
            if principle.summary is not None:
                yield f"{path}.summary", principle.summary
            for i_index, indicator in enumerate(principle.indicators):
                where = f"{path}.indicators[{i_index}]"
                yield f"{where}.question", indicator.question
                yield f"{where}.guidance", indicator.guidance
                for e_index, example in enumerate(indicator.evidence_examples):
                    yield f"{where}.evidence_examples[{e_index}]", example
                for level, descriptor in indicator.descriptors.items():
                    yield f"{where}.descriptors.{level}", descriptor

    def coverage(self) -> dict[str, tuple[int, int]]:
        """For each language found in the file: (texts written in it, texts in all)."""
        counts: dict[str, int] = {}
        total = 0
        for _, text in self.texts():
            total += 1
            for language in text.translations:
                counts[language] = counts.get(language, 0) + 1
        return {language: (count, total) for language, count in sorted(counts.items())}


def content_hash(source: str) -> str:
    """SHA-256 of the file's text: two assessments share a yardstick only if this matches."""
    return hashlib.sha256(source.encode("utf-8")).hexdigest()


def load_path(path: str | Path) -> Instrument:
    """Read and validate an instrument file."""
    path = Path(path)
    try:
        with path.open("rb") as handle:  # never more than the limit in memory
            raw = handle.read(MAX_FILE_BYTES + 1)
        size = max(len(raw), path.stat().st_size)
    except OSError as exc:
        raise InstrumentError(str(path), "", f"cannot be read ({exc.strerror})") from exc
    if size > MAX_FILE_BYTES:
        raise InstrumentError(
            str(path), "", f"is {size:,} bytes; the limit is {MAX_FILE_BYTES:,}"
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InstrumentError(str(path), "", "is not valid UTF-8 text") from exc
    return load_text(text, source=str(path))


@lru_cache(maxsize=32)
def load_text(text: str, source: str = "<instrument>") -> Instrument:
    """Parse and validate instrument YAML; cached, since the same text gives the same result."""
    if len(text.encode("utf-8")) > MAX_FILE_BYTES:
        raise InstrumentError(source, "", f"is larger than {MAX_FILE_BYTES:,} bytes")
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise InstrumentError(source, where, f"is not valid YAML ({problem})") from exc
    return _Validator(source).instrument(data, content_hash(text))


def shipped_paths() -> list[Path]:
    """The instrument files that ship with the application."""
    return sorted(SHIPPED_DIR.glob("*.yaml"))


class _Validator:
    """Walks the parsed YAML, turning each rule it breaks into an InstrumentError."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, path: str, problem: str) -> InstrumentError:
        return InstrumentError(self.source, path, problem)

    def mapping(self, value: Any, path: str, required: set[str], optional: set[str]) -> dict:
        if not isinstance(value, dict):
            raise self.fail(path or "top level", "must be a mapping of fields")
        for name in sorted(required):
            if name not in value or value[name] is None:
                raise self.fail(_join(path, name), "is missing")
        unknown = set(value) - required - optional
        if unknown:
            first = sorted(map(str, unknown))[0]
            raise self.fail(path or "top level", f"has unknown field {first!r}")
        return value

    def string(self, value: Any, path: str) -> str:
        if not isinstance(value, str | int | float) or isinstance(value, bool):
            raise self.fail(path, "must be a string")
        value = str(value).strip()
        if not value:
            raise self.fail(path, "must not be empty")
        return value

    def text(self, value: Any, path: str) -> Text:
        if isinstance(value, dict):
            translations = {}
            for language, string in value.items():
                if not isinstance(language, str) or not _LANGUAGE.fullmatch(language):
                    raise self.fail(path, f"has an invalid language code {language!r}")
                translations[language] = self.string(string, f"{path}.{language}")
            if DEFAULT_LANGUAGE not in translations:
                raise self.fail(path, f"needs an English ({DEFAULT_LANGUAGE!r}) text")
            return Text(MappingProxyType(translations))
        return Text(MappingProxyType({DEFAULT_LANGUAGE: self.string(value, path)}))

    def sequence(self, value: Any, path: str) -> list:
        if not isinstance(value, list):
            raise self.fail(path, "must be a list")
        return value

    def instrument(self, data: Any, digest: str) -> Instrument:
        fields = self.mapping(
            data, "", {"key", "version", "title", "scale", "principles"},
            {"description", "languages", "answer_fields", "wording"},
        )
        declared = self.languages(fields.get("languages"))
        key = self.string(fields["key"], "key")
        if not _INSTRUMENT_KEY.match(key):
            raise self.fail("key", "must be lower-case letters, digits and hyphens")
        scale = self.scale(fields["scale"])
        principles = self.sequence(fields["principles"], "principles")
        if not MIN_PRINCIPLES <= len(principles) <= MAX_PRINCIPLES:
            raise self.fail(
                "principles",
                f"has {len(principles)} principles; an instrument needs "
                f"{MIN_PRINCIPLES} to {MAX_PRINCIPLES}",
            )
        parsed: list[Principle] = []
        principle_keys: set[str] = set()
        indicator_keys: set[str] = set()
        for index, item in enumerate(principles):
            principle = self.principle(item, f"principles[{index}]", scale, indicator_keys)
            if principle.key in principle_keys:
                raise self.fail(f"principles[{index}].key", f"duplicate key {principle.key!r}")
            principle_keys.add(principle.key)
            parsed.append(principle)
        slugs: dict[str, str] = {}
        for indicator in (i for p in parsed for i in p.indicators):
            other = slugs.setdefault(key_slug(indicator.key), indicator.key)
            if other != indicator.key:
                raise self.fail("principles", f"indicator keys {other!r} and "
                                f"{indicator.key!r} differ only by dots and hyphens")
        total = len(indicator_keys)
        if not MIN_INDICATORS <= total <= MAX_INDICATORS:
            raise self.fail(
                "principles",
                f"has {total} indicators in all; an instrument needs "
                f"{MIN_INDICATORS} to {MAX_INDICATORS}",
            )
        instrument = Instrument(
            key=key,
            version=self.string(fields["version"], "version"),
            title=self.text(fields["title"], "title"),
            description=(
                self.text(fields["description"], "description")
                if fields.get("description") is not None
                else None
            ),
            scale=scale,
            principles=tuple(parsed),
            content_hash=digest,
            declared_languages=declared,
            answer_fields=self.answer_fields(fields.get("answer_fields")),
            wording=self.wording(fields.get("wording")),
        )
        if declared is not None:
            self.check_translations(instrument, declared)
        return instrument

    def languages(self, value: Any) -> tuple[str, ...] | None:
        """The `languages` field: the languages every text must be written in."""
        if value is None:
            return None
        codes = self.sequence(value, "languages")
        for index, code in enumerate(codes):
            if not isinstance(code, str) or not _LANGUAGE.fullmatch(code):
                raise self.fail(f"languages[{index}]", f"is not a language code: {code!r}")
        if len(set(codes)) != len(codes):
            raise self.fail("languages", "lists a language twice")
        if DEFAULT_LANGUAGE not in codes:
            raise self.fail("languages", f"must include English ({DEFAULT_LANGUAGE!r})")
        return tuple(codes)

    def check_translations(self, instrument: Instrument, declared: tuple[str, ...]) -> None:
        """Every text in every declared language, and in no other: a translation that is
        only partly done is listed in full, so a translator gets every gap at once."""
        missing = []
        for path, text in instrument.texts():
            extra = sorted(set(text.translations) - set(declared))
            if extra:
                raise self.fail(path, f"has a text in {extra[0]!r}, which `languages` does "
                                      f"not declare ({', '.join(declared)})")
            absent = [language for language in declared if language not in text.translations]
            if absent:
                missing.append(f"{path} ({', '.join(absent)})")
        if missing:
            shown = missing[:MAX_LISTED_GAPS]
            more = len(missing) - len(shown)
            raise self.fail(
                "languages",
                f"declares {', '.join(declared)}, but {len(missing)} texts are missing a "
                "translation:\n  " + "\n  ".join(shown)
                + (f"\n  … and {more} more" if more else ""),
            )

    def answer_fields(self, data: Any) -> tuple[str, ...]:
        if data is None:
            return ()
        names = []
        for index, name in enumerate(self.sequence(data, "answer_fields")):
            if name not in ANSWER_FIELDS:
                raise self.fail(f"answer_fields[{index}]",
                                f"{name!r} is not one of {', '.join(ANSWER_FIELDS)}")
            if name in names:
                raise self.fail(f"answer_fields[{index}]", f"{name!r} is listed twice")
            names.append(name)
        return tuple(names)

    def wording(self, data: Any) -> Mapping[str, Text]:
        if data is None:
            return MappingProxyType({})
        fields = self.mapping(data, "wording", set(), set(WORDING_FIELDS))
        return MappingProxyType({name: self.text(value, f"wording.{name}")
                                 for name, value in fields.items() if value is not None})

    def scale(self, data: Any) -> Scale:
        fields = self.mapping(data, "scale", {"levels"},
                              {"cumulative", "not_applicable", "evidence_required_from"})
        levels_data = self.sequence(fields["levels"], "scale.levels")
        if not MIN_LEVELS <= len(levels_data) <= MAX_LEVELS:
            raise self.fail(
                "scale.levels",
                f"has {len(levels_data)} levels; a scale needs {MIN_LEVELS} to {MAX_LEVELS}",
            )
        levels = []
        for index, item in enumerate(levels_data):
            path = f"scale.levels[{index}]"
            level = self.mapping(item, path, {"value", "label", "summary"}, {"score"})
            value = level["value"]
            if not isinstance(value, int) or isinstance(value, bool):
                raise self.fail(f"{path}.value", "must be a whole number")
            score = level.get("score")
            if score is not None and (not isinstance(score, int | float)
                                      or isinstance(score, bool) or not math.isfinite(score)):
                raise self.fail(f"{path}.score", "must be a number, e.g. 0.25")
            levels.append(
                Level(value, self.text(level["label"], f"{path}.label"),
                      self.text(level["summary"], f"{path}.summary"),
                      None if score is None else float(score))
            )
        first = levels[0].value
        if first not in (0, 1):
            raise self.fail("scale.levels[0].value", "the lowest level must be 0 or 1")
        for index, level in enumerate(levels):
            if level.value != first + index:
                raise self.fail(
                    f"scale.levels[{index}].value",
                    f"is {level.value}; levels must be consecutive and increasing "
                    f"(expected {first + index})",
                )
        for index in range(1, len(levels)):
            if levels[index].score <= levels[index - 1].score:  # type: ignore[operator]
                raise self.fail(
                    f"scale.levels[{index}].score",
                    f"is {levels[index].score:g}; scores must increase with the levels "
                    f"(the level below scores {levels[index - 1].score:g})",
                )
        cumulative = fields.get("cumulative", True)
        if not isinstance(cumulative, bool):
            raise self.fail("scale.cumulative", "must be true or false")
        na_allowed, na_label = False, Text(MappingProxyType({DEFAULT_LANGUAGE: "Not applicable"}))
        if fields.get("not_applicable") is not None:
            na = self.mapping(fields["not_applicable"], "scale.not_applicable", {"allowed"},
                              {"label"})
            if not isinstance(na["allowed"], bool):
                raise self.fail("scale.not_applicable.allowed", "must be true or false")
            na_allowed = na["allowed"]
            if na.get("label") is not None:
                na_label = self.text(na["label"], "scale.not_applicable.label")
        values = tuple(level.value for level in levels)
        threshold = self.level_or_none(fields.get("evidence_required_from"),
                                       "scale.evidence_required_from", values)
        return Scale(tuple(levels), cumulative, na_allowed, na_label, threshold)

    def level_or_none(self, value: Any, path: str, values: tuple[int, ...]) -> int | None:
        """An evidence threshold: a level of the scale, or null for "never required"."""
        if value is None:
            return None
        if not isinstance(value, int) or isinstance(value, bool) or value not in values:
            raise self.fail(path, f"must be a level of the scale ({values[0]}–{values[-1]}) "
                                  "or null")
        return value

    def principle(self, data: Any, path: str, scale: Scale, seen: set[str]) -> Principle:
        fields = self.mapping(data, path, {"key", "title", "indicators"}, {"summary"})
        key = self.string(fields["key"], f"{path}.key")
        if not _PRINCIPLE_KEY.match(key) or len(key) > PRINCIPLE_KEY_LIMIT:
            raise self.fail(
                f"{path}.key",
                f"{key!r} must start with a letter and hold letters, digits and single "
                f"hyphens, at most {PRINCIPLE_KEY_LIMIT} characters, e.g. PW or G-SM",
            )
        indicators_data = self.sequence(fields["indicators"], f"{path}.indicators")
        if not indicators_data:
            raise self.fail(f"{path}.indicators", "must list at least one indicator")
        indicators = []
        for index, item in enumerate(indicators_data):
            indicator = self.indicator(item, f"{path}.indicators[{index}]", key, scale)
            if indicator.key in seen:
                raise self.fail(f"{path}.indicators[{index}].key",
                                f"duplicate key {indicator.key!r}")
            seen.add(indicator.key)
            indicators.append(indicator)
        summary = fields.get("summary")
        return Principle(
            key=key,
            title=self.text(fields["title"], f"{path}.title"),
            summary=self.text(summary, f"{path}.summary") if summary is not None else None,
            indicators=tuple(indicators),
        )

    def indicator(self, data: Any, path: str, principle_key: str, scale: Scale) -> Indicator:
        fields = self.mapping(
            data, path, {"key", "question", "guidance", "descriptors"},
            {"evidence_examples", "evidence_required_from"}
        )
        key = self.string(fields["key"], f"{path}.key")
        prefix = principle_key + "."
        if not (key.startswith(prefix) and _INDICATOR_SUFFIX.match(key[len(prefix):])):
            raise self.fail(
                f"{path}.key",
                f"{key!r} must be {principle_key}.<code>, the code letters, digits and "
                f"single hyphens, with dots for nesting, e.g. {principle_key}.1 or "
                f"{principle_key}.1.a",
            )
        if len(key) > INDICATOR_KEY_LIMIT:
            raise self.fail(f"{path}.key", f"{key!r} is longer than {INDICATOR_KEY_LIMIT} "
                                           "characters")
        raw_descriptors = fields["descriptors"]
        if not isinstance(raw_descriptors, dict):
            raise self.fail(f"{path}.descriptors", "must map each level to a text")
        descriptors: dict[int, Text] = {}
        for level, text in raw_descriptors.items():
            if not isinstance(level, int) or isinstance(level, bool) or level not in scale.values:
                raise self.fail(
                    f"{path}.descriptors",
                    f"level {level!r} is outside the scale "
                    f"({scale.minimum}–{scale.maximum})",
                )
            descriptors[level] = self.text(text, f"{path}.descriptors.{level}")
        for value in scale.values:
            if value not in descriptors:
                raise self.fail(f"{path}.descriptors", f"has no descriptor for level {value}")
        examples = fields.get("evidence_examples") or []
        return Indicator(
            key=key,
            principle_key=principle_key,
            question=self.text(fields["question"], f"{path}.question"),
            guidance=self.text(fields["guidance"], f"{path}.guidance"),
            evidence_examples=tuple(
                self.text(item, f"{path}.evidence_examples[{i}]")
                for i, item in enumerate(self.sequence(examples, f"{path}.evidence_examples"))
            ),
            descriptors=MappingProxyType(dict(sorted(descriptors.items()))),
            evidence_required_from=(
                self.level_or_none(fields["evidence_required_from"],
                                   f"{path}.evidence_required_from", scale.values)
                if "evidence_required_from" in fields else scale.evidence_required_from
            ),
        )


def key_slug(key: str) -> str:
    """The form of an indicator key used in HTML ids ("G-SM.1" -> "G-SM-1")."""
    return key.replace(".", "-")


@dataclass(frozen=True)
class Block:
    """A block of instrument prose: a paragraph (one item) or a list (several)."""

    kind: str  # "paragraph", "list" or "numbered"
    items: tuple[str, ...]


_BULLET = re.compile(r"^\s*[-*•]\s+(.*)$")
_NUMBERED = re.compile(r"^\s*[0-9]{1,3}[.)]\s+(.*)$")


def text_blocks(text: str) -> tuple[Block, ...]:
    """Split prose into paragraphs and lists, for pages and the report to render as such.

    A blank line separates paragraphs; lines starting with "- ", "* " or "• " are list
    items, lines starting with "1. " or "1) " numbered items; a line that starts with
    neither continues the item or paragraph above it. Only structure is read: the text
    itself is never taken as markup.
    """
    blocks: list[Block] = []
    kind: str | None = None
    items: list[str] = []

    def close() -> None:
        nonlocal kind, items
        if kind is not None and items:
            blocks.append(Block(kind, tuple(" ".join(item.split()) for item in items)))
        kind, items = None, []

    for line in text.splitlines():
        if not line.strip():
            close()
            continue
        for pattern, line_kind in ((_BULLET, "list"), (_NUMBERED, "numbered")):
            match = pattern.match(line)
            if match:
                if kind != line_kind:
                    close()
                    kind = line_kind
                items.append(match.group(1))
                break
        else:
            if kind is None:
                kind, items = "paragraph", [line]
            else:
                items[-1] += " " + line
    close()
    return tuple(blocks)


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name
