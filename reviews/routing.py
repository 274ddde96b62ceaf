"""Routing items through the review stages.

An item whose checks passed enters the first stage that samples it (at or after the
stage that last rejected it, for rework); an item that collected the approvals a stage
needs moves to the next stage that samples it, or is approved after the last one.
Sampling is a stable hash of the item and the stage position, so running the routing
again never changes which items a stage reviews. Each stay of an item at a stage is a
``StageVisit``: opened on arrival, closed with its outcome when the item leaves.

Targeted review: a stage may let the judge's score of the answer (the automated check
``judge`` on the item's current revision, 0 "very bad" to 4 "excellent") change its
rate: always review below ``judge_always_below``, and use ``judge_sample_rates[score]``
instead of ``sample_rate`` where one is given. An answer without a judge score (the
check is off, has not run, or the judge's answer could not be read) is sampled at the
stage's plain ``sample_rate``.
"""

from __future__ import annotations

import hashlib
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from annotation.models import Item
from annotation.states import State
from annotation.transitions import transition
from checks.models import CheckResult
from reviews.models import ReviewLease, ReviewStage, StageVisit
from reviews.scoring import score_gold

JUDGE_CHECK = "judge"


def sampled(item_id: int, position: int, rate: float) -> bool:
    """Whether the stage at ``position`` reviews item ``item_id`` at ``rate``: a stable
    hash, the same on every run and every machine."""
    if rate >= 1.0:
        return True
    if rate <= 0.0:
        return False
    digest = hashlib.sha256(f"scriptorium-review:{item_id}:{position}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < rate


def judge_score(revision_id: int | None) -> int | None:
    """The judge's score (0 to 4) of revision ``revision_id``, from its latest ``judge``
    check result; ``None`` when there is none or the judge's answer was invalid."""
    if revision_id is None:
        return None
    result = (
        CheckResult.objects.filter(revision_id=revision_id, name=JUDGE_CHECK)
        .order_by("-created_at", "-id")
        .values_list("details", flat=True)
        .first()
    )
    score = result.get("score") if isinstance(result, dict) else None
    if isinstance(score, bool) or not isinstance(score, int) or not 0 <= score <= 4:
        return None
    return score


def uses_judge(stage: ReviewStage) -> bool:
    """Whether ``stage``'s sampling depends on the judge's score."""
    return stage.judge_always_below is not None or bool(stage.judge_sample_rates)


def stage_rate(stage: ReviewStage, score: int | None) -> float:
    """The share of items ``stage`` reviews among answers the judge scored ``score``."""
    if score is None:
        return stage.sample_rate
    if stage.judge_always_below is not None and score < stage.judge_always_below:
        return 1.0
    rates = stage.judge_sample_rates or {}
    return float(rates.get(str(score), stage.sample_rate))


def next_stage(item: Item, *, start: int) -> ReviewStage | None:
    """The first stage at or after position ``start`` that samples ``item``, at the rate
    its judge rules give for the judge's score of the item's current revision."""
    score: int | None = None
    looked_up = False  # the score is read once, and only when a stage has judge rules
    for stage in ReviewStage.objects.filter(project_id=item.project_id, position__gte=start):
        rate = stage.sample_rate
        if uses_judge(stage):
            if not looked_up:
                score, looked_up = judge_score(item.current_revision_id), True
            rate = stage_rate(stage, score)
        if sampled(item.pk, stage.position, rate):
            return stage
    return None


def open_visit(item: Item, stage: ReviewStage) -> StageVisit:
    """Start ``item``'s stay at ``stage``, needing the approvals the stage needs now."""
    return StageVisit.objects.create(
        item=item, stage=stage.position, stage_name=stage.name, min_approvals=stage.min_approvals
    )


def close_visit(visit: StageVisit, outcome: str) -> None:
    """End a stay with its ``outcome``; the leases on it go with it."""
    visit.closed_at = timezone.now()
    visit.outcome = outcome
    visit.save(update_fields=["approvals", "closed_at", "outcome"])
    ReviewLease.objects.filter(visit=visit).delete()


def enter_review(item: Item) -> bool:
    """Route a checked (``submitted``) item into review: the first stage that samples it,
    starting at the stage that rejected it for rework items; approved when no stage
    samples it. Also scores gold items against their reference. Returns whether the
    item moved (``False``: someone else moved it first)."""
    with transaction.atomic():
        if item.is_gold and item.reference:
            score_gold(item)
        stage = next_stage(item, start=item.stage or 0)
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
            open_visit(item, stage)
        return moved


def advance(item: Item, visit: StageVisit, reviewer: User, data: dict[str, Any]) -> bool:
    """The stay at ``visit`` collected its approvals: close it and move the item to the
    next stage that samples it, or approve it after the last. Returns whether the item
    moved (``False``: someone else moved it first)."""
    close_visit(visit, "approved")
    stage = next_stage(item, start=visit.stage + 1)
    if stage is None:
        return transition(
            item, to=State.APPROVED, actor=reviewer, reason="Approved at the last stage.", data=data
        )
    moved = transition(
        item,
        to=State.IN_REVIEW,
        actor=reviewer,
        stage=stage.position,
        reason=f"Approved at {visit.stage_name}; on to {stage.name}.",
        data={**data, "name": stage.name},
    )
    if moved:
        open_visit(item, stage)
    return moved
