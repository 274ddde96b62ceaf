"""Celery tasks: thin, ids in, one service call."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="projects.run_import", acks_late=True)
def run_import_task(job_id: int) -> None:
    from projects.imports import run_import

    run_import(job_id=job_id)
