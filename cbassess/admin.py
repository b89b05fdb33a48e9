"""Admin pages: administrations, users, invitations, instruments, new assessments, imports of
exported assessments, audit log.

Each view parses the form, checks permissions.can_administer, calls accounts.py or
instrument_store.py (which validate, write the change with its audit entry, and commit),
and renders. A refused form comes back with the message beside its field and what was
typed kept; nothing is written. A one-time link is shown once, in the reply to the post
that made it, and never stored in clear.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from . import accounts, audit, evidence, exchange, instrument_store, invitations, round_store
from .accounts import AccountError, OrganisationFields, Purpose
from .extensions import db
from .instrument import InstrumentError
from .models import Assessment, Instrument, Organisation, Role, User
from .permissions import can_administer, parse_instrument_row
from .url_params import database_id, page_number

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.before_request
def admins_only():
    """Every admin page: signed in (else the sign-in page) and an admin (else 403)."""
    if request.method == "OPTIONS":  # Flask's automatic answer: no view code runs
        return None
    if not current_user.is_authenticated:
        return current_app.login_manager.unauthorized()
    if not can_administer(current_user):
        abort(403)
    return None


def _language() -> str:
    return str(get_locale() or "en")


def _page_size() -> int:
    return current_app.config["PAGE_SIZE"]


def _acting_user() -> User:
    """The signed-in admin as a row (the audit log names them)."""
    return db.session.get(User, current_user.id)


def _or_404(model, ident: int):
    row = db.session.get(model, ident)
    if row is None:
        abort(404)
    return row


@bp.get("/")
def home():
    """Counts and the ways in."""
    counts = {
        "organisations": db.session.scalar(select(func.count(Organisation.id))),
        "users": db.session.scalar(select(func.count(User.id)).where(User.active.is_(True))),
        "instruments": db.session.scalar(select(func.count(Instrument.id))
                                         .where(Instrument.retired_at.is_(None))),
        "assessments": db.session.scalar(select(func.count(Assessment.id))),
    }
    return render_template("admin/home.html", counts=counts,
                           mail_configured=invitations.mail_settings() is not None)


# ------------------------------------------------------------------------ administrations


@bp.get("/administrations")
def organisations():
    """Administrations by name, searchable, a page at a time."""
    search = request.args.get("q", "")[:200]
    pagination = db.paginate(accounts.organisations(search),
                             page=page_number(),
                             per_page=_page_size(), error_out=False)
    return render_template("admin/organisations.html", pagination=pagination, search=search,
                           country_name=_country_name,
                           language_names=dict(accounts.language_choices(_language())))


def _country_name(code: str) -> str:
    return accounts.country_name(code, _language())


def _organisation_fields() -> OrganisationFields:
    return OrganisationFields(name=request.form.get("name", ""),
                              country_code=request.form.get("country_code", ""),
                              region=request.form.get("region", ""),
                              languages=tuple(request.form.getlist("languages")))


def _organisation_form(template_values: dict, status: int = 200):
    language = _language()
    return render_template("admin/organisation_form.html",
                           countries=accounts.country_choices(language),
                           languages=accounts.language_choices(language),
                           **template_values), status


@bp.route("/administrations/new", methods=["GET", "POST"])
def new_organisation():
    """Create an administration."""
    values = {"name": "", "country_code": "", "region": "", "languages": ["en"]}
    if request.method == "POST":
        fields = _organisation_fields()
        try:
            organisation = accounts.create_organisation(db.session, _acting_user(), fields)
        except AccountError as exc:
            db.session.rollback()
            return _organisation_form({"organisation": None, "values": _posted(fields),
                                       "errors": {exc.field: exc.message}}, 422)
        flash(_("Administration “%(name)s” created.", name=organisation.name), "success")
        return redirect(url_for("admin.organisation", organisation_id=organisation.id), 303)
    return _organisation_form({"organisation": None, "values": values, "errors": {}})


def _posted(fields: OrganisationFields) -> dict:
    return {"name": fields.name, "country_code": fields.country_code, "region": fields.region,
            "languages": list(fields.languages)}


@bp.route("/administrations/<int:organisation_id>/edit", methods=["GET", "POST"])
def edit_organisation(organisation_id: int):
    """Change an administration's name, country, region and working languages."""
    organisation = _or_404(Organisation, organisation_id)
    if request.method == "POST":
        fields = _organisation_fields()
        try:
            accounts.update_organisation(db.session, _acting_user(), organisation, fields)
        except AccountError as exc:
            db.session.rollback()
            return _organisation_form({"organisation": organisation, "values": _posted(fields),
                                       "errors": {exc.field: exc.message}}, 422)
        flash(_("Administration “%(name)s” saved.", name=organisation.name), "success")
        return redirect(url_for("admin.organisation", organisation_id=organisation.id), 303)
    values = {"name": organisation.name, "country_code": organisation.country_code,
              "region": organisation.region, "languages": organisation.language_list}
    return _organisation_form({"organisation": organisation, "values": values, "errors": {}})


@bp.get("/administrations/<int:organisation_id>")
def organisation(organisation_id: int):
    """One administration: its respondents, facilitators and assessments."""
    return _organisation_page(_or_404(Organisation, organisation_id))


def _organisation_page(organisation: Organisation, errors: dict | None = None,
                       values: dict | None = None, status: int = 200):
    respondents = list(db.session.scalars(
        select(User).where(User.organisation_id == organisation.id).order_by(User.email)))
    facilitators = list(db.session.scalars(
        select(User).where(User.assigned_organisations.any(Organisation.id == organisation.id))
        .order_by(User.email)))
    assessments = list(db.session.scalars(
        select(Assessment).options(joinedload(Assessment.instrument_row))
        .where(Assessment.organisation_id == organisation.id)
        .order_by(Assessment.created_at.desc(), Assessment.id.desc())))
    language = _language()
    return render_template(
        "admin/organisation.html", organisation=organisation, respondents=respondents,
        facilitators=facilitators, assessments=assessments,
        instruments=instrument_store.current_instruments(db.session),
        carry_from=round_store.carry_from(db.session, organisation.id),
        country=accounts.country_name(organisation.country_code, language),
        language_names=dict(accounts.language_choices(language)),
        errors=errors or {}, values=values or {}), status


@bp.post("/administrations/<int:organisation_id>/assessments")
def start_assessment(organisation_id: int):
    """Start an assessment for the administration on a chosen instrument and round name."""
    organisation = _or_404(Organisation, organisation_id)
    round_name = request.form.get("round_name", "")
    instrument_id = database_id(request.form.get("instrument_id"))
    try:
        assessment = accounts.start_assessment(db.session, _acting_user(), organisation,
                                               instrument_id, round_name)
    except AccountError as exc:
        db.session.rollback()
        return _organisation_page(organisation, {exc.field: exc.message},
                                  {"round_name": round_name, "instrument_id": instrument_id},
                                  422)
    flash(_("Assessment “%(name)s” started for %(org)s.", name=assessment.round_name,
            org=organisation.name), "success")
    return redirect(url_for("admin.organisation", organisation_id=organisation.id), 303)


# ---------------------------------------------------------------------------------- users


def _all_organisations() -> list[Organisation]:
    return list(db.session.scalars(select(Organisation).order_by(func.lower(Organisation.name))))


@bp.get("/users")
def users():
    """Users, searchable by name or e-mail and filtered by role and state."""
    search = request.args.get("q", "")[:200]
    role = request.args.get("role", "")
    role = role if role in {r.value for r in Role} else ""
    state = request.args.get("state", "")
    active = {"active": True, "inactive": False}.get(state)
    pagination = db.paginate(
        accounts.users(search, role, active=active).options(joinedload(User.organisation)),
        page=page_number(), per_page=_page_size(), error_out=False)
    return render_template("admin/users.html", pagination=pagination, search=search,
                           role=role, state=state if active is not None else "",
                           roles=list(Role))


def _user_form(template_values: dict, status: int = 200):
    return render_template("admin/user_form.html", roles=list(Role),
                           organisations=_all_organisations(), **template_values), status


@bp.route("/users/new", methods=["GET", "POST"])
def new_user():
    """Create a user and give them a one-time link to set their password (e-mailed when
    mail is configured, else shown here to pass on)."""
    values = {"email": "", "name": "", "role": Role.RESPONDENT.value,
              "organisation_id": database_id(request.args.get("organisation_id"))}
    if request.method == "POST":
        values = {"email": request.form.get("email", ""), "name": request.form.get("name", ""),
                  "role": request.form.get("role", ""),
                  "organisation_id": database_id(request.form.get("organisation_id")),
                  "is_coordinator": request.form.get("is_coordinator") == "yes"}
        actor = _acting_user()
        try:
            user = accounts.create_user(
                db.session, actor, values["email"], values["name"], values["role"],
                organisation_id=values["organisation_id"],
                is_coordinator=values["is_coordinator"],
                assign_to=[database_id(v) or 0 for v in request.form.getlist("assign")])
        except AccountError as exc:
            db.session.rollback()
            return _user_form({"user": None, "values": values,
                               "errors": {exc.field: exc.message}}, 422)
        return _deliver_link(user, Purpose.INVITATION, actor, created=True)
    return _user_form({"user": None, "values": values, "errors": {}})


def _deliver_link(user: User, purpose: str, actor: User, created: bool = False):
    """Issue a one-time link; e-mail it, or show it to the admin when mail is not set up
    (or the server refused it). Shown in this reply only: it is stored nowhere in clear."""
    delivery = invitations.deliver(user, purpose, actor)
    return render_template("admin/link.html", user=user, delivery=delivery, created=created,
                           purpose=purpose, valid_hours=invitations.valid_hours())


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
def user(user_id: int):
    """One user: edit name, role and administration; their assignments and state."""
    person = _or_404(User, user_id)
    if request.method == "POST":
        values = {"email": person.email, "name": request.form.get("name", ""),
                  "role": request.form.get("role", ""),
                  "organisation_id": database_id(request.form.get("organisation_id")),
                  "is_coordinator": request.form.get("is_coordinator") == "yes"}
        try:
            accounts.update_user(db.session, _acting_user(), person, values["name"],
                                 values["role"], values["organisation_id"],
                                 values["is_coordinator"])
        except AccountError as exc:
            db.session.rollback()
            return _user_form({"user": person, "values": values,
                               "errors": {exc.field: exc.message}}, 422)
        flash(_("%(email)s saved.", email=person.email), "success")
        return redirect(url_for("admin.user", user_id=person.id), 303)
    values = {"email": person.email, "name": person.name, "role": person.role,
              "organisation_id": person.organisation_id,
              "is_coordinator": person.is_coordinator}
    return _user_form({"user": person, "values": values, "errors": {}})


def _account_change(user_id: int, change: Callable[[User], object],
                    done: Callable[[User], str]):
    """Run one change to a user; the outcome, or the refusal, is shown on their page."""
    person = _or_404(User, user_id)
    try:
        change(person)
    except AccountError as exc:
        db.session.rollback()
        flash(exc.message, "error")
    else:
        flash(done(person), "success")
    return redirect(url_for("admin.user", user_id=person.id), 303)


@bp.post("/users/<int:user_id>/deactivate")
def deactivate(user_id: int):
    """Deactivate a user: they are signed out on their next request and cannot sign in."""
    return _account_change(
        user_id, lambda person: accounts.set_active(db.session, _acting_user(), person, False),
        lambda person: _("%(email)s is deactivated.", email=person.email))


@bp.post("/users/<int:user_id>/reactivate")
def reactivate(user_id: int):
    """Let a deactivated user sign in again."""
    return _account_change(
        user_id, lambda person: accounts.set_active(db.session, _acting_user(), person, True),
        lambda person: _("%(email)s is active again.", email=person.email))


@bp.post("/users/<int:user_id>/link")
def send_link(user_id: int):
    """A new one-time link for a user to set their password (any earlier one stops)."""
    person = _or_404(User, user_id)
    try:
        return _deliver_link(person, Purpose.RESET, _acting_user())
    except AccountError as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return redirect(url_for("admin.user", user_id=person.id), 303)


@bp.post("/users/<int:user_id>/assignments")
def assign(user_id: int):
    """Assign a facilitator to an administration."""
    organisation_id = database_id(request.form.get("organisation_id"))
    organisation = db.session.get(Organisation, organisation_id) if organisation_id else None
    if organisation is None:
        _or_404(User, user_id)
        flash(_("Choose an administration from the list."), "error")
        return redirect(url_for("admin.user", user_id=user_id), 303)
    return _account_change(
        user_id,
        lambda person: accounts.assign(db.session, _acting_user(), person, organisation),
        lambda person: _("%(email)s is assigned to %(org)s.", email=person.email,
                         org=organisation.name))


@bp.post("/users/<int:user_id>/assignments/<int:organisation_id>/delete")
def unassign(user_id: int, organisation_id: int):
    """Take an administration away from a facilitator."""
    organisation = _or_404(Organisation, organisation_id)
    return _account_change(
        user_id,
        lambda person: accounts.unassign(db.session, _acting_user(), person, organisation),
        lambda person: _("%(email)s is no longer assigned to %(org)s.", email=person.email,
                         org=organisation.name))


# ---------------------------------------------------------------------------- instruments


@bp.route("/instruments", methods=["GET", "POST"])
def instruments():
    """Imported instrument versions; upload a YAML file to import another."""
    error = None
    status = 200
    if request.method == "POST":
        upload = request.files.get("file")
        if upload is None or not upload.filename:
            error, status = _("Choose an instrument file (YAML) to upload."), 422
        else:
            try:
                row, created = instrument_store.import_upload(
                    db.session, upload.read(), upload.filename, _acting_user())
            except InstrumentError as exc:
                db.session.rollback()
                error, status = exc, 422
            else:
                if created:
                    flash(_("Imported %(key)s version %(version)s.", key=row.key,
                            version=row.version), "success")
                else:
                    flash(_("%(key)s version %(version)s was already imported with exactly "
                            "this text.", key=row.key, version=row.version), "info")
                return redirect(url_for("admin.instrument", instrument_id=row.id), 303)
    rows = instrument_store.all_instruments(db.session)
    used = dict(db.session.execute(select(Assessment.instrument_id, func.count(Assessment.id))
                                   .group_by(Assessment.instrument_id)).all())
    return render_template("admin/instruments.html", rows=rows, used=used,
                           error=error), status


@bp.get("/instruments/<int:instrument_id>")
def instrument(instrument_id: int):
    """Preview an instrument version, principle by principle, as a respondent sees it."""
    row = _or_404(Instrument, instrument_id)
    spec = parse_instrument_row(row)
    language = request.args.get("lang", "")
    languages = sorted(spec.languages)
    if language not in languages:
        language = _language() if _language() in languages else "en"
    principle = spec.principle(request.args.get("principle", "")) or spec.principles[0]
    return render_template("admin/instrument.html", row=row, instrument=spec,
                           principle=principle, language=language, languages=languages,
                           language_names=dict(accounts.language_choices(_language())))


def _retirement(instrument_id: int, retired: bool, done: str):
    row = _or_404(Instrument, instrument_id)
    instrument_store.set_retired(db.session, _acting_user(), row, retired)
    flash(done % {"key": row.key, "version": row.version}, "success")
    return redirect(url_for("admin.instruments"), 303)


@bp.post("/instruments/<int:instrument_id>/retire")
def retire_instrument(instrument_id: int):
    """Retire a version: no new assessment may use it; existing ones keep working."""
    return _retirement(instrument_id, True,
                       _("%(key)s version %(version)s is retired: no new assessment can use "
                         "it."))


@bp.post("/instruments/<int:instrument_id>/restore")
def restore_instrument(instrument_id: int):
    """Make a retired version available to new assessments again."""
    return _retirement(instrument_id, False,
                       _("%(key)s version %(version)s is available again."))


# ------------------------------------------------------------------------------ audit log


def _date(name: str) -> datetime | None:
    try:
        return datetime.strptime(request.args.get(name, ""), "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError:
        return None


@bp.get("/audit")
def audit_log():
    """The audit log, newest first, filtered by actor, action, kind of record, record and
    dates (the "to" date is included)."""
    action = request.args.get("action", "")
    target_type = request.args.get("target_type", "")
    since, until = _date("since"), _date("until")
    wanted = audit.AuditFilter(
        actor=request.args.get("actor", "")[:254],
        action=action if any(action in group for group in audit.ACTIONS.values()) else "",
        target_type=target_type if target_type in audit.ACTIONS else "",
        target=request.args.get("target", "")[:300],
        since=since, until=until + timedelta(days=1) if until else None)
    pagination = db.paginate(audit.entries(wanted),
                             page=page_number(),
                             per_page=_page_size() * 2, error_out=False)
    return render_template("admin/audit.html", pagination=pagination, wanted=wanted,
                           since=request.args.get("since", "") if since else "",
                           until=request.args.get("until", "") if until else "",
                           actions=audit.ACTIONS, command_line=audit.COMMAND_LINE)


# ------------------------------------------------------------------ importing an assessment


def _import_folder() -> Path:
    return Path(current_app.config.get("IMPORT_UPLOAD_PATH")
                or Path(current_app.instance_path) / "imports")


def import_request_limit(config) -> int:
    """The largest upload the import page reads: IMPORT_REQUEST_LIMIT, or an export.json at
    its limit with an assessment's files at theirs, and the form around them."""
    configured = config.get("IMPORT_REQUEST_LIMIT")
    if configured:
        return int(configured)
    return (exchange.EXPORT_JSON_LIMIT + evidence.limits_for(config).per_assessment
            + 1024 * 1024)


def import_body_limit() -> None:
    """Registered on the app before the CSRF check, which reads the form: an admin's upload
    to the import page may be an export.zip, far above MAX_CONTENT_LENGTH; anyone else's
    keeps the few kilobytes of a route that declares no budget."""
    if request.endpoint != "admin.import_upload" or not current_user.is_authenticated \
            or not can_administer(current_user):
        return
    request.max_content_length = import_request_limit(current_app.config)
    request.max_form_parts = 16


def _import_options(form) -> exchange.ImportOptions:
    return exchange.ImportOptions(
        administration=form.get("administration", "").strip()[:200] or None,
        round_name=form.get("round_name", "").strip()[:200] or None,
        create_administration=form.get("create_administration") == "1",
        country_code=form.get("country_code", "").strip()[:2] or None)


def _run_import(path: Path, options: exchange.ImportOptions, source_name: str):
    return exchange.import_file(
        db.session, evidence.store_for(current_app.config, current_app.instance_path), path,
        options, evidence.limits_for(current_app.config), _acting_user(), source_name)


@bp.route("/imports", methods=["GET"])
def imports():
    """Upload an export.json or export.zip to import (checked first, then confirmed)."""
    return render_template("admin/imports.html", options=exchange.ImportOptions(),
                           countries=accounts.country_choices(_language()))


@bp.post("/imports")
def import_upload():
    """Check an uploaded export (a dry run), keep it, and show what would be imported or
    every problem with where it is in the file."""
    upload = request.files.get("file")
    options = _import_options(request.form)
    countries = accounts.country_choices(_language())
    if upload is None or not upload.filename:
        return render_template("admin/imports.html", options=options, countries=countries,
                               error=_("Choose an export.json or export.zip to upload.")), 422
    suffix = ".zip" if upload.filename.lower().endswith(".zip") else ".json"
    folder = _import_folder()
    token = exchange.stage_upload(folder, current_user.id, upload.stream, suffix)
    path = exchange.staged_upload(folder, current_user.id, token)
    try:
        summary = _run_import(path, replace(options, dry_run=True), upload.filename)
    except exchange.ImportRefused as refused:
        path.unlink(missing_ok=True)
        return render_template("admin/imports.html", options=options, countries=countries,
                               refused=refused, filename=upload.filename), 422
    return render_template("admin/imports.html", options=options, countries=countries,
                           summary=summary, token=token, filename=upload.filename)


@bp.post("/imports/confirm")
def import_confirm():
    """Import a checked upload (checked again: the database may have changed since)."""
    path = exchange.staged_upload(_import_folder(), current_user.id,
                                  request.form.get("token", ""))
    if path is None:
        abort(404)
    options = _import_options(request.form)
    source_name = request.form.get("filename", "")[:255] or path.name
    try:
        summary = _run_import(path, options, source_name)
    except exchange.ImportRefused as refused:
        return render_template("admin/imports.html", options=options,
                               countries=accounts.country_choices(_language()),
                               refused=refused, filename=source_name), 422
    finally:
        path.unlink(missing_ok=True)
    flash(_("Imported “%(round)s” into %(administration)s.", round=summary.round_name,
            administration=summary.administration), "success")
    return redirect(url_for("assessments.overview", assessment_id=summary.assessment_id), 303)
