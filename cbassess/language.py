"""The language switcher in every page's header: a plain form, so it works without JavaScript.

The choice is kept in the session (a visitor on the sign-in page can choose too) and, for a
signed-in user, saved as their preference, which comes first on every device. The person is
sent back to the page they were on, never to another site.
"""

from flask import Blueprint, redirect, request, session, url_for
from flask_login import current_user

from . import i18n
from .url_params import is_local_path

bp = Blueprint("language", __name__)


@bp.post("/language")
def choose():
    """Switch the interface to the language posted, then go back to the page."""
    code = request.form.get("language", "")
    if code not in i18n.supported():
        raise i18n.UnknownLanguage(code)
    session[i18n.SESSION_KEY] = code
    if current_user.is_authenticated:
        i18n.save_preference(current_user.id, code)
    back = request.form.get("next")
    return redirect(back if is_local_path(back) else url_for("assessments.index"), 303)
