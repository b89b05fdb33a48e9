"""Claims and their evidence: when a level needs evidence, and what counts as evidence.

The one rule every page, export and report asks, so a claim is flagged the same everywhere.
No Flask, no database: answers are anything with `level`, `not_applicable` and `evidence`.
"""

from __future__ import annotations

from .instrument import Indicator
from .text_policy import is_blank


def has_evidence(answer, has_files: bool = False) -> bool:
    """Whether an answer is backed by evidence: at least one attached file (`has_files`,
    from evidence.indicators_with_files), or written evidence that is not blank
    (text_policy.is_blank: spaces and invisible characters are not evidence).

    The one place that says what counts as evidence.
    """
    return has_files or (answer is not None and not is_blank(answer.evidence or ""))


def is_unsupported(indicator: Indicator, answer, has_files: bool = False) -> bool:
    """A claim at or above the indicator's evidence threshold with no evidence behind it
    (no text, no file).

    Saved like any answer, but marked on the page, counted on the overview, listed before
    submitting, flagged in the results, the review and the report, and never shown as a
    strength.
    """
    return (answer is not None and not answer.not_applicable
            and indicator.needs_evidence(answer.level) and not has_evidence(answer, has_files))
