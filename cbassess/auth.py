"""Sign in and out.

Failed sign-ins get one generic message whether or not the e-mail exists; attempts are
rate-limited per address and per account; the session is cleared on sign-in so a session
id planted before it is worthless.
"""

from urllib.parse import urlsplit

from flask import (
    Blueprint,
    current_app,
    flash,
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


def _safe_next(target: str | None) -> str:
    """Only same-site paths are followed after sign-in."""
    if target:
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and target.startswith("/") \
                and not target.startswith("//") and "\\" not in target:
            return target
    return url_for("walk.index")


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limits, methods=["POST"])
@limiter.limit(_login_limits, methods=["POST"], key_func=_account_key)
def login():
    """Show the sign-in form; sign the user in on a correct e-mail and password."""
    if current_user.is_authenticated and request.method == "GET":
        return redirect(_safe_next(request.args.get("next")))
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        email = form.email.data.strip().lower()
        user = db.session.scalar(select(User).where(func.lower(User.email) == email))
        valid = check_password_hash(user.password_hash if user else _DUMMY_HASH,
                                    form.password.data)
        if user and valid and user.active:
            session.clear()
            session.permanent = True  # expires after PERMANENT_SESSION_LIFETIME
            login_user(user)
            return redirect(_safe_next(request.args.get("next")))
        flash(_("That e-mail and password do not match an active account."), "error")
        status = 401
    elif request.method == "POST":
        status = 400
    return render_template("auth/login.html", form=form), status


@bp.post("/logout")
@login_required
def logout():
    """Sign out (a POST, so a link on another site cannot sign anyone out)."""
    logout_user()
    session.clear()
    flash(_("You are signed out."), "info")
    return redirect(url_for("auth.login"))
