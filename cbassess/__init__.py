"""cbassess: customs capacity-building readiness self-assessment.

create_app builds the Flask application: configuration (defaults, then instance/config.py,
then CBASSESS_* environment variables, or a test mapping), the secret key kept in the
instance folder, extensions, blueprints and CLI commands.
"""

from __future__ import annotations

import os
import secrets
import sqlite3
import tempfile
from pathlib import Path

from flask import Flask, jsonify
from sqlalchemy import event, text
from sqlalchemy.engine import Engine

from . import sqlite_writes  # noqa: F401  (SQLite writers queue on a lock, see there)
from .extensions import babel, compress, csrf, db, limiter, login_manager, migrate
from .url_params import DatabaseIdConverter

PROJECT_ROOT = Path(__file__).resolve().parent.parent
MIGRATIONS = PROJECT_ROOT / "migrations"
DEFAULT_SECRET = "dev"  # refused in production


def create_app(test_config: dict | None = None) -> Flask:
    """Application factory (see the Flask tutorial): one app per deployment or per test."""
    app = Flask(
        __name__,
        instance_relative_config=True,
        instance_path=os.environ.get("CBASSESS_INSTANCE_PATH") or str(PROJECT_ROOT / "instance"),
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(PROJECT_ROOT / "static"),
    )
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    # Before any route is added: every <int:…> is an id the database can hold.
    app.url_map.converters["int"] = DatabaseIdConverter
    app.config.from_mapping(
        SECRET_KEY=DEFAULT_SECRET,
        SQLALCHEMY_DATABASE_URI="sqlite:///" + str(Path(app.instance_path) / "cbassess.sqlite"),
        SQLALCHEMY_ENGINE_OPTIONS={},
        ENV_NAME="development",
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the session
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=None,  # None: Secure in production (HTTPS), unless set
        # Bounds what one request can make the server read: a whole principle page in
        # 4-byte characters, percent-encoded, at every field's limit, fits many times over.
        MAX_CONTENT_LENGTH=16 * 1024 * 1024,
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
        PERMANENT_SESSION_LIFETIME=8 * 3600,
        BABEL_DEFAULT_LOCALE="en",
        BABEL_TRANSLATION_DIRECTORIES="translations",  # relative to cbassess/
        LANGUAGES=None,  # None: English and every language with a compiled catalogue
        PAGE_SIZE=25,
        HISTORY_PAGE_SIZE=20,  # revisions per history page (each shows two full texts)
        RATELIMIT_ENABLED=True,
        RATELIMIT_STORAGE_URI="memory://",  # per process: set Redis for one shared count
        LOGIN_LIMITS="10 per minute;50 per hour",
        # Answer saves per person: typing saves at most once per 0.9 s pause and a choice
        # once per click, so no one working reaches 4 a second for a minute, or 2 a second
        # for an hour; a script growing the history without end does (docs/SECURITY.md).
        SAVE_LIMITS="240 per minute;7200 per hour",
        # Strict-Transport-Security sent in production (HTTPS only from then on).
        HSTS="max-age=31536000",
        TRUSTED_PROXIES=0,  # reverse proxies in front whose X-Forwarded-For is believed
        FORGOT_PASSWORD_LIMITS="5 per hour",
        # Outgoing mail (invitations, password links); without MAIL_SERVER none is sent
        # and the admin is shown each link instead (mail.py).
        MAIL_SERVER="",
        MAIL_PORT=None,
        MAIL_USE_TLS=False,
        MAIL_USE_SSL=False,
        MAIL_USERNAME="",
        MAIL_PASSWORD="",
        MAIL_DEFAULT_SENDER="",
        MAIL_TIMEOUT=10,
        PUBLIC_URL="",  # e.g. https://cbassess.example.org: the start of e-mailed links
        # Evidence files: the store (None: instance/evidence; a shared folder for several
        # app servers), the limits, and the largest upload request (None: derived).
        EVIDENCE_STORE_PATH=None,
        EVIDENCE_FILE_LIMIT=20 * 1024 * 1024,
        EVIDENCE_ASSESSMENT_LIMIT=500 * 1024 * 1024,
        EVIDENCE_FILES_PER_REQUEST=10,
        EVIDENCE_REQUEST_LIMIT=None,
        # The largest upload an admin's import page reads (None: an export.json at its
        # limit with an assessment's files at theirs).
        IMPORT_REQUEST_LIMIT=None,
        # Where an uploaded export waits for the admin's confirmation (None: instance/imports).
        IMPORT_UPLOAD_PATH=None,
        # The regional picture compares an administration with its region only when at
        # least this many administrations are in the group (nobody's answers revealed).
        REGIONAL_MINIMUM=5,
        # The instrument (by key) that "Start a new assessment" preselects.
        DEFAULT_INSTRUMENT="wco-cb-core-principles",
        # Framework-dependent wording (tagline, sign_in_lead, footer, report_kicker), each a
        # text or {language: text}; unset, the shipped customs wording (i18n.framework_text).
        WORDING={},
        # Where static files are copied under hashed names (default: instance/static).
        STATIC_BUILD_PATH=None,
        # Pages and fragments are compressed; replies under one packet (most autosaves)
        # are not, as compressing them would save no round trip.
        COMPRESS_MIN_SIZE=1400,
        COMPRESS_ALGORITHM=["br", "gzip"],
        COMPRESS_BR_LEVEL=5,
        COMPRESS_MIMETYPES=["text/html", "text/css", "text/csv", "application/json",
                            "application/javascript", "text/javascript", "image/svg+xml"],
    )
    if test_config is None:
        app.config.from_pyfile("config.py", silent=True)
        app.config.from_prefixed_env("CBASSESS")
        _ensure_secret_key(app)
    else:
        app.config.from_mapping(test_config)
    if app.config["ENV_NAME"] == "production":
        if app.config["SECRET_KEY"] in (DEFAULT_SECRET, "", None):
            raise RuntimeError(
                "Refusing to start in production with the default SECRET_KEY: set one in "
                f"{app.instance_path}/secret_key or CBASSESS_SECRET_KEY."
            )
        app.config.setdefault("REMEMBER_COOKIE_SECURE", True)
        if app.config["MAIL_SERVER"] and not app.config["PUBLIC_URL"]:
            raise RuntimeError(
                "Refusing to start in production with MAIL_SERVER but no PUBLIC_URL: e-mailed "
                "links would take their host name from each request's Host header.")
    if app.config["SESSION_COOKIE_SECURE"] is None:
        # Flask's own default is False, so it is decided here rather than with setdefault.
        app.config["SESSION_COOKIE_SECURE"] = app.config["ENV_NAME"] == "production"

    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        # A database server may drop idle connections; test each before use. A SQLite file
        # has no connection to lose, and the test would be one more statement per request.
        app.config["SQLALCHEMY_ENGINE_OPTIONS"].setdefault("pool_pre_ping", True)
    db.init_app(app)
    # Batch mode: SQLite cannot ALTER most of a table, so column changes copy the table.
    migrate.init_app(app, db, directory=str(MIGRATIONS), render_as_batch=True)
    # Before CSRF, which reads the form: an upload's body budget comes from the settings.
    from .admin import import_body_limit
    from .attachments import upload_body_limit

    app.before_request(upload_body_limit)
    app.before_request(import_body_limit)
    csrf.init_app(app)
    login_manager.init_app(app)
    limiter.init_app(app)
    from . import i18n

    if not app.config["LANGUAGES"]:
        app.config["LANGUAGES"] = i18n.discover_languages(i18n.translation_directories(app))
    babel.init_app(app, locale_selector=i18n.select_locale)
    i18n.init_app(app)
    app.add_template_global(i18n.framework_text)

    from . import (
        account,
        admin,
        answering,
        assessments,
        attachments,
        auth,
        cli,
        dashboard,
        errors,
        language,
        pages,
        plan,
        results,
        review,
        security,
        team,
    )

    app.register_blueprint(auth.bp)
    app.register_blueprint(language.bp)
    app.register_blueprint(account.bp)
    app.register_blueprint(admin.bp)
    app.register_blueprint(team.bp)
    app.register_blueprint(assessments.bp)
    app.register_blueprint(answering.bp)
    app.register_blueprint(review.bp)
    app.register_blueprint(dashboard.bp)
    app.register_blueprint(results.bp)
    app.register_blueprint(plan.bp)
    app.register_blueprint(attachments.bp)
    pages.init_app(app)
    errors.init_app(app)
    security.init_app(app)
    cli.init_app(app)
    compress.init_app(app)
    _serve_static_files(app)
    app.wsgi_app = security.ClientAddress(app.wsgi_app, int(app.config["TRUSTED_PROXIES"]))

    @app.get("/healthz")
    def healthz():
        """Liveness and database reachability, for load balancers and monitoring."""
        try:
            db.session.execute(text("SELECT 1"))
        except Exception:  # any database failure means "not healthy"
            return jsonify(status="error", database="unreachable"), 503
        return jsonify(status="ok", database="ok")

    return app


def _serve_static_files(app: Flask) -> None:
    """Static files under content-hashed names, cached for a year and served compressed by
    WhiteNoise (static_files.py); `url_for('static', …)` gives the hashed names."""
    from . import static_files
    from .security import CONTENT_SECURITY_POLICY

    target = Path(app.config["STATIC_BUILD_PATH"] or Path(app.instance_path) / "static")
    manifest = static_files.build(Path(app.static_folder), target)

    @app.url_defaults
    def hashed_static_name(endpoint: str, values: dict) -> None:
        if endpoint == "static" and values.get("filename") in manifest:
            values["filename"] = manifest[values["filename"]]

    def headers(response_headers) -> None:  # what security.py sets on the app's replies
        response_headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
        response_headers["X-Content-Type-Options"] = "nosniff"
        response_headers["X-Frame-Options"] = "DENY"
        response_headers["Referrer-Policy"] = "same-origin"
        if app.config["ENV_NAME"] == "production" and app.config.get("HSTS"):
            response_headers["Strict-Transport-Security"] = app.config["HSTS"]

    app.wsgi_app = static_files.serve(app.wsgi_app, target,
                                      app.static_url_path.strip("/") + "/", headers)


def _ensure_secret_key(app: Flask) -> None:
    """Use instance/secret_key, creating it (random, owner-only) on first run.

    The key is written to a private temporary file and then linked into place, so when
    several worker processes start together exactly one key wins and none of them can read
    a half-written file.
    """
    if app.config.get("SECRET_KEY") not in (DEFAULT_SECRET, "", None):
        return
    key_file = Path(app.instance_path) / "secret_key"
    if not key_file.exists():
        fd, temporary = tempfile.mkstemp(dir=app.instance_path, prefix=".secret_key.")
        try:
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_hex(32))
            os.link(temporary, key_file)
        except FileExistsError:
            pass  # another process created it first: use that one
        finally:
            os.unlink(temporary)
    app.config["SECRET_KEY"] = key_file.read_text().strip()


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, connection_record) -> None:
    """WAL, foreign keys, a busy timeout and NORMAL sync on every SQLite connection."""
    if not isinstance(dbapi_connection, sqlite3.Connection):  # sqlite_writes subclasses it
        return
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=15000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()
