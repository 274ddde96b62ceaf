"""Routing items through the review stages.

An item whose checks passed enters the first stage that samples it (at or after the
stage that last rejected it, for rework); an item that collected the approvals a stage
needs moves to the next stage that samples it, or is approved after the last one.
Sampling is a stable hash of the item and the stage position, so running the routing
again never changes which items a stage reviews. Each stay of an item at a stage is a
``StageVisit``: opened on arrival, closed with its outcome when the item leaves.
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
from reviews.models import ReviewLease, ReviewStage, StageVisit
from reviews.scoring import score_gold


def sampled(item_id: int, position: int, rate: float) -> bool:
    """Whether the stage at ``position`` reviews item ``item_id`` at ``rate``: a stable
    hash, the same on every run and every machine."""
    if rate >= 1.0:
        return True
    if rate <= 0.0:
        return False
    digest = hashlib.sha256(f"scriptorium-review:{item_id}:{position}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < rate


def next_stage(item: Item, *, start: int) -> ReviewStage | None:
    """The first stage at or after position ``start`` that samples ``item``."""
    for stage in ReviewStage.objects.filter(project_id=item.project_id, position__gte=start):
        if sampled(item.pk, stage.position, stage.sample_rate):
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
