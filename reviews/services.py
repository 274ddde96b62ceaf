"""Writes for review: routing items into review stages, and review decisions."""

from __future__ import annotations

from annotation.models import Item
from annotation.services import transition
from annotation.states import State
from reviews.models import ReviewStage


def enter_review(item: Item) -> bool:
    """Move a checked item into its first review stage, or approve it when the project
    has no review stage."""
    first = ReviewStage.objects.filter(project_id=item.project_id).order_by("position").first()
    if first is None:
        return transition(item, to=State.APPROVED, actor=None, reason="No review stage.")
    return transition(item, to=State.IN_REVIEW, actor=None, stage=first.position)
