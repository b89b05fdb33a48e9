"""The facilitator's dashboard and the regional picture.

Thin views over portfolio.py: parse the view from the URL, authorise, query, render. The
dashboard's table is a partial the page includes; an htmx request (filter change, sort,
page) gets only the table, and every link and the filter form are plain GETs without
JavaScript.
"""

from __future__ import annotations

from flask import Blueprint, abort, current_app, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from . import portfolio
from .charts import BoxRow, box_plot_svg
from .extensions import db
from .models import Assessment, Instrument, Organisation, Role, Status
from .pages import language
from .permissions import parse_instrument_row, visible_assessments

bp = Blueprint("dashboard", __name__)


def _visible():
    return visible_assessments(current_user).with_only_columns(Assessment.id)


@bp.get("/dashboard")
@login_required
def index():
    """Every assessment the reviewer may see, filtered, sorted, searched, a page at a time."""
    if current_user.role not in (Role.FACILITATOR, Role.ADMIN):
        abort(403)
    view = portfolio.View.parse(request.args)
    visible = _visible()
    page = portfolio.dashboard(db.session, visible, view, parse_instrument_row, language())
    context = dict(page=page, view=view, language=language())
    if request.headers.get("HX-Request") and request.headers.get("HX-Target") == "dashboard":
        response = current_app.make_response(render_template("dashboard/_table.html",
                                                             **context))
        # The address bar shows the view's own URL (no empty filters): what a bookmark keeps.
        response.headers["HX-Push-Url"] = url_for("dashboard.index",
                                                  **view.args(page=view.page))
    else:
        page.regions, page.rounds, page.instruments = portfolio.choices(
            db.session, visible, parse_instrument_row, language())
        response = current_app.make_response(render_template("dashboard/index.html",
                                                             **context))
    response.headers["Vary"] = "HX-Request"
    return response


def _instrument_keys() -> list[tuple[str, str]]:
    """(key, title) of each instrument: its newest version's title, in the page's language
    where the text has it."""
    seen: dict[str, str] = {}
    for row in db.session.scalars(select(Instrument).order_by(Instrument.imported_at.desc())):
        if row.key not in seen:
            seen[row.key] = parse_instrument_row(row).title.get(language())
    return list(seen.items())


@bp.get("/regional")
@login_required
def regional():
    """Reviewers: the spread of validated scores per principle across the administrations
    they see. An administration: its validated scores against its region's median, only
    when the group is large enough that nobody's answers can be worked out."""
    keys = _instrument_keys()
    if not keys:
        abort(404)
    key = request.args.get("instrument") or keys[0][0]
    if key not in dict(keys):
        key = keys[0][0]
    row = db.session.scalar(select(Instrument).where(Instrument.key == key)
                            .order_by(Instrument.imported_at.desc()).limit(1))
    spec = parse_instrument_row(row)
    region = request.args.get("region", "")[:100]
    round_name = request.args.get("round", "")[:100]
    threshold = int(current_app.config["REGIONAL_MINIMUM"])
    context = dict(spec=spec, keys=keys, key=key, language=language(), threshold=threshold,
                   region=region, round_name=round_name)
    if current_user.role in (Role.FACILITATOR, Role.ADMIN):
        visible = _visible()
        validated = portfolio.validated_scores(db.session, visible, spec, key, region,
                                               round_name)
        regions, rounds, _instruments = portfolio.choices(db.session, visible)
        spreads = portfolio.spreads(spec, validated)
        return render_template("dashboard/regional.html", validated=validated,
                               spreads=spreads, regions=regions, rounds=rounds,
                               chart=_box_plot(spec, spreads, None), **context)
    own_region = db.session.scalar(select(Organisation.region).where(
        Organisation.id == current_user.organisation_id)) or ""
    mine = [v for v in portfolio.validated_scores(
        db.session, _visible(), spec, key) if v.organisation_id == current_user.organisation_id]
    group = portfolio.validated_scores(db.session, None, spec, key, own_region) \
        if own_region else []
    enough = len(group) >= threshold
    spreads = portfolio.spreads(spec, group) if enough else None
    return render_template(
        "dashboard/regional_own.html", mine=mine[-1] if mine else None,
        own_region=own_region, group_size=len(group), enough=enough,
        spreads=spreads, validated_status=Status.VALIDATED,
        chart=_box_plot(spec, spreads, mine[-1] if mine else None) if enough else None,
        **context)


def _box_plot(spec, spreads: dict, own: portfolio.Validated | None) -> str:
    """Reviewers see the spread; an administration sees only the median and its own score."""
    rows = []
    for p in spec.principles:
        s = spreads.get(p.key)
        marker = own.averages.get(p.key) if own else None
        if s is None:
            rows.append(BoxRow(p.title.get(language()), marker=marker))
        elif own is not None:
            rows.append(BoxRow(p.title.get(language()), s.median, s.median, s.median, s.median,
                               s.median, marker=marker))
        else:
            rows.append(BoxRow(p.title.get(language()), s.minimum, s.lower_quartile, s.median,
                               s.upper_quartile, s.maximum))
    return box_plot_svg(rows, spec.scale.minimum, spec.scale.maximum,
                        _("Validated average per principle"))
