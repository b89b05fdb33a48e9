"""Response headers and session handling that every page gets.

The Content-Security-Policy allows no inline script or style: htmx is configured through a
<meta> tag and app.js, never with inline handlers, and WeasyPrint gets its own locked-down
fetcher (see report.py).
"""

from flask import Flask, make_response, render_template, request, url_for
from flask_babel import gettext as _

from .extensions import db, login_manager
from .models import User

CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    "connect-src 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
    "base-uri 'self'",
    "object-src 'none'",
])


def init_app(app: Flask) -> None:
    login_manager.login_view = "auth.login"
    login_manager.login_message = None
    login_manager.session_protection = "strong"

    @login_manager.user_loader
    def load_user(user_id: str) -> User | None:
        if not user_id.isdigit():
            return None
        return db.session.get(User, int(user_id))

    @login_manager.unauthorized_handler
    def unauthorized():
        """Pages redirect to sign-in; an htmx save answers 401 and keeps the typed text."""
        if request.headers.get("HX-Request"):
            login_url = url_for("auth.login", next=request.headers.get("HX-Current-URL", ""))
            response = make_response(
                render_template("_session_expired.html", login_url=login_url), 401
            )
            return response
        from flask import redirect

        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))

    @app.after_request
    def security_headers(response):
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Referrer-Policy"] = "same-origin"
        if "HX-Request" not in response.vary and request.endpoint not in (None, "static"):
            response.vary.add("HX-Request")
        if request.endpoint != "static":
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    app.jinja_env.globals["_"] = _
