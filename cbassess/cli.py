"""`flask --app cbassess …` commands: database, users, demo data, instruments, backups.

Each command is a thin wrapper; the work (validation, saving) is done by the same modules
the web app uses, so the CLI can never write what the app would refuse.
"""

from __future__ import annotations

import json
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

from . import accounts, exchange, instrument_store
from . import answers as answer_store
from . import backup as backups
from . import evidence as evidence_files
from . import pg_backup as pg_backups
from .extensions import db, migrate
from .instrument import InstrumentError, load_path, shipped_paths
from .models import Assessment, Instrument, Organisation, Role, User
from .passwords import hash_password
from .schema import SchemaError

DEMO_PASSWORD = "demo-password-2026"


def init_app(app: Flask) -> None:
    app.cli.add_command(init_db_command)
    app.cli.add_command(create_user_command)
    app.cli.add_command(seed_demo_command)
    app.cli.add_command(instrument_group)
    app.cli.add_command(backup_command)
    app.cli.add_command(restore_command)
    app.cli.add_command(import_assessment_command)
    app.cli.add_command(evidence_group)
    app.cli.add_command(verify_command)


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
    """Validate and store an instrument file; returns (row, created)."""
    return instrument_store.import_path(db.session, path)


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
@click.option("--coordinator", is_flag=True,
              help="A respondent who coordinates their administration's team.")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True,
              help="Prompted when omitted; give it here only in scripts.")
@click.option("--language", default=None,
              help="The language the app speaks to this user (e.g. fr); by default their "
                   "browser's, until they choose one.")
def create_user_command(email, name, role, organisation_name, country, region, assign,
                        coordinator, password, language) -> None:
    """Create a user (respondent, facilitator or admin)."""
    if language is not None and language not in current_app.config["LANGUAGES"]:
        raise click.BadParameter(
            f"not one of the app's languages ({', '.join(current_app.config['LANGUAGES'])})",
            param_hint="--language")
    if coordinator and role != Role.RESPONDENT:
        raise click.UsageError("--coordinator is for respondents")
    if role != Role.FACILITATOR and assign:
        raise click.UsageError("--assign is for facilitators")
    if role == Role.RESPONDENT and not organisation_name:
        raise click.UsageError("a respondent needs --organisation")
    organisation = accounts.organisation_by_name(db.session, organisation_name or "")
    new_organisation = None
    if role == Role.RESPONDENT and organisation is None:
        new_organisation = accounts.OrganisationFields(organisation_name, country or "",
                                                       region)
    assigned = []
    for name_ in assign:
        found = accounts.organisation_by_name(db.session, name_)
        if found is None:
            raise click.BadParameter(f"no administration called {name_!r}",
                                     param_hint="--assign")
        assigned.append(found.id)
    try:
        accounts.create_user(db.session, None, email, name, role,
                             organisation_id=organisation.id if organisation else None,
                             password=password, assign_to=assigned,
                             new_organisation=new_organisation, is_coordinator=coordinator,
                             language=language)
    except accounts.AccountError as exc:
        hint = {"email": "--email", "password": "--password", "country_code": "--country",
                "region": "--region", "organisation_id": "--organisation",
                "name": "--organisation" if new_organisation else "--name"}.get(exc.field)
        if hint:
            raise click.BadParameter(str(exc.message), param_hint=hint) from exc
        raise click.ClickException(str(exc.message)) from exc
    click.echo(f"Created {role} {accounts.normalise_email(email)}")


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
    scores = (f" scored {', '.join(f'{x:g}' for x in spec.scale.scores)}"
              if spec.scale.has_own_scores else "")
    click.echo(f"  {len(spec.principles)} principles, {len(spec.indicators)} indicators, "
               f"levels {spec.scale.minimum}–{spec.scale.maximum}{scores}"
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
        row, created = instrument_store.import_path(db.session, path)
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
            # Read after the dump: every file the dump refers to, and perhaps a few more.
            referenced = evidence_files.referenced_hashes(db.session)
        else:
            written = backups.backup(backups.sqlite_path(url), path)
            click.echo(f"Backed up to {written} (integrity check: ok)")
            referenced = backups.referenced_files(written)
        folder, count = backups.backup_files(written, _store(), referenced)
    except backups.BackupError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"Evidence files: {count} in {folder} (each checked against its SHA-256)")


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
            backups.check_files_folder(path)  # which files the dump needs is known after
        else:
            where = backups.sqlite_path(url)
            backups.verify(path)
            backups.check_backup_files(path, _store(), backups.referenced_files(path))
        if not yes:
            click.confirm(f"Replace every answer in {where} with the content of {path}?",
                          abort=True)
        if postgresql:  # the files the dump needs are known once it is in: copy them all
            added = backups.restore_folder(path, _store())
        else:
            added = backups.restore_files(path, _store(), backups.referenced_files(path))
        db.session.remove()
        db.engine.dispose()  # no connection of ours holds a table the restore replaces
        kept = pg_backups.restore(url, path) if postgresql else backups.restore(path, where)
        if postgresql:
            try:
                backups.check_backup_files(path, _store(),
                                           evidence_files.referenced_hashes(db.session))
            except backups.BackupError as exc:
                raise backups.BackupError(f"the database was restored, but {exc}") from exc
    except backups.BackupError as exc:
        raise click.ClickException(str(exc)) from exc
    db.engine.dispose()
    click.echo(f"Restored {where} from {path}.")
    click.echo(f"Evidence files: {added} added to the store, every one checked.")
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


def _store() -> evidence_files.EvidenceStore:
    return evidence_files.store_for(current_app.config, current_app.instance_path)


@click.command("import-assessment")
@click.argument("path", type=click.Path(dir_okay=False, exists=True))
@click.option("--administration", default=None,
              help="Import into this administration (default: the one the file names).")
@click.option("--create-administration", "--organisation-create", "create_administration",
              is_flag=True, help="Create the administration when there is none of that name "
                                 "(its country, region and languages from the file).")
@click.option("--country", default=None,
              help="ISO 3166 alpha-2 code of a created administration (default: the file's).")
@click.option("--round", "round_name", default=None,
              help="Round name to give it (default: the exported one).")
@click.option("--dry-run", is_flag=True, help="Check everything and report; write nothing.")
@with_appcontext
def import_assessment_command(path: str, administration: str | None,
                              create_administration: bool, country: str | None,
                              round_name: str | None, dry_run: bool) -> None:
    """Import an export.json or export.zip as a new assessment, exactly as exported: answers
    and their history, reviews, queries, the action plan, events, the sign-off and (from a
    zip) the files. Everything is checked first; nothing is written unless all of it is.
    People are matched to accounts here by e-mail; anyone else is kept by name and e-mail
    without an account."""
    options = exchange.ImportOptions(administration, round_name, create_administration,
                                     country, dry_run)
    try:
        summary = exchange.import_file(db.session, _store(), path, options,
                                       evidence_files.limits_for(current_app.config), None)
    except exchange.ImportRefused as exc:
        lines = [f"  {problem}" for problem in exc.problems]
        if exc.more:
            lines.append(f"  … and {exc.more} more")
        raise click.ClickException("nothing was imported:\n" + "\n".join(lines)) from exc
    counts = summary.counts
    verb = "Would import" if dry_run else "Imported"
    where = f"{summary.administration}{' (created)' if summary.administration_created else ''}"
    click.echo(f"{verb} “{summary.round_name}” ({summary.status}, {summary.instrument}) into "
               f"{where}" + ("" if dry_run else f" as assessment {summary.assessment_id}")
               + f": {counts['answers']} answers, {counts['answer_revisions']} revisions, "
               f"{counts['reviews']} reviews, {counts['query_threads']} queries, "
               f"{counts['actions']} actions, {counts['events']} events, "
               f"{counts['signoff_snapshots']} sign-offs, {summary.files} files.")
    if summary.recorded_people:
        click.echo("Named without an account here (kept by name and e-mail): "
                   + ", ".join(summary.recorded_people))
    if dry_run:
        click.echo("Dry run: nothing was written.")


evidence_group = AppGroup("evidence", help="Check the evidence store; clean up after crashes.")


@evidence_group.command("check")
def evidence_check() -> None:
    """Check that every file an answer refers to is in the store with its SHA-256."""
    store = _store()
    referenced = evidence_files.referenced_hashes(db.session)
    damaged = backups.damaged_files(store, referenced)
    if damaged:
        raise click.ClickException(
            f"{len(damaged)} of {len(referenced)} evidence files are missing or damaged in "
            f"{store.root}: {', '.join(damaged[:10])}")
    click.echo(f"OK: {len(referenced)} evidence files in {store.root}, each matching its "
               "SHA-256.")


@evidence_group.command("orphans")
@click.option("--delete", is_flag=True, help="Delete them.")
@click.option("--older-than", "older_than", type=click.IntRange(min=0),
              default=3600, show_default=True,
              help="Leave alone files younger than this many seconds (an upload may be "
                   "committing).")
def evidence_orphans(delete: bool, older_than: int) -> None:
    """List (or delete) stored files no answer refers to, and partial uploads a crash left."""
    store = _store()
    orphans = store.orphans(evidence_files.referenced_hashes(db.session), grace=older_than)
    for path in orphans:
        click.echo(str(path))
        if delete:
            path.unlink(missing_ok=True)
    verb = "Deleted" if delete else "Found"
    click.echo(f"{verb} {len(orphans)} file(s) that nothing refers to.")

@click.command("verify")
@click.argument("report")
@with_appcontext
def verify_command(report: str) -> None:
    """Does a report's sign-off digest match a snapshot held here? REPORT is a PDF or a digest."""
    from pypdf import PdfReader

    from . import signoff

    path = Path(report)
    if path.suffix.lower() == ".pdf" and path.is_file():
        try:
            text = "\n".join(page.extract_text() or "" for page in PdfReader(path).pages)
        except Exception as error:  # any unreadable file: say so, never a traceback
            raise click.ClickException(f"{report}: not a readable PDF ({error})") from error
    else:
        text = report
    if not signoff.digests_in(text):
        raise click.ClickException("No SHA-256 digest found: give a validated report (PDF) "
                                   "or its 64-character digest.")
    snapshot = signoff.find(db.session, text)
    if snapshot is None:
        raise click.ClickException("No sign-off snapshot held here matches: the report was "
                                   "not validated here, or its digest was changed.")
    if not signoff.matches_payload(snapshot):
        raise click.ClickException(f"Snapshot {snapshot.digest} was altered after validation.")
    payload = json.loads(snapshot.payload)
    click.echo(f"Matches: {payload['assessment']['administration']} — "
               f"{payload['assessment']['round']} (assessment {payload['assessment']['id']}), "
               f"validated by {payload['validated_by']['name']} at {payload['validated_at']}; "
               f"snapshot {snapshot.digest}")
