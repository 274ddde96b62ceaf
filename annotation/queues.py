"""Queues: named subsets of a project's items, and routing items into them."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q

from annotation.models import Item, Queue, import_jobs
from annotation.states import State
from projects.models import Project

QUEUE_NAME_TAKEN = "This project already has a queue called {name!r}."
QUEUE_NAME_NEEDED = "A queue needs a name."
DEFAULT_QUEUE_FILTER = "The default queue holds every item no other queue takes; it has no filter."


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
