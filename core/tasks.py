"""What every idempotent task shares: acknowledged late, delivered again when the worker
dies mid-task, and retried with backoff for transient failures only (a lost database or
broker connection); a bug fails loudly instead of looping."""

from __future__ import annotations

from typing import Any

from celery import shared_task
from django.db import InterfaceError, OperationalError

from core import jobs

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


@shared_task(name="core.sweep_jobs")
def sweep_jobs_task() -> dict[str, int]:
    """Resume (or, after too many tries, fail) jobs whose worker went silent."""
    return jobs.sweep()
