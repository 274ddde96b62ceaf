"""Writes for review: the review policy, routing items through review stages, leases
for reviewers, and review decisions (approve, reject, edit and approve, flag).

Routing: an item whose checks passed enters the first stage that samples it (at or
after the stage that last rejected it, for rework); an item that collected the
approvals a stage needs moves to the next stage that samples it, or is approved after
the last one. Sampling is a stable hash of the item and the stage position, so running
the routing again never changes which items a stage reviews.
"""

from __future__ import annotations

import difflib
import hashlib
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count, Exists, F, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.text import slugify

from annotation.messages import Message, answer_text, validate
from annotation.models import Item, Revision, RevisionKind
from annotation.services import transition
from annotation.states import State
from core.enqueue import CHECK_SUBMISSION, enqueue
from projects.models import Membership, Project, Role
from reviews.models import (
    Decision,
    GoldScore,
    ReasonCode,
    Review,
    ReviewAgreement,
    ReviewLease,
    ReviewStage,
    RubricCriterion,
    StageVisit,
)

# Messages a person understands; tests import them.
NO_STAGES = "A review policy needs at least one stage."
TOO_MANY_STAGES = "A review policy has at most 10 stages."
STAGE_NAME = "Every stage needs a name."
STAGE_NAMES_UNIQUE = "Stage names must differ from each other."
SAMPLE_RATE = "The sample rate must be a number between 0 and 1 (1 = every item)."
MIN_APPROVALS = "Approvals needed must be a whole number between 1 and 5."
NOT_A_REVIEWER = "{username!r} is not a reviewer or admin of this project."
OWN_WORK = "You cannot review your own work."
ALREADY_REVIEWED = "You already reviewed this item."
NOT_HOLDING = "You are not holding this item for review; take it from the review queue."
MOVED_ON = "This item has already moved on; it no longer needs your decision."
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
GOLD_REFERENCE = "A gold item needs a reference answer."
GOLD_RATE = "The gold rate must be between 0 and 1."
CRITERION_LABEL = "Every rubric criterion needs a name."
REASON_LABEL = "Every reason code needs a name."

DEFAULT_STAGE = {"name": "Review", "sample_rate": 1.0, "min_approvals": 1}
DEFAULT_RUBRIC = [
    ("accuracy", "Accuracy", "Facts are right; nothing made up."),
    ("helpfulness", "Helpfulness", "Answers what was asked, completely."),
    ("clarity", "Clarity", "Easy to follow; well organised."),
    ("tone", "Tone", "Fits the project's voice and the reader."),
    ("safety", "Safety", "No harmful, private or unsafe content."),
]
DEFAULT_REASONS = [
    ("inaccurate", "Inaccurate or made up"),
    ("incomplete", "Incomplete answer"),
    ("guidelines", "Does not follow the guidelines"),
    ("tone", "Wrong tone or style"),
    ("formatting", "Formatting problems"),
    ("unsafe", "Unsafe or contains private data"),
]
ACCEPTING = frozenset({Decision.APPROVE, Decision.EDIT})


class ReviewConflict(Exception):
    """The decision came too late or from someone not holding the item (HTTP 409)."""


# --- Policy ---------------------------------------------------------------------------


def create_default_policy(project: Project) -> None:
    """Give a new project one stage "Review" (every item, one approval), the default
    rubric and the default reason codes."""
    ReviewStage.objects.create(project=project, position=0, **DEFAULT_STAGE)
    RubricCriterion.objects.bulk_create(
        RubricCriterion(project=project, key=k, label=label, description=d, position=i)
        for i, (k, label, d) in enumerate(DEFAULT_RUBRIC)
    )
    ReasonCode.objects.bulk_create(
        ReasonCode(project=project, code=c, label=label, position=i)
        for i, (c, label) in enumerate(DEFAULT_REASONS)
    )


def _clean_stage(raw: Any, index: int, reviewer_ids: dict[str, int]) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise ValidationError({"review_stages": f"Stage {index + 1}: {STAGE_NAME}"})
    name = str(raw.get("name") or "").strip()
    if not name:
        raise ValidationError({"review_stages": f"Stage {index + 1}: {STAGE_NAME}"})
    try:
        rate = float(raw.get("sample_rate", 1.0))
    except (TypeError, ValueError):
        rate = -1.0
    if not 0.0 <= rate <= 1.0:
        raise ValidationError({"review_stages": f"{name}: {SAMPLE_RATE}"})
    approvals = raw.get("min_approvals", 1)
    if isinstance(approvals, bool) or not isinstance(approvals, int) or not 1 <= approvals <= 5:
        raise ValidationError({"review_stages": f"{name}: {MIN_APPROVALS}"})
    usernames = raw.get("reviewers") or []
    if not isinstance(usernames, list):
        raise ValidationError({"review_stages": f"{name}: reviewers must be a list of usernames."})
    ids = []
    for username in usernames:
        if str(username) not in reviewer_ids:
            raise ValidationError(
                {"review_stages": f"{name}: " + NOT_A_REVIEWER.format(username=username)}
            )
        ids.append(reviewer_ids[str(username)])
    return {
        "name": name[:100],
        "sample_rate": rate,
        "min_approvals": approvals,
        "reviewers": ids,
        "allow_prior_reviewers": bool(raw.get("allow_prior_reviewers", False)),
    }


def set_review_stages(*, project: Project, stages: list[dict[str, Any]]) -> list[ReviewStage]:
    """Replace ``project``'s ordered review stages with ``stages`` (each ``{name,
    sample_rate, min_approvals, reviewers?, allow_prior_reviewers?}``; ``reviewers`` are
    usernames of project reviewers, empty for all of them).

    Stages keep their position; items already at a stage keep the approvals they
    needed when they arrived. Items waiting at a position that no longer exists
    finish their current stay there and are then approved.
    """
    if not isinstance(stages, list) or not stages:
        raise ValidationError({"review_stages": NO_STAGES})
    if len(stages) > 10:
        raise ValidationError({"review_stages": TOO_MANY_STAGES})
    reviewer_ids = {
        m.user.username: m.user_id
        for m in Membership.objects.filter(
            project=project, role__in=[Role.REVIEWER, Role.ADMIN]
        ).select_related("user")
    }
    cleaned = [_clean_stage(raw, i, reviewer_ids) for i, raw in enumerate(stages)]
    names = [c["name"].lower() for c in cleaned]
    if len(set(names)) != len(names):
        raise ValidationError({"review_stages": STAGE_NAMES_UNIQUE})
    with transaction.atomic():
        existing = {
            s.position: s for s in ReviewStage.objects.select_for_update().filter(project=project)
        }
        ReviewStage.objects.filter(project=project, position__gte=len(cleaned)).delete()
        result = []
        for position, fields in enumerate(cleaned):
            reviewers = fields.pop("reviewers")
            stage = existing.get(position) or ReviewStage(project=project, position=position)
            for name, value in fields.items():
                setattr(stage, name, value)
            stage.save()
            stage.reviewers.set(reviewers)
            result.append(stage)
    return result


def set_rubric(*, project: Project, criteria: list[dict[str, Any]]) -> None:
    """Replace the project's rubric (``[{key?, label, description?, required?}]``)."""
    rows = []
    seen: set[str] = set()
    for i, raw in enumerate(criteria):
        label = str(raw.get("label") or "").strip()
        if not label:
            raise ValidationError({"rubric": CRITERION_LABEL})
        key = _slug(raw.get("key") or label)
        if key in seen:
            raise ValidationError({"rubric": f"Two criteria are both called {label!r}."})
        seen.add(key)
        rows.append(
            RubricCriterion(
                project=project,
                key=key,
                label=label[:100],
                description=str(raw.get("description") or "")[:300],
                required=bool(raw.get("required")),
                position=i,
            )
        )
    with transaction.atomic():
        RubricCriterion.objects.filter(project=project).delete()
        RubricCriterion.objects.bulk_create(rows)


def set_reason_codes(*, project: Project, reasons: list[dict[str, Any]]) -> None:
    """Replace the project's reason codes (``[{code?, label}]``). Past reviews keep the
    codes they used."""
    rows = []
    seen: set[str] = set()
    for i, raw in enumerate(reasons):
        label = str(raw.get("label") or "").strip()
        if not label:
            raise ValidationError({"reasons": REASON_LABEL})
        code = _slug(raw.get("code") or label)
        if code in seen:
            raise ValidationError({"reasons": f"Two reasons are both called {label!r}."})
        seen.add(code)
        rows.append(ReasonCode(project=project, code=code, label=label[:100], position=i))
    with transaction.atomic():
        ReasonCode.objects.filter(project=project).delete()
        ReasonCode.objects.bulk_create(rows)


def _slug(text: Any) -> str:
    return slugify(str(text))[:40] or "criterion"


def set_gold(*, item: Item, reference: str) -> Item:
    """Mark ``item`` as a gold item with ``reference`` as its known-good answer."""
    reference = reference.strip()
    if not reference:
        raise ValidationError({"reference": GOLD_REFERENCE})
    item.is_gold = True
    item.reference = reference
    item.save(update_fields=["is_gold", "reference"])
    return item


def unset_gold(*, item: Item) -> Item:
    item.is_gold = False
    item.save(update_fields=["is_gold"])
    return item


def set_gold_rate(*, project: Project, rate: float) -> None:
    """How often annotators' queues serve a gold item (0 to 1)."""
    if not 0.0 <= rate <= 1.0:
        raise ValidationError({"gold_rate": GOLD_RATE})
    project.gold_rate = rate
    project.save(update_fields=["gold_rate", "updated_at"])


# --- Routing --------------------------------------------------------------------------


def sampled(item_id: int, position: int, rate: float) -> bool:
    """Whether the stage at ``position`` reviews item ``item_id`` at ``rate``: a stable
    hash, the same on every run and every machine."""
    if rate >= 1.0:
        return True
    if rate <= 0.0:
        return False
    digest = hashlib.sha256(f"scriptorium-review:{item_id}:{position}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < rate


def _next_stage(item: Item, *, start: int) -> ReviewStage | None:
    for stage in ReviewStage.objects.filter(project_id=item.project_id, position__gte=start):
        if sampled(item.pk, stage.position, stage.sample_rate):
            return stage
    return None


def _open_visit(item: Item, stage: ReviewStage) -> StageVisit:
    return StageVisit.objects.create(
        item=item, stage=stage.position, stage_name=stage.name, min_approvals=stage.min_approvals
    )


def enter_review(item: Item) -> bool:
    """Route a checked (``submitted``) item into review: the first stage that samples it,
    starting at the stage that rejected it for rework items; approved when no stage
    samples it. Also scores gold items against their reference. Returns whether the
    item moved (``False``: someone else moved it first)."""
    with transaction.atomic():
        if item.is_gold and item.reference:
            score_gold(item)
        start = item.stage or 0
        stage = _next_stage(item, start=start)
        if stage is None:
            return transition(
                item, to=State.APPROVED, actor=None, reason="No review stage samples this item."
            )
        moved = transition(
            item, to=State.IN_REVIEW, actor=None, stage=stage.position, data={"name": stage.name}
        )
        if moved:
            StageVisit.objects.filter(item=item, closed_at__isnull=True).update(
                closed_at=timezone.now(), outcome="left"
            )
            _open_visit(item, stage)
        return moved


# --- Gold -----------------------------------------------------------------------------


def similarity(a: str, b: str) -> float:
    """Word-level similarity of two texts, 0 (nothing shared) to 1 (same words in the
    same order), case-insensitive."""
    wa, wb = a.lower().split(), b.lower().split()
    if not wa and not wb:
        return 1.0
    return round(difflib.SequenceMatcher(None, wa, wb, autojunk=False).ratio(), 4)


def score_gold(item: Item) -> list[GoldScore]:
    """Score every annotator submission of gold ``item`` not scored yet."""
    scored = GoldScore.objects.filter(item=item).values("revision_id")
    revisions = Revision.objects.filter(item=item, kind=RevisionKind.SUBMISSION).exclude(
        pk__in=scored
    )
    rows = [
        GoldScore(
            item=item,
            revision=r,
            annotator_id=r.author_id,
            similarity=similarity(answer_text(r.messages), item.reference),
        )
        for r in revisions
    ]
    return GoldScore.objects.bulk_create(rows, ignore_conflicts=True)


# --- Leases ---------------------------------------------------------------------------


def stages_for(project: Project, reviewer: User) -> list[ReviewStage]:
    """The stages ``reviewer`` may review at: those open to every project reviewer and
    those naming them."""
    return list(
        ReviewStage.objects.filter(project=project)
        .annotate(n_named=Count("reviewers"))
        .filter(Q(n_named=0) | Q(reviewers=reviewer))
        .distinct()
        .order_by("position")
    )


def _own_work(reviewer: User) -> Exists:
    return Exists(
        Revision.objects.filter(
            item=OuterRef("item_id"), author=reviewer, kind=RevisionKind.SUBMISSION
        )
    )


def next_for_review(
    *, project: Project, reviewer: User, stage: int | None = None
) -> ReviewLease | None:
    """Lease the next item ``reviewer`` may review (at ``stage``, or any stage open to
    them), or ``None`` when there is nothing. Never their own work, never an item they
    already reviewed at this stay, and by default not one they reviewed at an earlier
    stage. An item needing N approvals may be held by up to N reviewers at once.
    A reviewer who still holds an item gets that one back."""
    now = timezone.now()
    held = (
        ReviewLease.objects.filter(
            reviewer=reviewer,
            item__project=project,
            expires_at__gt=now,
            visit__closed_at__isnull=True,
        )
        .select_related("visit", "item")
        .order_by("created_at")
    )
    if stage is not None:
        held = held.filter(visit__stage=stage)
    if (lease := held.first()) is not None:
        return lease

    allowed = {s.position: s for s in stages_for(project, reviewer)}
    positions = [p for p in allowed if stage is None or p == stage]
    if not positions:
        return None
    strict = [p for p in positions if not allowed[p].allow_prior_reviewers]
    # No aggregation: the planner walks the item queue index in order and stops at the
    # first few candidates, whatever the project's size.
    holding = Subquery(
        ReviewLease.objects.filter(visit=OuterRef("pk"), expires_at__gt=now)
        .order_by()
        .values("visit")
        .annotate(n=Count("id"))
        .values("n")[:1]
    )
    candidates = (
        StageVisit.objects.filter(
            item__project=project,
            item__state=State.IN_REVIEW,
            closed_at__isnull=True,
            stage__in=positions,
        )
        .annotate(
            own=_own_work(reviewer),
            reviewed_here=Exists(Review.objects.filter(visit=OuterRef("pk"), reviewer=reviewer)),
            reviewed_before=Exists(
                Review.objects.filter(
                    item=OuterRef("item_id"), reviewer=reviewer, stage__lt=OuterRef("stage")
                )
            ),
            holding=Coalesce(holding, 0),
        )
        .filter(own=False, reviewed_here=False, holding__lt=F("min_approvals") - F("approvals"))
        .exclude(stage__in=strict, reviewed_before=True)
        .order_by("-item__priority", "item_id")
        .values_list("pk", "holding", "approvals", "min_approvals")
    )
    minutes = project.lease_minutes or 30
    for visit_id, _holding, _approvals, _needed in candidates[:20]:
        with transaction.atomic():
            visit = (
                StageVisit.objects.select_for_update(skip_locked=True)
                .filter(pk=visit_id, closed_at__isnull=True)
                .first()
            )
            if visit is None:
                continue
            ReviewLease.objects.filter(visit=visit, expires_at__lte=now).delete()
            if visit.leases.count() + visit.approvals >= visit.min_approvals:
                continue
            return ReviewLease.objects.create(
                visit=visit,
                item_id=visit.item_id,
                reviewer=reviewer,
                expires_at=now + timedelta(minutes=minutes),
            )
    return None


def release_review(*, item: Item, reviewer: User) -> int:
    """Give an item back to the review queue without a decision."""
    deleted, _ = ReviewLease.objects.filter(item=item, reviewer=reviewer).delete()
    return deleted


def check_may_review(item: Item, reviewer: User) -> None:
    """Raise ``PermissionDenied`` when ``reviewer`` wrote an answer of ``item``."""
    if Revision.objects.filter(item=item, author=reviewer, kind=RevisionKind.SUBMISSION).exists():
        raise PermissionDenied(OWN_WORK)


# --- Decisions ------------------------------------------------------------------------


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


def _required_scores(project: Project, scores: dict[str, int]) -> None:
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


def clean_edit(messages: Any) -> list[Message]:
    """A reviewer's edited conversation: the same rules as an annotator's submission."""
    if not messages:
        raise ValidationError({"messages": MESSAGES_REQUIRED})
    return validate(messages, complete=True)


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


def _agreement(project: Project, review: Review) -> None:
    """Record how ``review`` agrees with each earlier review at the same stay."""
    rows = []
    for earlier in Review.objects.filter(visit_id=review.visit_id).exclude(pk=review.pk):
        shared = set(earlier.scores) & set(review.scores)
        rubric = None
        if shared:
            gap = sum(abs(int(earlier.scores[k]) - int(review.scores[k])) for k in shared)
            rubric = round(1 - gap / (4 * len(shared)), 4)
        rows.append(
            ReviewAgreement(
                project=project,
                stage=review.stage,
                first=earlier,
                second=review,
                decision_agrees=(earlier.decision in ACCEPTING) == (review.decision in ACCEPTING)
                and not ({earlier.decision, review.decision} >= {Decision.REJECT, Decision.FLAG}),
                rubric_agreement=rubric,
            )
        )
    ReviewAgreement.objects.bulk_create(rows)


def decide(
    *,
    item: Item,
    reviewer: User,
    decision: str,
    feedback: str = "",
    reasons: Iterable[str] | None = None,
    scores: dict[str, Any] | None = None,
    messages: list[dict[str, Any]] | None = None,
    picked_revision: int | None = None,
) -> Review:
    """Record ``reviewer``'s decision on ``item``, which they hold for review.

    - approve: one more approval at this stage; with enough approvals the item moves
      to the next stage that samples it, or is approved after the last.
    - reject: needs reason codes and written feedback; the item goes back to its
      annotator and, after rework, re-enters review at this stage.
    - edit: the reviewer's ``messages`` become a new revision (kind ``reviewer_edit``,
      based on the current one) which becomes current, gets checked, and counts as an
      approval.
    - flag: out of the dataset (unsafe, unusable); needs feedback saying why.

    For an overlap item the reviewer picks the best answer (``picked_revision``); the
    others are recorded as alternatives. Locks the item's open stage visit row, so
    concurrent approvals are counted once each and the item advances exactly once.
    """
    if decision not in Decision.values:
        raise ValidationError({"decision": UNKNOWN_DECISION})
    project = item.project
    feedback = (feedback or "").strip()
    cleaned_scores = _clean_scores(project, scores)
    cleaned_reasons = _clean_reasons(project, reasons)
    if decision == Decision.REJECT:
        if not cleaned_reasons:
            raise ValidationError({"reasons": REASON_REQUIRED})
        if not feedback:
            raise ValidationError({"feedback": FEEDBACK_REQUIRED})
    if decision == Decision.FLAG and not (feedback or cleaned_reasons):
        raise ValidationError({"feedback": FLAG_REASON})
    if decision in ACCEPTING:
        _required_scores(project, cleaned_scores)
    edited = clean_edit(messages) if decision == Decision.EDIT else None
    check_may_review(item, reviewer)

    with transaction.atomic():
        visit = (
            StageVisit.objects.select_for_update().filter(item=item, closed_at__isnull=True).first()
        )
        lease = (
            ReviewLease.objects.filter(visit=visit, reviewer=reviewer).first() if visit else None
        )
        if visit is None or lease is None:
            if visit is not None and Review.objects.filter(visit=visit, reviewer=reviewer).exists():
                raise PermissionDenied(ALREADY_REVIEWED)
            raise ReviewConflict(NOT_HOLDING if visit is not None else MOVED_ON)
        item.refresh_from_db(fields=["state", "stage", "current_revision"])
        if item.state != State.IN_REVIEW or item.stage != visit.stage:
            raise ReviewConflict(MOVED_ON)

        reviewed = item.current_revision
        alternatives: list[int] = []
        candidates = answer_candidates(item) if decision != Decision.FLAG else []
        if candidates:
            by_id = {r.pk: r for r in candidates}
            if picked_revision is None:
                raise ValidationError({"picked_revision": PICK_REQUIRED})
            if int(picked_revision) not in by_id:
                raise ValidationError({"picked_revision": PICK_UNKNOWN})
            reviewed = by_id[int(picked_revision)]
            alternatives = [pk for pk in by_id if pk != reviewed.pk]
        if reviewed is None:
            raise ValidationError({"detail": "This item has no answer to review."})

        new_revision = None
        if edited is not None:
            if edited == reviewed.messages:
                raise ValidationError({"messages": EDIT_UNCHANGED})
            new_revision = Revision.objects.create(
                item=item,
                messages=edited,
                kind=RevisionKind.REVIEWER_EDIT,
                author=reviewer,
                base=reviewed,
                guideline_id=reviewed.guideline_id,
            )
        review = Review.objects.create(
            item=item,
            revision=reviewed,
            stage=visit.stage,
            reviewer=reviewer,
            decision=decision,
            reasons=cleaned_reasons,
            feedback=feedback,
            scores=cleaned_scores,
            visit=visit,
            edited_revision=new_revision,
            alternatives=alternatives,
        )
        lease.delete()
        _agreement(project, review)
        current = new_revision or reviewed
        if current.pk != item.current_revision_id:
            Item.objects.filter(pk=item.pk).update(current_revision=current)
            item.current_revision = current
        if item.is_gold and cleaned_scores:
            mean = sum(cleaned_scores.values()) / len(cleaned_scores) / 5
            GoldScore.objects.filter(revision=reviewed).update(reviewer_score=round(mean, 4))

        data = {"review": review.pk, "decision": decision}
        if decision in ACCEPTING:
            visit.approvals += 1
            if visit.approvals >= visit.min_approvals:
                _advance(item, visit, reviewer, data)
            else:
                visit.save(update_fields=["approvals"])
        elif decision == Decision.REJECT:
            _close(visit, "rejected")
            labels = dict(ReasonCode.objects.filter(project=project).values_list("code", "label"))
            why = ", ".join(labels.get(code, code) for code in cleaned_reasons)
            moved = transition(
                item,
                to=State.RETURNED,
                actor=reviewer,
                reason=f"Rejected at {visit.stage_name}: {why}.",
                data={**data, "reasons": cleaned_reasons, "annotator": reviewed.author_id},
            )
            if not moved:
                raise ReviewConflict(MOVED_ON)
        else:
            _close(visit, "flagged")
            if not transition(item, to=State.FLAGGED, actor=reviewer, reason=feedback, data=data):
                raise ReviewConflict(MOVED_ON)
        if new_revision is not None:
            enqueue(CHECK_SUBMISSION, new_revision.pk)
    return review


def _close(visit: StageVisit, outcome: str) -> None:
    visit.closed_at = timezone.now()
    visit.outcome = outcome
    visit.save(update_fields=["approvals", "closed_at", "outcome"])
    ReviewLease.objects.filter(visit=visit).delete()


def _advance(item: Item, visit: StageVisit, reviewer: User, data: dict[str, Any]) -> None:
    """The stay at this stage is complete: next sampled stage, or approved."""
    _close(visit, "approved")
    stage = _next_stage(item, start=visit.stage + 1)
    if stage is None:
        moved = transition(
            item, to=State.APPROVED, actor=reviewer, reason="Approved at the last stage.", data=data
        )
    else:
        moved = transition(
            item,
            to=State.IN_REVIEW,
            actor=reviewer,
            stage=stage.position,
            reason=f"Approved at {visit.stage_name}; on to {stage.name}.",
            data={**data, "name": stage.name},
        )
        if moved:
            _open_visit(item, stage)
    if not moved:
        raise ReviewConflict(MOVED_ON)
