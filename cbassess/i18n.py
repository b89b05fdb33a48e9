"""Language choice: the user's saved preference, else the browser's, among those supported."""

from flask import current_app, g, has_app_context, has_request_context, request
from flask_babel import get_translations
from flask_babel import gettext as babel_gettext
from flask_login import current_user


def select_locale() -> str:
    """Flask-Babel locale selector (the default language for the command line)."""
    if not has_request_context():
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    supported = current_app.config["LANGUAGES"]
    preferred = getattr(current_user, "language", None)
    if preferred in supported:
        return preferred
    return request.accept_languages.best_match(supported) or supported[0]


def gettext(string: str, **variables) -> str:
    """flask_babel's gettext, finding the request's catalogue once instead of on every call.

    A page calls it a few hundred times (labels in table rows, in each indicator), and
    flask_babel resolves the locale and its catalogue on each call. The catalogue is kept
    beside the locale flask_babel cached for the request, so whatever makes flask_babel pick
    the locale again (flask_babel.refresh()) makes this look again too.
    """
    if not has_app_context():
        return babel_gettext(string, **variables)
    state = g.get("_flask_babel")
    cached = getattr(state, "cbassess_catalogue", None)
    if cached is None or cached[0] is not getattr(state, "babel_locale", None):
        catalogue = get_translations()
        state = g._flask_babel
        cached = state.cbassess_catalogue = (state.babel_locale, catalogue)
    text = cached[1].ugettext(string)
    return text % variables if variables else text
