"""Writes to items. Every state change goes through :func:`transition`."""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

from django.contrib.auth.models import AnonymousUser, User
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone

from annotation.messages import Message, validate
from annotation.models import (
    Assignment,
    AssignmentStatus,
    Item,
    Queue,
    Revision,
    RevisionKind,
    Transition,
    import_jobs,
)
from annotation.states import TRANSITIONS, State, can_move
from core.enqueue import CHECK_SUBMISSION, enqueue
from projects.models import Membership, Project
from projects.services import current_guideline, needs_acknowledgement

_UNCHANGED: Any = object()


class InvalidTransition(ValueError):
    pass


def transition(
    item: Item,
    *,
    to: str,
    actor: User | AnonymousUser | None,
    reason: str = "",
    stage: int | None = _UNCHANGED,
    data: dict[str, Any] | None = None,
    **fields: Any,
) -> bool:
    """Move ``item`` from the state (and stage) the caller last read to ``to``.

    Compare-and-set: the update only applies while the row still has the state and
    stage held in ``item``; it returns ``False`` when someone else moved the item first,
    and the caller decides what that means. On success it appends one ``Transition``
    row in the same transaction and updates ``item`` in memory. Extra ``fields`` are
    written in the same UPDATE. Raises :class:`InvalidTransition` for a move the table
    does not allow.
    """
    from_state, from_stage = item.state, item.stage
    if not can_move(from_state, to):
        raise InvalidTransition(f"An item cannot go from {from_state} to {to}.")
    to_stage = from_stage if stage is _UNCHANGED else stage
    now = timezone.now()
    updates = {"state": to, "stage": to_stage, "state_changed_at": now, **fields}
    user = actor if isinstance(actor, User) else None
    # No savepoint inside a caller's transaction: if the history row cannot be written,
    # the caller's whole change rolls back with the move, never half of it.
    with transaction.atomic(savepoint=False):
        moved = Item.objects.filter(pk=item.pk, state=from_state, stage=from_stage).update(
            **updates
        )
        if not moved:
            return False
        Transition.objects.create(
            item=item,
            from_state=from_state,
            to_state=to,
            from_stage=from_stage,
            to_stage=to_stage,
            event=TRANSITIONS[(from_state, to)],
            actor=user,
            reason=reason,
            data=data or {},
            at=now,
        )
    for name, value in updates.items():
        setattr(item, name, value)
    return True


# --- The annotator's work: queues, leases, drafts, submissions ---------------------------

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
STALE_DRAFT = (
    "This item was saved from another tab or device since you loaded it. Choose which text to keep."
)
NOT_OPEN = "This item is no longer open for annotation (it is {state})."
SKIP_REASON_NEEDED = "Say why you are skipping this item."
SKIP_REWORK = "A returned item is yours to rework; flag it if it cannot be answered as asked."
FLAG_CATEGORY = "Flag as one of: {choices}."
QUEUE_NAME_TAKEN = "This project already has a queue called {name!r}."
QUEUE_NAME_NEEDED = "A queue needs a name."
DEFAULT_QUEUE_FILTER = "The default queue holds every item no other queue takes; it has no filter."

FLAG_CATEGORIES = {
    "unsafe": "Unsafe or harmful",
    "unanswerable": "Unanswerable",
    "duplicate": "Duplicate prompt",
}


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


class StaleDraft(WorkError):
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
    answer = item.model_draft if task_type == "correct" else ""
    return [*source, {"role": "assistant", "content": answer}]


# Queues -----------------------------------------------------------------------------------


def default_queue(project: Project) -> Queue:
    """The project's default queue, created on first use."""
    queue = Queue.objects.filter(project=project, is_default=True).first()
    if queue is None:
        try:
            with transaction.atomic():
                queue = Queue.objects.create(project=project, name="Default", is_default=True)
        except IntegrityError:
            queue = Queue.objects.get(project=project, is_default=True)
    return queue


def _queue_filter(queue: Queue) -> Q:
    condition = Q()
    if queue.tags:
        any_tag = Q()
        for tag in queue.tags:
            # The lookup JSON-encodes the tag, so it matches a whole quoted list element.
            any_tag |= Q(tags__icontains=str(tag))
        condition &= any_tag
    if queue.import_job_id:
        condition &= Q(import_job_id=queue.import_job_id)
    if queue.min_priority is not None:
        condition &= Q(priority__gte=queue.min_priority)
    return condition


def save_queue(
    *,
    project: Project,
    queue: Queue | None = None,
    name: str,
    priority: int = 0,
    paused: bool = False,
    tags: list[str] | None = None,
    import_job_id: int | None = None,
    min_priority: int | None = None,
    assignees: list[Any] | None = None,
) -> Queue:
    """Create or change a queue, then route into it the open items its filter matches
    that no other queue holds yet (items already taken stay where they are)."""
    name = name.strip()
    if not name:
        raise ValidationError({"name": QUEUE_NAME_NEEDED})
    taken = Queue.objects.filter(project=project, name__iexact=name)
    if queue is not None:
        taken = taken.exclude(pk=queue.pk)
    if taken.exists():
        raise ValidationError({"name": QUEUE_NAME_TAKEN.format(name=name)})
    tags = [t.strip() for t in (tags or []) if t and t.strip()]
    is_default = queue is not None and queue.is_default
    if is_default and (tags or import_job_id or min_priority is not None):
        raise ValidationError(DEFAULT_QUEUE_FILTER)
    if (
        import_job_id is not None
        and not import_jobs().filter(pk=import_job_id, project=project).exists()
    ):
        raise ValidationError({"import_job": "No such import in this project."})
    with transaction.atomic():
        if queue is None:
            queue = Queue(project=project)
        queue.name, queue.priority, queue.paused = name, priority, paused
        queue.tags, queue.import_job_id, queue.min_priority = tags, import_job_id, min_priority
        queue.save()
        if assignees is not None:
            queue.assignees.set(assignees)
        if not queue.is_default:
            condition = _queue_filter(queue)
            if condition:
                Item.objects.filter(
                    condition,
                    project=project,
                    queue__isnull=True,
                    state__in=[State.QUEUED, State.IN_PROGRESS],
                ).update(queue=queue)
    return queue


def route_imported_items(*, project: Project, import_job_id: int) -> int:
    """Put the items of a finished import into the named queues whose filters match
    them, highest-priority queue first; the rest stay in the default queue."""
    routed = 0
    queues = Queue.objects.filter(project=project, is_default=False).order_by("-priority", "id")
    for queue in queues:
        condition = _queue_filter(queue)
        if condition:
            routed += Item.objects.filter(
                condition, project=project, import_job_id=import_job_id, queue__isnull=True
            ).update(queue=queue)
    return routed


def delete_queue(*, queue: Queue) -> None:
    """Remove a queue; its items go back to the default queue."""
    if queue.is_default:
        raise ValidationError("The default queue cannot be removed.")
    with transaction.atomic():
        Item.objects.filter(queue=queue).update(queue=None)
        queue.delete()


# Claiming ---------------------------------------------------------------------------------


def _lease_end(project: Project, now: Any) -> Any:
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
    inherited = (
        Assignment.objects.filter(item=item, status=AssignmentStatus.EXPIRED, draft__isnull=False)
        .order_by("-draft_saved_at", "-id")
        .values_list("draft", flat=True)
        .first()
    )
    assignment = Assignment.objects.create(
        item=item,
        user=user,
        queue=queue,
        leased_at=now,
        expires_at=_lease_end(project, now),
        draft=inherited or starting_messages(item, project.task_type),
        draft_version=1,
        draft_saved_at=now if inherited else None,
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


def claimable_queues(project: Project, user: Any) -> list[Queue]:
    """The unpaused queues of ``project`` that ``user`` works, highest priority first."""
    named = Queue.assignees.through.objects.filter(queue_id=OuterRef("pk"))
    queues: list[Queue] = list(
        Queue.objects.filter(project=project)
        .annotate(named=Exists(named), mine=Exists(named.filter(user_id=user.pk)))
        .order_by("-priority", "id")
    )
    if not any(q.is_default for q in queues):
        queues.append(default_queue(project))
        queues.sort(key=lambda q: (-q.priority, q.pk))
    return [
        q
        for q in queues
        if not q.paused and (not getattr(q, "named", False) or getattr(q, "mine", False))
    ]


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
        locking = Item.objects.select_for_update(skip_locked=True)
        if project.gold_rate > 0 and random.random() < project.gold_rate:
            gold_ids = _open_items(project, user).filter(is_gold=True).order_by("?")
            item = locking.filter(pk__in=list(gold_ids.values_list("pk", flat=True)[:1])).first()
            if item is not None and item.state in (State.QUEUED, State.IN_PROGRESS):
                return _take(item, user=user, queue=None, now=now, project=project)
        for queue in queues:
            candidates = _open_items(project, user).filter(
                claims__lt=project.overlap, is_gold=False
            )
            candidates = (
                candidates.filter(queue__isnull=True)
                if queue.is_default
                else candidates.filter(queue=queue)
            )
            item = (
                candidates.order_by("-priority", "id")
                .select_for_update(skip_locked=True, of=("self",))
                .first()
            )
            if item is not None:
                return _take(item, user=user, queue=queue, now=now, project=project)
    return None


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
    mine.leased_at, mine.expires_at, mine.finished_at = now, _lease_end(project, now), None
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
        mine.leased_at, mine.expires_at, mine.finished_at = now, _lease_end(project, now), None
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


# Drafts, submissions, skips ---------------------------------------------------------------


def _locked_assignment(item: Item, user: Any) -> Assignment | None:
    return (
        Assignment.objects.select_for_update(of=("self",))
        .filter(item_id=item.pk, user=user)
        .select_related("submission")
        .first()
    )


def _holding(item: Item, user: Any, messages: list[Message]) -> Assignment:
    """The caller's active assignment on ``item``, locked; an expired one is renewed when
    the item still has a place for them."""
    assignment = _locked_assignment(item, user)
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


def save_draft(*, item: Item, user: Any, messages: Any, base_revision: int | None) -> Assignment:
    """Autosave: store ``messages`` as the caller's draft and renew their lease.

    ``base_revision`` is the draft version the caller last loaded or saved; when another
    tab or device saved since, :class:`StaleDraft` carries the stored text and version
    so the person chooses. Takes the assignment's row lock.
    """
    cleaned = validate(messages, complete=False)
    now = timezone.now()
    with transaction.atomic():
        assignment = _holding(item, user, cleaned)
        if base_revision is not None and int(base_revision) != assignment.draft_version:
            raise StaleDraft(
                STALE_DRAFT,
                messages=assignment.draft,
                base_revision=assignment.draft_version,
                saved_at=assignment.draft_saved_at.isoformat()
                if assignment.draft_saved_at
                else None,
            )
        if cleaned != assignment.draft:
            assignment.draft = cleaned
            assignment.draft_version += 1
            assignment.draft_saved_at = now
        assignment.expires_at = _lease_end(item.project, now)
        assignment.save(update_fields=["draft", "draft_version", "draft_saved_at", "expires_at"])
    return assignment


def renew_lease(*, item: Item, user: Any) -> Assignment:
    """Keep the caller's lease alive while their editor is open."""
    now = timezone.now()
    with transaction.atomic():
        assignment = _holding(item, user, [])
        assignment.expires_at = _lease_end(item.project, now)
        assignment.save(update_fields=["expires_at"])
    return assignment


def submit(
    *, item: Item, user: Any, messages: Any, base_revision: int | None
) -> tuple[Revision, bool]:
    """Submit the caller's answer; returns the submission and whether it is new.

    Idempotent: repeating a submit that already succeeded (same text) returns the same
    revision, so a retry after a lost response never makes a second one. Creates one
    submission revision per annotator; when the item has all ``overlap`` submissions
    (or is rework) it moves to ``submitted`` and the checks are enqueued on commit.
    Takes the assignment's and the item's row locks.
    """
    cleaned = validate(messages, complete=True)
    now = timezone.now()
    project = item.project
    with transaction.atomic():
        assignment = _locked_assignment(item, user)
        if (
            assignment is not None
            and assignment.status == AssignmentStatus.SUBMITTED
            and assignment.submission is not None
            and assignment.submission.messages == cleaned
        ):
            return assignment.submission, False
        assignment = _holding(item, user, cleaned)
        if base_revision is not None and int(base_revision) != assignment.draft_version:
            raise StaleDraft(
                STALE_DRAFT,
                messages=assignment.draft,
                base_revision=assignment.draft_version,
                revision=item.current_revision_id,
            )
        locked = Item.objects.select_for_update().get(pk=item.pk)
        if locked.state not in (State.IN_PROGRESS, State.RETURNED):
            raise NotHolder(NOT_OPEN.format(state=locked.get_state_display().lower()))
        revision = Revision.objects.create(
            item=locked,
            messages=cleaned,
            kind=RevisionKind.SUBMISSION,
            author=user,
            base=locked.current_revision,
            guideline=current_guideline(project),
            created_at=now,
        )
        assignment.status = AssignmentStatus.SUBMITTED
        assignment.submission = revision
        assignment.draft = cleaned
        assignment.draft_version += 1
        assignment.draft_saved_at = assignment.finished_at = now
        assignment.save(
            update_fields=[
                "status",
                "submission",
                "draft",
                "draft_version",
                "draft_saved_at",
                "finished_at",
            ]
        )
        if locked.state == State.RETURNED:
            transition(
                locked,
                to=State.SUBMITTED,
                actor=user,
                reason="Reworked and resubmitted.",
                current_revision=revision,
            )
        elif locked.is_gold:
            # Gold answers are recorded for scoring; the item itself stays available.
            if not Assignment.objects.filter(item=locked, status=AssignmentStatus.ACTIVE).exists():
                transition(locked, to=State.QUEUED, actor=user, reason="Gold answer recorded.")
        else:
            done = Assignment.objects.filter(item=locked, status=AssignmentStatus.SUBMITTED).count()
            if done >= project.overlap:
                transition(
                    locked,
                    to=State.SUBMITTED,
                    actor=user,
                    reason="All answers submitted.",
                    current_revision=revision,
                )
            else:
                Item.objects.filter(pk=locked.pk).update(current_revision=revision)
        item.state, item.current_revision = locked.state, revision
        enqueue(CHECK_SUBMISSION, revision.pk)  # gold score, checks, then routing
    return revision, True


def _give_up(item: Item, assignment: Assignment, *, status: str, actor: Any, reason: str) -> None:
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


def skip(*, item: Item, user: Any, reason: str) -> Assignment:
    """Give the item back with a reason; the caller will not be handed it again."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": SKIP_REASON_NEEDED})
    with transaction.atomic():
        assignment = _holding(item, user, [])
        if assignment.is_rework:
            raise ValidationError({"reason": SKIP_REWORK})
        _give_up(
            item,
            assignment,
            status=AssignmentStatus.SKIPPED,
            actor=user,
            reason="Skipped: " + reason,
        )
    return assignment


def flag(*, item: Item, user: Any, category: str, note: str = "") -> Assignment:
    """Take the item out of the dataset as unsafe, unanswerable or a duplicate prompt."""
    if category not in FLAG_CATEGORIES:
        raise ValidationError(
            {"category": FLAG_CATEGORY.format(choices=", ".join(FLAG_CATEGORIES))}
        )
    with transaction.atomic():
        assignment = _holding(item, user, [])
        locked = Item.objects.select_for_update().get(pk=item.pk)
        text = f"{FLAG_CATEGORIES[category]}" + (f": {note.strip()}" if note.strip() else "")
        assignment.status = AssignmentStatus.FLAGGED
        assignment.reason = text
        assignment.finished_at = timezone.now()
        assignment.save(update_fields=["status", "reason", "finished_at"])
        transition(
            locked,
            to=State.FLAGGED,
            actor=user,
            reason=text,
            data={"category": category, "note": note.strip()},
        )
        item.state = locked.state
    return assignment


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
                _give_up(
                    assignment.item,
                    assignment,
                    status=AssignmentStatus.EXPIRED,
                    actor=None,
                    reason="Lease expired.",
                )
            ended += 1
    return ended
