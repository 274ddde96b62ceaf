"""Celery tasks of the review app: thin, ids in, one service call (see core/tasks.py for
the retry policy every idempotent task shares)."""

from __future__ import annotations

from celery import shared_task

from core.enqueue import CHECK_SUBMISSION
from core.tasks import RETRY
from reviews.pipeline import check_submission


@shared_task(name=CHECK_SUBMISSION, **RETRY)
def run_checks(revision_id: int) -> None:
    """Check a new revision, then route its item (the two steps of ``check_submission``)."""
    check_submission(revision_id)
