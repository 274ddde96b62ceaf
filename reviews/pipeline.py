"""What happens to an item between "submitted" and "in review".

Annotation's submit and a reviewer's edit enqueue the check task
(``core.enqueue.CHECK_SUBMISSION``, in ``reviews/tasks.py``) for the new revision. The
task calls ``check_submission``: a gold answer is scored, the checks run, and
``checks_finished`` either returns the item to its annotator (a blocking check failed)
or hands it to review routing.
"""

from __future__ import annotations

from annotation.models import Item, Revision, RevisionKind
from annotation.states import State
from annotation.transitions import transition
from checks.services import run_checks_for_revision
from reviews.routing import enter_review
from reviews.scoring import score_gold


def check_submission(revision_id: int) -> None:
    """Score a gold answer, run the checks on the revision, then route its item. Safe to
    repeat: gold scores and check results are unique, routing happens once."""
    checked = run_checks_for_revision(revision_id)
    if checked is None:
        return
    if checked.revision.kind == RevisionKind.SUBMISSION and checked.item.is_gold:
        score_gold(checked.item)
    checks_finished(checked.item, checked.revision, blocking_failures=checked.blocking_failures)


def checks_finished(item: Item, revision: Revision, *, blocking_failures: list[str]) -> None:
    """Route ``item`` after its checks: back to the annotator, or on to review."""
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
