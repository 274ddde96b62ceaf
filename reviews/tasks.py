"""Celery tasks of the review app: thin, ids in, one service call."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="reviews.run_checks", acks_late=True, reject_on_worker_lost=True)
def run_checks(revision_id: int) -> None:
    from reviews.checks import run_checks_for_revision

    run_checks_for_revision(revision_id)
