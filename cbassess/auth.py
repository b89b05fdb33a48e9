"""Sign in and out.

Failed sign-ins get one generic message whether or not the e-mail exists; attempts are
rate-limited per address and per account; the session is cleared on sign-in so a session
id planted before it is worthless.

A form posted after the session expired is not lost: the sign-in form carries its fields
(as hidden `resume:` inputs), and after signing in a page offers to send them again, with a
fresh CSRF token, to the address they were first posted to. Nothing is re-sent without the
person pressing the button.
"""

from flask import (
    Blueprint,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from werkzeug.security import check_password_hash, generate_password_hash
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, Length, ValidationError

from . import accounts, i18n, passwords
from .extensions import db, limiter
from .models import User
from .security import CARRIED_POST, accepts
from .url_params import is_local_path

bp = Blueprint("auth", __name__)

# Compared against when the e-mail is unknown, so a wrong e-mail costs as long as a wrong password.
_DUMMY_HASH = generate_password_hash("not-a-real-password", method=passwords.METHOD)


class LoginForm(FlaskForm):
    # Messages of our own, so they are in the app's catalogues (WTForms' own are not in every
    # language the app speaks).
    email = EmailField(_l("E-mail"), validators=[
        DataRequired(message=_l("Enter your e-mail address.")),
        Length(max=254, message=_l("An e-mail address has at most %(max)d characters."))])
    password = PasswordField(_l("Password"), validators=[
        DataRequired(message=_l("Enter your password.")),
        Length(max=passwords.MAX_LENGTH,
               message=_l("A password has at most %(max)d characters."))])


class PasswordChangeForm(FlaskForm):
    current = PasswordField(_l("Current password"), validators=[
        DataRequired(message=_l("Enter your current password.")),
        Length(max=passwords.MAX_LENGTH,
               message=_l("A password has at most %(max)d characters."))])
    new = PasswordField(_l("New password"), validators=[
        DataRequired(message=_l("Enter a new password."))])
    confirm = PasswordField(_l("New password again"), validators=[
        DataRequired(message=_l("Enter the new password again."))])

    def validate_new(self, field) -> None:
        found = passwords.weakness(field.data or "",
                                   (current_user.email, current_user.name or ""))
        if found is not None:
            raise ValidationError(accounts.weakness_message(found))
        if field.data == self.current.data:
            raise ValidationError(_("The new password is the same as the current one."))

    def validate_confirm(self, field) -> None:
        if field.data != self.new.data:
            raise ValidationError(_("The two new passwords are not the same."))


def _login_limits() -> str:
    return current_app.config["LOGIN_LIMITS"]


def _account_key() -> str:
    """The account a sign-in (its e-mail field) or a password change (its owner) is for."""
    email = request.form.get("email")
    if email is None and current_user.is_authenticated:
        email = current_user.email
    return "account:" + (email or "").strip().lower()[:254]


def _safe_next(target: str | None) -> str:
    """Only same-site paths are followed after sign-in."""
    return target if is_local_path(target) else url_for("assessments.index")


RESUME_PREFIX = "resume:"


def pending_fields(form) -> list[tuple[str, str]]:
    """The fields of a refused post worth sending again (never a token or a password)."""
    return [(name, value) for name, value in form.items(multi=True)
            if name != "csrf_token" and "password" not in name.lower()
            and not name.startswith(RESUME_PREFIX)]


def sign_in_to_resume(fields: list[tuple[str, str]], resume_to: str):
    """401 with the sign-in form, carrying a post the expired session refused."""
    return render_template("auth/login.html", form=LoginForm(formdata=None), resume=fields,
                           resume_to=resume_to), 401


def expired_sign_in_form():
    """400 with a fresh sign-in form when its token had expired, still carrying typed text."""
    resume, resume_to = _carried_fields()
    flash(_("The sign-in form had expired. Sign in again."), "error")
    return render_template("auth/login.html", form=LoginForm(formdata=None), resume=resume,
                           resume_to=resume_to), 400


def _carried_fields() -> tuple[list[tuple[str, str]], str]:
    """The refused post carried through this sign-in, and where it goes (or nothing)."""
    fields = [(name[len(RESUME_PREFIX):], value)
              for name, value in request.form.items(multi=True)
              if name.startswith(RESUME_PREFIX)]
    resume_to = request.form.get("resume_to", "")
    if fields and is_local_path(resume_to):
        return fields, resume_to
    return [], ""


# Shared by both sign-in forms, so carrying a post does not double the attempts allowed.
_per_address = limiter.shared_limit(_login_limits, scope="sign-in", methods=["POST"])
_per_account = limiter.shared_limit(_login_limits, scope="sign-in-account", methods=["POST"],
                                    key_func=_account_key)


@bp.route("/login", methods=["GET", "POST"])
@_per_address
@_per_account
def login():
    """Show the sign-in form; sign the user in on a correct e-mail and password."""
    if current_user.is_authenticated and request.method != "POST":
        return redirect(_safe_next(request.args.get("next")))
    return _sign_in()


@bp.post("/login/resume")
@accepts(CARRIED_POST)
@_per_address
@_per_account
def login_resume():
    """The sign-in form that carries a post refused when the session expired.

    A route of its own so that the plain sign-in form keeps its small body budget: this
    one must take as much as the largest form it may carry (a whole principle page).
    """
    return _sign_in()


def _sign_in():
    form = LoginForm()
    status = 200
    resume, resume_to = _carried_fields()
    if form.validate_on_submit():
        email = form.email.data.strip().lower()
        user = db.session.scalar(select(User).where(func.lower(User.email) == email))
        valid = check_password_hash(user.password_hash if user else _DUMMY_HASH,
                                    form.password.data)
        if user and valid and user.active:
            i18n.adopt_session_language(user)
            i18n.clear_session_keeping_language(session.get(i18n.SESSION_KEY))
            session.permanent = True  # expires after PERMANENT_SESSION_LIFETIME
            login_user(user)
            if resume:
                # The token cached for this request belongs to the session just cleared.
                g.pop(current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token"), None)
                return render_template("auth/resume.html", fields=resume, resume_to=resume_to)
            return redirect(_safe_next(request.args.get("next")))
        flash(_("That e-mail and password do not match an active account."), "error")
        status = 401
    elif request.method == "POST":
        status = 400
    return render_template("auth/login.html", form=form, resume=resume,
                           resume_to=resume_to), status


@bp.route("/account/password", methods=["GET", "POST"])
@_per_account
@login_required
def change_password():
    """Change one's own password: the current one, then a new one that is hard to guess.

    Wrong current passwords count against the same limit as wrong sign-ins, so a session
    left open on a shared computer cannot be used to guess the password either.
    """
    form = PasswordChangeForm()
    status = 200
    if form.validate_on_submit():
        try:
            accounts.change_password(db.session, db.session.get(User, current_user.id),
                                     form.current.data, form.new.data)
        except accounts.AccountError as exc:
            getattr(form, exc.field).errors.append(str(exc.message))
        else:
            flash(_("Your password is changed."), "success")
            return redirect(url_for("assessments.index"), 303)
    if request.method == "POST":
        status = 422
    return render_template("auth/password.html", form=form, min_length=passwords.MIN_LENGTH,
                           language=i18n.tag()), status


@bp.post("/logout")
@login_required
def logout():
    """Sign out (a POST, so a link on another site cannot sign anyone out).

    The browser is also told to forget this site's storage, where unsaved drafts are kept
    (app.js removes them too, for browsers that ignore Clear-Site-Data), so the next person
    at a shared computer finds nothing of the previous one's.
    """
    language = i18n.code()  # the sign-in page stays in it
    logout_user()
    i18n.clear_session_keeping_language(language)
    flash(_("You are signed out."), "info")
    response = redirect(url_for("auth.login"))
    response.headers["Clear-Site-Data"] = '"storage"'
    return response
