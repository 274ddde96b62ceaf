"""Reads shared by the project pages and the API."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db.models import Count, Q
from django.utils import timezone

from annotation.models import Item, Transition
from annotation.states import State
from checks.models import CheckResult
from checks.registry import REGISTRY
from projects.models import Project
from reviews.models import Decision, Review, ReviewStage


def project_stats(project: Project) -> dict[str, Any]:
    """Counts per state and stage, throughput, review outcomes and check failure rates.

    A fixed number of aggregate queries, whatever the size of the project.
    """
    now = timezone.now()
    by_state = dict(
        Item.objects.filter(project=project)
        .values_list("state")
        .annotate(n=Count("id"))
        .values_list("state", "n")
    )
    states = {state: by_state.get(state, 0) for state in State.values}
    stage_names = dict(ReviewStage.objects.filter(project=project).values_list("position", "name"))
    by_stage = dict(
        Item.objects.filter(project=project, state=State.IN_REVIEW)
        .values_list("stage")
        .annotate(n=Count("id"))
        .values_list("stage", "n")
    )
    stages = [
        {"position": pos, "name": name, "in_review": by_stage.get(pos, 0)}
        for pos, name in sorted(stage_names.items())
    ]
    day, week = now - timedelta(days=1), now - timedelta(days=7)
    moves = Transition.objects.filter(item__project=project).aggregate(
        submitted_24h=Count("id", filter=Q(to_state=State.SUBMITTED, at__gte=day)),
        submitted_7d=Count("id", filter=Q(to_state=State.SUBMITTED, at__gte=week)),
        approved_24h=Count("id", filter=Q(to_state=State.APPROVED, at__gte=day)),
        approved_7d=Count("id", filter=Q(to_state=State.APPROVED, at__gte=week)),
    )
    decisions = Review.objects.filter(item__project=project).aggregate(
        total=Count("id"),
        approved=Count("id", filter=Q(decision__in=[Decision.APPROVE, Decision.EDIT])),
        rejected=Count("id", filter=Q(decision=Decision.REJECT)),
        edited=Count("id", filter=Q(decision=Decision.EDIT)),
    )
    total_reviews = decisions["total"] or 0
    checks = (
        CheckResult.objects.filter(revision__item__project=project)
        .values("name")
        .annotate(
            total=Count("id"),
            failed=Count("id", filter=Q(outcome="fail")),
            warned=Count("id", filter=Q(outcome="warn")),
        )
        .order_by("name")
    )
    return {
        "items": sum(states.values()),
        "states": states,
        "stages": stages,
        "throughput": moves,
        "reviews": {
            **decisions,
            "approval_rate": round(decisions["approved"] / total_reviews, 4)
            if total_reviews
            else None,
            "rejection_rate": round(decisions["rejected"] / total_reviews, 4)
            if total_reviews
            else None,
        },
        "checks": [
            {
                "name": row["name"],
                "label": REGISTRY[row["name"]].label if row["name"] in REGISTRY else row["name"],
                "total": row["total"],
                "failed": row["failed"],
                "warned": row["warned"],
                "failure_rate": round(row["failed"] / row["total"], 4),
            }
            for row in checks
        ],
    }
