"""Response headers and session handling that every page gets.

The Content-Security-Policy allows no inline script or style: htmx is configured through a
<meta> tag and app.js, never with inline handlers, and WeasyPrint gets its own locked-down
fetcher (see report.py). Form bodies must be valid UTF-8 (StrictRequest), whether url-encoded
or multipart: anything else is refused with a 400 rather than stored altered. Each route
declares the largest body it takes (`accepts`); any other gets a few kilobytes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import parse_qsl, urlsplit

from flask import (
    Flask,
    Request,
    current_app,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from flask_babel import gettext as _
from flask_login import session_protected
from itsdangerous import BadSignature
from sqlalchemy import bindparam, select
from werkzeug.exceptions import BadRequest, RequestEntityTooLarge
from werkzeug.formparser import FormDataParser, MultiPartParser
from werkzeug.middleware.proxy_fix import ProxyFix

from .answers import ANSWER_PARTS, EVIDENCE_LIMIT, NOTE_LIMIT
from .extensions import db, login_manager
from .instrument import MAX_INDICATORS
from .models import Account, Organisation, User


@dataclass(frozen=True)
class OrganisationRef:
    """The signed-in user's administration, as the header of every page names it."""

    id: int
    name: str
    country_code: str


@dataclass(frozen=True, eq=False)  # eq=False: Flask-Login's UserMixin compares by id
class SignedInUser(Account):
    """The person signed in, as a request uses them: plain values read in one query.

    Not an ORM object: loading one cost more than the rest of an autosave's reads, and
    nothing written in a request should go through the signed-in user by accident.
    """

    id: int
    email: str
    name: str
    role: str
    organisation_id: int | None
    active: bool
    language: str | None
    organisation: OrganisationRef | None


_users, _organisations = User.__table__, Organisation.__table__
_SIGNED_IN_USER = (
    select(_users.c.id, _users.c.email, _users.c.name, _users.c.role,
           _users.c.organisation_id, _users.c.active, _users.c.language,
           _organisations.c.name.label("organisation_name"),
           _organisations.c.country_code)
    .outerjoin(_organisations, _organisations.c.id == _users.c.organisation_id)
    .where(_users.c.id == bindparam("user_id"))
)


def signed_in_user(user_id: int) -> SignedInUser | None:
    """The user with this id and their administration, or None."""
    row = db.session.connection().execute(_SIGNED_IN_USER, {"user_id": user_id}).first()
    if row is None:
        return None
    organisation = (OrganisationRef(row.organisation_id, row.organisation_name,
                                    row.country_code)
                    if row.organisation_id is not None else None)
    return SignedInUser(row.id, row.email, row.name, row.role, row.organisation_id,
                        bool(row.active), row.language, organisation)


class SlidingSessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie session, re-sent when changed or a minute old, not on every reply.

    Sessions are permanent and expire after PERMANENT_SESSION_LIFETIME without use: Flask
    slides that expiry by signing and sending the cookie again with every response. An
    autosave every few seconds then paid for signing a cookie and carried it back each
    time; re-issuing an unchanged cookie once it is a minute old slides the expiry all the
    same, to within that minute.
    """

    refresh_after_seconds = 60

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        serializer = self.get_signing_serializer(app)
        if serializer is None:
            return None
        value = request.cookies.get(self.get_cookie_name(app))
        if not value:
            return self.session_class()
        try:
            data, issued_at = serializer.loads(
                value, max_age=int(app.permanent_session_lifetime.total_seconds()),
                return_timestamp=True)
        except BadSignature:
            return self.session_class()
        opened = self.session_class(data)
        opened.issued_at = issued_at
        return opened

    def should_set_cookie(self, app: Flask, session: SecureCookieSession) -> bool:
        if session.modified:
            return True
        if not (session.permanent and app.config["SESSION_REFRESH_EACH_REQUEST"]):
            return False
        issued_at = getattr(session, "issued_at", None)
        return issued_at is None or \
            (datetime.now(UTC) - issued_at).total_seconds() >= self.refresh_after_seconds


class InvalidText(BadRequest):
    """A form body that is not UTF-8: refused whole rather than stored altered."""

    custom = True  # errors.py shows this description as it is

    def __init__(self) -> None:
        super().__init__(_("What was sent is not valid UTF-8 text, so it could not be read. "
                           "Nothing was saved."))


class TooManyFields(RequestEntityTooLarge):
    """A form with more fields than the page it claims to come from ever sends."""

    custom = True

    def __init__(self) -> None:
        super().__init__(_("What was sent has more fields than this form can have, so it "
                           "was not read. Nothing was saved."))


@dataclass(frozen=True)
class BodyBudget:
    """The most a route's request body may be: bytes read and form fields parsed.

    The body is read and parsed before anything knows who sent it (the CSRF check reads the
    form, and an expired session's post is read to carry its text through sign-in), so
    this is the most work anyone, signed in or not, can make the server do with one body.
    """

    bytes: int
    fields: int


SMALL_FORM = BodyBudget(bytes=8 * 1024, fields=16)
"""Every route that declares nothing: a sign-in, a button, a short name."""

# One answer's fields at their limits: each character of evidence and note a 4-byte UTF-8
# character, percent-encoded (12 bytes), plus the level, the version and the field names.
ONE_ANSWER = BodyBudget(bytes=(EVIDENCE_LIMIT + NOTE_LIMIT) * 12 + 4 * 1024, fields=8)
# A principle page posted whole (JavaScript off): four fields per indicator, as many
# indicators as an instrument may have; its bytes are capped by MAX_CONTENT_LENGTH (16 MB).
ONE_PRINCIPLE = BodyBudget(bytes=16 * 1024 * 1024,
                           fields=len(ANSWER_PARTS) * MAX_INDICATORS + 8)
# The sign-in form carrying such a post, refused when the session had expired.
CARRIED_POST = BodyBudget(bytes=ONE_PRINCIPLE.bytes + SMALL_FORM.bytes,
                          fields=ONE_PRINCIPLE.fields + SMALL_FORM.fields)


def accepts(budget: BodyBudget):
    """Declare the body a view may receive (place it right under the route decorator)."""
    def declare(view):
        view.body_budget = budget
        return view
    return declare


def body_budget_of(endpoint: str | None) -> BodyBudget:
    """The budget a view declared with `accepts`, or SMALL_FORM."""
    view = current_app.view_functions.get(endpoint) if endpoint else None
    return getattr(view, "body_budget", SMALL_FORM)


class _StrictFormDataParser(FormDataParser):
    """Refuses a form that is not UTF-8, whatever its encoding, instead of altering it.

    Werkzeug would turn invalid percent-escapes into literal "%XX" text, raw invalid bytes
    in a url-encoded body into an empty form, and invalid bytes in a multipart field into
    U+FFFD: the first and last store what nobody typed, the second reports a missing CSRF
    token instead of the real problem. A url-encoded body with more fields than the route's
    budget is refused before it is split (Werkzeug applies its field limit to multipart
    bodies only).
    """

    def _parse_urlencoded(self, stream, mimetype, content_length, options):
        body = stream.read()
        # A body sent in chunks has no length to refuse up front: Werkzeug stops reading it
        # at the limit, and reading on from there raises 413 instead of letting the part
        # read so far be acted on.
        stream.read(1)
        if self.max_form_parts is not None and body.count(b"&") >= self.max_form_parts:
            raise TooManyFields()
        try:
            items = parse_qsl(body.decode("utf-8"), keep_blank_values=True,
                              encoding="utf-8", errors="strict")
        except UnicodeDecodeError:
            raise InvalidText() from None
        return stream, self.cls(items), self.cls()

    def _parse_multipart(self, stream, mimetype, content_length, options):
        parser = _TransparentMultiPartParser(
            stream_factory=self.stream_factory, max_form_memory_size=self.max_form_memory_size,
            max_form_parts=self.max_form_parts, cls=self.cls)
        boundary = options.get("boundary", "").encode("ascii")
        if not boundary:
            raise ValueError("Missing boundary")
        try:
            form, files = parser.parse(stream, boundary, content_length)
            # Each value was read as Latin-1, which keeps every byte; now the real decoding.
            form = self.cls([(name, value.encode("latin-1").decode("utf-8"))
                             for name, value in form.items(multi=True)])
        except UnicodeDecodeError:  # in a value, or in a part's headers (Werkzeug's decode)
            raise InvalidText() from None
        return stream, form, files


class _TransparentMultiPartParser(MultiPartParser):
    """Werkzeug's multipart parser, handing over each field's bytes unchanged (as Latin-1
    text) so that _StrictFormDataParser can refuse invalid UTF-8 rather than see U+FFFD."""

    def get_part_charset(self, headers) -> str:
        return "latin-1"


class StrictRequest(Request):
    """The app's request class: forms must be UTF-8 and within their route's budget."""

    form_data_parser_class = _StrictFormDataParser

    @property
    def max_content_length(self) -> int | None:
        if self._max_content_length is not None:
            return self._max_content_length
        ceiling = current_app.config["MAX_CONTENT_LENGTH"]
        budget = body_budget_of(self.endpoint).bytes
        return budget if ceiling is None else min(budget, ceiling)

    @max_content_length.setter
    def max_content_length(self, value: int | None) -> None:
        self._max_content_length = value

    @property
    def max_form_parts(self) -> int | None:
        if self._max_form_parts is not None:
            return self._max_form_parts
        return body_budget_of(self.endpoint).fields

    @max_form_parts.setter
    def max_form_parts(self, value: int | None) -> None:
        self._max_form_parts = value


class ClientAddress:
    """WSGI middleware: the client's address is REMOTE_ADDR, never a header a client wrote.

    Behind `trusted_proxies` reverse proxies, werkzeug's ProxyFix takes the client's address
    and scheme from what the nearest trusted proxy recorded, so that sign-in limits count
    per person rather than per proxy. Either way the raw X-Forwarded-For is then dropped:
    Flask-Login's "strong" session protection reads its first entry, which any client can
    write, and a copied session cookie would otherwise be accepted from anywhere by naming
    its victim's address.
    """

    def __init__(self, wsgi_app, trusted_proxies: int = 0) -> None:
        self.wsgi_app = wsgi_app
        self.entry = (ProxyFix(self._without_forwarded_for, x_for=trusted_proxies,
                               x_proto=trusted_proxies)
                      if trusted_proxies > 0 else self._without_forwarded_for)

    def __call__(self, environ, start_response):
        return self.entry(environ, start_response)

    def _without_forwarded_for(self, environ, start_response):
        environ.pop("HTTP_X_FORWARDED_FOR", None)
        return self.wsgi_app(environ, start_response)


def _local_path(url: str) -> str:
    """The path and query of a URL on this site (htmx sends the page's full URL)."""
    parts = urlsplit(url)
    if parts.netloc and parts.netloc != request.host:
        return ""
    return parts.path + (f"?{parts.query}" if parts.query else "")


def _same_origin() -> bool:
    """The request comes from a page of this site (browsers send Origin on every POST)."""
    source = request.headers.get("Origin") or request.referrer
    return bool(source) and urlsplit(source).netloc == request.host


def _end_moved_session(app: Flask, **extra) -> None:
    """Strong session protection for permanent sessions too.

    Flask-Login ends a "strong" session used from another address or browser only when the
    session is not permanent; ours are (so that PERMANENT_SESSION_LIFETIME applies), and it
    would merely mark them "not fresh". A session cookie replayed elsewhere signs no one in.
    Only a signed-in session is ended: a visitor's session holds just the sign-in form's
    CSRF token (and has no identifier to compare), and clearing it on, say, the browser's
    favicon request would refuse the sign-in form as expired.
    """
    if app.login_manager.session_protection == "strong" and "_user_id" in session:
        session.clear()


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
    app.request_class = StrictRequest
    app.session_interface = SlidingSessionInterface()
    login_manager.login_view = "auth.login"
    login_manager.login_message = None
    login_manager.session_protection = "strong"
    session_protected.connect(_end_moved_session)

    @login_manager.user_loader
    def load_user(user_id: str) -> SignedInUser | None:
        if not (user_id.isascii() and user_id.isdigit()):
            return None
        # A deactivated user's session ends on their next request, wherever it is open.
        user = signed_in_user(int(user_id))
        return user if user is not None and user.active else None

    @login_manager.unauthorized_handler
    def unauthorized():
        """Pages redirect to sign-in; a refused save never loses what was typed.

        An htmx save answers 401 with a sign-in link, and the field keeps its text for app.js
        to save afterwards. A plain form post from this site answers 401 with the sign-in
        form, which carries the posted fields so they can be sent again once signed in.
        """
        if request.headers.get("HX-Request"):
            next_path = _local_path(request.headers.get("HX-Current-URL", ""))
            login_url = url_for("auth.login", next=next_path or None)
            response = make_response(
                render_template("_session_expired.html", login_url=login_url), 401
            )
            return response
        from .auth import pending_fields, sign_in_to_resume

        here = request.full_path.rstrip("?")
        fields = pending_fields(request.form) if request.method == "POST" else []
        if fields and _same_origin():
            return sign_in_to_resume(fields, here)
        return redirect(url_for("auth.login", next=here))

    @app.after_request
    def security_headers(response):
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Referrer-Policy"] = "same-origin"
        if app.config["ENV_NAME"] == "production" and app.config.get("HSTS"):
            # Browsers then refuse plain HTTP to this host, so a sign-in is never sent in
            # clear text after the first visit (they ignore the header on plain HTTP).
            response.headers["Strict-Transport-Security"] = app.config["HSTS"]
        if "HX-Request" not in response.vary and request.endpoint not in (None, "static"):
            response.vary.add("HX-Request")
        if request.endpoint != "static":
            response.headers.setdefault("Cache-Control", "no-store")
        return response
