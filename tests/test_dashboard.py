"""The facilitator's dashboard and the regional picture over HTTP, with real rows: filters,
sort, search and pages in the URL, a fixed number of statements per page, and the regional
comparison's threshold at its edges."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert, select

from cbassess import headline
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
                        level: int = 2, assign: bool = True, prefix: str = "Adm",
                        reviewed: int | None = None) -> list[int]:
    """`count` administrations in `region`, each with one assessment of `status` whose every
    indicator is claimed at `level` (and, when validated, reviewed at `reviewed`, by default
    `level`). Their headline averages are kept as every write path keeps them."""
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
                    {"assessment_id": assessment.id, "indicator_key": k,
                     "level": level if reviewed is None else reviewed,
                     "not_applicable": False, "finding": "", "state": "accepted", "version": 1}
                    for k in keys])
            headline.refresh(db.session.connection(), assessment.id)
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
    # Only what waits for review counts: a validated assessment, submitted long ago, and a
    # draft come after every submitted one.
    [done] = add_administrations(app, 1, "Pacific", status="validated", prefix="Done")
    with app.app_context():
        db.session.get(Assessment, done).submitted_at = datetime.now(UTC) - timedelta(days=99)
        db.session.commit()
    waiting = facilitator.get("/dashboard?sort=waiting").text
    assert waiting.index("Adm Pacific 000") < waiting.index("Done Pacific 000")
    assert waiting.index("Adm Pacific 000") < waiting.index("Administration A")
    assert facilitator.get("/dashboard?sort=nonsense&dir=sideways").status_code == 200


def test_scores_open_queries_and_days_waiting_are_shown(facilitator, app):
    [submitted] = add_administrations(app, 1, "Pacific", status="submitted", level=3)
    add_administrations(app, 1, "Andes", status="validated", level=1)
    with app.app_context():
        db.session.add(QueryThread(assessment_id=submitted, indicator_key="PW.1"))
        db.session.commit()
    page = facilitator.get("/dashboard?region=Pacific").text
    assert '<td data-label="Claimed average">3.00</td>' in page
    assert '<td data-label="Validated average">–</td>' in page
    assert "<td data-label=\"Open queries\">1</td>" in page
    assert "<td data-label=\"Days waiting\">1</td>" in page
    andes = facilitator.get("/dashboard?region=Andes").text
    assert '<td data-label="Claimed average">1.00</td>' in andes
    assert '<td data-label="Validated average">1.00</td>' in andes
    assert "<td data-label=\"Days waiting\">–</td>" in andes  # validated: not waiting


def order_of(page: str, names: list[str]) -> list[str]:
    """`names` in the order the page lists them."""
    return sorted(names, key=page.index)


def test_the_claimed_and_the_validated_average_sort_both_ways_in_the_url(facilitator, app):
    """Sorted by the database on the averages each assessment keeps: rows without a value
    last in either direction, ties in the assessments' order (the same direction)."""
    add_administrations(app, 1, "Sort", level=1, reviewed=4, prefix="Low claim")
    add_administrations(app, 1, "Sort", level=3, reviewed=2, prefix="High claim")
    add_administrations(app, 1, "Sort", status="submitted", level=4, prefix="Unreviewed")
    add_administrations(app, 2, "Sort", level=2, prefix="Tied")
    names = ["Low claim Sort 000", "High claim Sort 000", "Unreviewed Sort 000",
             "Tied Sort 000", "Tied Sort 001"]

    def listed(query: str) -> list[str]:
        return order_of(facilitator.get(f"/dashboard?region=Sort&{query}").text, names)

    assert listed("sort=claimed") == [  # highest first
        "Unreviewed Sort 000", "High claim Sort 000", "Tied Sort 001", "Tied Sort 000",
        "Low claim Sort 000"]
    assert listed("sort=claimed&dir=asc") == [
        "Low claim Sort 000", "Tied Sort 000", "Tied Sort 001", "High claim Sort 000",
        "Unreviewed Sort 000"]
    assert listed("sort=validated&dir=desc") == [
        "Low claim Sort 000", "Tied Sort 001", "Tied Sort 000", "High claim Sort 000",
        "Unreviewed Sort 000"]  # no validated average: last
    assert listed("sort=validated&dir=asc") == [
        "High claim Sort 000", "Tied Sort 000", "Tied Sort 001", "Low claim Sort 000",
        "Unreviewed Sort 000"]  # still last

    page = facilitator.get("/dashboard?region=Sort&sort=validated&dir=asc").text
    heading = page.split('<th scope="col" aria-sort="ascending">')[1].split("</th>")[0]
    assert "Validated average" in heading
    assert "sort=validated&amp;dir=desc" in heading  # a second click flips it
    assert page.count("aria-sort=") == 1
    claimed = page.split(">Claimed average<")[0].rsplit("<a ", 1)[1]
    assert 'href="/dashboard?region=Sort&amp;sort=claimed&amp;dir=desc"' in claimed
    assert 'hx-get="/dashboard?region=Sort&amp;sort=claimed&amp;dir=desc"' in claimed
    # The current sort travels with the filter form, so a filter change keeps it.
    assert '<input type="hidden" name="sort" value="validated" form="dashboard-filters">' \
        in page


def test_completeness_sorts_on_the_share_answered_across_instruments(facilitator, app,
                                                                       other_instrument):
    """"3 of 4" is further along than "20 of 28", though fewer indicators are answered."""
    with app.app_context():
        shipped = db.session.scalar(select(Instrument.id).where(Instrument.key == SHIPPED_KEY))
        facilitator_user = db.session.scalar(select(User).where(
            User.email == "fac-a@example.org"))
        for name, instrument, answered in (("Small 3 of 4", other_instrument, 3),
                                           ("Large 20 of 28", shipped, 20),
                                           ("Large 4 of 28", shipped, 4)):
            organisation = Organisation(name=name, country_code="ZZ", region="Mixed")
            db.session.add(organisation)
            db.session.flush()
            facilitator_user.assigned_organisations.append(organisation)
            db.session.add(Assessment(organisation_id=organisation.id, instrument_id=instrument,
                                      round_name="2026", answered_count=answered))
        db.session.commit()
    names = ["Small 3 of 4", "Large 20 of 28", "Large 4 of 28"]
    listed = order_of(facilitator.get("/dashboard?region=Mixed&sort=completeness&dir=desc")
                      .text, names)
    assert listed == names
    assert order_of(facilitator.get("/dashboard?region=Mixed&sort=completeness").text,
                    names) == names[::-1]


def test_the_kept_average_counts_levels_for_their_scores(app, make_browser):
    """On an instrument whose levels score 0, 0.25, 0.5 and 1, the average kept by the
    autosave (and sorted on) is the results page's, not the mean of the level numbers."""
    from cbassess.cli import import_instrument
    from cbassess.permissions import instrument_of
    from cbassess.scoring import AnswerValue, score
    from tests.conftest import DATA

    with app.app_context():
        row, _ = import_instrument(DATA / "maturity-framework.yaml")
        organisation = db.session.scalar(select(Organisation).where(
            Organisation.name == "Administration A"))
        assessment = Assessment(organisation_id=organisation.id, instrument_id=row.id,
                                round_name="Maturity round")
        db.session.add(assessment)
        db.session.commit()
        a_id, spec = assessment.id, instrument_of(assessment)
    respondent = make_browser("resp-a@example.org")
    levels = {}
    for position, indicator in enumerate(spec.indicators[:4]):
        levels[indicator.key] = position % 4
        assert respondent.autosave(a_id, indicator.key, level=position % 4,
                                   evidence="Decree 12/2025").status_code == 200
    with app.app_context():
        stored = db.session.get(Assessment, a_id).claimed_average
    expected = score(spec, {k: AnswerValue(v) for k, v in levels.items()}).average
    assert expected not in (None, 1.5)  # 1.5 would be the mean of the level numbers
    assert stored == pytest.approx(expected)


def test_an_htmx_sort_swaps_the_table_and_pushes_the_views_url(facilitator, app):
    add_administrations(app, 1, "Sort", level=1, prefix="Low claim")
    add_administrations(app, 1, "Sort", level=3, prefix="High claim")
    table = facilitator.client.get("/dashboard?region=Sort&sort=claimed&dir=asc", headers={
        "HX-Request": "true", "HX-Target": "dashboard"})
    assert "<html" not in table.text
    assert table.text.index("Low claim Sort 000") < table.text.index("High claim Sort 000")
    assert table.headers["HX-Push-Url"] == "/dashboard?region=Sort&sort=claimed&dir=asc"


def test_unknown_sort_parameters_are_ignored_like_unknown_filters(facilitator, app):
    add_administrations(app, 2, "Pacific", status="submitted")
    default = facilitator.get("/dashboard").text
    for query in ("sort=claimed_average", "sort=claimed&dir=sideways",
                  "sort=id;drop%20table%20assessments", "sort=", "dir=asc"):
        page = facilitator.get(f"/dashboard?{query}")
        assert page.status_code == 200, query
        assert "3 assessments" in page.text, query
    # An unknown direction falls back to the column's first one.
    flipped = facilitator.get("/dashboard?sort=claimed&dir=sideways").text
    assert 'aria-sort="descending"' in flipped.split("Claimed average")[0].rsplit("<th", 1)[1]
    unknown = facilitator.get("/dashboard?sort=nonsense").text
    assert unknown.split("<tbody>")[1] == default.split("<tbody>")[1]  # the default order


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
