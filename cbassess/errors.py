"""Error pages: a full page for a browser, a small fragment for an htmx request.

htmx is configured (base.html) to swap 4xx answers into the page, so the fragment shows
beside the answer that failed; the message is always written for a person.
"""

import math
import time

from flask import Flask, current_app, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_limiter import RateLimitExceeded
from flask_login import current_user
from flask_wtf.csrf import CSRFError, generate_csrf
from werkzeug.exceptions import HTTPException

from .extensions import limiter


def _render(status: int, title: str, message: str):
    if request.headers.get("HX-Request"):
        response = render_template("_error_fragment.html", message=message, status=status)
    else:
        response = render_template("error.html", title=title, message=message, status=status)
    return response, status


def _seconds_until_reset() -> int:
    """Whole seconds until the breached limit lets requests through again (at least 1)."""
    limit = limiter.current_limit
    if limit is None:
        return 60
    return max(1, math.ceil(limit.reset_at - time.time()))


def init_app(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(error):
        if request.endpoint in ("auth.login", "auth.login_resume"):
            # A sign-in form left open too long: a fresh one, keeping any text it carries.
            from .auth import expired_sign_in_form

            return expired_sign_in_form()
        if not current_user.is_authenticated:
            # An expired session takes its CSRF secret with it: say what really happened.
            return current_app.login_manager.unauthorized()
        body, status = _render(
            400, _("Form expired"),
            _("This form has expired or was not sent from this site. Reload the page and try "
              "again; nothing was saved."),
        )
        # A fresh token lets app.js retry an autosave after the session was renewed.
        return body, status, {"X-CSRF-Token": generate_csrf()}

    @app.errorhandler(RateLimitExceeded)
    def too_many(error: RateLimitExceeded):
        """429 saying when to try again, in words and in Retry-After (RFC 9110)."""
        wait = _seconds_until_reset()
        body, status = _render(429, _("Too many attempts"), ngettext(
            "Too many attempts in a short time. Wait %(num)d second and try again; nothing "
            "was lost.",
            "Too many attempts in a short time. Wait %(num)d seconds and try again; nothing "
            "was lost.", wait))
        return body, status, {"Retry-After": str(wait)}

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        code = error.code or 500
        title, message = _MESSAGES.get(code) or (
            _("Error %(code)d", code=code), _("The request could not be completed."))
        if getattr(error, "custom", False):
            message = error.description  # written for a person, in their language
        return _render(code, str(title), str(message))

    @app.errorhandler(500)
    def server_error(error):
        return _render(500, _("Something went wrong"),
                       _("Something went wrong on our side. Your last change may not have been "
                         "saved; try again."))


# Each status a person may meet, with a title and a message written for them (werkzeug's own
# names and descriptions are English and technical).
_MESSAGES = {
    400: (_l("Request not understood"), _l("The request could not be understood.")),
    403: (_l("Not allowed"), _l("You do not have permission to do that.")),
    404: (_l("Page not found"), _l("There is nothing here, or you do not have access to it.")),
    405: (_l("Action not allowed"), _l("That action is not allowed here.")),
    409: (_l("Cannot be changed now"), _l("That cannot be changed now.")),
    413: (_l("Too large"), _l("What you sent is too large.")),
    429: (_l("Too many attempts"), _l("Too many attempts. Wait a minute and try again.")),
}
