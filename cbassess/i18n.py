"""Language choice: the user's saved preference, else the browser's, among those supported."""

from flask import current_app, request
from flask_login import current_user


def select_locale() -> str:
    """Flask-Babel locale selector."""
    supported = current_app.config["LANGUAGES"]
    preferred = getattr(current_user, "language", None)
    if preferred in supported:
        return preferred
    return request.accept_languages.best_match(supported) or supported[0]
