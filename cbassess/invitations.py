"""One-time password links as people receive them: the address, the e-mail, its delivery.

Shared by the admin pages (an invitation or a new link for a user) and the sign-in page's
"Forgot password" (accounts.py makes and checks the tokens). A link's address starts with
PUBLIC_URL when it is set, so an e-mail never carries a host name taken from a request.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from flask import Flask, current_app, request
from flask_babel import force_locale
from flask_babel import gettext as _
from werkzeug.routing import MapAdapter

from . import accounts, mail
from .audit import Actor
from .extensions import db
from .models import User

SET_PASSWORD_ENDPOINT = "account.set_password"


def mail_settings() -> mail.MailSettings | None:
    return mail.MailSettings.from_config(current_app.config)


def valid_hours() -> int:
    return int(accounts.LINK_VALID_FOR.total_seconds() // 3600)


@dataclass(frozen=True)
class LinkBuilder:
    """Builds a link's full address outside the request that asked for it."""

    base: str
    adapter: MapAdapter

    @classmethod
    def for_request(cls) -> LinkBuilder:
        base = current_app.config.get("PUBLIC_URL") or request.host_url
        return cls(base.rstrip("/"), current_app.create_url_adapter(request))

    def url(self, token: str) -> str:
        return self.base + self.adapter.build(SET_PASSWORD_ENDPOINT, {"token": token})


def message(user: User, url: str, purpose: str) -> tuple[str, str]:
    """The e-mail's subject and text, in the language of the request or forced locale."""
    if purpose == accounts.Purpose.INVITATION:
        subject = _("Your cbassess account")
        opening = _("An account has been made for you on cbassess, the capacity-building "
                    "readiness self-assessment.")
    else:
        subject = _("Set a new cbassess password")
        opening = _("Someone asked for a new password for your cbassess account. If it was "
                    "not you, ignore this message: your password stays as it is.")
    body = "\n\n".join([
        _("Hello %(name)s,", name=user.display_name), opening,
        _("Open this link to set your password (it works once, for %(hours)d hours):",
          hours=valid_hours()),
        url,
        _("Your e-mail address for signing in is %(email)s.", email=user.email),
    ]) + "\n"
    return subject, body


def recipient_language(user: User) -> str:
    """The language to write to someone in: theirs if they chose one, else the first
    working language of their administration that the pages are offered in."""
    supported = current_app.config["LANGUAGES"]
    if user.language in supported:
        return user.language
    working = user.organisation.language_list if user.organisation else []
    return next((code for code in working if code in supported),
                current_app.config["BABEL_DEFAULT_LOCALE"])


@dataclass(frozen=True)
class Delivery:
    """What became of a link: e-mailed, or to be shown (url) because it was not."""

    url: str | None
    sent: bool
    failure: str | None = None


def deliver(user: User, purpose: str, actor: Actor | None) -> Delivery:
    """Issue a link for `user` and e-mail it when mail is configured; otherwise (or when
    the server refuses it) return it for the admin to pass on."""
    token = accounts.issue_link(db.session, actor, user, purpose)
    url = LinkBuilder.for_request().url(token)
    settings = mail_settings()
    if settings is None:
        return Delivery(url, sent=False)
    with force_locale(recipient_language(user)):
        subject, body = message(user, url, purpose)
    try:
        mail.send(settings, user.email, subject, body)
    except mail.MailError as exc:
        current_app.logger.warning("password link e-mail to user %s not sent: %s", user.id, exc)
        return Delivery(url, sent=False, failure=str(exc))
    return Delivery(None, sent=True)


def send_reset_in_background(email: str) -> threading.Thread | None:
    """Mail a reset link to `email` if it belongs to an active account, off the request.

    The request answers the same way, in the same time, whether or not the address exists:
    the lookup, the token and the SMTP conversation all happen in this thread. Nothing is
    done when mail is not configured (nobody could receive the link).
    """
    settings = mail_settings()
    if settings is None:
        return None
    app = current_app._get_current_object()
    links = LinkBuilder.for_request()
    thread = threading.Thread(target=_send_reset, args=(app, settings, links, email),
                              name="password-reset-mail", daemon=True)
    thread.start()
    return thread


def _send_reset(app: Flask, settings: mail.MailSettings, links: LinkBuilder,
                email: str) -> None:
    with app.app_context():
        try:
            user = accounts.active_user_by_email(db.session, email)
            if user is None:
                return
            token = accounts.issue_link(db.session, user, user, accounts.Purpose.RESET)
            with force_locale(recipient_language(user)):
                subject, body = message(user, links.url(token), accounts.Purpose.RESET)
            mail.send(settings, user.email, subject, body)
        except Exception:  # a background thread has nobody to tell but the log
            app.logger.exception("password reset e-mail not sent")
        finally:
            db.session.remove()
