"""Everyone's own account: display name and language (the password is changed on
auth's page); setting a password from a one-time link (an invitation or a reset);
"Forgot password" on the sign-in page.

"Forgot password" answers the same words, in the same time, whether or not the address
has an account (the work happens off the request, see invitations.py), and is rate
limited per address and per client.
"""

from __future__ import annotations

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
from flask_babel import refresh
from flask_login import current_user, login_required, logout_user

from . import accounts, i18n, invitations, passwords
from .accounts import AccountError
from .extensions import db, limiter
from .models import User

bp = Blueprint("account", __name__)

PASSWORD_FIELD_LIMIT = 1024


def _language_choices() -> list[tuple[str, str]]:
    """Each language the pages are offered in, named in itself (the option carries its lang)."""
    return [(choice.code, choice.autonym) for choice in i18n.choices()]


def _profile_page(errors: dict | None = None, values: dict | None = None, status: int = 200):
    values = values or {"name": current_user.name, "language": current_user.language or ""}
    return render_template("account/profile.html", errors=errors or {}, values=values,
                           languages=_language_choices()), status


@bp.route("/account", methods=["GET", "POST"])
@login_required
def profile():
    """Your display name and the language of the pages (blank: the browser's)."""
    if request.method == "POST":
        values = {"name": request.form.get("name", ""),
                  "language": request.form.get("language", "")}
        me = db.session.get(User, current_user.id)
        try:
            accounts.update_profile(db.session, me, values["name"], values["language"],
                                    current_app.config["LANGUAGES"])
        except AccountError as exc:
            db.session.rollback()
            return _profile_page({exc.field: exc.message}, values, 422)
        refresh()  # the confirmation below in the language just chosen
        flash(_("Your details are saved."), "success")
        return redirect(url_for("account.profile"), 303)
    return _profile_page()


def _password_field(name: str) -> str:
    return request.form.get(name, "")[:PASSWORD_FIELD_LIMIT]


def _forgot_limits() -> str:
    return current_app.config["FORGOT_PASSWORD_LIMITS"]


def _forgot_account_key() -> str:
    return "forgot:" + (request.form.get("email") or "").strip().lower()[:254]


@bp.route("/password/forgot", methods=["GET", "POST"])
@limiter.limit(_forgot_limits, methods=["POST"])
@limiter.limit(_forgot_limits, methods=["POST"], key_func=_forgot_account_key)
def forgot_password():
    """Ask for a link to set a new password, e-mailed if the address has an account."""
    if request.method == "POST":
        email = request.form.get("email", "")[:254]
        if "@" not in email:
            return render_template("account/forgot.html", email=email, sent=False,
                                   error=_("Enter the e-mail address you sign in with.")), 422
        invitations.send_reset_in_background(email)
        return render_template("account/forgot.html", email="", sent=True, error=None,
                               mail_configured=invitations.mail_settings() is not None,
                               valid_hours=invitations.valid_hours())
    return render_template("account/forgot.html", email="", sent=False, error=None)


@bp.route("/password/set/<token>", methods=["GET", "POST"])
def set_password(token: str):
    """Set your password from a one-time link (it works once, within its time)."""
    holder = accounts.link_holder(db.session, token)
    if holder is None:
        return render_template("account/link_expired.html"), 410
    if request.method == "POST":
        password, confirm = _password_field("password"), _password_field("confirm_password")
        if password != confirm:
            return _set_password_page(holder, {"confirm_password": _("The two passwords "
                                                                     "differ.")}), 422
        try:
            accounts.redeem_link(db.session, token, password)
        except AccountError as exc:
            db.session.rollback()
            if exc.field == "token":
                return render_template("account/link_expired.html"), 410
            return _set_password_page(holder, {exc.field: exc.message}), 422
        if current_user.is_authenticated:  # someone else's session in this browser
            logout_user()
            session.clear()
        flash(_("Your password is set. Sign in with your e-mail address and it."), "success")
        return redirect(url_for("auth.login"), 303)
    return _set_password_page(holder, {})


def _set_password_page(holder: User, errors: dict) -> str:
    return render_template("account/set_password.html", holder=holder, errors=errors,
                           min_length=passwords.MIN_LENGTH)
