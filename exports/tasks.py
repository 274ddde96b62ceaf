"""Celery tasks: thin, ids in, one service call."""

from __future__ import annotations

from celery import shared_task

from exports.services import build_export


@shared_task(name="exports.build", acks_late=True, reject_on_worker_lost=True)
def build_export_task(job_id: int) -> None:
    """Build one export. Delivered again if the worker dies; the service makes a second
    run harmless (it resumes from the stored snapshot, or does nothing if done)."""
    build_export(job_id=job_id)
