"""A realistic completed assessment for the report and export tests: every indicator rated,
evidence of about 1 KB each (some much longer, some short), notes on a few, text in
accented Latin, Arabic, Cyrillic, Chinese and Japanese, a cell that looks like a formula,
and an action plan with owners, due dates (one overdue) and statuses. Written through the
app's own write paths (answers.save_answers, action_store.save_action)."""

from __future__ import annotations

from datetime import date

from cbassess import action_store
from cbassess.action_plan import ActionInput, build_plan
from cbassess.answers import AnswerInput, save_answers
from cbassess.extensions import db
from cbassess.models import Assessment, User
from cbassess.permissions import instrument_of

SCRIPTS = {
    "PW.1": "Stratégie approuvée par le ministre délégué ; réunion du comité élargi à Genève.",
    "PW.2": "تمت المصادقة على خطة الإصلاح الجمركي من قبل مجلس الوزراء",
    "PW.3": "Стратегия модернизации таможни утверждена правительством в 2025 году.",
    "OC.1": "海关改革战略由署长签署并公布实施。",
    "OC.2": "税関改革計画は長官により承認され、年次報告書に掲載された。",
}
FORMULA = '=HYPERLINK("http://example.invalid","click")'
LEVELS = [1, 2, 3, 2, 0, 2, 3, 4, 1, 2, 2, 3, 1, 4, 2, 3, 0, 2, 1, 3, 2, 4, 1, 2, 3, 2, 1, 2,
          3, 2, 2, 1, 4, 0, 2, 3]


def evidence_for(key: str, index: int) -> str:
    """About 1 KB of plausible evidence; a few indicators get much more or much less."""
    lead = SCRIPTS.get(key, f"Evidence for {key}:")
    body = (" The reform steering committee minutes of 12 March, the approved budget "
            "circular and the time release study of 2025 show the practice in place; "
            "the annual report lists the indicators followed and the partners consulted.")
    size = 3_000 if index % 9 == 4 else 120 if index % 7 == 3 else 1_000
    text = lead
    while len(text) < size:
        text += body
    if index == 1:
        text = FORMULA + " " + text
    return text[:size]


def fill(app, assessment_id: int, email: str = "resp-a@example.org") -> None:
    """Rate every indicator, write evidence and notes, and plan actions."""
    with app.app_context():
        assessment = db.session.get(Assessment, assessment_id)
        instrument = instrument_of(assessment)
        user = db.session.query(User).filter_by(email=email).one()
        inputs = []
        for index, indicator in enumerate(instrument.indicators):
            level = LEVELS[index % len(LEVELS)]
            note = (f"Internal note {indicator.key}: check with the legal unit."
                    if index % 5 == 0 else "")
            inputs.append(AnswerInput(indicator.key, level, False,
                                      evidence_for(indicator.key, index), note, None))
        save_answers(db.session, assessment_id, inputs, user.id)
        levels = action_store.answer_levels(db.session, assessment_id, instrument)
        plan = build_plan(instrument, levels, {}, date(2027, 1, 1), "en")
        statuses = ["in_progress", "not_started", "done", "not_started", "in_progress"]
        for index, action in enumerate(plan.actions[:12]):
            due = date(2026, 1, 31) if index == 0 else date(2027 + index % 2, 1 + index, 15)
            save = ActionInput(action.key, None, action.description or f"Act on {action.key}",
                               "Direction de la stratégie" if index % 2 else "Strategy unit",
                               due, None, statuses[index % len(statuses)],
                               "Terms of reference drafted." if index % 3 == 0 else "", None)
            action_store.save_action(db.session, assessment_id, save, user.id)
        db.session.remove()
