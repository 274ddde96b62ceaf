"""The project admin's actions on one item, shared by the admin item page and bulk
actions: retag, priority, queue, send back to annotation, gold, flag/discard, reopen,
unflag. State moves go through the annotation app's services and its transition table;
the edits that are not moves (tags, priority, queue, gold) are recorded as
:class:`overview.models.ItemChange` rows. Each function takes the item's row lock and
raises :class:`Refused` (with words for a person) when the item cannot take the action.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction

from annotation import leases
from annotation import services as annotation_services
from annotation.messages import answer_text
from annotation.models import Assignment, AssignmentStatus, Item, Queue
from annotation.states import State
from annotation.transitions import transition
from overview.models import ItemChange
from projects.models import Job
from reviews.policy import set_gold, unset_gold

DISCARDED = "discarded"
REQUEUE_REASON = "Sent back to annotation by a project admin."
NOT_REQUEUABLE = (
    "Only an item in review, being worked on or flagged can be sent back to annotation; "
    "this one is {state}."
)
NOT_FLAGGABLE = (
    "Only an item being worked on, returned or in review can be flagged or discarded; "
    "this one is {state}."
)
NO_ANSWER = "This item has no answer yet to use as the gold reference."
REASON_NEEDED = "Say why."
QUEUE_ELSEWHERE = "That queue is not in this project."


class Refused(Exception):
    """This item cannot take the action (its state, or it moved meanwhile)."""


def _user(actor: Any) -> User | None:
    return actor if isinstance(actor, User) else None


def _locked(item: Item) -> Item:
    # of=("self",): PostgreSQL cannot lock the nullable side of the revision's outer join.
    locked = (
        Item.objects.select_for_update(of=("self",))
        .select_related("current_revision")
        .get(pk=item.pk)
    )
    locked.project = item.project
    return locked


def _record(item: Item, actor: Any, action: str, before: Any, after: Any, job: Job | None) -> None:
    ItemChange.objects.create(
        item=item,
        actor=_user(actor),
        action=action,
        before={"value": before},
        after={"value": after},
        job=job,
    )


def retag(
    *,
    item: Item,
    actor: Any,
    add: Iterable[str] = (),
    remove: Iterable[str] = (),
    job: Job | None = None,
) -> Item:
    """Add and remove tags (order kept, no duplicates)."""
    with transaction.atomic():
        locked = _locked(item)
        before = list(locked.tags or [])
        drop = set(remove)
        after = [t for t in before if t not in drop]
        after += [t for t in dict.fromkeys(add) if t not in after]
        if after != before:
            Item.objects.filter(pk=locked.pk).update(tags=after)
            _record(locked, actor, "retag", before, after, job)
        item.tags = after
    return item


def set_priority(*, item: Item, actor: Any, priority: int, job: Job | None = None) -> Item:
    with transaction.atomic():
        locked = _locked(item)
        if locked.priority != priority:
            Item.objects.filter(pk=locked.pk).update(priority=priority)
            _record(locked, actor, "priority", locked.priority, priority, job)
        item.priority = priority
    return item


def move_to_queue(*, item: Item, actor: Any, queue: Queue | None, job: Job | None = None) -> Item:
    """Put the item in ``queue`` (``None``: the default queue)."""
    if queue is not None and queue.project_id != item.project_id:
        raise ValidationError({"queue": QUEUE_ELSEWHERE})
    target = None if queue is None or queue.is_default else queue.pk
    with transaction.atomic():
        locked = _locked(item)
        if locked.queue_id != target:
            Item.objects.filter(pk=locked.pk).update(queue_id=target)
            _record(locked, actor, "queue", locked.queue_id, target, job)
        item.queue_id = target
    return item


def mark_gold(*, item: Item, actor: Any, gold: bool = True, job: Job | None = None) -> Item:
    """Make the item gold with its current answer as the reference (or ordinary again)."""
    with transaction.atomic():
        locked = _locked(item)
        if gold:
            reference = answer_text(
                locked.current_revision.messages if locked.current_revision else []
            )
            if not reference.strip():
                raise Refused(NO_ANSWER)
            set_gold(item=locked, reference=reference)
        elif locked.is_gold:
            unset_gold(item=locked)
        else:
            return item
        _record(locked, actor, "gold", not gold, gold, job)
        item.is_gold, item.reference = locked.is_gold, locked.reference
    return item


def _moved(item: Item, message: str) -> Refused:
    return Refused(message.format(state=item.get_state_display().lower()))


def requeue(*, item: Item, actor: Any, reason: str = "") -> Item:
    """Send the item back to annotation: an item in review returns to its annotator for
    rework, a leased one goes back to the queue (the draft kept), a flagged one is
    unflagged into the queue."""
    reason = (reason or "").strip() or REQUEUE_REASON
    with transaction.atomic():
        locked = _locked(item)
        if locked.state == State.FLAGGED:
            unflag(item=locked, actor=actor, reason=reason)
        elif locked.state == State.IN_REVIEW:
            if not transition(locked, to=State.RETURNED, actor=actor, reason=reason, stage=None):
                raise _moved(locked, NOT_REQUEUABLE)
        elif locked.state == State.IN_PROGRESS:
            active = Assignment.objects.select_for_update().filter(
                item=locked, status=AssignmentStatus.ACTIVE
            )
            for assignment in active:
                leases.give_up(
                    locked,
                    assignment,
                    status=AssignmentStatus.EXPIRED,
                    actor=actor,
                    reason=reason,
                )
                locked.refresh_from_db(fields=["state", "stage"])
        else:
            raise _moved(locked, NOT_REQUEUABLE)
        item.state, item.stage = locked.state, locked.stage
    return item


def flag(*, item: Item, actor: Any, reason: str, category: str = "admin") -> Item:
    """Take the item out of the dataset (``category`` ``discarded`` for a discard). The
    state table lets an item be flagged while it is worked on, returned or in review."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": REASON_NEEDED})
    with transaction.atomic():
        locked = _locked(item)
        if locked.state not in (State.IN_PROGRESS, State.RETURNED, State.IN_REVIEW):
            raise _moved(locked, NOT_FLAGGABLE)
        Assignment.objects.filter(item=locked, status=AssignmentStatus.ACTIVE).update(
            status=AssignmentStatus.FLAGGED, reason=reason
        )
        if not transition(
            locked,
            to=State.FLAGGED,
            actor=actor,
            reason=reason,
            data={"category": category, "by": "admin"},
        ):
            raise _moved(locked, NOT_FLAGGABLE)
        item.state = locked.state
    return item


def reopen(*, item: Item, actor: Any, reason: str) -> Item:
    try:
        return annotation_services.reopen(item=item, actor=actor, reason=reason)
    except leases.WorkError as exc:
        raise Refused(exc.detail) from None


def unflag(*, item: Item, actor: Any, reason: str) -> Item:
    try:
        return annotation_services.unflag(item=item, actor=actor, reason=reason)
    except leases.WorkError as exc:
        raise Refused(exc.detail) from None
