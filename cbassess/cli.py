"""`flask --app cbassess …` commands: database, users, demo data, instruments, backups.

Each command is a thin wrapper; the work (validation, saving) is done by the same modules
the web app uses, so the CLI can never write what the app would refuse.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click
from alembic import command as alembic_command
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext
from sqlalchemy import select

from . import answers as answer_store
from . import backup as backups
from . import pg_backup as pg_backups
from .auth import hash_password
from .extensions import db, migrate
from .instrument import InstrumentError, load_path, shipped_paths
from .models import Assessment, Instrument, Organisation, Role, User
from .passwords import WeakPassword
from .schema import SchemaError

DEMO_PASSWORD = "demo-password-2026"


def init_app(app: Flask) -> None:
    app.cli.add_command(init_db_command)
    app.cli.add_command(create_user_command)
    app.cli.add_command(seed_demo_command)
    app.cli.add_command(instrument_group)
    app.cli.add_command(backup_command)
    app.cli.add_command(restore_command)


def upgrade_schema() -> None:
    """Bring the database to the newest migration: create it when empty, recognise a 0.1.0
    database made before migrations, refuse anything else (migrations/env.py)."""
    alembic_command.upgrade(migrate.get_config(), "head")


def init_db() -> None:
    """Upgrade the schema and import the shipped instruments (both idempotent)."""
    upgrade_schema()
    for path in shipped_paths():
        import_instrument(path)


def import_instrument(path: str | Path) -> tuple[Instrument, bool]:
    """Validate and store an instrument file; returns (row, created).

    The same key and version with different text is refused: a published version is never
    changed under the assessments that used it.
    """
    spec = load_path(path)
    source = Path(path).read_text(encoding="utf-8")
    existing = db.session.scalar(select(Instrument).where(Instrument.key == spec.key,
                                                          Instrument.version == spec.version))
    if existing is not None:
        if existing.content_hash != spec.content_hash:
            raise InstrumentError(
                str(path), "version",
                f"{spec.key} {spec.version} is already imported with different content; "
                "give the changed file a new version",
            )
        return existing, False
    row = Instrument(key=spec.key, version=spec.version, title=spec.title.get(),
                     content_hash=spec.content_hash, source=source)
    db.session.add(row)
    db.session.commit()
    return row, True


@contextmanager
def _schema_errors() -> Iterator[None]:
    """A database the migrations refuse ends the command with the reason, not a traceback."""
    try:
        yield
    except SchemaError as exc:
        raise click.ClickException(str(exc)) from exc


@click.command("init-db")
@with_appcontext
def init_db_command() -> None:
    """Create or upgrade the database and import the shipped instruments."""
    with _schema_errors():
        init_db()
    click.echo(f"Database ready at {db.engine.url.render_as_string(hide_password=True)}")


@click.command("create-user")
@with_appcontext
@click.option("--email", prompt=True)
@click.option("--name", default="")
@click.option("--role", type=click.Choice([r.value for r in Role]), prompt=True)
@click.option("--organisation", "organisation_name", default=None,
              help="Administration name (respondents; created with --country if new).")
@click.option("--country", default=None, help="ISO 3166 alpha-2 code of a new administration.")
@click.option("--region", default="", help="WCO region of a new administration.")
@click.option("--assign", multiple=True,
              help="Administration a facilitator is assigned to (repeatable).")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True,
              help="Prompted when omitted; give it here only in scripts.")
@click.option("--language", default=None,
              help="The language the app speaks to this user (e.g. fr); by default their "
                   "browser's, until they choose one.")
def create_user_command(email, name, role, organisation_name, country, region, assign,
                        password, language) -> None:
    """Create a user (respondent, facilitator or admin)."""
    email = email.strip().lower()
    if language is not None and language not in current_app.config["LANGUAGES"]:
        raise click.BadParameter(
            f"not one of the app's languages ({', '.join(current_app.config['LANGUAGES'])})",
            param_hint="--language")
    if "@" not in email:
        raise click.BadParameter("not an e-mail address", param_hint="--email")
    if db.session.scalar(select(User).where(User.email == email)):
        raise click.ClickException(f"a user with e-mail {email} already exists")
    try:
        password_hash = hash_password(password, (email, name))
    except WeakPassword as exc:
        raise click.BadParameter(str(exc), param_hint="--password") from exc
    organisation = None
    if role == Role.RESPONDENT:
        if not organisation_name:
            raise click.UsageError("a respondent needs --organisation")
        organisation = _organisation(organisation_name, country, region)
    user = User(email=email, name=name, role=role, password_hash=password_hash,
                organisation=organisation, language=language)
    for assigned in assign:
        if role != Role.FACILITATOR:
            raise click.UsageError("--assign is for facilitators")
        found = db.session.scalar(select(Organisation).where(Organisation.name == assigned))
        if found is None:
            raise click.BadParameter(f"no administration called {assigned!r}",
                                     param_hint="--assign")
        user.assigned_organisations.append(found)
    db.session.add(user)
    db.session.commit()
    click.echo(f"Created {role} {email}")


def _organisation(name: str, country: str | None, region: str) -> Organisation:
    found = db.session.scalar(select(Organisation).where(Organisation.name == name))
    if found:
        return found
    if not country or len(country) != 2 or not country.isalpha():
        raise click.BadParameter("a new administration needs a two-letter ISO country code",
                                 param_hint="--country")
    organisation = Organisation(name=name, country_code=country.upper(), region=region)
    db.session.add(organisation)
    return organisation


DEMO_EVIDENCE = {
    "PW.1": "Customs Modernisation Strategy 2025–2029 endorsed by the Council of Ministers "
            "(decree 2025-114, 12 March 2025); the Minister of Finance chairs the reform "
            "board, which met four times in the last 12 months (minutes attached).",
    "PW.2": "Customs Code revised in 2024 (Law 24-07) provides for risk management, AEO and "
            "advance rulings; implementing regulations for AEO are still in draft.",
    "PW.3": "Budget execution reports 2024 and 2025: 68 % and 74 % of the approved reform "
            "budget released.",
    "PW.4": "The Director General changed in 2024; the handover note kept the strategy, but "
            "two projects were paused for six months.",
    "PW.5": "The National Development Plan 2023–2030 names trade facilitation as a pillar and "
            "cites customs reform (chapter 4.2).",
    "OC.1": "Strategic plan written by the Strategic Planning Unit with WCO support; 14 KPIs, "
            "linked to the medium-term expenditure framework.",
    "OC.2": "Modernisation Unit created by decision DG/2023/45; steering committee met "
            "quarterly in 2025.",
    "OC.3": "Partners' support is agreed in an annual coordination meeting chaired by the "
            "Deputy Director General.",
    "HD.1": "Columbus diagnostic (2022) and a follow-up gap analysis (2024).",
    "HD.2": "Plan covers strategy, operations and IT; interdependencies listed for the "
            "single-window project only.",
    "HD.3": "Training needs analysis done in 2025 for 60 % of staff; competency framework draft.",
}


@click.command("seed-demo")
@with_appcontext
def seed_demo_command() -> None:
    """Add a demo administration, a half-completed assessment, a respondent and a facilitator."""
    if current_app.config.get("ENV_NAME") == "production":
        raise click.ClickException("refusing to seed demo data in production")
    with _schema_errors():
        init_db()
    if db.session.scalar(select(User).where(User.email == "respondent@demo.example")):
        click.echo("Demo data is already there.")
    else:
        _seed_demo()
    click.echo(f"Demo accounts (password for each: {DEMO_PASSWORD})")
    click.echo("  respondent@demo.example   respondent, Demo Customs Administration")
    click.echo("  facilitator@demo.example  facilitator, assigned to it")
    click.echo("  admin@demo.example        admin")


def _seed_demo() -> None:
    organisation = Organisation(name="Demo Customs Administration", country_code="DM",
                                region="East and Southern Africa")
    other = Organisation(name="Customs Administration of Exempla", country_code="EX",
                         region="West and Central Africa")
    db.session.add_all([organisation, other])
    password_hash = hash_password(DEMO_PASSWORD)
    respondent = User(email="respondent@demo.example", name="Amina Diallo",
                      role=Role.RESPONDENT, organisation=organisation,
                      password_hash=password_hash)
    facilitator = User(email="facilitator@demo.example", name="Jean-Pierre Lefèvre",
                       role=Role.FACILITATOR, password_hash=password_hash,
                       assigned_organisations=[organisation])
    admin = User(email="admin@demo.example", name="Platform Administrator", role=Role.ADMIN,
                 password_hash=password_hash)
    db.session.add_all([respondent, facilitator, admin])
    row = db.session.scalar(select(Instrument).where(Instrument.key == "wco-cb-core-principles"))
    assessment = Assessment(organisation=organisation, instrument_row=row,
                            round_name="2026 self-assessment", created_by_id=None)
    db.session.add(assessment)
    db.session.commit()
    from .permissions import instrument_of

    spec = instrument_of(assessment)
    levels = [3, 2, 2, 1, 3, 3, 2, 2, 3, 2, 1]
    inputs = []
    for (key, evidence), level in zip(DEMO_EVIDENCE.items(), levels, strict=True):
        form = {f"{key}-level": str(level), f"{key}-evidence": evidence, f"{key}-note": ""}
        inputs.append(answer_store.parse_answer(spec, key, form))
    answer_store.save_answers(db.session, assessment.id, inputs, respondent.id)


instrument_group = AppGroup("instrument", help="Check and import instrument files.")


@instrument_group.command("check")
@click.argument("path", type=click.Path(dir_okay=False))
def instrument_check(path: str) -> None:
    """Validate an instrument file and summarise it."""
    try:
        spec = load_path(path)
    except InstrumentError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"OK: {spec.key} {spec.version} — {spec.title.get()}")
    click.echo(f"  {len(spec.principles)} principles, {len(spec.indicators)} indicators, "
               f"levels {spec.scale.minimum}–{spec.scale.maximum}"
               f"{', not applicable allowed' if spec.scale.not_applicable_allowed else ''}")
    click.echo(f"  sha256 {spec.content_hash}")
    if spec.declared_languages is not None:
        click.echo(f"  languages {', '.join(spec.declared_languages)}: every text translated")
    else:
        for language, (count, total) in spec.coverage().items():
            note = "" if count == total else " (not declared; the rest shows in English)"
            click.echo(f"  {language}: {count} of {total} texts{note}")


@instrument_group.command("import")
@click.argument("path", type=click.Path(dir_okay=False))
def instrument_import(path: str) -> None:
    """Validate an instrument file and make it available for new assessments."""
    try:
        with _schema_errors():
            upgrade_schema()  # a fresh database gets its tables first
        row, created = import_instrument(path)
    except InstrumentError as exc:
        raise click.ClickException(str(exc)) from exc
    verb = "Imported" if created else "Already imported:"
    click.echo(f"{verb} {row.key} {row.version}")


@click.command("backup")
@click.argument("path", type=click.Path(path_type=Path))
@with_appcontext
def backup_command(path: Path) -> None:
    """Copy the database to PATH while the app runs (a folder gets a dated file): SQLite's
    backup API, or pg_dump on PostgreSQL; the copy is checked before it is kept."""
    url = db.engine.url
    try:
        if pg_backups.is_postgresql(url):
            written = pg_backups.backup(url, path)
            click.echo(f"Backed up to {written} (pg_restore can read it: ok)")
        else:
            written = backups.backup(backups.sqlite_path(url), path)
            click.echo(f"Backed up to {written} (integrity check: ok)")
    except backups.BackupError as exc:
        raise click.ClickException(str(exc)) from exc


@click.command("restore")
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--yes", is_flag=True, help="Replace the database without asking.")
@with_appcontext
def restore_command(path: Path, yes: bool) -> None:
    """Replace the database with the backup at PATH (checked first; the current database is
    kept: beside it on SQLite, as a dump beside PATH on PostgreSQL)."""
    url = db.engine.url
    postgresql = pg_backups.is_postgresql(url)
    try:
        if postgresql:
            where = url.render_as_string(hide_password=True)
            pg_backups.verify(path)
        else:
            where = backups.sqlite_path(url)
            backups.verify(path)
        if not yes:
            click.confirm(f"Replace every answer in {where} with the content of {path}?",
                          abort=True)
        db.session.remove()
        db.engine.dispose()  # no connection of ours holds a table the restore replaces
        kept = pg_backups.restore(url, path) if postgresql else backups.restore(path, where)
    except backups.BackupError as exc:
        raise click.ClickException(str(exc)) from exc
    db.engine.dispose()
    click.echo(f"Restored {where} from {path}.")
    if kept:
        click.echo(f"The database as it was before is kept at {kept}.")
    _say_if_behind()


def _say_if_behind() -> None:
    """A backup from an older version is restored as it was: say how to bring it up to date."""
    with db.engine.connect() as connection:
        current = MigrationContext.configure(connection).get_current_revision()
    head = ScriptDirectory.from_config(migrate.get_config()).get_current_head()
    if current != head:
        click.echo(f"The restored database is at schema revision {current or '0.1.0'}; this "
                   f"version needs {head}: run `flask --app cbassess db upgrade`.")
