"""The facilitator's dashboard and the regional picture over HTTP, with real rows: filters,
sort, search and pages in the URL, a fixed number of statements per page, and the regional
comparison's threshold at its edges."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert, select

from cbassess.extensions import db
from cbassess.models import (
    Answer,
    Assessment,
    Instrument,
    Organisation,
    QueryThread,
    Review,
    User,
    facilitator_assignments,
)
from cbassess.permissions import parse_instrument_row
from tests.conftest import SHIPPED_KEY
from tests.test_query_counts import counting


def add_administrations(app, count: int, region: str, status: str = "validated",
                        level: int = 2, assign: bool = True, prefix: str = "Adm") -> list[int]:
    """`count` administrations in `region`, each with one assessment of `status` whose every
    indicator is claimed at `level` (and, when validated, reviewed at `level`)."""
    with app.app_context():
        row = db.session.scalar(select(Instrument).where(Instrument.key == SHIPPED_KEY))
        keys = [i.key for i in parse_instrument_row(row).indicators]
        facilitator = db.session.scalar(select(User).where(User.email == "fac-a@example.org"))
        now = datetime.now(UTC)
        ids = []
        for n in range(count):
            organisation = Organisation(name=f"{prefix} {region} {n:03d}", country_code="ZZ",
                                        region=region)
            db.session.add(organisation)
            db.session.flush()
            if assign:
                db.session.execute(insert(facilitator_assignments).values(
                    user_id=facilitator.id, organisation_id=organisation.id))
            assessment = Assessment(
                organisation_id=organisation.id, instrument_id=row.id, round_name="2026",
                status=status, answered_count=len(keys), updated_at=now - timedelta(days=n),
                submitted_at=now - timedelta(days=n + 1) if status != "draft" else None,
                validated_at=now if status == "validated" else None)
            db.session.add(assessment)
            db.session.flush()
            db.session.execute(insert(Answer), [
                {"assessment_id": assessment.id, "indicator_key": k, "level": level,
                 "not_applicable": False, "evidence": "e", "note": "", "version": 1}
                for k in keys])
            if status == "validated":
                db.session.execute(insert(Review), [
                    {"assessment_id": assessment.id, "indicator_key": k, "level": level,
                     "not_applicable": False, "finding": "", "state": "accepted", "version": 1}
                    for k in keys])
            ids.append(assessment.id)
        db.session.commit()
        return ids


@pytest.fixture
def facilitator(make_browser):
    return make_browser("fac-a@example.org")


def test_the_dashboard_lists_only_what_the_facilitator_may_see(facilitator, make_browser,
                                                                app):
    add_administrations(app, 2, "Pacific", status="submitted")
    add_administrations(app, 1, "Hidden", status="submitted", assign=False, prefix="Other")
    page = facilitator.get("/dashboard")
    assert page.status_code == 200
    assert "Adm Pacific 000" in page.text and "Administration A" in page.text
    assert "Other Hidden" not in page.text and "Administration B" not in page.text
    assert "3 assessments" in page.text
    admin = make_browser("admin@example.org").get("/dashboard")
    assert "Other Hidden 000" in admin.text and "Administration B" in admin.text
    assert make_browser("resp-a@example.org").get("/dashboard").status_code == 403


def test_filters_search_and_waiting_for_me_live_in_the_url(facilitator, app):
    add_administrations(app, 3, "Pacific", status="submitted")
    add_administrations(app, 2, "Andes", status="validated")
    assert "3 assessments" in facilitator.get("/dashboard?region=Pacific").text
    assert "2 assessments" in facilitator.get("/dashboard?status=validated").text
    assert "3 assessments" in facilitator.get("/dashboard?waiting=1").text
    found = facilitator.get("/dashboard?q=andes+001")
    assert "1 assessment" in found.text and "Adm Andes 001" in found.text
    assert "0 assessments" in facilitator.get("/dashboard?q=100%25").text  # % is literal
    assert "1 assessment" in facilitator.get("/dashboard?round=2026+round").text


def test_sorting_each_way_and_the_heading_that_flips_it(facilitator, app):
    add_administrations(app, 3, "Pacific", status="submitted")
    ascending = facilitator.get("/dashboard?sort=administration&dir=asc").text
    assert ascending.index("Adm Pacific 000") < ascending.index("Adm Pacific 002")
    assert 'aria-sort="ascending"' in ascending
    assert "sort=administration&amp;dir=desc" in ascending  # the heading flips it
    descending = facilitator.get("/dashboard?sort=administration&dir=desc").text
    assert descending.index("Adm Pacific 002") < descending.index("Adm Pacific 000")
    waiting = facilitator.get("/dashboard?sort=waiting").text  # longest wait first
    assert waiting.index("Adm Pacific 000") > waiting.index("Adm Pacific 002")
    assert facilitator.get("/dashboard?sort=nonsense&dir=sideways").status_code == 200


def test_scores_open_queries_and_days_waiting_are_shown(facilitator, app):
    [submitted] = add_administrations(app, 1, "Pacific", status="submitted", level=3)
    add_administrations(app, 1, "Andes", status="validated", level=1)
    with app.app_context():
        db.session.add(QueryThread(assessment_id=submitted, indicator_key="PW.1"))
        db.session.commit()
    page = facilitator.get("/dashboard?region=Pacific").text
    assert "3.00 / –" in page and "<td data-label=\"Open queries\">1</td>" in page
    assert "<td data-label=\"Days waiting\">1</td>" in page
    assert "1.00 / 1.00" in facilitator.get("/dashboard?region=Andes").text


def test_an_htmx_request_gets_the_table_only_and_pages_are_in_the_url(facilitator, app):
    add_administrations(app, 30, "Pacific", status="submitted")
    table = facilitator.client.get("/dashboard?page=2", headers={
        "HX-Request": "true", "HX-Target": "dashboard"})
    assert table.status_code == 200 and "<html" not in table.text
    assert 'id="dashboard"' in table.text and "Page 2 of 2" in table.text
    assert "HX-Request" in table.headers["Vary"]
    assert table.headers["HX-Push-Url"] == "/dashboard?page=2"  # the view, no empty filters
    full = facilitator.get("/dashboard?page=2")
    assert "<html" in full.text and 'id="dashboard-q"' in full.text


def test_the_dashboard_runs_a_fixed_number_of_statements(facilitator, app):
    add_administrations(app, 3, "Pacific", status="validated")
    with counting(app) as small:
        assert facilitator.get("/dashboard").status_code == 200
    add_administrations(app, 60, "Andes", status="validated")
    add_administrations(app, 20, "Sahel", status="submitted")
    with counting(app) as large:
        assert facilitator.get("/dashboard").status_code == 200
    assert len(small) == len(large) <= 12


# The regional picture ---------------------------------------------------------------------

def test_a_facilitator_sees_the_spread_of_validated_scores(facilitator, app):
    add_administrations(app, 2, "Andes", status="validated", level=1)
    add_administrations(app, 3, "Andes", status="validated", level=3, prefix="High")
    add_administrations(app, 2, "Andes", status="submitted", level=0, prefix="Not counted")
    page = facilitator.get("/regional?region=Andes")
    assert page.status_code == 200
    assert "5 administrations with a validated assessment" in page.text
    # Five averages 1, 1, 3, 3, 3: median 3, quartiles 1 and 3, range 1–3.
    assert "<td>5</td><td>1.00</td><td>1.00</td><td>3.00</td><td>3.00</td><td>3.00</td>" \
        in page.text.replace("\n", "").replace("    ", "")
    assert 'role="img"' in page.text


@pytest.mark.parametrize(("others", "shown"), [(3, False), (4, True)])
def test_an_administration_is_compared_with_its_region_only_from_five(
        make_browser, app, others, shown):
    """Administration A (Europe) plus `others` validated administrations of Europe: four in
    the group shows nothing and says why; five shows the median."""
    add_administrations(app, others, "Europe", status="validated", level=3)
    with app.app_context():
        a = db.session.scalar(select(Assessment).join(Organisation).where(
            Organisation.name == "Administration A"))
        a_id = a.id
    respondent = make_browser("resp-a@example.org")
    with app.app_context():
        keys = [i.key for i in parse_instrument_row(
            db.session.scalar(select(Instrument).where(Instrument.key == SHIPPED_KEY))).indicators]
        db.session.execute(insert(Answer), [
            {"assessment_id": a_id, "indicator_key": k, "level": 1, "not_applicable": False,
             "evidence": "e", "note": "", "version": 1} for k in keys])
        db.session.execute(insert(Review), [
            {"assessment_id": a_id, "indicator_key": k, "level": 1, "not_applicable": False,
             "finding": "", "state": "accepted", "version": 1} for k in keys])
        db.session.get(Assessment, a_id).status = "validated"
        db.session.get(Assessment, a_id).validated_at = datetime.now(UTC)
        db.session.commit()
    page = respondent.get("/regional").text
    if shown:
        assert "Region median" in page and "<td>1.00</td>" in page and "<td>3.00</td>" in page
        assert "Nothing is compared" not in page
    else:
        assert "Nothing is compared: only 4 administrations" in page
        assert "at least 5 are needed" in page and "Region median" not in page
        assert "3.00" not in page  # nobody else's figures
