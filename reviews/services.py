"""Writes for review that the queue starts: leasing the next item a reviewer may
review, and giving it back. Routing lives in ``reviews.routing``, decisions in
``reviews.decisions``, the policy in ``reviews.policy``.
"""

from __future__ import annotations

from datetime import timedelta

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Count, Exists, F, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from annotation.models import Item, Revision, RevisionKind
from annotation.states import State
from projects.models import Project

# Re-exported: apps.py, pipeline.py, overview/api.py and benchmarks/ import them from here.
from reviews.models import Review, ReviewLease, ReviewStage, StageVisit


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
