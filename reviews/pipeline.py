"""What happens to an item between "submitted" and "in review".

``revision_submitted`` is called (inside the submitting transaction) by annotation's
submit and by a reviewer's edit; it enqueues the checks for the revision. When the
checks are done, ``checks_finished`` either returns the item to its annotator (a
blocking check failed) or hands it to review routing.
"""

from __future__ import annotations

from django.contrib.auth.models import User

from annotation.models import Item, Revision, RevisionKind
from annotation.services import transition
from annotation.states import State
from config.enqueue import enqueue


def revision_submitted(revision: Revision, *, actor: User | None) -> None:
    """A new submission or reviewer edit: check it, and score it if it answers a gold item."""
    from reviews.services import score_gold
    from reviews.tasks import run_checks

    if revision.kind == RevisionKind.SUBMISSION and revision.item.is_gold:
        score_gold(revision.item)
    enqueue(run_checks, revision.pk)


def checks_finished(item: Item, revision: Revision, *, blocking_failures: list[str]) -> None:
    """Route ``item`` after its checks: back to the annotator, or on to review."""
    from reviews.services import enter_review

    if item.state != State.SUBMITTED or item.current_revision_id != revision.pk:
        return  # a newer revision or another decision got there first
    if blocking_failures:
        transition(
            item,
            to=State.RETURNED,
            actor=None,
            reason="Automated checks failed: " + " ".join(blocking_failures),
            data={"checks": blocking_failures, "revision": revision.pk},
        )
        return
    enter_review(item)
