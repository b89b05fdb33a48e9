"""Sign in and out.

Failed sign-ins get one generic message whether or not the e-mail exists; attempts are
rate-limited per address and per account; the session is cleared on sign-in so a session
id planted before it is worthless.

A form posted after the session expired is not lost: the sign-in form carries its fields
(as hidden `resume:` inputs), and after signing in a page offers to send them again, with a
fresh CSRF token, to the address they were first posted to. Nothing is re-sent without the
person pressing the button.
"""

from urllib.parse import urlsplit

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
from wtforms.validators import DataRequired, Length

from .extensions import db, limiter
from .models import User

bp = Blueprint("auth", __name__)

MIN_PASSWORD_LENGTH = 12
PASSWORD_METHOD = "scrypt"
# Compared against when the e-mail is unknown, so a wrong e-mail costs as long as a wrong password.
_DUMMY_HASH = generate_password_hash("not-a-real-password", method=PASSWORD_METHOD)


def hash_password(password: str) -> str:
    """Hash with scrypt (memory-hard), refusing passwords under the minimum length."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValueError(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
    return generate_password_hash(password, method=PASSWORD_METHOD)


class LoginForm(FlaskForm):
    email = EmailField(_l("E-mail"), validators=[DataRequired(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=1024)])


def _login_limits() -> str:
    return current_app.config["LOGIN_LIMITS"]


def _account_key() -> str:
    return "account:" + (request.form.get("email") or "").strip().lower()[:254]


def _is_local_path(target: str | None) -> bool:
    """A path on this site (not another host, not a scheme-relative URL)."""
    if not target:
        return False
    parts = urlsplit(target)
    return (not parts.scheme and not parts.netloc and target.startswith("/")
            and not target.startswith("//") and "\\" not in target)


def _safe_next(target: str | None) -> str:
    """Only same-site paths are followed after sign-in."""
    return target if _is_local_path(target) else url_for("walk.index")


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
    if fields and _is_local_path(resume_to):
        return fields, resume_to
    return [], ""


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limits, methods=["POST"])
@limiter.limit(_login_limits, methods=["POST"], key_func=_account_key)
def login():
    """Show the sign-in form; sign the user in on a correct e-mail and password."""
    if current_user.is_authenticated and request.method != "POST":
        return redirect(_safe_next(request.args.get("next")))
    form = LoginForm()
    status = 200
    resume, resume_to = _carried_fields()
    if form.validate_on_submit():
        email = form.email.data.strip().lower()
        user = db.session.scalar(select(User).where(func.lower(User.email) == email))
        valid = check_password_hash(user.password_hash if user else _DUMMY_HASH,
                                    form.password.data)
        if user and valid and user.active:
            session.clear()
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


@bp.post("/logout")
@login_required
def logout():
    """Sign out (a POST, so a link on another site cannot sign anyone out)."""
    logout_user()
    session.clear()
    flash(_("You are signed out."), "info")
    return redirect(url_for("auth.login"))
