"""Evidence files on an answer: attach, remove, download.

Thin: each view authorises through permissions (the assessment's own rules: 404 for an
assessment the user may not see), calls evidence.py, and renders. Without JavaScript the
indicator's "Attach" form is a plain multipart form and the reply a redirect back to the
indicator with a message; with htmx each file is sent on its own (a progress bar each) and
the reply is its status, with the indicator's list of files out of band.
"""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import format_decimal, ngettext
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select
from werkzeug.exceptions import RequestEntityTooLarge

from . import evidence
from .claims import is_unsupported
from .evidence_store import ACCEPT_ATTRIBUTE, ACCEPTED, FileRefused, Refusal, content_disposition
from .extensions import db
from .models import Answer, Assessment, EvidenceFile
from .permissions import assessment_or_404, can_answer, instrument_of

bp = Blueprint("attachments", __name__)

# Served files are never pages: no script, no plugins, no frames, no same origin.
DOWNLOAD_POLICY = "default-src 'none'; sandbox; frame-ancestors 'none'"


def format_size(size: int) -> str:
    """A size as a person reads it: 812 bytes, 14 KB, 3.2 MB."""
    if size < 1024:
        return ngettext("%(num)d byte", "%(num)d bytes", size)
    if size < 1024 * 1024:
        return _("%(n)s KB", n=_rounded(size / 1024))
    return _("%(n)s MB", n=_rounded(size / (1024 * 1024)))


def _rounded(value: float) -> str:
    """One decimal below 10 (2.4, "2,4" in French), none above (14); never a trailing ".0"."""
    return format_decimal(value, format="0.#" if value < 10 else "0")


@bp.app_template_filter("filesize")
def filesize_filter(size: int) -> str:
    return format_size(size)


@bp.app_context_processor
def evidence_context() -> dict:
    """What the attach form shows: accepted types and the limits the server enforces."""
    limits = evidence.limits_for(current_app.config)
    return {"evidence_accept": ACCEPT_ATTRIBUTE,
            "evidence_types": ", ".join(t.label for t in ACCEPTED),
            "evidence_file_limit": limits.per_file}


def _store():
    return evidence.store_for(current_app.config, current_app.instance_path)


def _editable(assessment: Assessment) -> bool:
    return can_answer(current_user, assessment) and assessment.status_enum.editable_by_respondent


def _indicator_or_404(assessment: Assessment, key: str):
    indicator = instrument_of(assessment).indicator(key)
    if indicator is None:
        abort(404)
    return indicator


def refusal_message(refused: FileRefused) -> str:
    """Why a file was not attached, for the person who sent it."""
    name, detected = refused.filename, refused.detected
    messages = {
        Refusal.EMPTY: _("“%(name)s” is empty.", name=name),
        Refusal.TOO_LARGE: _("“%(name)s” is larger than %(limit)s, the limit for one file.",
                             name=name, limit=format_size(refused.limit or 0)),
        Refusal.EXTENSION: _("“%(name)s” does not end in the extension of an accepted type "
                             "(%(types)s).", name=name,
                             types=", ".join(t.label for t in ACCEPTED)),
        Refusal.EXECUTABLE: _("“%(name)s” is a program or script: programs cannot be "
                              "attached.", name=name),
        Refusal.MARKUP: _("“%(name)s” contains HTML, SVG or XML, which could run script when "
                          "opened: save it as PDF instead.", name=name),
        Refusal.ARCHIVE: _("“%(name)s” is an archive (zip, rar, 7z…): attach the documents "
                           "inside it one by one.", name=name),
        Refusal.MACROS: _("“%(name)s” contains macros: save it without macros (docx, xlsx, "
                          "pptx) and attach it again.", name=name),
        Refusal.DAMAGED: _("“%(name)s” cannot be read safely (it is damaged, encrypted or "
                           "expands to far more than its size).", name=name),
        Refusal.ENCODING: _("“%(name)s” is text in an encoding other than UTF-8: save it as "
                            "UTF-8 and attach it again.", name=name),
        Refusal.UNKNOWN: _("“%(name)s” is not of an accepted type (%(types)s).", name=name,
                           types=", ".join(t.label for t in ACCEPTED)),
        Refusal.MISMATCH: _("“%(name)s” is named as another type than its content, which is "
                            "%(type)s: rename it with the right extension.", name=name,
                            type=detected.label if detected else "?"),
    }
    return messages[refused.reason]


def _files_region(assessment: Assessment, key: str, editable: bool, **extra) -> dict:
    files = evidence.current_files(db.session, assessment.id, [key])
    return dict(assessment=assessment, indicator_key=key, files=files, editable=editable,
                **extra)


def _claim(assessment: Assessment, indicator, files: list) -> dict:
    """Whether the answer is an unsupported claim now that its files changed (an attached
    file is evidence: claims.has_evidence), for the reply to update the mark in place."""
    answer = db.session.scalar(select(Answer).where(Answer.assessment_id == assessment.id,
                                                    Answer.indicator_key == indicator.key))
    return dict(indicator=indicator, claim_level=answer.level if answer else None,
                unsupported=is_unsupported(indicator, answer, bool(files)))


def _back_to(assessment: Assessment, indicator) -> str:
    return url_for("answering.principle_page", assessment_id=assessment.id,
                   key=indicator.principle_key,
                   _anchor=f"evidence-{indicator.key.replace('.', '-')}")


def _request_too_large() -> str:
    return _("What you sent is larger than %(limit)s, the most one upload may carry: send "
             "fewer or smaller files at a time. Nothing was attached.",
             limit=format_size(evidence.request_limit(current_app.config)))


class UploadTooLarge(RequestEntityTooLarge):
    custom = True  # errors.py shows this description as it is


class UploadSessionEnded(RequestEntityTooLarge):
    """Too large for a visitor: an upload whose session ended (413, as for any route)."""

    custom = True


def upload_body_limit() -> None:
    """Registered on the app before the CSRF check, which reads the form.

    A signed-in person's upload may carry files up to EVIDENCE_REQUEST_LIMIT, above
    MAX_CONTENT_LENGTH, and a form part per file. Anyone else's keeps the small budget of
    a route that declares none (security.accepts), so an anonymous sender cannot make the
    server read more than a few kilobytes. A declared length over the limit is refused
    here, unread, with the reason; a chunked body is stopped at the limit while read."""
    if request.endpoint != "attachments.upload":
        return
    if not current_user.is_authenticated:
        if (request.content_length or 0) > (request.max_content_length or 0):
            raise UploadSessionEnded(_("Your session has ended: sign in again, then attach "
                                       "the files again. Nothing was attached."))
        return
    request.max_content_length = evidence.request_limit(current_app.config)
    request.max_form_parts = evidence.limits_for(current_app.config).files_per_request + 8
    if (request.content_length or 0) > request.max_content_length:
        raise UploadTooLarge(_request_too_large())


@bp.post("/assessments/<int:assessment_id>/answers/<key>/files")
@login_required
def upload(assessment_id: int, key: str):
    """Attach the files of a multipart form to one answer (all of them or none)."""
    assessment = assessment_or_404(assessment_id, write=True)
    indicator = _indicator_or_404(assessment, key)
    limits = evidence.limits_for(current_app.config)
    status, message = 200, None
    try:
        parts = [f for f in request.files.getlist("files") if f.filename]
        kept = evidence.attach(db.session, _store(), assessment.id, key,
                               [evidence.Upload(f.filename or "", f.stream) for f in parts],
                               current_user.id, limits)
    except RequestEntityTooLarge:
        status, message = 413, _request_too_large()
    except FileRefused as refused:
        status = 413 if refused.reason == Refusal.TOO_LARGE else 422
        message = refusal_message(refused) + " " + _("Nothing was attached.")
    except evidence.NoFile:
        status, message = 422, _("Choose a file to attach.")
    except evidence.TooManyFiles as error:
        status, message = 422, _("Attach at most %(n)d files at a time. Nothing was "
                                 "attached.", n=error.limit)
    except evidence.AssessmentFull as error:
        status, message = 413, _(
            "These files would take the assessment's files over %(limit)s (%(used)s are "
            "used, removed files included, as the history keeps them). Nothing was attached.",
            limit=format_size(error.limit), used=format_size(error.used))
    except evidence.AttachmentsLocked:
        status, message = 409, _("This assessment has been submitted for review and can no "
                                 "longer be changed.")
    if not request.headers.get("HX-Request"):
        if message:  # shown at the top of the page, where the redirect lands
            flash(message, "error")
            return redirect(url_for("answering.principle_page", assessment_id=assessment.id,
                                    key=indicator.principle_key), 303)
        else:
            flash(ngettext("%(num)d file attached to %(key)s.",
                           "%(num)d files attached to %(key)s.", len(kept), key=key), "success")
        return redirect(_back_to(assessment, indicator), 303)
    context = _files_region(assessment, key, _editable(assessment), oob=True)
    context.update(_claim(assessment, indicator, context["files"]))
    return render_template("attachments/_upload_reply.html", message=message,
                           attached=[] if message else kept, **context), status


@bp.post("/assessments/<int:assessment_id>/files/<int:file_id>/remove")
@login_required
def remove(assessment_id: int, file_id: int):
    """Remove a file from its answer (the history keeps it)."""
    assessment = assessment_or_404(assessment_id, write=True)
    row = db.session.get(EvidenceFile, file_id)
    if row is None or row.assessment_id != assessment.id:
        abort(404)
    indicator = _indicator_or_404(assessment, row.indicator_key)
    name = row.filename
    status, message, removed = 200, None, False
    try:
        removed = evidence.remove(db.session, assessment.id, file_id, current_user.id)
    except evidence.AttachmentsLocked:
        status, message = 409, _("This assessment has been submitted for review and can no "
                                 "longer be changed.")
    if removed:
        notice = _("“%(name)s” removed; the answer's history keeps it.", name=name)
    else:
        notice = message or _("“%(name)s” was already removed.", name=name)
    if not request.headers.get("HX-Request"):
        flash(notice, "error" if message else "success")
        return redirect(_back_to(assessment, indicator), 303)
    context = _files_region(assessment, row.indicator_key, _editable(assessment),
                            notice=notice, notice_error=bool(message))
    claim = _claim(assessment, indicator, context["files"])
    return render_template("attachments/_remove_reply.html", claim=claim, **context), status


@bp.get("/assessments/<int:assessment_id>/files/<int:file_id>")
@login_required
def download(assessment_id: int, file_id: int):
    """A file, to whoever may see the assessment: always as a download, never as a page."""
    assessment = assessment_or_404(assessment_id)
    row = db.session.get(EvidenceFile, file_id)
    if row is None or row.assessment_id != assessment.id:
        abort(404)
    path = _store().path_of(row.sha256)
    if not path.is_file():
        current_app.logger.error("evidence file %s (%s) is missing from the store",
                                 row.id, row.sha256)
        abort(404)
    # Werkzeug adds "; charset=utf-8" to text types (text was checked to be UTF-8).
    response = send_file(path, mimetype=row.content_type, conditional=True, etag=row.sha256,
                         max_age=0)
    response.headers["Content-Disposition"] = content_disposition(row.filename)
    response.headers["Content-Security-Policy"] = DOWNLOAD_POLICY
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    return response
