"""Build items in any state for tests, without going through the UI."""

from __future__ import annotations

from typing import Any

from annotation.models import Item, Revision, RevisionKind
from annotation.states import State
from projects.models import Project


def make_item(
    project: Project,
    prompt: str = "How do I reset my password?",
    *,
    answer: str | None = None,
    draft: str = "",
    system: str | None = None,
    state: str = State.QUEUED,
    stage: int | None = None,
    author: Any = None,
    **fields: Any,
) -> Item:
    """An item with ``prompt``; with ``answer``, also a submitted revision by ``author``
    that is the item's current revision."""
    source = ([{"role": "system", "content": system}] if system else []) + [
        {"role": "user", "content": prompt}
    ]
    item = Item.objects.create(
        project=project, source=source, model_draft=draft, state=state, stage=stage, **fields
    )
    if answer is not None:
        revision = Revision.objects.create(
            item=item,
            messages=[*source, {"role": "assistant", "content": answer}],
            kind=RevisionKind.SUBMISSION,
            author=author,
        )
        item.current_revision = revision
        item.save(update_fields=["current_revision"])
    return item


def approve_answered(project: Project, *, author: Any = None) -> int:
    """Approve every item of ``project`` that came with an answer (imported ``reference``),
    as if it had been written and reviewed: the answer becomes its current revision.
    Returns how many items were approved."""
    approved = 0
    for item in Item.objects.filter(project=project).exclude(reference="").order_by("id"):
        revision = Revision.objects.create(
            item=item,
            messages=[*item.source, {"role": "assistant", "content": item.reference}],
            kind=RevisionKind.SUBMISSION,
            author=author,
        )
        item.current_revision = revision
        item.state = State.APPROVED
        item.save(update_fields=["current_revision", "state"])
        approved += 1
    return approved
