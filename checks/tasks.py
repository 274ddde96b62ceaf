"""Celery tasks of the checks app: thin, ids in, one service call (see core/tasks.py for
the retry policy every idempotent task shares)."""

from __future__ import annotations

from celery import shared_task

from checks.recheck import run_recheck_job, sweep_stuck_submissions
from core.tasks import RETRY


@shared_task(name="checks.run_recheck", **RETRY)
def run_recheck(job_id: int) -> None:
    run_recheck_job(job_id)


@shared_task(name="checks.sweep_stuck_submissions", **RETRY)
def sweep_stuck_submissions_task() -> int:
    return sweep_stuck_submissions()
