"""Who holds an item: claiming the next one, taking one up again, keeping a lease
alive, giving it back, and ending leases that ran out."""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.db.models import Count, F, Q
from django.utils import timezone

from annotation.anchoring import is_blind
from annotation.messages import Message
from annotation.models import Assignment, AssignmentStatus, Item, Queue
from annotation.queues import claimable_queues
from annotation.states import State
from annotation.transitions import transition
from projects.models import Membership, Project
from projects.services import current_guideline, needs_acknowledgement

ACK_NEEDED = "Read and acknowledge the current guidelines (version {version}) before you take work."
LEASE_LIMIT = (
    "You already hold {held} item(s) in this project, the most allowed at once. "
    "Submit or skip one first."
)
NOT_HOLDER = "You do not hold this item: take it with “Start working” first."
LEASE_LOST = (
    "Your lease on this item ended and it is no longer available to you. "
    "Your text is returned unchanged so nothing is lost."
)
ALREADY_SUBMITTED = "You already submitted this item."


class WorkError(Exception):
    """A refusal the annotator must see: answered as 409 with ``detail`` and ``data``."""

    status = 409

    def __init__(self, detail: str, **data: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.data = data


class AcknowledgeFirst(WorkError):
    pass


class LeaseLimit(WorkError):
    pass


class NotHolder(WorkError):
    pass


def starting_messages(item: Item, task_type: str) -> list[dict[str, str]]:
    """What the editor opens with for a fresh item of a project of ``task_type``."""
    source = [
        {"role": str(m.get("role", "user")), "content": str(m.get("content", ""))}
        for m in (item.source or [])
        if isinstance(m, dict)
    ]
    if task_type == "compose":
        # The source is a topic or seed: the annotator writes both prompt and response.
        system = [m for m in source if m["role"] == "system"]
        return [*system, {"role": "user", "content": ""}, {"role": "assistant", "content": ""}]
    if source and source[-1]["role"] == "assistant" and task_type == "conversation":
        return source
    # The importer keeps a chat's final assistant reply as ``model_draft`` for ``correct``
    # and ``conversation`` projects: the annotator starts from it, the whole chat.
    answer = item.model_draft if task_type in ("correct", "conversation") else ""
    return [*source, {"role": "assistant", "content": answer}]


def lease_end(project: Project, now: Any) -> Any:
    return now + timedelta(minutes=project.lease_minutes)


def _open_items(project: Project, user: Any) -> Any:
    # NOT IN (a hashed list of the caller's items) rather than NOT EXISTS: the planner
    # keeps walking the claim index in order and stops at the first free row, instead
    # of anti-joining and sorting every open item of the project.
    mine = Assignment.objects.filter(user=user).values("item_id")
    return Item.objects.filter(
        project=project, state__in=[State.QUEUED, State.IN_PROGRESS]
    ).exclude(pk__in=mine)


def _take(item: Item, *, user: Any, queue: Queue | None, now: Any, project: Project) -> Assignment:
    """Lease ``item`` (locked by the caller) to ``user`` and take one of its places."""
    claims = item.claims
    # Written blind (anchoring guard): the annotator starts from an empty answer, not
    # from the model's draft nor from a draft someone else left.
    blind = is_blind(project, item)
    inherited = (
        None
        if blind
        else Assignment.objects.filter(
            item=item, status=AssignmentStatus.EXPIRED, draft__isnull=False
        )
        .order_by("-draft_saved_at", "-id")
        .values_list("draft", flat=True)
        .first()
    )
    assignment = Assignment.objects.create(
        item=item,
        user=user,
        queue=queue,
        leased_at=now,
        expires_at=lease_end(project, now),
        draft=inherited or starting_messages(item, "write" if blind else project.task_type),
        draft_version=1,
        draft_saved_at=now if inherited else None,
        blind=blind,
    )
    moved = transition(
        item,
        to=State.IN_PROGRESS,
        actor=user,
        reason="Leased to an annotator.",
        data={"assignment": assignment.pk},
        claims=F("claims") + 1,
    )
    if not moved:  # cannot happen while we hold the row lock; never hand out a stale item
        raise RuntimeError("The item changed while locked.")
    item.claims = claims + 1
    assignment.item = item
    return assignment


def claim_next(*, project: Project, user: Any) -> Assignment | None:
    """Lease the next item of ``project`` to ``user``, or ``None`` when nothing is left.

    Order: the annotator's own returned items first (rework), then the queues they
    work by priority, each queue's items by priority then age. One short transaction:
    the annotator's membership row is locked (their claims are serialised, so the
    lease cap holds), candidate items are locked with ``FOR UPDATE SKIP LOCKED`` so
    concurrent claimers pass each other instead of queueing, and an item is only
    taken while it has fewer than ``overlap`` annotators and none of them is ``user``.
    """
    if needs_acknowledgement(project, user):
        guideline = current_guideline(project)
        raise AcknowledgeFirst(
            ACK_NEEDED.format(version=guideline.version if guideline else "?"),
            guideline_version=guideline.version if guideline else None,
        )
    queues = claimable_queues(project, user)
    now = timezone.now()
    with transaction.atomic():
        list(Membership.objects.select_for_update().filter(project=project, user=user))
        held = Assignment.objects.filter(
            user=user,
            item__project=project,
            status=AssignmentStatus.ACTIVE,
            expires_at__gt=now,
        ).count()
        if held >= project.max_leases:
            raise LeaseLimit(LEASE_LIMIT.format(held=held), held=held)
        rework = _claim_rework(project=project, user=user, now=now)
        if rework is not None:
            return rework
        if project.gold_rate > 0 and random.random() < project.gold_rate:
            gold = _take_gold(project=project, user=user, now=now)
            if gold is not None:
                return gold
        for queue in queues:
            item = (
                _queue_items(project, user, queue)
                .order_by("-priority", "id")
                .select_for_update(skip_locked=True, of=("self",))
                .first()
            )
            if item is not None:
                return _take(item, user=user, queue=queue, now=now, project=project)
        if project.gold_rate > 0:
            # Nothing else left: the gold items the annotator has not answered yet.
            return _take_gold(project=project, user=user, now=now)
    return None


def _gold_items(project: Project, user: Any) -> Any:
    return _open_items(project, user).filter(is_gold=True)


def _take_gold(*, project: Project, user: Any, now: Any) -> Assignment | None:
    gold_ids = _gold_items(project, user).order_by("?").values_list("pk", flat=True)[:1]
    item = Item.objects.select_for_update(skip_locked=True).filter(pk__in=list(gold_ids)).first()
    if item is not None and item.state in (State.QUEUED, State.IN_PROGRESS):
        return _take(item, user=user, queue=None, now=now, project=project)
    return None


def _queue_items(project: Project, user: Any, queue: Queue) -> Any:
    """The items of ``queue`` that ``user`` may be handed: open, with a free place, not
    gold, and not had by them before."""
    candidates = _open_items(project, user).filter(claims__lt=project.overlap, is_gold=False)
    if queue.is_default:
        return candidates.filter(queue__isnull=True)
    return candidates.filter(queue=queue)


def waiting_for(project: Project, user: Any) -> dict[str, int]:
    """How many items "Start working" could still hand ``user`` (``waiting``), as
    :func:`claim_next` chooses them: their returned items, the items of the unpaused
    queues they work (a queue naming assignees is theirs only if it names them) that
    they never had, and, when the project serves gold, the gold items they have not
    answered; and how many of the project's items are being worked (``in_progress``).
    Two queries (the queues, one count)."""
    queues = claimable_queues(project, user)
    named = [q.pk for q in queues if not q.is_default]
    in_queues = Q(queue_id__in=named)
    if any(q.is_default for q in queues):
        in_queues |= Q(queue__isnull=True)
    regular = Q(claims__lt=project.overlap, is_gold=False) & in_queues if queues else Q(pk=None)
    if project.gold_rate > 0:
        regular |= Q(is_gold=True)
    had = Assignment.objects.filter(user=user).values("item_id")
    submitted = Assignment.objects.filter(user=user, status=AssignmentStatus.SUBMITTED)
    counts: dict[str, int] = Item.objects.filter(
        project=project, state__in=[State.QUEUED, State.IN_PROGRESS, State.RETURNED]
    ).aggregate(
        fresh=Count(
            "id",
            filter=Q(state__in=[State.QUEUED, State.IN_PROGRESS]) & regular & ~Q(pk__in=had),
        ),
        rework=Count(
            "id",
            filter=Q(
                state=State.RETURNED,
                current_revision__author=user,
                pk__in=submitted.values("item_id"),
            ),
        ),
        in_progress=Count("id", filter=Q(state=State.IN_PROGRESS)),
    )
    return {
        "waiting": counts["fresh"] + counts["rework"],
        "in_progress": counts["in_progress"],
    }


def _claim_rework(
    *, project: Project, user: Any, now: Any, item_id: int | None = None
) -> Assignment | None:
    """Re-lease to ``user`` an item of theirs that checks or a reviewer returned."""
    only = {"item_id": item_id} if item_id is not None else {}
    mine = (
        Assignment.objects.filter(
            **only,
            user=user,
            status=AssignmentStatus.SUBMITTED,
            item__project=project,
            item__state=State.RETURNED,
            item__current_revision__author=user,
        )
        .order_by("-item__priority", "item_id")
        .first()
    )
    if mine is None:
        return None
    item = (
        Item.objects.select_for_update(skip_locked=True, of=("self",))
        .filter(pk=mine.item_id, state=State.RETURNED)
        .select_related("current_revision")
        .first()
    )
    if item is None:
        return None
    mine.status = AssignmentStatus.ACTIVE
    mine.is_rework = True
    mine.leased_at, mine.expires_at, mine.finished_at = now, lease_end(project, now), None
    if item.current_revision is not None:
        mine.draft = item.current_revision.messages
    mine.draft_version += 1
    mine.save(
        update_fields=[
            "status",
            "is_rework",
            "leased_at",
            "expires_at",
            "finished_at",
            "draft",
            "draft_version",
        ]
    )
    mine.item = item
    return mine


def take_item(*, item: Item, user: Any) -> Assignment | None:
    """Lease this particular item to ``user`` if they may work it now (an expired lease
    of theirs, or an open item they never had). ``None`` when it is not available."""
    project = item.project
    now = timezone.now()
    with transaction.atomic():
        list(Membership.objects.select_for_update().filter(project=project, user=user))
        locked = Item.objects.select_for_update().filter(pk=item.pk).first()
        if locked is None:
            return None
        mine = Assignment.objects.filter(item=locked, user=user).first()
        if mine is not None and mine.status == AssignmentStatus.ACTIVE:
            mine.item = locked
            return mine
        if mine is not None and mine.status == AssignmentStatus.SUBMITTED:
            return _claim_rework(project=project, user=user, now=now, item_id=locked.pk)
        open_place = locked.state in (State.QUEUED, State.IN_PROGRESS) and (
            locked.is_gold or locked.claims < project.overlap
        )
        if not open_place or needs_acknowledgement(project, user):
            return None
        if mine is None:
            return _take(locked, user=user, queue=None, now=now, project=project)
        if mine.status != AssignmentStatus.EXPIRED:
            return None  # skipped or flagged: not handed back
        mine.status = AssignmentStatus.ACTIVE
        mine.leased_at, mine.expires_at, mine.finished_at = now, lease_end(project, now), None
        mine.save(update_fields=["status", "leased_at", "expires_at", "finished_at"])
        transition(
            locked,
            to=State.IN_PROGRESS,
            actor=user,
            reason="Lease taken up again.",
            data={"assignment": mine.pk},
            claims=F("claims") + 1,
        )
        mine.item = locked
        return mine


def locked_assignment(item: Item, user: Any) -> Assignment | None:
    return (
        Assignment.objects.select_for_update(of=("self",))
        .filter(item_id=item.pk, user=user)
        .select_related("submission")
        .first()
    )


def holding(item: Item, user: Any, messages: list[Message]) -> Assignment:
    """The caller's active assignment on ``item``, locked; an expired one is renewed when
    the item still has a place for them."""
    assignment = locked_assignment(item, user)
    if assignment is None:
        raise NotHolder(NOT_HOLDER)
    if assignment.status == AssignmentStatus.SUBMITTED:
        raise NotHolder(ALREADY_SUBMITTED, messages=messages)
    if assignment.status != AssignmentStatus.ACTIVE:
        renewed = (
            take_item(item=item, user=user)
            if assignment.status == AssignmentStatus.EXPIRED
            else None
        )
        if renewed is None:
            raise NotHolder(LEASE_LOST, messages=messages)
        assignment = renewed
    return assignment


def renew_lease(*, item: Item, user: Any) -> Assignment:
    """Keep the caller's lease alive while their editor is open."""
    now = timezone.now()
    with transaction.atomic():
        assignment = holding(item, user, [])
        assignment.expires_at = lease_end(item.project, now)
        assignment.save(update_fields=["expires_at"])
    return assignment


def give_up(item: Item, assignment: Assignment, *, status: str, actor: Any, reason: str) -> None:
    """End ``assignment`` (locked) without a submission and free its place on the item."""
    now = timezone.now()
    assignment.status = status
    assignment.reason = reason
    assignment.finished_at = now
    assignment.save(update_fields=["status", "reason", "finished_at"])
    locked = Item.objects.select_for_update().get(pk=item.pk)
    if assignment.is_rework:
        return  # a returned item stays returned, still the annotator's to rework
    still_working = Assignment.objects.filter(item=locked, status=AssignmentStatus.ACTIVE).exists()
    if still_working or locked.state != State.IN_PROGRESS:
        Item.objects.filter(pk=locked.pk).update(claims=F("claims") - 1)
        return
    transition(
        locked,
        to=State.QUEUED,
        actor=actor,
        reason=reason,
        data={"assignment": assignment.pk, "status": status},
        claims=F("claims") - 1,
    )


def expire_leases(*, now: Any = None, limit: int = 500) -> int:
    """End leases past their time: the item returns to the queue, the draft is kept for
    whoever continues it. Returns how many leases ended. Each lease ends in its own
    short transaction, skipping any assignment someone is writing to right now."""
    now = now or timezone.now()
    ended = 0
    ids = list(
        Assignment.objects.filter(status=AssignmentStatus.ACTIVE, expires_at__lte=now)
        .order_by("expires_at")
        .values_list("pk", flat=True)[:limit]
    )
    for pk in ids:
        with transaction.atomic():
            assignment = (
                Assignment.objects.select_for_update(skip_locked=True)
                .filter(pk=pk, status=AssignmentStatus.ACTIVE, expires_at__lte=now)
                .select_related("item")
                .first()
            )
            if assignment is None:
                continue
            if assignment.is_rework:
                # Rework stays with its annotator; only the lease ends.
                assignment.status = AssignmentStatus.SUBMITTED
                assignment.finished_at = now
                assignment.save(update_fields=["status", "finished_at"])
            else:
                give_up(
                    assignment.item,
                    assignment,
                    status=AssignmentStatus.EXPIRED,
                    actor=None,
                    reason="Lease expired.",
                )
            ended += 1
    return ended
