"""People and administrations: create, edit, deactivate, assign, invite, set passwords.

The command line and the admin pages both call these functions, so both apply the same
rules and write the same audit entries. Each function validates everything first (raising
AccountError with the field and a message a person can act on, before anything is added to
the session), then makes its change, records it (audit.record) and commits: the change and
its audit entry are written together or not at all. No Flask request here; messages are
lazy translations, read in the language of whoever sees them.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache

import pycountry
from babel import Locale, UnknownLocaleError
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString
from sqlalchemy import Select, func, or_, select, update
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from . import audit, passwords, text_policy
from .audit import Actor
from .models import Assessment, Instrument, Organisation, PasswordToken, Role, User
from .passwords import WeakPassword, hash_password

NAME_LIMIT = 200
REGION_LIMIT = 100
EMAIL_LIMIT = 254
ROUND_NAME_LIMIT = 100
LINK_VALID_FOR = timedelta(hours=72)


class AccountError(ValueError):
    """A request these rules refuse; `field` names the form field at fault (or "")."""

    def __init__(self, field: str, message) -> None:
        self.field, self.message = field, message
        super().__init__(str(message))


class Purpose:
    INVITATION = "invitation"
    RESET = "reset"


# ---------------------------------------------------------------------------- countries


def country_name(code: str, language: str = "en") -> str:
    """The country's name in `language` (Babel's CLDR names), else ISO 3166's English name."""
    names = _territory_names(language)
    if code in names:
        return names[code]
    country = pycountry.countries.get(alpha_2=code)
    return country.name if country else code


def country_choices(language: str = "en") -> list[tuple[str, str]]:
    """Every ISO 3166-1 country as (alpha-2 code, name in `language`), sorted by name."""
    return sorted(((c.alpha_2, country_name(c.alpha_2, language))
                   for c in pycountry.countries), key=lambda pair: pair[1].casefold())


def language_choices(language: str = "en") -> list[tuple[str, str]]:
    """ISO 639-1 languages as (code, name in `language`), sorted by name."""
    names = _language_names(language)
    return sorted(((lang.alpha_2, names.get(lang.alpha_2, lang.name))
                   for lang in pycountry.languages if hasattr(lang, "alpha_2")),
                  key=lambda pair: pair[1].casefold())


@lru_cache(maxsize=8)
def _territory_names(language: str) -> dict[str, str]:
    return dict(_locale(language).territories)


@lru_cache(maxsize=8)
def _language_names(language: str) -> dict[str, str]:
    return dict(_locale(language).languages)


def _locale(language: str) -> Locale:
    try:
        return Locale.parse(language)
    except (ValueError, UnknownLocaleError):
        return Locale("en")


def _valid_language(code: str) -> bool:
    return len(code) == 2 and pycountry.languages.get(alpha_2=code) is not None


# ------------------------------------------------------------------------- administrations


@dataclass(frozen=True)
class OrganisationFields:
    """What an administration's form sets."""

    name: str
    country_code: str
    region: str = ""
    languages: tuple[str, ...] = ("en",)


def _check_organisation(session: Session, fields: OrganisationFields,
                        current: Organisation | None = None) -> OrganisationFields:
    name = _plain_text("name", fields.name)
    if not name:
        raise AccountError("name", _l("Give the administration a name."))
    if len(name) > NAME_LIMIT:
        raise AccountError("name", _l("A name has at most %(n)d characters.", n=NAME_LIMIT))
    clash = session.scalar(select(Organisation.id).where(
        func.lower(Organisation.name) == name.lower()))
    if clash is not None and (current is None or clash != current.id):
        raise AccountError("name", _l("An administration with this name already exists."))
    code = fields.country_code.strip().upper()
    if len(code) != 2 or pycountry.countries.get(alpha_2=code) is None:
        raise AccountError("country_code", _l("Choose a country from the ISO 3166 list (its "
                                              "two-letter code, such as KE for Kenya)."))
    region = _plain_text("region", fields.region)
    if len(region) > REGION_LIMIT:
        raise AccountError("region", _l("A region has at most %(n)d characters.",
                                        n=REGION_LIMIT))
    languages = tuple(dict.fromkeys(code.strip().lower() for code in fields.languages
                                    if code.strip()))
    if not languages:
        raise AccountError("languages", _l("Choose at least one working language."))
    if not all(_valid_language(code) for code in languages):
        raise AccountError("languages", _l("Choose languages from the list."))
    return OrganisationFields(name, code, region, languages)


def create_organisation(session: Session, actor: Actor | None,
                        fields: OrganisationFields) -> Organisation:
    """A new administration."""
    organisation = _add_organisation(session, actor, _check_organisation(session, fields))
    session.commit()
    return organisation


def _add_organisation(session: Session, actor: Actor | None,
                      fields: OrganisationFields) -> Organisation:
    organisation = Organisation(name=fields.name, country_code=fields.country_code,
                                region=fields.region, languages=",".join(fields.languages))
    session.add(organisation)
    session.flush()
    audit.record(session, actor, "organisation.create", "organisation", organisation.id,
                 organisation.name, country=fields.country_code, region=fields.region,
                 languages=list(fields.languages))
    return organisation


def check_organisation(session: Session, fields: OrganisationFields) -> OrganisationFields:
    """A new administration's fields as they would be stored; AccountError if refused."""
    return _check_organisation(session, fields)


def add_organisation(session: Session, actor: Actor | None,
                     fields: OrganisationFields) -> Organisation:
    """A new administration (checked) and its audit entry, in the caller's transaction."""
    return _add_organisation(session, actor, _check_organisation(session, fields))


def update_organisation(session: Session, actor: Actor | None, organisation: Organisation,
                        fields: OrganisationFields) -> Organisation:
    """Change an administration's name, country, region or languages."""
    fields = _check_organisation(session, fields, organisation)
    before = {"name": organisation.name, "country": organisation.country_code,
              "region": organisation.region, "languages": organisation.language_list}
    after = {"name": fields.name, "country": fields.country_code, "region": fields.region,
             "languages": list(fields.languages)}
    organisation.name, organisation.country_code = fields.name, fields.country_code
    organisation.region, organisation.languages = fields.region, ",".join(fields.languages)
    changed = {k: [before[k], after[k]] for k in before if before[k] != after[k]}
    if changed:
        audit.record(session, actor, "organisation.update", "organisation", organisation.id,
                     organisation.name, changes=changed)
    session.commit()
    return organisation


def organisations(search: str = "") -> Select:
    """Administrations by name, narrowed to those whose name, country or region contains
    `search` (a query, for pagination)."""
    query = select(Organisation).order_by(func.lower(Organisation.name), Organisation.id)
    if search.strip():
        term = search.strip()
        query = query.where(or_(Organisation.name.icontains(term, autoescape=True),
                                Organisation.region.icontains(term, autoescape=True),
                                Organisation.country_code == term.upper()))
    return query


# ---------------------------------------------------------------------------------- users


def normalise_email(email: str) -> str:
    """The address as stored: trimmed and lower-case; AccountError if it is not one."""
    email = (email or "").strip().lower()
    local, _, domain = email.partition("@")
    if (not local or "." not in domain or domain.startswith(".") or domain.endswith(".")
            or any(c.isspace() for c in email) or email.count("@") != 1):
        raise AccountError("email", _l("Enter an e-mail address, like name@example.org."))
    if len(email) > EMAIL_LIMIT:
        raise AccountError("email", _l("An e-mail address has at most %(n)d characters.",
                                       n=EMAIL_LIMIT))
    return email


def _plain_text(field: str, text: str, limit: int = 1000) -> str:
    """One line of text as stored (text_policy.clean_line); AccountError when refused."""
    try:
        text = text_policy.clean_line(text or "", limit)
    except text_policy.TextRefused as exc:
        if exc.reason == "length":
            raise AccountError(field, _l("This has %(length)d characters; at most %(limit)d "
                                         "fit.", length=exc.length, limit=exc.limit)) from exc
        raise AccountError(field, _l("This contains characters that cannot be stored.")) \
            from exc
    return "" if text_policy.is_blank(text) else text


def _check_name(name: str) -> str:
    name = _plain_text("name", name)
    if len(name) > NAME_LIMIT:
        raise AccountError("name", _l("A name has at most %(n)d characters.", n=NAME_LIMIT))
    return name


def _check_role(role: str) -> Role:
    try:
        return Role(role)
    except ValueError:
        raise AccountError("role", _l("Choose a role from the list.")) from None


def _check_membership(session: Session, role: Role,
                      organisation_id: int | None) -> Organisation | None:
    """A respondent belongs to exactly one administration; other roles to none."""
    if role != Role.RESPONDENT:
        return None
    organisation = session.get(Organisation, organisation_id) if organisation_id else None
    if organisation is None:
        raise AccountError("organisation_id",
                           _l("A respondent needs the administration they answer for."))
    return organisation


def _unusable_password() -> str:
    """The hash of a random secret nobody knows: the account has no password until its
    owner sets one through their invitation link."""
    return generate_password_hash(secrets.token_urlsafe(32), method=passwords.METHOD)


def weakness_message(weakness: passwords.Weakness) -> LazyString:
    """Why a password is refused, in the language of whoever reads it."""
    Weakness = passwords.Weakness
    return {
        Weakness.TOO_SHORT: _l("A password needs at least %(n)d characters.",
                              n=passwords.MIN_LENGTH),
        Weakness.TOO_LONG: _l("A password has at most %(max)d characters.",
                             max=passwords.MAX_LENGTH),
        Weakness.PERSONAL: _l("This password contains your name or e-mail address, which "
                             "anyone who knows whose account it is would try first."),
        Weakness.COMMON: _l("This password is one of the most commonly used passwords, or "
                           "close to one: those are the first that attackers try."),
        Weakness.REPEATED: _l("This password repeats a character or a group of characters "
                             "(like “aaaa” or “abcabc”), which is quickly guessed."),
        Weakness.SEQUENCE: _l("This password is mostly a sequence (like “abcd” or “1234”), "
                             "which is quickly guessed."),
        Weakness.KEYBOARD: _l("This password follows the keyboard (like “qwerty” or "
                             "“asdfgh”), which is quickly guessed."),
        Weakness.DATE: _l("This password is mostly a date or a year, which is quickly "
                         "guessed."),
        Weakness.WORDS: _l("This password is a common word or name with few changes, which "
                          "is quickly guessed."),
        Weakness.GUESSABLE: _l("This password is too easy to guess."),
    }[weakness]


def _hash_new_password(password: str, email: str, name: str) -> str:
    """The password hashed with auth's rules (long enough, hard to guess, not the person's
    own e-mail or name); AccountError with the reason if refused."""
    try:
        return hash_password(password, (email, name))
    except WeakPassword as exc:
        raise AccountError("password", weakness_message(exc.weakness)) from exc


def create_user(session: Session, actor: Actor | None, email: str, name: str, role: str,
                organisation_id: int | None = None, password: str | None = None,
                assign_to: Iterable[int] = (),
                new_organisation: OrganisationFields | None = None,
                is_coordinator: bool = False, language: str | None = None) -> User:
    """A new account. Without `password` it cannot sign in until its owner follows an
    invitation link (issue_link). A respondent's administration is `organisation_id`, or
    `new_organisation`, created with the user in the same transaction."""
    email = normalise_email(email)
    if session.scalar(select(User.id).where(func.lower(User.email) == email)) is not None:
        raise AccountError("email", _l("A user with this e-mail address already exists."))
    name = _check_name(name)
    role = _check_role(role)
    if role == Role.RESPONDENT and new_organisation is not None:
        fields = _check_organisation(session, new_organisation)
        organisation = None
    else:
        fields, organisation = None, _check_membership(session, role, organisation_id)
    assigned = _organisations_by_id(session, assign_to)
    if assigned and role != Role.FACILITATOR:
        raise AccountError("assign", _l("Only facilitators are assigned to administrations."))
    password_hash = (_hash_new_password(password, email, name) if password is not None
                     else _unusable_password())
    if fields is not None:
        organisation = _add_organisation(session, actor, fields)
    user = User(email=email, name=name, role=role.value, organisation=organisation,
                password_hash=password_hash, assigned_organisations=assigned,
                is_coordinator=is_coordinator and role == Role.RESPONDENT, language=language)
    session.add(user)
    session.flush()
    audit.record(session, actor, "user.create", "user", user.id, email, role=role.value,
                 organisation=organisation.name if organisation else None,
                 coordinator=user.is_coordinator, assigned=[o.name for o in assigned])
    session.commit()
    return user


def _organisations_by_id(session: Session, ids: Iterable[int]) -> list[Organisation]:
    ids = list(dict.fromkeys(ids))
    found = list(session.scalars(select(Organisation).where(Organisation.id.in_(ids))))
    if len(found) != len(ids):
        raise AccountError("assign", _l("Choose administrations from the list."))
    return found


def organisation_by_name(session: Session, name: str) -> Organisation | None:
    return session.scalar(select(Organisation).where(Organisation.name == name))


def _active_admins(session: Session) -> int:
    return session.scalar(select(func.count(User.id)).where(
        User.role == Role.ADMIN, User.active.is_(True))) or 0


def _keeps_an_admin(session: Session, user: User) -> None:
    """Refuse to take away the last active admin: nobody could then run the installation
    from the browser."""
    if user.role == Role.ADMIN and user.active and _active_admins(session) <= 1:
        raise AccountError("role", _l("This is the only active admin: make another admin "
                                      "first."))


def update_user(session: Session, actor: Actor | None, user: User, name: str, role: str,
                organisation_id: int | None, is_coordinator: bool = False) -> User:
    """Change a user's name, role and (for a respondent) administration, and whether they
    coordinate its team.

    A facilitator who becomes something else loses their assignments; a respondent who
    stops being one leaves their administration.
    """
    name = _check_name(name)
    new_role = _check_role(role)
    organisation = _check_membership(session, new_role, organisation_id)
    if new_role != user.role:
        _keeps_an_admin(session, user)
    before = {"name": user.name, "role": user.role,
              "organisation": user.organisation.name if user.organisation else None,
              "coordinator": user.is_coordinator}
    user.name, user.role, user.organisation = name, new_role.value, organisation
    user.is_coordinator = is_coordinator and new_role == Role.RESPONDENT
    if new_role != Role.FACILITATOR:
        user.assigned_organisations = []
    after = {"name": name, "role": new_role.value,
             "organisation": organisation.name if organisation else None,
             "coordinator": user.is_coordinator}
    changed = {k: [before[k], after[k]] for k in before if before[k] != after[k]}
    if changed:
        audit.record(session, actor, "user.update", "user", user.id, user.email,
                     changes=changed)
    session.commit()
    return user


def set_active(session: Session, actor: Actor | None, user: User, active: bool) -> User:
    """Deactivate (their session ends on its next request, their links stop working) or
    reactivate a user. Their answers and history stay, with their name on them."""
    if user.active == active:
        return user
    if not active:
        if actor is not None and actor.id == user.id:
            raise AccountError("", _l("You cannot deactivate your own account."))
        _keeps_an_admin(session, user)
        _expire_links(session, user.id)
    user.active = active
    audit.record(session, actor, "user.reactivate" if active else "user.deactivate", "user",
                 user.id, user.email)
    session.commit()
    return user


def assign(session: Session, actor: Actor | None, user: User,
           organisation: Organisation) -> None:
    """Give a facilitator an administration to review."""
    if user.role != Role.FACILITATOR:
        raise AccountError("organisation_id",
                           _l("Only facilitators are assigned to administrations."))
    if organisation in user.assigned_organisations:
        return
    user.assigned_organisations.append(organisation)
    audit.record(session, actor, "user.assign", "user", user.id, user.email,
                 organisation=organisation.name, organisation_id=organisation.id)
    session.commit()


def unassign(session: Session, actor: Actor | None, user: User,
             organisation: Organisation) -> None:
    """Take an administration away from a facilitator."""
    if organisation not in user.assigned_organisations:
        return
    user.assigned_organisations.remove(organisation)
    audit.record(session, actor, "user.unassign", "user", user.id, user.email,
                 organisation=organisation.name, organisation_id=organisation.id)
    session.commit()


def users(search: str = "", role: str = "", organisation_id: int | None = None,
          active: bool | None = None) -> Select:
    """Users by e-mail, narrowed by a search on name or e-mail, a role, an administration
    (its respondents and its facilitators) or being active (a query, for pagination)."""
    query = select(User).order_by(User.email)
    if search.strip():
        term = search.strip()
        query = query.where(or_(User.email.icontains(term, autoescape=True),
                                User.name.icontains(term, autoescape=True)))
    if role:
        query = query.where(User.role == role)
    if organisation_id is not None:
        query = query.where(or_(User.organisation_id == organisation_id,
                                User.assigned_organisations.any(Organisation.id ==
                                                                organisation_id)))
    if active is not None:
        query = query.where(User.active.is_(active))
    return query


# --------------------------------------------------------------------- own account


def update_profile(session: Session, user: User, name: str, language: str | None,
                   languages: Iterable[str]) -> User:
    """A user's own display name and interface language (None: the browser's)."""
    name = _check_name(name)
    if language and language not in languages:
        raise AccountError("language", _l("Choose a language from the list."))
    user.name, user.language = name, language or None
    session.commit()
    return user


# ----------------------------------------------------------------- one-time links


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def issue_link(session: Session, actor: Actor | None, user: User, purpose: str,
               now: datetime | None = None) -> str:
    """A new one-time token for `user` (valid LINK_VALID_FOR, single use); any earlier
    unused one stops working. Only its hash is stored: the token is returned once, to be
    put in a link."""
    if not user.active:
        raise AccountError("", _l("This user is deactivated: reactivate them first."))
    now = now or datetime.now(UTC)
    _expire_links(session, user.id, now)
    token = secrets.token_urlsafe(32)
    session.add(PasswordToken(user_id=user.id, token_hash=token_hash(token), purpose=purpose,
                              created_at=now, expires_at=now + LINK_VALID_FOR))
    audit.record(session, actor, "user.password_link", "user", user.id, user.email,
                 purpose=purpose)
    session.commit()
    return token


def _expire_links(session: Session, user_id: int, now: datetime | None = None) -> None:
    session.execute(update(PasswordToken)
                    .where(PasswordToken.user_id == user_id, PasswordToken.used_at.is_(None))
                    .values(used_at=now or datetime.now(UTC)))


def _aware(moment: datetime) -> datetime:
    """SQLite gives back naive datetimes (stored in UTC)."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def link_holder(session: Session, token: str, now: datetime | None = None) -> User | None:
    """The active user a token opens, if it is unused and unexpired; else None."""
    if not token or len(token) > 100:
        return None
    row = session.scalar(select(PasswordToken).where(
        PasswordToken.token_hash == token_hash(token)))
    now = now or datetime.now(UTC)
    if row is None or row.used_at is not None or _aware(row.expires_at) <= now:
        return None
    return row.user if row.user.active else None


def redeem_link(session: Session, token: str, password: str,
                now: datetime | None = None) -> User:
    """Set the password of the token's user and use the token up, in one transaction.

    The token row is claimed with a conditional UPDATE, so two requests racing with the
    same link cannot both set a password.
    """
    user = link_holder(session, token, now)
    if user is None:
        raise AccountError("token", _l("This link has expired or has already been used. "
                                       "Ask for a new one."))
    password_hash = _hash_new_password(password, user.email, user.name)
    now = now or datetime.now(UTC)
    claimed = session.execute(
        update(PasswordToken)
        .where(PasswordToken.token_hash == token_hash(token), PasswordToken.used_at.is_(None))
        .values(used_at=now)).rowcount
    if claimed != 1:
        session.rollback()
        raise AccountError("token", _l("This link has expired or has already been used. "
                                       "Ask for a new one."))
    user.password_hash = password_hash
    _expire_links(session, user.id, now)
    audit.record(session, user, "user.password_set", "user", user.id, user.email)
    session.commit()
    return user


def change_password(session: Session, user: User, current: str, new: str) -> User:
    """A person changes their own password, knowing the current one.

    Their unused one-time links stop working: a link sent before the change (an old
    invitation, a reset someone else asked for) must not undo it.
    """
    if not check_password_hash(user.password_hash, current):
        raise AccountError("current", _l("That is not your current password."))
    user.password_hash = _hash_new_password(new, user.email, user.name or "")
    _expire_links(session, user.id)
    audit.record(session, user, "user.password_set", "user", user.id, user.email)
    session.commit()
    return user


def active_user_by_email(session: Session, email: str) -> User | None:
    """The active account with this address, or None (also for text that is no address)."""
    try:
        email = normalise_email(email)
    except AccountError:
        return None
    return session.scalar(select(User).where(func.lower(User.email) == email,
                                             User.active.is_(True)))


# ------------------------------------------------------------------------- assessments


def start_assessment(session: Session, actor: Actor | None, organisation: Organisation,
                     instrument_id: int | None, round_name: str) -> Assessment:
    """A new assessment of `organisation` on a current (not retired) instrument version."""
    round_name = _plain_text("round_name", round_name)
    if not round_name:
        raise AccountError("round_name", _l("Give the round a name."))
    if len(round_name) > ROUND_NAME_LIMIT:
        raise AccountError("round_name", _l("A round name has at most %(n)d characters.",
                                            n=ROUND_NAME_LIMIT))
    instrument = session.get(Instrument, instrument_id) if instrument_id else None
    if instrument is None or instrument.retired:
        raise AccountError("instrument_id", _l("Choose an instrument from the list."))
    clash = session.scalar(select(Assessment.id).where(
        Assessment.organisation_id == organisation.id, Assessment.round_name == round_name))
    if clash is not None:
        raise AccountError("round_name", _l("This administration already has a round with "
                                            "that name."))
    assessment = Assessment(organisation=organisation, instrument_row=instrument,
                            round_name=round_name,
                            created_by_id=actor.id if actor is not None else None)
    session.add(assessment)
    session.flush()
    audit.record(session, actor, "assessment.create", "assessment", assessment.id,
                 f"{organisation.name} — {round_name}", instrument=instrument.key,
                 version=instrument.version)
    session.commit()
    return assessment
