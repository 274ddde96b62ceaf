"""The item lifecycle: every state and every allowed move, declared once.

Everything that changes an item's state goes through :func:`annotation.transitions.transition`,
which checks the move against :data:`TRANSITIONS`, applies it as a compare-and-set
update and appends a history row. A test walks this table as a graph.
"""

from __future__ import annotations

from django.db import models


class State(models.TextChoices):
    QUEUED = "queued", "Queued"
    IN_PROGRESS = "in_progress", "In progress"
    SUBMITTED = "submitted", "Submitted (checks running)"
    RETURNED = "returned", "Returned for rework"
    IN_REVIEW = "in_review", "In review"
    APPROVED = "approved", "Approved"
    FLAGGED = "flagged", "Flagged"


# (from, to) -> the event that makes the move. A self-move (in_review -> in_review) is a
# change of review stage. Every edge has a caller: an annotator flags only an item they
# hold (in progress, or returned to them), a reviewer one in review.
TRANSITIONS: dict[tuple[str, str], str] = {
    (State.QUEUED, State.IN_PROGRESS): "claim",
    (State.IN_PROGRESS, State.QUEUED): "release",  # skip, lease expired, overlap slot freed
    (State.IN_PROGRESS, State.IN_PROGRESS): "claim",  # another annotator joins (overlap)
    (State.IN_PROGRESS, State.SUBMITTED): "submit",
    (State.IN_PROGRESS, State.FLAGGED): "flag",
    (State.SUBMITTED, State.IN_REVIEW): "checks_passed",
    (State.SUBMITTED, State.APPROVED): "checks_passed_no_review",
    (State.SUBMITTED, State.RETURNED): "checks_failed",
    (State.RETURNED, State.SUBMITTED): "resubmit",
    (State.RETURNED, State.FLAGGED): "flag",
    (State.IN_REVIEW, State.IN_REVIEW): "advance_stage",
    (State.IN_REVIEW, State.APPROVED): "approve",
    (State.IN_REVIEW, State.RETURNED): "reject",
    (State.IN_REVIEW, State.FLAGGED): "flag",
    (State.APPROVED, State.SUBMITTED): "reopen",  # an admin sends it back to checks and review
    (State.FLAGGED, State.QUEUED): "unflag",  # an admin puts it back in the queue
}

INITIAL = State.QUEUED
# No state is terminal: an admin can reopen an approved item and unflag a flagged one.
TERMINAL: frozenset[str] = frozenset()
WORKABLE = frozenset({State.QUEUED, State.IN_PROGRESS})
DONE = frozenset({State.APPROVED, State.FLAGGED})


def can_move(from_state: str, to_state: str) -> bool:
    return (from_state, to_state) in TRANSITIONS


def targets(from_state: str) -> set[str]:
    return {to for (frm, to) in TRANSITIONS if frm == from_state}
