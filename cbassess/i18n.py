"""Languages: which ones the app speaks, which one a request uses, and formatting in it.

A language exists when its compiled catalogue does
(`cbassess/translations/<code>/LC_MESSAGES/messages.mo`, built from the `.po` file by the
install): adding one is a catalogue and nothing else. A request is answered in the signed-in
user's preference, else the language chosen with the header's switcher (kept in the
session), else the best match for the browser's Accept-Language, else English.

Numbers, dates and scores are formatted here with Babel for that language ("3,5" and
"29 novembre 2026" in French), never with a hand-written pattern.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from babel import Locale
from flask import (
    Flask,
    current_app,
    g,
    has_app_context,
    has_request_context,
    request,
    session,
    url_for,
)
from flask_babel import (
    format_date,
    format_datetime,
    format_decimal,
    format_percent,
    format_time,
    get_locale,
    get_translations,
)
from flask_babel import gettext as babel_gettext
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from jinja2 import pass_context
from markupsafe import Markup
from sqlalchemy import update
from werkzeug.exceptions import BadRequest

from .action_plan import ActionStatus, Priority
from .extensions import db
from .models import ReviewState, User

DEFAULT_LANGUAGE = "en"
SESSION_KEY = "language"
NO_VALUE = "–"  # shown for a score that does not exist yet


def discover_languages(directories: list[str]) -> tuple[str, ...]:
    """English, then every language with a compiled catalogue in `directories`, sorted."""
    found = set()
    for directory in directories:
        for catalogue in sorted(Path(directory).glob("*/LC_MESSAGES/messages.mo")):
            code = catalogue.parent.parent.name
            try:
                Locale.parse(code)
            except (ValueError, LookupError):
                continue  # not a locale Babel knows: it could not format dates or numbers
            found.add(code)
    found.discard(DEFAULT_LANGUAGE)
    return (DEFAULT_LANGUAGE, *sorted(found))


def translation_directories(app: Flask) -> list[str]:
    """The folders flask_babel reads catalogues from, as absolute paths."""
    return [str(Path(app.root_path) / d) for d in
            app.config.get("BABEL_TRANSLATION_DIRECTORIES", "translations").split(";")]


def supported() -> tuple[str, ...]:
    return current_app.config["LANGUAGES"]


def select_locale() -> str:
    """Flask-Babel's locale selector: preference, then session choice, then the browser
    (the default language outside a request: the command line)."""
    if not has_request_context():
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    languages = supported()
    for candidate in (getattr(current_user, "language", None), session.get(SESSION_KEY)):
        if candidate in languages:
            return candidate
    return _browser_choice(languages) or DEFAULT_LANGUAGE


def _browser_choice(languages) -> str | None:
    """The first language of Accept-Language, in the browser's order of preference, that
    the app has, either exactly or by its base language ("fr-CA" is "fr").

    Werkzeug's best_match prefers any exact match to a base-language one, so it would
    answer "en-GB,fr;q=0.5" in French.
    """
    tags = {code.replace("_", "-").lower(): code for code in languages}
    for value, _ in request.accept_languages:
        value = value.lower()
        for candidate in (value, value.split("-")[0]):
            if candidate in tags:
                return tags[candidate]
    return None


def code() -> str:
    """The request's language as the catalogues and users.language spell it: "fr", "pt_BR"."""
    return str(get_locale() or DEFAULT_LANGUAGE)


def tag(locale: Locale | str | None = None) -> str:
    """The BCP 47 tag of a locale (the request's by default): "fr", "pt-BR"."""
    locale = locale if locale is not None else get_locale()
    return str(locale or DEFAULT_LANGUAGE).replace("_", "-")


def direction(locale: Locale | None = None) -> str:
    """"ltr" or "rtl", for the page's dir attribute."""
    locale = locale if locale is not None else get_locale()
    return "rtl" if locale is not None and locale.text_direction == "rtl" else "ltr"


@dataclass(frozen=True)
class LanguageChoice:
    """One language as the switcher and the download links show it."""

    code: str  # as the catalogue folder and the users.language column spell it
    tag: str  # BCP 47, for lang and hreflang attributes
    autonym: str  # its own name, in itself: "Français"
    name: str  # its name in the current language: "French", "français"
    current: bool


def choices() -> list[LanguageChoice]:
    """Every supported language, named in itself and in the request's language."""
    current = get_locale() or Locale.parse(DEFAULT_LANGUAGE)
    result = []
    for code in supported():
        locale = Locale.parse(code)
        autonym = locale.get_display_name(locale) or code
        result.append(LanguageChoice(code, tag(locale), autonym[:1].upper() + autonym[1:],
                                     locale.get_display_name(current) or code,
                                     str(locale) == str(current)))
    return result


class UnknownLanguage(BadRequest):
    """A language was asked for (switcher, download) that the app does not have."""

    custom = True  # errors.py shows this description as it is

    def __init__(self, code: str) -> None:
        available = ", ".join(choice.name for choice in choices())
        super().__init__(gettext(
            "The language “%(code)s” is not available. Available: %(available)s.",
            code=code[:20], available=available))


def requested_language() -> str | None:
    """The language a download asks for (`?language=fr`, or `?lang=fr`), checked; None when
    it asks for none."""
    code = request.args.get("language") or request.args.get("lang")
    if code is None or code == "":
        return None
    for supported_code in supported():
        if code.replace("-", "_").lower() == supported_code.lower():
            return supported_code
    raise UnknownLanguage(code)


def save_preference(user_id: int, code: str) -> None:
    """Keep the user's choice of language, for every device they sign in from."""
    db.session.execute(update(User).where(User.id == user_id).values(language=code))
    db.session.commit()


def clear_session_keeping_language(language: str | None) -> None:
    """Empty the session (sign-in, sign-out) without losing the language being read."""
    session.clear()
    if language in supported():
        session[SESSION_KEY] = language


def adopt_session_language(user: User) -> None:
    """At sign-in, a language chosen before signing in becomes the preference of an account
    that has none yet; an existing preference is kept (it comes first)."""
    chosen = session.get(SESSION_KEY)
    if user.language is None and chosen in supported():
        save_preference(user.id, chosen)


def return_path() -> str:
    """Where the switcher sends the person back to: this page, if a GET can show it."""
    if request.method in ("GET", "HEAD"):
        return request.full_path.rstrip("?")
    if request.url_rule is not None and "GET" in (request.url_rule.methods or ()):
        return request.path
    return url_for("assessments.index")


# --- Formatting, for templates and for messages built in Python -----------------------

def score(value: float | int | None, places: int = 2) -> str:
    """A score with `places` decimals in the request's language ("2.50", "2,50")."""
    if value is None:
        return NO_VALUE
    return format_decimal(value, format="0." + "0" * places if places else "0")


def change(value: float | int | None, places: int = 2) -> str:
    """A change between rounds with its sign ("+0.50", "−1", "0"), decimals as the language
    writes them; whole-level changes of an indicator take places=0."""
    if value is None:
        return NO_VALUE
    if value == 0:
        return score(0, places)
    return ("+" if value > 0 else "\u2212") + score(abs(value), places)


def percent(ratio: float | None) -> str:
    """A share (0–1) as a whole percentage, as the language writes it ("75%", "75 %")."""
    if ratio is None:
        return NO_VALUE
    return format_percent(ratio)


def number(value: int) -> str:
    """A whole number with the language's grouping ("20,000", "20 000")."""
    return format_decimal(value, format="#,##0")


def level_score(value: float | None) -> str:
    """A level's score or a weakest link, with as few decimals as it needs, at most three,
    in the request's language ("2", "0.25", "0,25")."""
    if value is None:
        return NO_VALUE
    return format_decimal(round(value, 3), format="0.###")


def weakest_label(principle_score) -> str:
    """A principle's weakest link as printed: "2+" when other indicators stand higher."""
    if principle_score.weakest is None:
        return NO_VALUE
    return level_score(principle_score.weakest) + ("+" if principle_score.weakest_plus else "")


def long_date(value: date | datetime) -> str:
    """"29 November 2026", "29 novembre 2026"."""
    return format_date(value, format="long")


def medium_date(value: date | datetime | str) -> str:
    """"29 Nov 2026", "29 nov. 2026": a date in a table or a line of figures (an ISO date
    as kept in a revision's JSON is read first; anything else is shown as it is)."""
    if isinstance(value, str):
        try:
            value = date.fromisoformat(value)
        except ValueError:
            return value
    return format_date(value, format="medium")


def date_time(value: datetime | str) -> str:
    """A date and time, to the second (UTC: the app's time zone); an ISO text as kept in a
    snapshot's JSON is read first (anything else is shown as it is)."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return value
    return format_datetime(value, format="medium")


def short_time(value: datetime) -> str:
    """Hours and minutes as the language writes them (UTC)."""
    return format_time(value, format="short")


# --- gettext ---------------------------------------------------------------------------

def _catalogue():
    """The request's catalogue, found once instead of on every call.

    A page calls gettext a few hundred times (labels in table rows, in each indicator), and
    flask_babel resolves the locale and its catalogue on each call. The catalogue is kept
    beside the locale flask_babel cached for the request, so whatever makes flask_babel pick
    the locale again (refresh(), force_locale()) makes this look again too.
    """
    state = g.get("_flask_babel")
    cached = getattr(state, "cbassess_catalogue", None)
    if cached is None or cached[0] is not getattr(state, "babel_locale", None):
        catalogue = get_translations()
        state = g._flask_babel
        cached = state.cbassess_catalogue = (state.babel_locale, catalogue)
    return cached[1]


def gettext(string: str, **variables) -> str:
    """flask_babel's gettext with the catalogue found once per request."""
    if not has_app_context():
        return babel_gettext(string, **variables)
    text = _catalogue().ugettext(string)
    return text % variables if variables else text


def template_gettext(string: str, **variables) -> Markup:
    """The templates' `_`: as Jinja's i18n extension does with autoescape, the translation is
    markup and each variable is escaped unless it is markup itself (a <time>, a link)."""
    text = Markup(_catalogue().ugettext(string) if has_app_context() else string)
    return text % variables if variables else text


def template_ngettext(singular: str, plural: str, num: int, **variables) -> Markup:
    """The templates' `ngettext`: the form for `num` in the request's language (French
    says "1 indicateur" and also "0 indicateur"); `num` is available as %(num)d."""
    catalogue = _catalogue() if has_app_context() else None
    text = catalogue.ungettext(singular, plural, num) if catalogue else (
        singular if num == 1 else plural)
    variables.setdefault("num", num)
    return Markup(text) % variables


ROLE_LABELS = {
    "respondent": _l("Respondent"),
    "facilitator": _l("Facilitator"),
    "admin": _l("Administrator"),
}
# An action's priority and status as people read them: on the plan page, in the report and
# in the spreadsheets (the JSON keeps the codes).
PRIORITY_LABELS = {Priority.HIGH: _l("High"), Priority.MEDIUM: _l("Medium"),
                   Priority.LOW: _l("Low")}
ACTION_STATUS_LABELS = {ActionStatus.NOT_STARTED: _l("Not started"),
                        ActionStatus.IN_PROGRESS: _l("In progress"),
                        ActionStatus.DONE: _l("Done"), ActionStatus.DROPPED: _l("Dropped")}
# The audit log's kinds of record, actions and details, as the admin reads them (the log
# keeps the codes: see audit.ACTIONS).
AUDIT_RECORD_LABELS = {"user": _l("User"), "organisation": _l("Administration"),
                       "instrument": _l("Instrument"), "assessment": _l("Assessment")}
AUDIT_ACTION_LABELS = {
    "user.create": _l("Account created"),
    "user.update": _l("Account changed"),
    "user.deactivate": _l("Account deactivated"),
    "user.reactivate": _l("Account reactivated"),
    "user.assign": _l("Assigned to an administration"),
    "user.unassign": _l("No longer assigned to an administration"),
    "user.password_link": _l("Password link issued"),
    "user.password_set": _l("Password set"),
    "organisation.create": _l("Administration created"),
    "organisation.update": _l("Administration changed"),
    "instrument.import": _l("Instrument version imported"),
    "instrument.retire": _l("Instrument version retired"),
    "instrument.restore": _l("Instrument version available again"),
    "assessment.create": _l("Assessment started"),
    "assessment.assign_principle": _l("Principle assigned"),
    "assessment.start_round": _l("Next round started"),
    "assessment.reopen": _l("Validated assessment reopened"),
    "assessment.import": _l("Assessment imported from an export"),
    "assessment.return": _l("Assessment returned to the administration"),
    "assessment.validate": _l("Assessment validated"),
}
AUDIT_DETAIL_LABELS = {
    "country": _l("Country"), "region": _l("Region"), "languages": _l("Working languages"),
    "changes": _l("Changes"), "role": _l("Role"), "organisation": _l("Administration"),
    "organisation_id": _l("Administration number"), "coordinator": _l("Coordinator"),
    "assigned": _l("Administrations assigned"), "purpose": _l("Purpose"),
    "instrument": _l("Instrument"), "version": _l("Version"), "title": _l("Title"),
    "sha256": _l("SHA-256"), "principle": _l("Principle"), "before": _l("Before"),
    "after": _l("After"), "message": _l("Reason"),
    "file": _l("File"), "status": _l("Status"), "records": _l("Records"),
    "people_recorded": _l("People named without an account here"),
    "previous": _l("Previous round"), "previous_id": _l("Previous assessment number"),
    "carried": _l("Answers carried over"), "files": _l("Evidence files carried over"),
    "removed": _l("Indicators removed in this version"),
    "new": _l("Indicators new in this version"),
    "status_before": _l("Status before"), "status_after": _l("Status after"),
}
# Each optional answer field's name and the names of its values (instrument.ANSWER_FIELDS
# holds the values themselves), on the pages, in the report and in the spreadsheets.
ANSWER_FIELD_LABELS = {
    "evidence_kind": {"name": _l("Kind of evidence"), "values": {
        "documentary": _l("Documentary"), "records": _l("Data / records"),
        "interview": _l("Interview"), "observation": _l("Observation"),
        "self-declared": _l("Self-declared")}},
    "confidence": {"name": _l("Confidence"), "values": {
        "high": _l("High"), "medium": _l("Medium"), "low": _l("Low")}},
}


def answer_field_value(field: str, value: str | None) -> str:
    """An optional answer field's value as a person reads it ("" when not stated)."""
    if not value:
        return ""
    return str(ANSWER_FIELD_LABELS[field]["values"].get(value, value))


# A reviewer's decision on an answer, as the review pages and the spreadsheets show it.
REVIEW_STATE_LABELS = {ReviewState.PENDING: _l("Not decided"),
                       ReviewState.ACCEPTED: _l("Accepted"),
                       ReviewState.QUERIED: _l("Queried")}


def init_app(app: Flask) -> None:
    """Template helpers: `_`, `ngettext`, the formatting filters and the page's language."""
    app.jinja_env.globals.update(_=template_gettext, gettext=template_gettext,
                                 ngettext=template_ngettext)
    app.jinja_env.filters.update(score=score, change=change, percent=percent, number=number,
                                 level_score=level_score, weakest_label=weakest_label,
                                 long_date=long_date, medium_date=medium_date,
                                 date_time=date_time, short_time=short_time)

    @app.template_filter("role_label")
    def role_label(role: str) -> str:
        return str(ROLE_LABELS.get(role, role))

    @app.template_filter("instrument_title")
    def instrument_title(row) -> str:
        """A stored instrument's title in the page's language (the row keeps the English)."""
        from .permissions import parse_instrument_row  # permissions needs the app's models

        return parse_instrument_row(row).title.get(tag())

    @app.template_filter("audit_label")
    def audit_label(code: str, kind: str = "action") -> str:
        labels = {"action": AUDIT_ACTION_LABELS, "record": AUDIT_RECORD_LABELS,
                  "detail": AUDIT_DETAIL_LABELS}[kind]
        return str(labels.get(code, code))

    @app.template_filter("review_state_label")
    def review_state_label(state: str) -> str:
        return str(REVIEW_STATE_LABELS.get(state, state))

    @app.context_processor
    def language_context() -> dict:
        return {"answer_field_labels": ANSWER_FIELD_LABELS,
                "page_language": tag(), "page_direction": direction(),
                "language_choices": choices, "language_return_to": return_path}


# The product wording that depends on the framework, as shipped (for customs and the WCO).
_DEFAULT_WORDING = {
    "tagline": _l("Capacity-building readiness self-assessment"),
    "sign_in_lead": _l("Self-assess your administration's capacity-building readiness "
                       "against the five WCO core principles, and share it with your "
                       "facilitator."),
    "footer": _l("cbassess — built on the WCO capacity-building core principles."),
    "report_kicker": _l("Capacity-building readiness self-assessment"),
}


@pass_context
def framework_text(context, name: str) -> str:
    """Framework-dependent wording: the instrument's own (`wording` in its file) on the
    pages and the report of an assessment, else the installation's WORDING setting (a
    text, or texts by language), else the shipped customs wording."""
    language = code()
    instrument = context.get("instrument")
    own = getattr(instrument, "wording", None) or {}
    if name in own:
        return own[name].get(language)
    configured = current_app.config.get("WORDING", {}).get(name)
    if isinstance(configured, dict):
        configured = configured.get(language) or configured.get(DEFAULT_LANGUAGE)
    return configured or str(_DEFAULT_WORDING[name])
