"""Language choice: the user's saved preference, else the browser's, among those supported."""

from flask import current_app, g, has_app_context, has_request_context, request
from flask_babel import get_locale, get_translations
from flask_babel import gettext as babel_gettext
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from jinja2 import pass_context


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


# The product wording that depends on the framework, as shipped (for customs and the WCO).
_DEFAULT_WORDING = {
    "tagline": _l("Capacity-building readiness self-assessment"),
    "sign_in_lead": _l("Self-assess your administration's capacity-building readiness "
                       "against the five WCO core principles, and share it with your "
                       "facilitator."),
    "footer": _l("cbassess — built on the WCO capacity-building core principles."),
    "report_kicker": _l("Capacity-building readiness self-assessment"),
}


@pass_context
def framework_text(context, name: str) -> str:
    """Framework-dependent wording: the instrument's own (`wording` in its file) on the
    pages and the report of an assessment, else the installation's WORDING setting (a
    text, or texts by language), else the shipped customs wording."""
    language = str(get_locale() or "en")
    instrument = context.get("instrument")
    own = getattr(instrument, "wording", None) or {}
    if name in own:
        return own[name].get(language)
    configured = current_app.config.get("WORDING", {}).get(name)
    if isinstance(configured, dict):
        configured = configured.get(language) or configured.get("en")
    return configured or str(_DEFAULT_WORDING[name])
