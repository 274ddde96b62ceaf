"""Review decisions (approve, reject, edit and approve, flag), checked, then done.

``check_decision`` validates the input and that the reviewer may decide, and writes
nothing; ``do_decision`` writes the checked decision under the row lock of the item's
open stage visit and moves the item on (see ``reviews.routing``). ``decide`` does both.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from annotation.messages import Message, validate
from annotation.models import Item, Revision, RevisionKind
from annotation.states import State
from annotation.transitions import transition
from core.enqueue import CHECK_SUBMISSION, enqueue
from projects.models import Project
from reviews.models import Decision, ReasonCode, Review, ReviewLease, RubricCriterion, StageVisit
from reviews.routing import advance, close_visit
from reviews.scoring import ACCEPTING, record_agreement, score_gold_review

# Messages a person understands; tests import them.
OWN_WORK = "You cannot review your own work."
ALREADY_REVIEWED = "You already reviewed this item."
NOT_HOLDING = "You are not holding this item for review; take it from the review queue."
MOVED_ON = "This item has already moved on; it no longer needs your decision."
ANSWER_CHANGED = "The answer changed while you were reviewing it; look at it again."
FEEDBACK_REQUIRED = "Write feedback for the annotator: say what to change."
REASON_REQUIRED = "Pick at least one reason for rejecting."
UNKNOWN_REASON = "Unknown reason code {code!r}."
FLAG_REASON = "Say why you flag this item."
UNKNOWN_DECISION = "The decision must be approve, reject, edit or flag."
SCORE_RANGE = "Rubric scores are whole numbers from 1 to 5 ({key!r})."
UNKNOWN_CRITERION = "Unknown rubric criterion {key!r}."
SCORE_REQUIRED = "Score {label!r}: this project requires it."
MESSAGES_REQUIRED = "An edit needs the edited messages."
EDIT_UNCHANGED = "Your edit changes nothing; approve instead."
PICK_REQUIRED = "Several annotators answered this item: pick the best answer."
PICK_UNKNOWN = "The picked answer is not one of this item's answers."
NO_ANSWER = "This item has no answer to review."


class ReviewConflict(Exception):
    """The decision came too late or from someone not holding the item (HTTP 409)."""


# --- Check --------------------------------------------------------------------------------


@dataclass(frozen=True)
class CheckedDecision:
    """A decision ``check_decision`` accepted, cleaned: what ``do_decision`` writes."""

    item: Item
    reviewer: User
    decision: Decision
    feedback: str
    reasons: tuple[str, ...]
    scores: Mapping[str, int]
    visit_id: int
    revision: Revision  # the answer the decision is about
    current_revision_id: int | None  # the item's current revision when checked
    alternatives: tuple[int, ...] = ()  # the other answers of an overlap item
    edited: list[Message] | None = None  # the reviewer's conversation, for an edit


def _clean_scores(project: Project, scores: Any) -> dict[str, int]:
    criteria = {c.key: c for c in RubricCriterion.objects.filter(project=project)}
    if scores in (None, ""):
        scores = {}
    if not isinstance(scores, dict):
        raise ValidationError({"scores": "Scores must be an object of criterion: 1 to 5."})
    cleaned: dict[str, int] = {}
    for key, value in scores.items():
        if key not in criteria:
            raise ValidationError({"scores": UNKNOWN_CRITERION.format(key=key)})
        if value in (None, ""):
            continue
        text = str(value).strip()
        number = int(text) if not isinstance(value, bool) and text.isdigit() else 0
        if not 1 <= number <= 5:
            raise ValidationError({"scores": SCORE_RANGE.format(key=key)})
        cleaned[key] = number
    return cleaned


def _required_scores(project: Project, scores: Mapping[str, int]) -> None:
    for criterion in RubricCriterion.objects.filter(project=project, required=True):
        if criterion.key not in scores:
            raise ValidationError({"scores": SCORE_REQUIRED.format(label=criterion.label)})


def _clean_reasons(project: Project, reasons: Iterable[Any] | None) -> list[str]:
    known = dict(ReasonCode.objects.filter(project=project).values_list("code", "label"))
    cleaned = []
    for code in reasons or []:
        if code not in known:
            raise ValidationError({"reasons": UNKNOWN_REASON.format(code=code)})
        if code not in cleaned:
            cleaned.append(code)
    return cleaned


def _check_grounds(decision: str, reasons: list[str], feedback: str) -> None:
    """A rejection names reasons and says what to change; a flag says why."""
    if decision == Decision.REJECT:
        if not reasons:
            raise ValidationError({"reasons": REASON_REQUIRED})
        if not feedback:
            raise ValidationError({"feedback": FEEDBACK_REQUIRED})
    if decision == Decision.FLAG and not (feedback or reasons):
        raise ValidationError({"feedback": FLAG_REASON})


def clean_edit(messages: Any) -> list[Message]:
    """A reviewer's edited conversation: the same rules as an annotator's submission."""
    if not messages:
        raise ValidationError({"messages": MESSAGES_REQUIRED})
    return validate(messages, complete=True)


def check_may_review(item: Item, reviewer: User) -> None:
    """Raise ``PermissionDenied`` when ``reviewer`` wrote an answer of ``item``."""
    if Revision.objects.filter(item=item, author=reviewer, kind=RevisionKind.SUBMISSION).exists():
        raise PermissionDenied(OWN_WORK)


def _held_visit(item: Item, reviewer: User) -> StageVisit:
    """The item's open stage visit, which ``reviewer`` holds a lease on; a conflict (or
    a refusal, when they already decided at this stay) otherwise."""
    visit = StageVisit.objects.filter(item=item, closed_at__isnull=True).first()
    if visit is None:
        raise ReviewConflict(MOVED_ON)
    if not ReviewLease.objects.filter(visit=visit, reviewer=reviewer).exists():
        if Review.objects.filter(visit=visit, reviewer=reviewer).exists():
            raise PermissionDenied(ALREADY_REVIEWED)
        raise ReviewConflict(NOT_HOLDING)
    item.refresh_from_db(fields=["state", "stage", "current_revision"])
    if item.state != State.IN_REVIEW or item.stage != visit.stage:
        raise ReviewConflict(MOVED_ON)
    return visit


def answer_candidates(item: Item) -> list[Revision]:
    """For an overlap item that nobody has picked from yet: the latest submission of
    each annotator (at least two), oldest first. Otherwise empty."""
    if Review.objects.filter(item=item).exclude(alternatives=[]).exists():
        return []
    latest: dict[int | None, Revision] = {}
    for revision in Revision.objects.filter(item=item, kind=RevisionKind.SUBMISSION).order_by("id"):
        latest[revision.author_id] = revision
    candidates = sorted(latest.values(), key=lambda r: r.pk)
    return candidates if len(candidates) >= 2 else []


def _reviewed_answer(
    item: Item, decision: str, picked_revision: int | None
) -> tuple[Revision, tuple[int, ...]]:
    """The answer a decision is about (the picked one, for an overlap item) and the
    other answers, kept as alternatives."""
    candidates = answer_candidates(item) if decision != Decision.FLAG else []
    if not candidates:
        if item.current_revision is None:
            raise ValidationError({"detail": NO_ANSWER})
        return item.current_revision, ()
    by_id = {r.pk: r for r in candidates}
    if picked_revision is None:
        raise ValidationError({"picked_revision": PICK_REQUIRED})
    if int(picked_revision) not in by_id:
        raise ValidationError({"picked_revision": PICK_UNKNOWN})
    reviewed = by_id[int(picked_revision)]
    return reviewed, tuple(pk for pk in by_id if pk != reviewed.pk)


def check_decision(
    *,
    item: Item,
    reviewer: User,
    decision: str,
    feedback: str = "",
    reasons: Iterable[str] | None = None,
    scores: Mapping[str, Any] | None = None,
    messages: list[dict[str, Any]] | None = None,
    picked_revision: int | None = None,
) -> CheckedDecision:
    """Validate ``reviewer``'s decision on ``item`` and that they may make it, without
    writing anything: the decision is known; reason codes and rubric scores are the
    project's; a rejection has reasons and feedback, a flag says why; accepting fills
    the required scores; an edit is a valid complete conversation that changes the
    answer; an overlap item's pick is one of its answers; the reviewer did not write an
    answer and holds the item at its current stage.

    Raises ``ValidationError`` (bad input), ``PermissionDenied`` (their own work, or
    decided already) or ``ReviewConflict`` (not holding it, or it moved on).
    """
    if decision not in Decision.values:
        raise ValidationError({"decision": UNKNOWN_DECISION})
    project = item.project
    feedback = (feedback or "").strip()
    cleaned_scores = _clean_scores(project, scores)
    cleaned_reasons = _clean_reasons(project, reasons)
    _check_grounds(decision, cleaned_reasons, feedback)
    if decision in ACCEPTING:
        _required_scores(project, cleaned_scores)
    edited = clean_edit(messages) if decision == Decision.EDIT else None
    check_may_review(item, reviewer)
    visit = _held_visit(item, reviewer)
    reviewed, alternatives = _reviewed_answer(item, decision, picked_revision)
    if edited is not None and edited == reviewed.messages:
        raise ValidationError({"messages": EDIT_UNCHANGED})
    return CheckedDecision(
        item=item,
        reviewer=reviewer,
        decision=Decision(decision),
        feedback=feedback,
        reasons=tuple(cleaned_reasons),
        scores=cleaned_scores,
        visit_id=visit.pk,
        revision=reviewed,
        current_revision_id=item.current_revision_id,
        alternatives=alternatives,
        edited=edited,
    )


# --- Do --------------------------------------------------------------------------------------


def _lock_visit(checked: CheckedDecision) -> StageVisit:
    """Lock the checked stay's visit row, and confirm under the lock what a concurrent
    decision could have changed since the check."""
    visit = (
        StageVisit.objects.select_for_update()
        .filter(pk=checked.visit_id, closed_at__isnull=True)
        .first()
    )
    if visit is None:
        raise ReviewConflict(MOVED_ON)
    if not ReviewLease.objects.filter(visit=visit, reviewer=checked.reviewer).exists():
        raise ReviewConflict(NOT_HOLDING)
    item = checked.item
    item.refresh_from_db(fields=["state", "stage", "current_revision"])
    if item.state != State.IN_REVIEW or item.stage != visit.stage:
        raise ReviewConflict(MOVED_ON)
    if item.current_revision_id != checked.current_revision_id or (
        checked.alternatives and Review.objects.filter(item=item).exclude(alternatives=[]).exists()
    ):
        raise ReviewConflict(ANSWER_CHANGED)
    return visit


def _save_edit(checked: CheckedDecision) -> Revision | None:
    if checked.edited is None:
        return None
    base = checked.revision
    return Revision.objects.create(
        item=checked.item,
        messages=checked.edited,
        kind=RevisionKind.REVIEWER_EDIT,
        author=checked.reviewer,
        base=base,
        guideline_id=base.guideline_id,
    )


def _reject(checked: CheckedDecision, visit: StageVisit, data: dict[str, Any]) -> bool:
    """Back to the annotator, with the reasons in words."""
    close_visit(visit, "rejected")
    labels = dict(
        ReasonCode.objects.filter(project_id=checked.item.project_id).values_list("code", "label")
    )
    why = ", ".join(labels.get(code, code) for code in checked.reasons)
    return transition(
        checked.item,
        to=State.RETURNED,
        actor=checked.reviewer,
        reason=f"Rejected at {visit.stage_name}: {why}.",
        data={**data, "reasons": list(checked.reasons), "annotator": checked.revision.author_id},
    )


def _move(checked: CheckedDecision, visit: StageVisit, review: Review) -> None:
    """Move the item on after ``review``: count an approval (advancing when the stage has
    enough), return it to its annotator, or flag it."""
    item, reviewer = checked.item, checked.reviewer
    data = {"review": review.pk, "decision": checked.decision}
    if checked.decision in ACCEPTING:
        visit.approvals += 1
        if visit.approvals < visit.min_approvals:
            visit.save(update_fields=["approvals"])
            return
        moved = advance(item, visit, reviewer, data)
    elif checked.decision == Decision.REJECT:
        moved = _reject(checked, visit, data)
    else:
        close_visit(visit, "flagged")
        moved = transition(
            item, to=State.FLAGGED, actor=reviewer, reason=checked.feedback, data=data
        )
    if not moved:
        raise ReviewConflict(MOVED_ON)


def do_decision(checked: CheckedDecision) -> Review:
    """Record a decision ``check_decision`` accepted and move the item on: the review
    (with its agreement with earlier reviews at this stay), an edit as a new current
    revision that gets checked, the picked answer of an overlap item as current, a gold
    answer's reviewer score, and the item's next state.

    Needs the row lock on the item's open stage visit: it takes it
    (``select_for_update``) in its own transaction, so concurrent decisions on one item
    are written one after the other, each approval is counted once and the item
    advances exactly once. Raises ``ReviewConflict`` when, once the lock is held, the
    stay is over, the reviewer's lease is gone or the answer changed since the check.
    """
    item = checked.item
    with transaction.atomic():
        visit = _lock_visit(checked)
        new_revision = _save_edit(checked)
        review = Review.objects.create(
            item=item,
            revision=checked.revision,
            stage=visit.stage,
            reviewer=checked.reviewer,
            decision=checked.decision,
            reasons=list(checked.reasons),
            feedback=checked.feedback,
            scores=dict(checked.scores),
            visit=visit,
            edited_revision=new_revision,
            alternatives=list(checked.alternatives),
        )
        ReviewLease.objects.filter(visit=visit, reviewer=checked.reviewer).delete()
        record_agreement(item.project, review)
        current = new_revision or checked.revision
        if current.pk != item.current_revision_id:
            Item.objects.filter(pk=item.pk).update(current_revision=current)
            item.current_revision = current
        if item.is_gold:
            score_gold_review(checked.revision, checked.scores)
        _move(checked, visit, review)
        if new_revision is not None:
            enqueue(CHECK_SUBMISSION, new_revision.pk)
    return review


def decide(
    *,
    item: Item,
    reviewer: User,
    decision: str,
    feedback: str = "",
    reasons: Iterable[str] | None = None,
    scores: Mapping[str, Any] | None = None,
    messages: list[dict[str, Any]] | None = None,
    picked_revision: int | None = None,
) -> Review:
    """Record ``reviewer``'s decision on ``item``, which they hold for review
    (``check_decision``, then ``do_decision``).

    - approve: one more approval at this stage; with enough approvals the item moves
      to the next stage that samples it, or is approved after the last.
    - reject: needs reason codes and written feedback; the item goes back to its
      annotator and, after rework, re-enters review at this stage.
    - edit: the reviewer's ``messages`` become a new revision (kind ``reviewer_edit``,
      based on the current one) which becomes current, gets checked, and counts as an
      approval.
    - flag: out of the dataset (unsafe, unusable); needs feedback saying why.

    For an overlap item the reviewer picks the best answer (``picked_revision``); the
    others are recorded as alternatives.
    """
    checked = check_decision(
        item=item,
        reviewer=reviewer,
        decision=decision,
        feedback=feedback,
        reasons=reasons,
        scores=scores,
        messages=messages,
        picked_revision=picked_revision,
    )
    return do_decision(checked)
