"""The anchoring guard: for a share of a ``correct`` project's items the annotator
writes their own answer before seeing the model's draft, so the admin can compare
answers written from scratch with corrected drafts (time on task, edit distance to
the draft, approval rate, and later the judge's score).

Which items are written blind is decided by a hash of the item id, so the same items
stay blind whoever takes them and however often the page is opened.
"""

from __future__ import annotations

import difflib
import hashlib
import statistics
from collections.abc import Callable
from typing import Any

from annotation.messages import answer_text
from annotation.models import Assignment, AssignmentStatus, Item
from annotation.states import State
from projects.models import Project, TaskType

# Texts longer than this are compared on their first part only: difflib is quadratic.
COMPARE_CHARS = 5_000
# Submissions per group the comparison reads, newest first.
COMPARE_LIMIT = 2_000
GROUPS = ("corrected", "from_scratch")

# More figures per group, filled by apps further down the flow (e.g. the judge's mean
# score): each gets the project, the group's name and its submissions' revision ids,
# and returns a dict merged into that group's ``extra``.
COMPARISON_EXTRAS: list[Callable[[Project, str, list[int]], dict[str, Any]]] = []


def item_share(item_id: int) -> float:
    """A number in [0, 1) fixed for ``item_id``."""
    digest = hashlib.sha256(f"anchoring:{item_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def is_blind(project: Project, item: Item) -> bool:
    """Whether ``item`` is one the annotator answers before seeing the model's draft."""
    return (
        project.task_type == TaskType.CORRECT
        and project.anchoring_share > 0
        and bool(item.model_draft)
        and item_share(item.pk) < project.anchoring_share
    )


def draft_hidden(assignment: Assignment | None) -> bool:
    """Whether the model's draft is still hidden from this turn: written blind and not
    saved yet (the first save shows the draft beside the answer)."""
    return assignment is not None and assignment.blind and assignment.draft_saved_at is None


def edit_distance(draft: str, answer: str) -> float:
    """How much of the model's draft changed: 0 unchanged, 1 nothing in common (one minus
    difflib's character-level similarity ratio)."""
    matcher = difflib.SequenceMatcher(None, draft[:COMPARE_CHARS], answer[:COMPARE_CHARS])
    return round(1 - matcher.ratio(), 4)


def _group(rows: list[Assignment]) -> dict[str, Any]:
    times = [a.active_seconds for a in rows if a.active_seconds]
    distances = [
        edit_distance(a.item.model_draft, answer_text(a.submission.messages))
        for a in rows
        if a.submission is not None
    ]
    decided = [a for a in rows if a.item.state in (State.APPROVED, State.RETURNED)]
    approved = sum(1 for a in decided if a.item.state == State.APPROVED)
    return {
        "count": len(rows),
        "median_active_seconds": statistics.median(times) if times else None,
        "mean_edit_distance": round(statistics.fmean(distances), 4) if distances else None,
        "approval_rate": round(approved / len(decided), 4) if decided else None,
        "decided": len(decided),
        "extra": {},
    }


def anchoring_comparison(project: Project) -> dict[str, dict[str, Any]]:
    """Corrected drafts against answers written from scratch, over the project's
    submitted turns: per group (``corrected``, ``from_scratch``) the ``count``, the
    median active editing time, the mean edit distance to the model's draft, the
    approval rate among items already decided (approved or returned), and ``extra``
    (see :data:`COMPARISON_EXTRAS`). Two queries plus the extras'."""
    rows = list(
        Assignment.objects.filter(
            item__project=project,
            status=AssignmentStatus.SUBMITTED,
            submission__isnull=False,
        )
        .exclude(item__model_draft="")
        .select_related("item", "submission")
        .order_by("-finished_at", "-id")[:COMPARE_LIMIT]
    )
    result = {}
    for name in GROUPS:
        members = [a for a in rows if a.blind == (name == "from_scratch")]
        group = _group(members)
        revision_ids = [a.submission_id for a in members if a.submission_id is not None]
        for extra in COMPARISON_EXTRAS:
            group["extra"].update(extra(project, name, revision_ids))
        result[name] = group
    return result
