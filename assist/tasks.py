"""Celery tasks of the model in the loop: thin, ids in, one service call (see
core/tasks.py for the retry policy every idempotent task shares)."""

from __future__ import annotations

from celery import shared_task

from assist.generation import run_generation_job
from core.tasks import RETRY


@shared_task(name="assist.run_generation", **RETRY)
def run_generation(job_id: int) -> None:
    run_generation_job(job_id)
