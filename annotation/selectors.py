"""Reads shared by the annotation pages and the API. Each runs a fixed number of
queries, whatever the size of the project."""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Q
from django.http import Http404

from annotation.anchoring import anchoring_comparison as anchoring_comparison
from annotation.anchoring import draft_hidden
from annotation.messages import first_user_text
from annotation.models import Assignment, AssignmentStatus, Item, Queue, Revision, Transition
from annotation.states import State
from projects.access import ProjectAccess, project_access
from projects.models import Guideline, GuidelineAcknowledgement, Project, Role
from projects.services import current_guideline


@dataclass(frozen=True)
class ItemAccess:
    item: Item
    access: ProjectAccess
    assignment: Assignment | None  # the caller's own turn at the item, if any


def item_access(user: Any, item_id: int, role: str = Role.ANNOTATOR) -> ItemAccess:
    """The item with ``item_id`` as ``user`` may see it, with their assignment.

    Reviewers and admins see every item of their projects; an annotator sees the items
    they were handed (or wrote a revision of). Anything else is a 404, as for a foreign project.
    """
    item = Item.objects.select_related("project", "current_revision").filter(pk=item_id).first()
    if item is None:
        raise Http404("No such item.")
    access = project_access(user, item.project_id, role)
    assignment = Assignment.objects.filter(item=item, user_id=user.pk).first()
    if (
        assignment is None
        and not access.is_reviewer
        and not Revision.objects.filter(item=item, author_id=user.pk).exists()
    ):
        raise Http404("No such item.")
    if assignment is not None:
        assignment.item = item
    return ItemAccess(item, access, assignment)


def item_history(item: Item) -> list[Transition]:
    return list(Transition.objects.filter(item=item).select_related("actor").order_by("id"))


@dataclass(frozen=True)
class ItemSection:
    """What an app further down the flow shows about an item: the rows the editor page
    renders, and each row as ``GET /api/v1/items/{id}/`` returns it."""

    load: Callable[[Item], list[Any]]
    serialize: Callable[[Any], dict[str, Any]]


# Filled by the review and checks apps (``AppConfig.ready``): "reviews" and "checks".
# Annotation sits above them in the flow, so it reads their rows through this table
# instead of importing them.
ITEM_SECTIONS: dict[str, ItemSection] = {}


def item_feedback(item: Item) -> dict[str, list[Any]]:
    """Each section's rows for the item (one query per section)."""
    if item.current_revision_id is None:
        return {name: [] for name in ITEM_SECTIONS}  # nothing submitted: nothing reviewed
    return {name: section.load(item) for name, section in ITEM_SECTIONS.items()}


def item_payload(ia: ItemAccess) -> dict[str, Any]:
    """``GET /api/v1/items/{id}/`` as interfaces.md describes it, plus the caller's draft."""
    item, assignment = ia.item, ia.assignment
    feedback = item_feedback(item)
    revision = item.current_revision
    payload: dict[str, Any] = {
        "id": item.pk,
        "project": item.project_id,
        "task_type": item.project.task_type,
        "state": item.state,
        "stage": item.stage,
        "priority": item.priority,
        "source": item.source,
        "messages": revision.messages if revision else None,
        "revision": version_token(item, assignment),
        # Hidden from an annotator writing blind until their first save (anchoring guard).
        "model_draft": "" if draft_hidden(assignment) else item.model_draft,
        "metadata": item.metadata,
        "tags": item.tags,
        "history": [
            {
                "from": t.from_state,
                "to": t.to_state,
                "from_stage": t.from_stage,
                "to_stage": t.to_stage,
                "event": t.event,
                "actor": t.actor.username if t.actor else None,
                "reason": t.reason,
                "data": t.data,
                "at": t.at.isoformat(),
            }
            for t in item_history(item)
        ],
    }
    for name, rows in feedback.items():
        payload[name] = [ITEM_SECTIONS[name].serialize(row) for row in rows]
    if ia.access.is_admin:
        payload["is_gold"] = item.is_gold
        payload["turns"] = [turn_row(a) for a in item_turns(item)]
    if assignment is not None:
        payload.update(assignment_payload(assignment))
    return payload


def edits_draft(assignment: Assignment | None) -> bool:
    """Whether ``assignment`` is a turn whose draft its annotator saves and submits (held
    now, or a lease that ran out and is taken up again on the next save)."""
    return assignment is not None and assignment.status in (
        AssignmentStatus.ACTIVE,
        AssignmentStatus.EXPIRED,
    )


def version_token(item: Item, assignment: Assignment | None) -> int | None:
    """The one version token: what ``GET /items/{id}/`` and ``next/`` return as
    ``revision`` and what draft and submit take back as ``base_revision``.

    For the annotator working the item it is their draft's version, which advances on
    every save that changes the text (and on submit, and when a returned item is taken
    up for rework), so a second tab or device that saved since is detected and a
    client that echoes what it was last given never gets a false 409. For everyone
    else (reviewers, admins, the annotator after submitting) it is the id of the
    current revision, as before.
    """
    if edits_draft(assignment):
        assert assignment is not None
        return assignment.draft_version
    return item.current_revision_id


def assignment_payload(assignment: Assignment) -> dict[str, Any]:
    """The caller's own turn at the item. ``base_revision`` is kept for older clients:
    while they hold the item it is the same number as ``revision``."""
    return {
        "assignment": {
            "status": assignment.status,
            "is_rework": assignment.is_rework,
            "lease_expires_at": assignment.expires_at.isoformat(),
        },
        "lease_expires_at": assignment.expires_at.isoformat(),
        "draft": assignment.draft,
        "base_revision": assignment.draft_version,
        "draft_saved_at": assignment.draft_saved_at.isoformat()
        if assignment.draft_saved_at
        else None,
    }


def my_work(user: Any, project_ids: list[int] | None = None) -> dict[str, Any]:
    """The caller's assignments grouped as "My work" shows them, with counts."""
    base = Assignment.objects.filter(user=user)
    if project_ids is not None:
        base = base.filter(item__project_id__in=project_ids)
    rows = list(
        base.select_related("item", "item__project", "submission").order_by("-leased_at")[:500]
    )
    groups: dict[str, list[Assignment]] = {
        "drafts": [],
        "returned": [],
        "submitted": [],
        "approved": [],
        "flagged": [],
        "skipped": [],
    }
    for a in rows:
        state = a.item.state
        # What the chat is about: the first user turn (many chats share a system prompt),
        # of the annotator's own text when they wrote the prompt (compose), else the item's.
        mine = a.submission.messages if a.submission is not None else a.draft
        prompt = first_user_text(mine) or first_user_text(a.item.source)
        vars(a)["prompt"] = prompt  # read by the template as ``a.prompt``
        if a.status == AssignmentStatus.SKIPPED:
            groups["skipped"].append(a)
            continue
        if a.status in (AssignmentStatus.ACTIVE, AssignmentStatus.EXPIRED):
            if a.status == AssignmentStatus.EXPIRED and state not in (
                State.QUEUED,
                State.IN_PROGRESS,
            ):
                continue  # someone else finished it
            groups["drafts"].append(a)
        elif a.status == AssignmentStatus.FLAGGED:
            groups["flagged"].append(a)
        elif state == State.RETURNED and a.item.current_revision_id == a.submission_id:
            groups["returned"].append(a)
        elif state == State.APPROVED:
            groups["approved"].append(a)
        else:
            groups["submitted"].append(a)
    counts = dict(base.values_list("status").annotate(n=Count("id")).values_list("status", "n"))
    return {"groups": groups, "counts": counts}


def queue_depths(project_id: int, queues: list[Queue]) -> dict[int | None, dict[str, int]]:
    """Open items per queue (``None`` is the default queue): waiting and being worked."""
    rows = (
        Item.objects.filter(project_id=project_id, state__in=[State.QUEUED, State.IN_PROGRESS])
        .values_list("queue_id")
        .annotate(
            queued=Count("id", filter=Q(state=State.QUEUED)),
            working=Count("id", filter=Q(state=State.IN_PROGRESS)),
        )
        .values_list("queue_id", "queued", "working")
    )
    return {qid: {"queued": q, "working": w} for qid, q, w in rows}


MAX_CHANGE_LINES = 60


def guideline_changes(
    project: Project, user: Any, current: Guideline | bool | None = False
) -> dict[str, Any] | None:
    """What changed in the guidelines since ``user`` last acknowledged them, or ``None``
    when they have acknowledged the current version (or there is none): the current
    ``version``, the ``previous`` one they acknowledged (``None`` if never), and
    ``changes``, the changed lines as a short diff (``+`` added, ``-`` removed, ``@@``
    between hunks). ``current`` is the current guideline when the caller has read it
    already. At most three queries."""
    if current is False:
        current = current_guideline(project)
    assert current is not True
    if current is None:
        return None
    acks = GuidelineAcknowledgement.objects.filter(user_id=user.pk, guideline__project=project)
    if acks.filter(guideline=current).exists():
        return None
    last = acks.select_related("guideline").order_by("-guideline__version").first()
    changes: list[str] = []
    if last is not None:
        diff = difflib.unified_diff(
            last.guideline.body.splitlines(), current.body.splitlines(), lineterm="", n=1
        )
        changes = [line for line in diff if not line.startswith(("---", "+++"))]
        if len(changes) > MAX_CHANGE_LINES:
            changes = [*changes[:MAX_CHANGE_LINES], "…"]
    return {
        "version": current.version,
        "previous": last.guideline.version if last is not None else None,
        "changes": changes,
    }


def duration_label(seconds: int) -> str:
    """``seconds`` as people read a time on task: "45 s", "4 min 05 s", "1 h 02 min"."""
    if seconds < 60:
        return f"{seconds} s"
    minutes, secs = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def item_turns(item: Item) -> list[Assignment]:
    """Every annotator's turn at ``item`` with their active editing time (for admins);
    one query. Each row carries ``active_label``."""
    rows = list(Assignment.objects.filter(item=item).select_related("user").order_by("id"))
    for a in rows:
        vars(a)["active_label"] = duration_label(a.active_seconds)
    return rows


def turn_row(a: Assignment) -> dict[str, Any]:
    return {
        "user": a.user.username,
        "status": a.status,
        "active_seconds": a.active_seconds,
        "blind": a.blind,
        "leased_at": a.leased_at.isoformat(),
        "finished_at": a.finished_at.isoformat() if a.finished_at else None,
    }
