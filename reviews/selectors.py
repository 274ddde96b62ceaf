"""Reads for review shared by pages, the API and other apps: the policy, the queue per
stage, everything the review screen shows, feedback for annotators, gold scores and
reviewer agreement. Each function runs a fixed number of queries, whatever the
project's size."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.models import User
from django.db.models import Avg, Count, Exists, OuterRef, Q
from django.utils import timezone

from annotation.messages import answer_text
from annotation.models import Item, Revision, RevisionKind, Transition
from annotation.states import State
from checks.models import CheckResult
from projects.models import Guideline, Project
from reviews.decisions import answer_candidates
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
from reviews.services import stages_for


def review_stages(project: Project) -> list[dict[str, Any]]:
    """The project's review policy as the API shows it: ordered
    ``{name, sample_rate, min_approvals, reviewers, allow_prior_reviewers,
    judge_always_below, judge_sample_rates}``."""
    stages = ReviewStage.objects.filter(project=project).prefetch_related("reviewers")
    return [
        {
            "name": s.name,
            "sample_rate": s.sample_rate,
            "min_approvals": s.min_approvals,
            "reviewers": sorted(u.username for u in s.reviewers.all()),
            "allow_prior_reviewers": s.allow_prior_reviewers,
            "judge_always_below": s.judge_always_below,
            "judge_sample_rates": s.judge_sample_rates,
        }
        for s in stages
    ]


def queue_counts(project: Project, reviewer: User) -> list[dict[str, Any]]:
    """Per stage: how many items wait there, and how many of them ``reviewer`` may take
    (not their own work, not reviewed by them already). Three queries."""
    stages = list(ReviewStage.objects.filter(project=project).order_by("position"))
    mine = {s.position for s in stages_for(project, reviewer)}
    lenient = [s.position for s in stages if s.allow_prior_reviewers]
    now = timezone.now()
    open_visits = StageVisit.objects.filter(
        item__project=project, item__state=State.IN_REVIEW, closed_at__isnull=True
    ).annotate(
        own=Exists(
            Revision.objects.filter(
                item=OuterRef("item_id"), author=reviewer, kind=RevisionKind.SUBMISSION
            )
        ),
        reviewed_here=Exists(Review.objects.filter(visit=OuterRef("pk"), reviewer=reviewer)),
        reviewed_before=Exists(
            Review.objects.filter(
                item=OuterRef("item_id"), reviewer=reviewer, stage__lt=OuterRef("stage")
            )
        ),
        holding=Exists(
            ReviewLease.objects.filter(visit=OuterRef("pk"), reviewer=reviewer, expires_at__gt=now)
        ),
    )
    totals = {
        row["stage"]: row
        for row in open_visits.values("stage").annotate(
            waiting=Count("id"),
            available=Count(
                "id",
                filter=Q(own=False, reviewed_here=False)
                & (Q(reviewed_before=False) | Q(stage__in=lenient)),
            ),
            held=Count("id", filter=Q(holding=True)),
        )
    }
    return [
        {
            "position": s.position,
            "number": s.position + 1,
            "name": s.name,
            "sample_rate": s.sample_rate,
            "percent": round(s.sample_rate * 100),
            "min_approvals": s.min_approvals,
            "may_review": s.position in mine,
            "waiting": totals.get(s.position, {}).get("waiting", 0),
            "available": totals.get(s.position, {}).get("available", 0),
            "held": totals.get(s.position, {}).get("held", 0),
        }
        for s in stages
    ]


def held_items(project: Project, reviewer: User) -> list[ReviewLease]:
    """The items ``reviewer`` holds for review now, oldest first (one query)."""
    return list(
        ReviewLease.objects.filter(
            reviewer=reviewer,
            item__project=project,
            expires_at__gt=timezone.now(),
            visit__closed_at__isnull=True,
        )
        .select_related("visit", "item")
        .order_by("created_at")
    )


# --- Word diff ------------------------------------------------------------------------

_TOKENS = re.compile(r"\s+|\w+|[^\w\s]", re.UNICODE)


@dataclass
class DiffPart:
    op: str  # "same", "ins", "del"
    text: str


def word_diff(old: str, new: str) -> list[DiffPart]:
    """A word-level diff of ``old`` to ``new``: runs of unchanged, deleted and inserted
    text (whitespace kept) for the template to mark up."""
    a, b = _TOKENS.findall(old or ""), _TOKENS.findall(new or "")
    parts: list[DiffPart] = []

    def add(op: str, text: str) -> None:
        if not text:
            return
        if parts and parts[-1].op == op:
            parts[-1].text += text
        else:
            parts.append(DiffPart(op, text))

    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag == "equal":
            add("same", "".join(a[i1:i2]))
        else:
            add("del", "".join(a[i1:i2]))
            add("ins", "".join(b[j1:j2]))
    return parts


def diff_stats(parts: list[DiffPart]) -> dict[str, int]:
    return {
        "inserted": sum(len(p.text.split()) for p in parts if p.op == "ins"),
        "deleted": sum(len(p.text.split()) for p in parts if p.op == "del"),
    }


# --- Review screen --------------------------------------------------------------------


@dataclass
class ReviewScreen:
    item: Item
    visit: StageVisit | None
    lease: ReviewLease | None
    stage_count: int
    revision: Revision | None
    context_messages: list[dict[str, Any]]
    answer: str
    draft_diff: list[DiffPart] | None
    previous_diff: list[DiffPart] | None
    previous_revision: Revision | None
    candidates: list[dict[str, Any]]
    revisions: list[Revision]
    history: list[Transition]
    reviews: list[Review]
    checks: list[CheckResult]
    rubric: list[RubricCriterion]
    reasons: list[ReasonCode]
    guideline_version: int | None
    current_guideline_version: int | None
    own_work: bool
    extra: dict[str, Any] = field(default_factory=dict)


def review_screen(item: Item, reviewer: User) -> ReviewScreen:
    """Everything the review screen shows for ``item``, in a fixed number of queries
    (visit, lease, stage count, revisions, history, reviews, checks, rubric, reasons,
    current guideline, and one for the picked alternatives), however long the history."""
    visit = StageVisit.objects.filter(item=item, closed_at__isnull=True).first()
    lease = (
        ReviewLease.objects.filter(
            visit=visit, reviewer=reviewer, expires_at__gt=timezone.now()
        ).first()
        if visit
        else None
    )
    stage_count = ReviewStage.objects.filter(project_id=item.project_id).count()
    revisions = list(
        Revision.objects.filter(item=item).select_related("author", "guideline").order_by("id")
    )
    by_id = {r.pk: r for r in revisions}
    current = by_id.get(item.current_revision_id or 0)
    history = list(Transition.objects.filter(item=item).select_related("actor").order_by("id"))
    reviews = list(Review.objects.filter(item=item).select_related("reviewer").order_by("id"))
    checks = list(CheckResult.objects.filter(revision=current).order_by("name")) if current else []
    rubric = list(RubricCriterion.objects.filter(project_id=item.project_id))
    reasons = list(ReasonCode.objects.filter(project_id=item.project_id))
    latest_guideline = (
        Guideline.objects.filter(project_id=item.project_id)
        .order_by("-version")
        .values_list("version", flat=True)
        .first()
    )

    source = list(item.source or [])
    messages = list(current.messages) if current else source
    context_messages = (
        messages[:-1] if messages and messages[-1].get("role") == "assistant" else messages
    )
    answer = answer_text(messages) if current else ""

    # Candidates: an overlap item nobody has picked from yet (computed from rows in hand).
    picked_already = any(r.alternatives for r in reviews)
    candidates: list[dict[str, Any]] = []
    if not picked_already:
        latest: dict[int | None, Revision] = {}
        for r in revisions:
            if r.kind == RevisionKind.SUBMISSION:
                latest[r.author_id] = r
        if len(latest) >= 2:
            for r in sorted(latest.values(), key=lambda r: r.pk):
                text = answer_text(r.messages)
                candidates.append(
                    {
                        "revision": r,
                        "answer": text,
                        "diff": word_diff(item.model_draft, text) if item.model_draft else None,
                    }
                )

    draft_diff = word_diff(item.model_draft, answer) if item.model_draft and current else None
    # What changed since the version a reviewer last saw (rework or reviewer edit).
    previous = None
    if current is not None:
        reviewed_ids = [r.revision_id for r in reviews if r.revision_id != current.pk]
        if reviewed_ids:
            previous = by_id.get(reviewed_ids[-1])
        elif current.base_id:
            previous = by_id.get(current.base_id)
    previous_diff = (
        word_diff(answer_text(previous.messages), answer) if previous is not None else None
    )
    guideline = current.guideline if current else None
    return ReviewScreen(
        item=item,
        visit=visit,
        lease=lease,
        stage_count=stage_count,
        revision=current,
        context_messages=context_messages,
        answer=answer,
        draft_diff=draft_diff,
        previous_diff=previous_diff,
        previous_revision=previous,
        candidates=candidates,
        revisions=revisions,
        history=history,
        reviews=reviews,
        checks=checks,
        rubric=rubric,
        reasons=reasons,
        guideline_version=guideline.version if guideline else None,
        current_guideline_version=latest_guideline,
        own_work=any(
            r.author_id == reviewer.pk and r.kind == RevisionKind.SUBMISSION for r in revisions
        ),
    )


# --- For annotators, the item API and reports -----------------------------------------


def serialize_review(review: Review, labels: dict[str, str] | None = None) -> dict[str, Any]:
    labels = labels or {}
    return {
        "id": review.pk,
        "stage": review.stage,
        "reviewer": review.reviewer.username if review.reviewer else None,
        "decision": review.decision,
        "reasons": review.reasons,
        "reason_labels": [labels.get(code, code) for code in review.reasons],
        "feedback": review.feedback,
        "scores": review.scores,
        "revision": review.revision_id,
        "edited_revision": review.edited_revision_id,
        "alternatives": review.alternatives,
        "created_at": review.created_at.isoformat(),
    }


def item_reviews(item: Item) -> list[dict[str, Any]]:
    """Every review of ``item`` with its feedback, oldest first (two queries)."""
    labels = dict(
        ReasonCode.objects.filter(project_id=item.project_id).values_list("code", "label")
    )
    reviews = Review.objects.filter(item=item).select_related("reviewer").order_by("id")
    return [serialize_review(r, labels) for r in reviews]


def reviews_of(item: Item) -> list[Review]:
    """Every review of ``item``, oldest first, each with ``reason_labels`` (the reason
    codes in words): the editor's feedback and the item API's ``reviews``."""
    reviews = list(Review.objects.filter(item=item).select_related("reviewer").order_by("id"))
    if any(r.reasons for r in reviews):
        labels = dict(
            ReasonCode.objects.filter(project_id=item.project_id).values_list("code", "label")
        )
        for r in reviews:
            r.reason_labels = [labels.get(code, code) for code in r.reasons]
    return reviews


def review_row(review: Review) -> dict[str, Any]:
    """One review as ``GET /api/v1/items/{id}/`` lists it."""
    return {
        "stage": review.stage,
        "reviewer": review.reviewer.username if review.reviewer else None,
        "decision": review.decision,
        "reasons": review.reasons,
        "feedback": review.feedback,
        "revision": review.revision_id,
        "created_at": review.created_at.isoformat(),
    }


def latest_feedback(item: Item) -> dict[str, Any] | None:
    """The rejection an annotator must address on a returned item: reviewer, reasons
    (with labels) and feedback; ``None`` when the last decision was not a rejection."""
    review = Review.objects.filter(item=item).select_related("reviewer").order_by("-id").first()
    if review is None or review.decision != Decision.REJECT:
        return None
    labels = dict(
        ReasonCode.objects.filter(project_id=item.project_id).values_list("code", "label")
    )
    return serialize_review(review, labels)


def gold_scores(project: Project) -> list[dict[str, Any]]:
    """Per annotator: gold answers scored, mean similarity to the reference and mean
    reviewer score (0 to 1), best first (one query)."""
    rows = (
        GoldScore.objects.filter(item__project=project, annotator__isnull=False)
        .values("annotator_id", "annotator__username")
        .annotate(
            answers=Count("id"), similarity=Avg("similarity"), reviewer_score=Avg("reviewer_score")
        )
        .order_by("-similarity", "annotator__username")
    )
    return [
        {
            "user_id": r["annotator_id"],
            "username": r["annotator__username"],
            "answers": r["answers"],
            "similarity": round(r["similarity"] or 0, 3),
            "reviewer_score": None
            if r["reviewer_score"] is None
            else round(r["reviewer_score"], 3),
        }
        for r in rows
    ]


def agreement_by_stage(project: Project) -> list[dict[str, Any]]:
    """Per stage: pairs of reviews of the same item, share agreeing on the decision,
    mean rubric agreement (two queries)."""
    names = dict(ReviewStage.objects.filter(project=project).values_list("position", "name"))
    rows = (
        ReviewAgreement.objects.filter(project=project)
        .values("stage")
        .annotate(
            pairs=Count("id"),
            agreeing=Count("id", filter=Q(decision_agrees=True)),
            rubric=Avg("rubric_agreement"),
        )
        .order_by("stage")
    )
    return [
        {
            "stage": r["stage"],
            "name": names.get(r["stage"], f"Stage {r['stage'] + 1}"),
            "pairs": r["pairs"],
            "decision_agreement": round(r["agreeing"] / r["pairs"], 3) if r["pairs"] else None,
            "rubric_agreement": None if r["rubric"] is None else round(r["rubric"], 3),
        }
        for r in rows
    ]


__all__ = [
    "agreement_by_stage",
    "answer_candidates",
    "gold_scores",
    "item_reviews",
    "latest_feedback",
    "queue_counts",
    "review_screen",
    "review_stages",
    "word_diff",
]


def timeline(screen: ReviewScreen) -> list[dict[str, Any]]:
    """The item's history for people: state changes, revisions and reviews in time
    order, built from rows already loaded (no query)."""
    events: list[dict[str, Any]] = []
    for t in screen.history:
        events.append({"at": t.at, "kind": "move", "row": t, "who": t.actor})
    for r in screen.revisions:
        events.append({"at": r.created_at, "kind": "revision", "row": r, "who": r.author})
    labels = {c.code: c.label for c in screen.reasons}
    names = {c.key: c.label for c in screen.rubric}
    for review in screen.reviews:
        events.append(
            {
                "at": review.created_at,
                "kind": "review",
                "row": review,
                "who": review.reviewer,
                "reasons": [labels.get(code, code) for code in review.reasons],
                "scores": [(names.get(k, k), v) for k, v in review.scores.items()],
            }
        )
    order = {"revision": 0, "review": 1, "move": 2}
    events.sort(key=lambda e: (e["at"], order[e["kind"]]))
    return events
