"""Celery tasks of the review app: thin, ids in, one service call.

Every task here is idempotent, acknowledged late and rejected (so redelivered) when
the worker dies mid-task. Only transient failures (database or broker connection)
are retried, with exponential backoff; a bug fails loudly instead of looping.
"""

from __future__ import annotations

from typing import Any

from celery import shared_task
from django.db import InterfaceError, OperationalError

TRANSIENT = (OperationalError, InterfaceError, ConnectionError, TimeoutError)
RETRY: dict[str, Any] = {
    "acks_late": True,
    "reject_on_worker_lost": True,
    "autoretry_for": TRANSIENT,
    "retry_backoff": 2,
    "retry_backoff_max": 300,
    "retry_jitter": True,
    "max_retries": 8,
}


@shared_task(name="reviews.run_checks", **RETRY)
def run_checks(revision_id: int) -> None:
    from reviews.checks import run_checks_for_revision

    run_checks_for_revision(revision_id)


@shared_task(name="reviews.run_recheck", **RETRY)
def run_recheck(job_id: int) -> None:
    from reviews.checks import run_recheck_job

    run_recheck_job(job_id)


@shared_task(name="reviews.sweep_stuck_submissions", **RETRY)
def sweep_stuck_submissions() -> int:
    from reviews.checks import sweep_stuck_submissions as sweep

    return sweep()
